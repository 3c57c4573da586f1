"""The weekly retrain DAG's wiring and the retrain-due rule; the daily scoring task factory."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ml.tasks import _day, retrain_due

DAGS = Path(__file__).resolve().parents[3] / "dags"
NOW = datetime(2026, 3, 9, 3, tzinfo=UTC)
WEEK = timedelta(days=7)


def test_timed_and_manual_runs_always_train() -> None:
    assert retrain_due("scheduled", NOW - timedelta(hours=1), NOW, WEEK)[0]
    assert retrain_due("manual", NOW, NOW, WEEK)[0]
    assert retrain_due(None, NOW, NOW, WEEK)[0]


def test_gold_triggered_runs_train_only_when_due() -> None:
    assert retrain_due("asset_triggered", None, NOW, WEEK) == (True, "no training run yet")
    due, why = retrain_due("asset_triggered", NOW - timedelta(days=2), NOW, WEEK)
    assert not due and "due later" in why
    assert retrain_due("asset_triggered", NOW - timedelta(days=7), NOW, WEEK)[0]


def test_interval_start_is_the_scored_day() -> None:
    assert str(_day(datetime(2026, 3, 1, tzinfo=UTC))) == "2026-03-01"
    assert str(_day("2026-03-01T00:00:00+00:00")) == "2026-03-01"
    assert _day(None) is None


@pytest.fixture
def dagbag(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS / "kol_weekly_retrain.py"))


def test_weekly_retrain_dag(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}
    dag = dagbag.dags["kol_weekly_retrain"]
    order = ["due", "train_trust", "train_success", "rescore"]
    for a, b in itertools.pairwise(order):
        assert b in dag.get_task(a).downstream_task_ids
    schedule = dag.timetable
    assert type(schedule).__name__ == "AssetOrTimeSchedule"
    assert "kol_gold_ready" in str(schedule.asset_condition)
    assert type(schedule.timetable).__name__ == "CronTriggerTimetable"


def test_batch_scoring_task_factory_builds_a_task_in_a_dag() -> None:
    import pendulum
    from airflow.sdk import DAG

    from ml.tasks import batch_scoring_task

    with DAG("t", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")) as dag:
        batch_scoring_task(retries=2)()
    t = dag.get_task("batch_score")
    assert t.retries == 2 and "kol_scores" in t.doc_md
