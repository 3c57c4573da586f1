"""Gold against the real stack: generated world -> Kafka -> Bronze -> Silver -> dbt on Trino.

The world goes to topics of its own (a prefix) and Gold to schemas of its own, so the test
shares Silver with other runs without reading or clobbering their data.
"""

from __future__ import annotations

import json
import math
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from gold import runner
from ingestion.generator import GeneratorConfig, World
from ingestion.pipeline import run_world
from ingestion.producer import KafkaEventSink, ensure_topics
from kol.interval import Interval
from kol.settings import (
    GoldSettings,
    IngestSettings,
    Settings,
    get_gold_settings,
    get_ingest_settings,
)
from kol.topics import PROFILES_TOPIC, VIDEOS_TOPIC, topic_name
from kol.trino import query
from spark_jobs import bronze_to_silver, kafka_to_bronze

DAYS = 3
START = datetime(2026, 3, 1, tzinfo=UTC)
DAY = [START.date() + timedelta(days=d) for d in range(DAYS + 1)]
# One Bronze/Silver interval for the whole world, plus a day for the events delivered late.
LANDED = Interval(START, START + timedelta(days=DAYS + 1))


@dataclass
class GoldWorld:
    ingest: IngestSettings
    labels: list[dict]

    def topic(self, logical: str) -> str:
        return topic_name(logical, self.ingest)


@pytest.fixture(scope="module")
def world(settings: Settings, spark: SparkSession) -> Iterator[GoldWorld]:
    """A three-day world with dirt and planted behaviours, landed in Bronze and Silver."""
    mp = pytest.MonkeyPatch()
    mp.setenv("KOL_INGEST_TOPIC_PREFIX", f"itgold{datetime.now(UTC):%H%M%S%f}.")
    get_ingest_settings.cache_clear()
    ingest = get_ingest_settings()
    ensure_topics(settings, ingest)
    config = GeneratorConfig(
        creators=30,
        days=DAYS,
        # Silver deduplicates on event_id, which derives from the seed: a seed of its own.
        seed=int(datetime.now(UTC).timestamp() * 1000) % 1_000_000_007 + 7,
        start=START,
        duplicate_rate=0.02,
        late_rate=0.05,
        malformed_rate=0.01,
        max_late_hours=24,
    )
    sink = KafkaEventSink(settings, ingest)
    run_world(config, sink)
    sink.close()
    kafka_to_bronze.run(LANDED)
    bronze_to_silver.run(LANDED)
    yield GoldWorld(ingest, World(config).labels())
    mp.undo()
    get_ingest_settings.cache_clear()


@pytest.fixture(scope="module")
def gold(settings: Settings, world: GoldWorld) -> Iterator[GoldSettings]:
    schema = f"gold_it{uuid.uuid4().hex[:8]}"
    yield get_gold_settings().model_copy(update={"schema_name": schema})
    for suffix in ("", "_staging", "_intermediate"):
        query(settings, f"DROP SCHEMA IF EXISTS {settings.trino_catalog}.{schema}{suffix} CASCADE")


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dbt-target")


def dbt(
    args: list[str],
    settings: Settings,
    world: GoldWorld,
    gold: GoldSettings,
    target: Path,
    start: date | None = None,
    end: date | None = None,
) -> runner.DbtRun:
    return runner.run_dbt(
        args,
        settings=settings,
        gold=gold,
        dbt_vars=runner.gold_vars(start, end, world.ingest.topic_prefix),
        target_path=target,
    )


@pytest.fixture(scope="module")
def built(
    settings: Settings, world: GoldWorld, gold: GoldSettings, target: Path
) -> dict[str, runner.DbtRun]:
    """Gold as the daily DAG builds it: the first two days, then the third incrementally."""
    first = dbt(["build"], settings, world, gold, target, end=DAY[2])
    assert first.success, [(n.name, n.message) for n in first.failed] or first.error
    third = dbt(["run"], settings, world, gold, target, start=DAY[2], end=DAY[3])
    assert third.success, [(n.name, n.message) for n in third.failed] or third.error
    return {"first": first, "third": third}


def gold_snapshot(settings: Settings, schema: str) -> dict[str, list[str]]:
    tables = [r[0] for r in query(settings, f"SHOW TABLES FROM {schema}")]
    return {t: sorted(map(repr, query(settings, f"SELECT * FROM {schema}.{t}"))) for t in tables}


def test_dbt_build_passes_and_a_rerun_changes_nothing(
    settings: Settings,
    world: GoldWorld,
    gold: GoldSettings,
    target: Path,
    built: dict[str, runner.DbtRun],
) -> None:
    counts = built["first"].counts()
    assert counts["model:success"] == 23
    assert counts["unit_test:pass"] >= 7
    assert counts["test:pass"] >= 150
    assert not built["first"].failed

    schema = gold.schema_name
    after = gold_snapshot(settings, schema)
    assert len(after) == 12
    assert {t for t, rows in after.items() if not rows} == set()

    again = dbt(["run"], settings, world, gold, target, start=DAY[2], end=DAY[3])
    assert again.success
    assert gold_snapshot(settings, schema) == after

    # The incremental history equals a rebuild from Silver: nothing depended on run order.
    rebuilt = dbt(["run", "--full-refresh"], settings, world, gold, target)
    assert rebuilt.success
    assert gold_snapshot(settings, schema) == after


def _silver_rows(settings: Settings, sql: str, topic: str) -> list[tuple]:
    return query(settings, sql, [topic])


def _copy_latest_row(settings: Settings, table: str, overrides: dict[str, str]) -> str:
    """INSERT copying the topic's latest Silver row of ``table``, some columns replaced."""
    columns = [r[0] for r in query(settings, f"DESCRIBE silver.{table}")]
    select = ", ".join(overrides.get(c, f'"{c}"') for c in columns)
    return (
        f"INSERT INTO silver.{table} SELECT {select} FROM silver.{table} "
        "WHERE kafka_topic = ? ORDER BY event_time DESC, event_id LIMIT 1"
    )


def test_gold_numbers_match_silver_computed_independently(
    settings: Settings, world: GoldWorld, gold: GoldSettings, built: dict
) -> None:
    # Followers: the day's last non-null reading, delta against the previous observed day.
    readings: dict[tuple[str, date], list[tuple]] = defaultdict(list)
    for kol, observed_at, event_id, followers in _silver_rows(
        settings,
        "SELECT platform || ':' || username, event_time, event_id, followers "
        "FROM silver.profiles WHERE kafka_topic = ?",
        world.topic(PROFILES_TOPIC),
    ):
        readings[(kol, observed_at.date())].append((observed_at, event_id, followers))
    expected_followers = {
        key: max((r for r in rows if r[2] is not None), default=(None, None, None))[2]
        for key, rows in readings.items()
    }
    # The previous observed day (the world is far shorter than max_gap_days).
    expected_delta = {}
    for (kol, day), followers in expected_followers.items():
        earlier = [d for (k, d) in expected_followers if k == kol and d < day]
        before = expected_followers[(kol, max(earlier))] if earlier else None
        expected_delta[(kol, day)] = (
            None if before is None or followers is None else followers - before
        )
    got = {
        (kol, day): (followers, delta, is_jump)
        for kol, day, followers, delta, is_jump in query(
            settings,
            "SELECT kol_id, date_day, followers, followers_delta, is_follower_jump "
            f"FROM {gold.schema_name}.fct_kol_daily WHERE profile_snapshots > 0",
        )
    }
    assert set(got) == set(expected_followers)
    assert {k: v[0] for k, v in got.items()} == expected_followers
    assert {k: v[1] for k, v in got.items()} == expected_delta

    # Engagement rate: (likes + comments + shares) / views over the day's videos, each at the
    # day's highest counters.
    counters: dict[tuple[str, str, date], list[int]] = {}
    for kol, video, day, views, likes, comments, shares in _silver_rows(
        settings,
        "SELECT platform || ':' || username, video_id, event_date, view_count, like_count, "
        "comment_count, share_count FROM silver.video_stats WHERE kafka_topic = ?",
        world.topic(VIDEOS_TOPIC),
    ):
        best = counters.setdefault((kol, video, day), [-1, -1, -1, -1])
        for i, v in enumerate((views, likes, comments, shares)):
            if v is not None:
                best[i] = max(best[i], v)
    totals: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0])
    for (kol, _video, day), (views, likes, comments, shares) in counters.items():
        totals[(kol, day)][0] += max(views, 0)
        totals[(kol, day)][1] += sum(max(c, 0) for c in (likes, comments, shares))
    gold_er = dict(
        ((kol, day), er)
        for kol, day, er in query(
            settings,
            f"SELECT kol_id, date_day, engagement_rate FROM {gold.schema_name}.fct_kol_daily "
            "WHERE videos_observed > 0",
        )
    )
    assert set(gold_er) == set(totals)
    for key, (views, engagements) in totals.items():
        if views == 0:
            assert gold_er[key] is None
        else:
            assert math.isclose(gold_er[key], engagements / views, rel_tol=1e-12), key

    # Planted bought followers show as a jump; organic creators never jump 20% in a day.
    jumped = {kol for (kol, _day), v in got.items() if v[2]}
    bought = {label["key"] for label in world.labels if label["is_fake_audience"]}
    organic = {label["key"] for label in world.labels if not label["behaviours"]}
    assert bought and bought <= jumped
    assert not organic & jumped


def test_every_analysis_runs_through_trino_and_returns_rows(
    settings: Settings, world: GoldWorld, gold: GoldSettings, target: Path, built: dict
) -> None:
    compiled = runner.compiled_analyses(settings=settings, gold=gold, target_path=target)
    assert set(compiled) == {
        "top_creators_by_engagement_30d",
        "platform_kpis_30d",
        "creators_with_follower_jumps",
        "product_sales_by_creator",
    }
    results = {name: query(settings, sql) for name, sql in compiled.items()}
    assert all(results.values()), {k: len(v) for k, v in results.items()}
    assert {r[0] for r in results["platform_kpis_30d"]} <= {"tiktok", "youtube", "instagram"}
    flagged = {r[2] for r in results["creators_with_follower_jumps"]}
    bought = {label["username"] for label in world.labels if label["is_fake_audience"]}
    assert bought <= flagged


def test_docs_generate_and_every_built_column_is_documented(
    settings: Settings, world: GoldWorld, gold: GoldSettings, target: Path, built: dict
) -> None:
    run = dbt(["docs", "generate"], settings, world, gold, target)
    assert run.success, run.error
    catalog = json.loads((target / "catalog.json").read_text())
    manifest = json.loads((target / "manifest.json").read_text())
    missing = []
    for uid, node in catalog["nodes"].items():
        documented = manifest["nodes"][uid]["columns"]
        missing += [
            f"{node['metadata']['name']}.{c}" for c in node["columns"] if c not in documented
        ]
    assert len(catalog["nodes"]) >= 25
    assert not missing

    # persist_docs: each mart's columns carry their descriptions in Trino, after daily runs
    # that replaced the dimensions (comments in the CREATE) and merged into the facts
    # (comments only where they differ).
    stale = []
    for uid, node in catalog["nodes"].items():
        if manifest["nodes"][uid]["config"].get("persist_docs", {}).get("columns"):
            documented = manifest["nodes"][uid]["columns"]
            stale += [
                f"{node['metadata']['name']}.{c}"
                for c, column in node["columns"].items()
                if (column.get("comment") or "").strip() != documented[c]["description"].strip()
            ]
    assert not stale


def test_rows_that_arrive_days_late_rebuild_their_own_days(
    settings: Settings, world: GoldWorld, gold: GoldSettings, target: Path, built: dict
) -> None:
    """A profile reading of the first day that reaches Silver in the interval after the
    world (three days late, past late_days): the run for that interval rebuilds the first day."""
    profiles = world.topic(PROFILES_TOPIC)
    late_time = datetime.combine(DAY[0], datetime.max.time(), UTC).replace(microsecond=0)
    arrived = datetime.combine(DAY[3] + timedelta(days=1), datetime.min.time(), UTC)
    planted = _copy_latest_row(
        settings,
        "profiles",
        {
            "kafka_offset": "-3",
            "event_id": "'late-' || event_id",
            "followers": "987654321",
            "event_time": f"TIMESTAMP '{late_time:%Y-%m-%d %H:%M:%S} UTC'",
            "event_date": f"DATE '{DAY[0]}'",
            "kafka_timestamp": f"TIMESTAMP '{arrived + timedelta(hours=1):%Y-%m-%d %H:%M:%S} UTC'",
            "landed_ts": f"TIMESTAMP '{arrived + timedelta(hours=1):%Y-%m-%d %H:%M:%S} UTC'",
        },
    )
    query(settings, planted, [profiles])
    try:
        ((kol_id,),) = query(
            settings,
            f"SELECT kol_id FROM {gold.schema_name}_staging.stg_silver__profiles "
            "WHERE event_id LIKE 'late-%'",
        )
        assert (
            runner.oldest_arrived_day(
                arrived.date(),
                arrived.date() + timedelta(days=1),
                world.ingest.topic_prefix,
                settings,
            )
            == DAY[0]
        )
        run = runner.build(
            arrived.date(),
            arrived.date() + timedelta(days=1),
            topic_prefix=world.ingest.topic_prefix,
            settings=settings,
            gold=gold,
            target_path=target,
            quiet=True,
            unit_tests=False,
        )
        assert run.success, [(n.name, n.message) for n in run.failed] or run.error
        rows = query(
            settings,
            f"SELECT followers FROM {gold.schema_name}.fct_kol_daily "
            "WHERE kol_id = ? AND date_day = ?",
            [kol_id, DAY[0]],
        )
        assert rows == [(987654321,)]  # the late reading is the day's last
    finally:
        query(
            settings,
            "DELETE FROM silver.profiles WHERE kafka_topic = ? AND kafka_offset = -3",
            [profiles],
        )


def test_planted_silver_problems_fail_dbt_test_naming_the_test(
    settings: Settings, world: GoldWorld, gold: GoldSettings, target: Path, built: dict
) -> None:
    profiles, videos = world.topic(PROFILES_TOPIC), world.topic(VIDEOS_TOPIC)
    # A duplicate key (an event Silver already has, again) and a broken foreign key (a video
    # snapshot from a platform Gold does not know), both written past Silver's checks.
    # Negative Kafka offsets mark the planted rows for clean-up.
    query(settings, _copy_latest_row(settings, "profiles", {"kafka_offset": "-1"}), [profiles])
    query(
        settings,
        _copy_latest_row(
            settings,
            "video_stats",
            {
                "kafka_offset": "-2",
                "platform": "'facebook'",
                "event_id": "'planted-' || event_id",
                "video_id": "'planted-' || video_id",
            },
        ),
        [videos],
    )
    try:
        rebuilt = dbt(
            ["run", "--select", "int_video_stats_aggregated_to_days", "fct_video_daily"],
            settings,
            world,
            gold,
            target,
        )
        assert rebuilt.success
        tested = dbt(
            ["test", "--select", "stg_silver__profiles", "fct_video_daily"],
            settings,
            world,
            gold,
            target,
        )
        assert not tested.success
        failed = {n.name for n in tested.failed}
        assert "unique_stg_silver__profiles_event_id" in failed
        assert "relationships_fct_video_daily_platform__platform__ref_dim_platforms_" in failed
    finally:
        query(
            settings,
            "DELETE FROM silver.profiles WHERE kafka_topic = ? AND kafka_offset < 0",
            [profiles],
        )
        query(
            settings,
            "DELETE FROM silver.video_stats WHERE kafka_topic = ? AND kafka_offset < 0",
            [videos],
        )
