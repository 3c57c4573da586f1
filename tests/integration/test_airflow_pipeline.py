"""The daily DAG through real Airflow: `airflow dags test` for one day lands it in Gold."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest

from ingestion.generator import GeneratorConfig
from ingestion.pipeline import run_world
from ingestion.producer import ProcessKafkaSink, ensure_topics
from ingestion.settings import get_ingest_settings
from kol.pipeline_cli import failure_lines, run_day, run_log
from kol.settings import Settings
from kol.trino import query

# Its own days, far from other tests' worlds; the pipeline reads the platform's own topics.
DAY = date(2026, 4, 2)


@pytest.fixture(scope="module")
def world(settings: Settings) -> GeneratorConfig:
    ingest = get_ingest_settings()
    assert ingest.topic_prefix == "", "the DAG reads the platform's own topics"
    ensure_topics(settings, ingest)
    config = GeneratorConfig(
        creators=30,
        days=2,
        seed=random.randrange(1 << 30),
        start=datetime(2026, 4, 1, tzinfo=UTC),
        max_late_hours=6,
    )
    sink = ProcessKafkaSink(settings, ingest, source="it-airflow")
    run_world(config, sink)
    sink.close()
    return config


def gold_day(settings: Settings, day: date) -> list[tuple]:
    return query(
        settings,
        "SELECT kol_id, followers FROM gold.fct_kol_daily WHERE date_day = ? ORDER BY kol_id",
        [day],
    )


# Six tasks, three Spark sessions and a dbt build on two cores: well past the default limit.
@pytest.mark.timeout(1800)
def test_dags_test_runs_every_task_and_gold_holds_the_day(
    settings: Settings, world: GeneratorConfig
) -> None:
    code = run_day(DAY)
    assert code == 0, "\n".join(["the daily pipeline failed:", *failure_lines(run_log(DAY))])
    rows = gold_day(settings, DAY)
    assert len(rows) >= world.creators
    assert all(followers is not None for _, followers in rows)
