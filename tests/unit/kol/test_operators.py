"""The gated spark-submit operator: a failed gate is final, any other failure is retried."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from airflow.exceptions import AirflowException, AirflowFailException
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

from expectations import GATE_FAILED_EXIT
from shell.operators import GatedSparkSubmitOperator


def submitting(monkeypatch: pytest.MonkeyPatch, returncode: int) -> GatedSparkSubmitOperator:
    op = GatedSparkSubmitOperator(task_id="bronze_to_silver", layer="silver", application="x.py")

    def failed_submit(self: SparkSubmitOperator, context: object) -> None:
        # What the hook leaves behind when spark-submit exits non-zero.
        self._hook = SimpleNamespace(_submit_sp=SimpleNamespace(returncode=returncode))
        raise AirflowException(f"Cannot execute: spark-submit. Error code is: {returncode}.")

    monkeypatch.setattr(SparkSubmitOperator, "execute", failed_submit)
    return op


def test_a_failed_gate_fails_the_task_without_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    op = submitting(monkeypatch, GATE_FAILED_EXIT)
    context = {"data_interval_start": "2026-11-01", "data_interval_end": "2026-11-02"}
    with pytest.raises(AirflowFailException, match=r"silver gate failed for \[2026-11-01, 2026"):
        op.execute(context)


def test_a_crash_is_an_ordinary_failure_that_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    op = submitting(monkeypatch, 1)
    with pytest.raises(AirflowException) as raised:
        op.execute({})
    assert not isinstance(raised.value, AirflowFailException)
