"""Every DAG imports cleanly, is documented and retried, and does no I/O while being parsed."""

from __future__ import annotations

import itertools
import socket
import subprocess
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"


class ParseTimeIO(AssertionError):
    pass


@pytest.fixture
def dagbag(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    from airflow.dag_processing.dagbag import DagBag

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ParseTimeIO(f"network or process I/O at DAG parse time: {args[:2]}")

    # Parsing happens every 30 s in the dag-processor: it must not touch the network,
    # a database or a subprocess.
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(subprocess, "Popen", refuse)
    return DagBag(dag_folder=str(DAGS))


def test_every_dag_imports_without_errors(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}
    assert {"kol_daily_pipeline", "kol_maintenance"} <= set(dagbag.dag_ids)


def test_every_dag_has_owner_tags_retries_and_docs(dagbag) -> None:  # type: ignore[no-untyped-def]
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        assert dag.doc_md, dag_id
        for t in dag.tasks:
            assert t.owner and t.owner != "airflow", (dag_id, t.task_id)
            assert t.retries >= 1, (dag_id, t.task_id)
            assert t.doc_md, (dag_id, t.task_id)
            assert t.on_failure_callback, (dag_id, t.task_id)


def test_daily_pipeline_order_and_interval(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags["kol_daily_pipeline"]
    assert dag.catchup is True
    order = [
        "kafka_to_bronze",
        "bronze_to_silver",
        "gold_build",
        "gold_gate",
        "gold_ready",
    ]
    for upstream, downstream in itertools.pairwise(order):
        assert downstream in dag.get_task(upstream).downstream_task_ids
    assert "batch_score" in dag.get_task("gold_gate").downstream_task_ids
    bronze = dag.get_task("kafka_to_bronze")
    assert bronze._conn_id == "kol_spark"
    assert bronze.application.endswith("spark_jobs/kafka_to_bronze.py")
    assert "{{ data_interval_start" in " ".join(bronze.application_args)
    assert [o.name for o in dag.get_task("gold_ready").outlets] == ["kol_gold_ready"]
    # A run reads the raw topics and builds the Gold schema its parameters name.
    assert {"topic_prefix", "gold_schema"} <= set(dag.params)
    assert bronze.env_vars["KOL_INGEST_TOPIC_PREFIX"] == "{{ params.topic_prefix }}"
    # Bronze and Silver gate what they wrote inside their own job: no gate task of their own.
    assert not {"bronze_gate", "silver_gate"} & set(dag.task_ids)
    assert dag.get_task("bronze_to_silver").layer == "silver"


def test_with_a_spark_connect_server_bronze_and_silver_run_on_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from kol.settings import get_settings

    monkeypatch.setenv("KOL_SPARK_REMOTE", "sc://127.0.0.1:15002")
    get_settings.cache_clear()
    try:
        dag = dagbag.__wrapped__(monkeypatch, tmp_path).dags["kol_daily_pipeline"]  # type: ignore[attr-defined]
    finally:
        monkeypatch.delenv("KOL_SPARK_REMOTE")
        get_settings.cache_clear()
    bronze, silver = dag.get_task("kafka_to_bronze"), dag.get_task("bronze_to_silver")
    # Python tasks running the job's code on the server, not spark-submits; same order.
    assert not hasattr(bronze, "application")
    assert bronze.python_callable.__name__ == "run_job"
    assert "bronze_to_silver" in bronze.downstream_task_ids
    assert "gold_build" in silver.downstream_task_ids


def test_the_backfill_dag_runs_the_same_tasks_over_month_long_intervals_and_is_never_scheduled(
    dagbag,  # type: ignore[no-untyped-def]
) -> None:
    from datetime import UTC, datetime, timedelta

    from airflow.timetables.base import TimeRestriction

    daily = dagbag.dags["kol_daily_pipeline"]
    backfill = dagbag.dags["kol_backfill_pipeline"]
    assert set(backfill.task_ids) == set(daily.task_ids)
    for task in daily.tasks:
        assert backfill.get_task(task.task_id).downstream_task_ids == task.downstream_task_ids
    # A backfill from a day gets intervals of 30 days from that day.
    first = datetime(2025, 3, 1, tzinfo=UTC)
    within = TimeRestriction(first, first + timedelta(days=59), catchup=True)
    intervals, last = [], None
    while info := backfill.timetable.next_dagrun_info(
        last_automated_data_interval=last, restriction=within
    ):
        intervals.append((info.data_interval.start, info.data_interval.end))
        last = info.data_interval
    assert intervals == [
        (first, first + timedelta(days=30)),
        (first + timedelta(days=30), first + timedelta(days=60)),
    ]
    # The scheduler never starts one on its own: it ends where it starts.
    restriction = TimeRestriction(backfill.start_date, backfill.end_date, catchup=False)
    assert (
        backfill.timetable.next_dagrun_info(
            last_automated_data_interval=None, restriction=restriction
        )
        is None
    )
