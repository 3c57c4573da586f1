"""The weekly retrain DAG's wiring and the retrain-due rule; the daily scoring task factory."""

from __future__ import annotations

import itertools
import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kol.interval import day_of
from ml import tasks
from ml.monitoring import DriftRecord
from ml.tasks import retrain_due

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


def test_interval_start_is_the_scoredday_of() -> None:
    assert str(day_of(datetime(2026, 3, 1, tzinfo=UTC))) == "2026-03-01"
    assert str(day_of("2026-03-01T00:00:00+00:00")) == "2026-03-01"
    assert day_of(None) is None


def test_an_interval_is_scored_day_by_day_in_order_with_one_model_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ml import batch

    loads: list[int] = []
    scored: list[object] = []

    def champions(ml: object) -> tuple[dict, dict]:
        loads.append(1)
        return {"trust": object(), "success": None}, {"success": "no champion"}

    def score_day(ml: object, day: object, scorers: object = None) -> batch.ScoreRun:
        scored.append(day)
        return batch.ScoreRun(day)  # type: ignore[arg-type]

    monkeypatch.setattr(batch, "champions", champions)
    monkeypatch.setattr(batch, "score_day", score_day)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    out = tasks.score_interval(start, start + timedelta(days=3), ml=object())  # type: ignore[arg-type]
    assert [str(d) for d in scored] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert loads == [1] and out["days"] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert out["skipped"] is None and out["day"] == "2026-03-03"

    monkeypatch.setattr(batch, "champions", lambda ml: ({"trust": None}, {"trust": "none"}))
    out = tasks.score_interval(start, start + timedelta(days=1), ml=object())  # type: ignore[arg-type]
    assert "no champion model" in out["skipped"] and out["days"] == ["2026-03-01"]


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


# ---- early retrain on drift ---------------------------------------------------------------
def rec(psi: float | None, version: str = "4", day: str = "2026-03-08") -> DriftRecord:
    return DriftRecord("kol_trust", version, date.fromisoformat(day), psi, "likes_per_follower")


CHAMPS = {"kol_trust": "4", "kol_success": "2"}


def test_drift_of_the_champion_retrains_early() -> None:
    last = NOW - timedelta(days=2)  # not due by age
    due, why = retrain_due("asset_triggered", last, NOW, WEEK, [rec(0.4)], CHAMPS, 0.25)
    assert due and "early" in why and "kol_trust v4" in why and "0.400" in why
    assert retrain_due("asset_triggered", last, NOW, WEEK, [rec(0.25)], CHAMPS, 0.25)[0]


def test_drift_below_threshold_stale_or_already_seen_does_not_retrain() -> None:
    last = NOW - timedelta(days=2)
    for drift, champs in (
        ([rec(0.2)], CHAMPS),  # below the threshold
        ([rec(None)], CHAMPS),  # no reference: nothing measured
        ([rec(0.9, version="3")], CHAMPS),  # measured on the previous champion
        ([rec(0.9)], {"kol_trust": None}),  # no champion any more
        ([rec(0.9, day="2026-03-06")], CHAMPS),  # the last training already saw that day
        ([], CHAMPS),
    ):
        due, why = retrain_due("asset_triggered", last, NOW, WEEK, drift, champs, 0.25)
        assert not due and "due later" in why, drift
    # Without a threshold (the default), drift never triggers.
    assert not retrain_due("asset_triggered", last, NOW, WEEK, [rec(9.0)], CHAMPS)[0]


def test_check_due_reads_drift_and_survives_a_broken_read(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from kol.settings import MlSettings
    from ml import tasks

    now = datetime.now(UTC)
    monkeypatch.setattr(tasks, "last_training", lambda ml, exp: now - timedelta(days=1))
    today = now.date().isoformat()
    monkeypatch.setattr(tasks, "read_drift", lambda ml: ([rec(0.5, day=today)], CHAMPS))
    ml = MlSettings(drift_psi_threshold=0.3)
    assert tasks.check_due("asset_triggered", ml)
    assert not tasks.check_due("asset_triggered", MlSettings(drift_psi_threshold=0.6))

    def broken(ml: MlSettings) -> Any:
        raise OSError("no catalog")

    monkeypatch.setattr(tasks, "read_drift", broken)
    with caplog.at_level(logging.INFO, logger="kol.ml"):
        assert not tasks.check_due("asset_triggered", ml)
    assert "drift records unreadable" in caplog.text and "no catalog" in caplog.text


def test_weekly_dag_doc_mentions_the_drift_rule(dagbag) -> None:  # type: ignore[no-untyped-def]
    doc = dagbag.dags["kol_weekly_retrain"].doc_md
    assert "KOL_ML_DRIFT_PSI_THRESHOLD" in doc and "ml_score_stats" in doc
