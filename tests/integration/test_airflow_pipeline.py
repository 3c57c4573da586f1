"""The daily DAG through the real Airflow of the stack.

* Two generated days are backfilled with `airflow backfill create` through the running
  scheduler; Gold then holds each day once per creator.
  (`kol pipeline run`, i.e. `airflow dags test`, runs a day in the demo's test; a rerun and a
  multi-day interval leaving the same tables is in test_backfill_intervals, test_bronze_silver
  and test_gold.)
* A day with planted bad data fails at the Silver gate, naming the expectation, and never
  reaches dbt.
* The UI answers and lists the DAGs.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from bench.support.feed import RawSink
from ingestion.generator import GeneratorConfig
from ingestion.pipeline import run_world
from ingestion.producer import ProcessKafkaSink, ensure_topics
from kol.settings import Settings, get_ingest_settings
from kol.trino import query
from shell.pipeline_cli import (
    DAG_ID,
    airflow,
    create_backfill,
    failure_lines,
    run_day,
    run_log,
    task_starts,
    tasks_run,
)

# Days of their own: in 2025, away from other tests' worlds (the DAG reads the platform's own
# topics), and new on every run, so no Airflow run of an earlier test run (perhaps of an older
# version of the DAG) exists for them to be reprocessed.
_FIRST = date(2025, 1, 1) + timedelta(days=4 * random.randrange(80))
# Two days are enough to show the backfill runs them in order (the second day's deltas need the
# first); each more day costs the suite a whole DAG run (~5 min on two cores).
DAYS = [_FIRST, _FIRST + timedelta(days=1)]
BAD_DAY = _FIRST + timedelta(days=2)
RUN_TIMEOUT_S = 1500


def produce(settings: Settings, config: GeneratorConfig, source: str) -> None:
    ingest = get_ingest_settings()
    assert ingest.topic_prefix == "", "the DAG reads the platform's own topics"
    ensure_topics(settings, ingest)
    sink = ProcessKafkaSink(settings, ingest, source=source)
    run_world(config, sink)
    sink.close()


@pytest.fixture(scope="module")
def world(settings: Settings) -> GeneratorConfig:
    config = GeneratorConfig(
        creators=30,
        days=len(DAYS),
        seed=random.randrange(1 << 30),
        start=datetime.combine(DAYS[0], datetime.min.time(), UTC),
        max_late_hours=6,
    )
    produce(settings, config, "it-airflow")
    return config


def gold(settings: Settings, first: date, last: date) -> list[tuple]:
    return query(
        settings,
        "SELECT kol_id, date_day, followers, followers_delta, views_gained, engagement_rate "
        "FROM gold.fct_kol_daily WHERE date_day BETWEEN ? AND ? ORDER BY kol_id, date_day",
        [first, last],
    )


@pytest.fixture(scope="module")
def airflow_db(settings: Settings) -> Iterator[sa.Engine]:
    engine = sa.create_engine(settings.pg_dsn(settings.pg_airflow_db))
    yield engine
    engine.dispose()


def backfill_runs(db: sa.Engine, since: datetime) -> list[tuple[datetime, str]]:
    with db.connect() as c:
        rows = c.execute(
            sa.text(
                "SELECT logical_date, state FROM dag_run WHERE dag_id = :dag "
                "AND run_type = 'backfill' AND queued_at >= :since ORDER BY logical_date"
            ),
            {"dag": DAG_ID, "since": since},
        ).all()
    return [(r[0], r[1]) for r in rows]


def failed_task_logs(settings: Settings, n: int = 40) -> str:
    """The last lines of the newest task logs that say what failed."""
    logs = sorted(
        (settings.airflow_home / "logs" / f"dag_id={DAG_ID}").rglob("*.log"),
        key=lambda p: p.stat().st_mtime,
    )[-6:]
    return "\n".join(f"{p}: {line}" for p in logs for line in failure_lines(p, n))


@pytest.fixture
def unpaused() -> Iterator[None]:
    """The scheduler runs backfills of unpaused DAGs only; the stack's start date (its first
    day) keeps scheduled catch-up runs out of the way."""
    assert airflow("dags", "unpause", DAG_ID) == 0
    yield
    airflow("dags", "pause", DAG_ID)


@pytest.mark.timeout(RUN_TIMEOUT_S * 2)
def test_backfill_through_the_scheduler_runs_the_days_in_order(
    settings: Settings, world: GeneratorConfig, airflow_db: sa.Engine, unpaused: None
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=5)
    assert create_backfill(DAYS[0], DAYS[-1]) == 0

    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        runs = backfill_runs(airflow_db, since)
        states = Counter(state for _, state in runs)
        if len(runs) == len(DAYS) and states["success"] == len(DAYS):
            break
        assert not states["failed"], f"backfill runs {runs}:\n{failed_task_logs(settings)}"
        assert time.monotonic() < deadline, f"backfill not done in {RUN_TIMEOUT_S}s: {runs}"
        time.sleep(10)
    assert [d.date() for d, _ in runs] == DAYS

    backfilled = gold(settings, DAYS[0], DAYS[-1])
    per_day = Counter(row[1] for row in backfilled)
    assert all(per_day[d] >= world.creators for d in DAYS), per_day
    assert len({(row[0], row[1]) for row in backfilled}) == len(backfilled), "duplicates"
    # Day-over-day deltas need the day before: the backfill ran the days in order.
    assert any(row[3] is not None for row in backfilled if row[1] == DAYS[-1])


@pytest.mark.timeout(RUN_TIMEOUT_S)
def test_a_failing_silver_gate_stops_the_run_before_dbt(settings: Settings) -> None:
    # Silver's gate runs in the bronze_to_silver job: its failure fails that task at once
    # (bad data stays bad, so no retry) and nothing downstream runs.
    # A third of the events malformed: Silver's reject ratio is far above its threshold.
    bad = GeneratorConfig(
        creators=8,
        days=1,
        seed=random.randrange(1 << 30),
        start=datetime.combine(BAD_DAY, datetime.min.time(), UTC),
        malformed_rate=0.3,
        max_late_hours=1,
    )
    # Through a producer that skips the contract check, as a broken scraper would: the
    # platform's own producers send malformed events to the DLQ before Kafka.
    sink = RawSink(settings, get_ingest_settings())
    run_world(bad, sink)
    assert not sink.close().failed
    assert run_day(BAD_DAY) != 0
    assert task_starts(run_log(BAD_DAY))["bronze_to_silver"] == 1, "a failed gate is not retried"
    assert "gold_build" not in tasks_run(run_log(BAD_DAY))
    lines = "\n".join(failure_lines(run_log(BAD_DAY), 200))
    assert "silver gate failed" in lines and "reject_ratio" in lines, lines
    assert "bronze gate failed" not in lines
    assert gold(settings, BAD_DAY, BAD_DAY) == [], "dbt must not have run for the day"


def test_the_ui_answers_and_lists_the_dags(settings: Settings) -> None:
    assert httpx.get(f"{settings.airflow_url}/", timeout=10).status_code == 200
    from shell.stack.services.airflow import AirflowApi

    user, password = AirflowApi(settings).credentials()
    token = httpx.post(
        f"{settings.airflow_url}/auth/token",
        json={"username": user, "password": password},
        timeout=10,
    )
    assert token.status_code in (200, 201), token.text
    dags = httpx.get(
        f"{settings.airflow_url}/api/v2/dags",
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        timeout=10,
    )
    assert dags.status_code == 200, dags.text
    ids = {d["dag_id"] for d in dags.json()["dags"]}
    assert {DAG_ID, "kol_maintenance"} <= ids
