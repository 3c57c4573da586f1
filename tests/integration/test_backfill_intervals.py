"""A backfill over one multi-day interval leaves the tables that day-by-day runs leave.

The world (late events crossing midnight, duplicates, malformed records) goes to topics of its
own. It is landed day by day, as the daily DAG does, with Gold built incrementally after each
day; every table's content is hashed. Then the world's rows are deleted from Bronze, Silver and
the rejects, and it is landed again as one interval, as `kol_backfill_pipeline` does, with Gold
built once into a second schema. The hashes must be equal, table by table.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from gold import runner
from ingestion.contracts import TOPICS
from ingestion.generator import GeneratorConfig
from ingestion.pipeline import run_world
from ingestion.producer import KafkaEventSink, ensure_topics
from kol.interval import Interval
from kol.lakehouse import BRONZE, REJECTS, SILVER, TOPIC_TABLES
from kol.settings import (
    GoldSettings,
    IngestSettings,
    Settings,
    get_gold_settings,
    get_ingest_settings,
)
from kol.trino import query
from spark_jobs import bronze_to_silver, kafka_to_bronze

DAYS = 2
START = datetime(2026, 4, 6, tzinfo=UTC)
# The world's days and the day its late events are delivered on (each day run costs a dbt build).
INTERVALS = [
    Interval(START + timedelta(days=d), START + timedelta(days=d + 1)) for d in range(DAYS + 1)
]
WHOLE = Interval(INTERVALS[0].start, INTERVALS[-1].end)
MUST_HAVE_ROWS = {
    "bronze.profiles_raw",
    "bronze.videos_raw",
    "silver.profiles",
    "silver.video_stats",
    "gold.fct_kol_daily",
    "gold.fct_video_daily",
    "gold.dim_kols",
}
# Columns that record when a job ran, not what the data is.
RUN_TIME = {"ingest_time", "processed_at", "rejected_at"}


@pytest.fixture(scope="module")
def world(settings: Settings, spark: SparkSession) -> Iterator[IngestSettings]:
    mp = pytest.MonkeyPatch()
    mp.setenv("KOL_INGEST_TOPIC_PREFIX", f"itbf{datetime.now(UTC):%H%M%S%f}.")
    get_ingest_settings.cache_clear()
    ingest = get_ingest_settings()
    ensure_topics(settings, ingest)
    config = GeneratorConfig(
        creators=25,
        days=DAYS,
        # Silver deduplicates on event_id, which derives from the seed: a seed of its own.
        seed=int(datetime.now(UTC).timestamp() * 1000) % 1_000_000_007 + 11,
        start=START,
        duplicate_rate=0.03,
        late_rate=0.08,
        malformed_rate=0.01,
        max_late_hours=20,
    )
    sink = KafkaEventSink(settings, ingest)
    run_world(config, sink)
    assert not sink.close().failed
    yield ingest
    mp.undo()
    get_ingest_settings.cache_clear()


@pytest.fixture(scope="module")
def schemas(settings: Settings) -> Iterator[dict[str, GoldSettings]]:
    out = {
        run: get_gold_settings().model_copy(
            update={"schema_name": f"gold_bf{run}{uuid.uuid4().hex[:6]}"}
        )
        for run in ("daily", "whole")
    }
    yield out
    for gold in out.values():
        for suffix in ("", "_staging", "_intermediate"):
            schema = f"{settings.trino_catalog}.{gold.schema_name}{suffix}"
            query(settings, f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def lake_tables(prefix: str) -> dict[str, str]:
    """Each Bronze, Silver and rejects table, with the filter that selects this world's rows."""
    tables = {}
    for topic in TOPICS:
        names = TOPIC_TABLES[topic]
        tables[f"{BRONZE}.{names.bronze}"] = f"topic LIKE '{prefix}%'"
        tables[f"{SILVER}.{names.silver}"] = f"kafka_topic LIKE '{prefix}%'"
    tables[f"{SILVER}.{REJECTS}"] = f"topic LIKE '{prefix}%'"
    return tables


def content_hash(settings: Settings, table: str, where: str = "TRUE") -> tuple[int, str]:
    """(rows, sha256 of the sorted rows) of a table, without the columns that record run times."""
    columns = [r[0] for r in query(settings, f"DESCRIBE {table}") if r[0] not in RUN_TIME]
    select = ", ".join(f'"{c}"' for c in columns)
    rows = sorted(repr(r) for r in query(settings, f"SELECT {select} FROM {table} WHERE {where}"))
    return len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()


def hashes(settings: Settings, prefix: str, gold: GoldSettings) -> dict[str, tuple[int, str]]:
    out = {t: content_hash(settings, t, where) for t, where in lake_tables(prefix).items()}
    for (name,) in query(settings, f"SHOW TABLES FROM {gold.schema_name}"):
        out[f"gold.{name}"] = content_hash(settings, f"{gold.schema_name}.{name}")
    return out


def build_gold(
    settings: Settings, ingest: IngestSettings, gold: GoldSettings, target: Path, interval: Interval
) -> None:
    run = runner.build(
        interval.start.date(),
        interval.end.date(),
        topic_prefix=ingest.topic_prefix,
        settings=settings,
        gold=gold,
        target_path=target,
        quiet=True,
        data_tests=False,
    )
    assert run.success, [(n.name, n.message) for n in run.failed] or run.error


def test_one_multi_day_interval_leaves_the_tables_day_by_day_runs_leave(
    settings: Settings,
    world: IngestSettings,
    schemas: dict[str, GoldSettings],
    tmp_path: Path,
) -> None:
    prefix = world.topic_prefix
    for interval in INTERVALS:
        kafka_to_bronze.run(interval)
        bronze_to_silver.run(interval)
        build_gold(settings, world, schemas["daily"], tmp_path, interval)
    daily = hashes(settings, prefix, schemas["daily"])
    # The world really is in every layer, with rows that arrived a day late.
    empty = {t for t, (rows, _) in daily.items() if not rows}
    assert not empty & MUST_HAVE_ROWS, daily
    late = query(
        settings,
        f"SELECT count(*) FROM {SILVER}.profiles WHERE kafka_topic LIKE '{prefix}%' "
        "AND date(landed_ts) > date(event_time)",
    )[0][0]
    assert late > 0

    for table, where in lake_tables(prefix).items():
        query(settings, f"DELETE FROM {table} WHERE {where}")
    assert all(content_hash(settings, t, w)[0] == 0 for t, w in lake_tables(prefix).items())

    kafka_to_bronze.run(WHOLE)
    bronze_to_silver.run(WHOLE)
    build_gold(settings, world, schemas["whole"], tmp_path, WHOLE)
    whole = hashes(settings, prefix, schemas["whole"])

    differ = {t: (daily[t], whole.get(t)) for t in daily if daily[t] != whole.get(t)}
    assert not differ and set(whole) == set(daily), differ
