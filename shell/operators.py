"""Airflow operators of the daily pipeline (imported by DAG files: keep imports light)."""

from __future__ import annotations

from typing import Any

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from expectations import GATE_FAILED_EXIT


class GatedSparkSubmitOperator(SparkSubmitOperator):
    """spark-submit of a job that gates what it wrote (Bronze, Silver).

    A failed gate fails the task at once, without retries (bad data stays bad; a retry would
    only delay the alert by the backoff); any other failure is retried as usual.
    """

    def __init__(self, *, layer: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.layer = layer

    def execute(self, context: Any) -> None:
        try:
            super().execute(context)
        except AirflowException as exc:
            process = getattr(self._hook, "_submit_sp", None)
            if getattr(process, "returncode", None) == GATE_FAILED_EXIT:
                raise AirflowFailException(
                    f"{self.layer} gate failed: the expectations that failed are in this "
                    f"task's log above, and in the Data Docs"
                ) from exc
            raise
