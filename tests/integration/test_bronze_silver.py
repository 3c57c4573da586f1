"""Cold path against the real stack: generated world -> Kafka -> Bronze -> Silver, gates, Trino."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from kafka import KafkaProducer
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from expectations.gate import run_gate
from ingestion.contracts import TOPICS
from ingestion.generator import GeneratorConfig
from ingestion.pipeline import run_world
from ingestion.producer import KafkaEventSink, ensure_topics
from kol.interval import Interval
from kol.lakehouse import TOPIC_TABLES, rows_in_interval
from kol.settings import IngestSettings, Settings, get_ingest_settings
from kol.topics import PROFILES_TOPIC, topic_name
from kol.trino import query
from spark_jobs import bronze_to_silver, kafka_to_bronze
from spark_jobs.reconcile import bronze_gaps
from spark_jobs.silver.parse import parse_bronze
from spark_jobs.silver.write import Inserted, SilverWriteError, insert_new, table_conflicts
from spark_jobs.tables import (
    WRITE_PROPERTIES,
    ensure_write_properties,
    has_rows_between,
    iceberg_table,
)

DAY1 = Interval.parse("2026-01-01", "2026-01-02")
DAY2 = Interval.parse("2026-01-02", "2026-01-03")
# Records a third-party scraper wrote straight to the raw topic, bypassing the contract check.
FOREIGN = [
    b'{"event_id": "foreign-1", "platform": "tiktok", "username": "x", "event_time": "2026-',
    json.dumps(
        {
            "event_id": "foreign-2",
            "event_time": "2026-01-01T05:00:00Z",
            "event_type": "profile_snapshot",
            "platform": "tiktok",
            "username": "scraped",
            "followers_raw": "12..5K",
        }
    ).encode(),
]


def late_profile(prefix: str) -> bytes:
    return json.dumps(
        {
            "event_id": f"{prefix}late-1",
            "event_time": "2026-01-01T23:30:00Z",
            "event_type": "profile_snapshot",
            "platform": "tiktok",
            "username": "late_arrival",
            "followers_raw": "1.2K",
        }
    ).encode()


@pytest.fixture(scope="module")
def world(settings: Settings) -> Iterator[IngestSettings]:
    """A two-day world with duplicates, late and malformed events, in topics of its own."""
    mp = pytest.MonkeyPatch()
    prefix = f"it{datetime.now(UTC):%H%M%S%f}."
    mp.setenv("KOL_INGEST_TOPIC_PREFIX", prefix)
    get_ingest_settings.cache_clear()
    ingest = get_ingest_settings()
    ensure_topics(settings, ingest)
    config = GeneratorConfig(
        # Enough profile records that the planted rejects below stay under the Silver gate's
        # reject ratio (5 %): 25 creators gave 57 records, and 3 planted rejects are 5.3 %.
        creators=40,
        days=2,
        # event_id is derived from the seed and Silver deduplicates on it across runs: a seed
        # of its own keeps this run's events from being taken for an earlier run's.
        seed=int(datetime.now(UTC).timestamp() * 1000) % 1_000_000_007,
        start=DAY1.start,
        duplicate_rate=0.05,
        late_rate=0.05,
        malformed_rate=0.02,
        max_late_hours=6,
    )
    sink = KafkaEventSink(settings, ingest)
    run_world(config, sink)
    sink.close()
    producer = KafkaProducer(**settings.kafka_client_config())
    ts = int(datetime(2026, 1, 1, 6, tzinfo=UTC).timestamp() * 1000)
    for payload in FOREIGN:
        producer.send(topic_name(PROFILES_TOPIC, ingest), payload, key=b"tiktok:x", timestamp_ms=ts)
    # Two different events under one id (a producer's bug): the first is kept, the second is
    # a conflict in rejects, not a "duplicate".
    for followers in ("1.5K", "7.7K"):
        producer.send(
            topic_name(PROFILES_TOPIC, ingest),
            json.dumps(
                {
                    "event_id": f"{prefix}conflict-1",
                    "event_time": "2026-01-01T07:00:00Z",
                    "event_type": "profile_snapshot",
                    "platform": "tiktok",
                    "username": "twice",
                    "followers_raw": followers,
                }
            ).encode(),
            key=b"tiktok:twice",
            timestamp_ms=ts,
        )
    # The generator's own late events cross midnight only by chance (a few per world); this
    # one always does: observed late on day 1, delivered early on day 2.
    producer.send(
        topic_name(PROFILES_TOPIC, ingest),
        late_profile(prefix),
        key=b"tiktok:late_arrival",
        timestamp_ms=int(datetime(2026, 1, 2, 1, tzinfo=UTC).timestamp() * 1000),
    )
    producer.flush()
    producer.close()
    yield ingest
    mp.undo()
    get_ingest_settings.cache_clear()


@pytest.fixture(scope="module")
def day1(spark: SparkSession, world: IngestSettings) -> dict[str, object]:
    """Day 1 landed once for the module: Bronze counts and Silver accounts."""
    bronze = kafka_to_bronze.run(DAY1)
    return {"bronze": bronze, "silver": {a.topic: a for a in bronze_to_silver.run(DAY1)}}


def kafka_records_in(
    settings: Settings, ingest: IngestSettings, interval: Interval
) -> dict[str, int]:
    from kafka import KafkaConsumer

    counts = {}
    for topic in TOPICS:
        consumer = KafkaConsumer(
            topic_name(topic, ingest),
            **settings.kafka_client_config(),
            auto_offset_reset="earliest",
            consumer_timeout_ms=3000,
            enable_auto_commit=False,
        )
        lo, hi = interval.start.timestamp() * 1000, interval.end.timestamp() * 1000
        counts[topic] = sum(1 for m in consumer if lo <= m.timestamp < hi)
        consumer.close()
    return counts


def table_snapshot(
    spark: SparkSession, settings: Settings, ingest: IngestSettings
) -> dict[str, list]:
    cat = settings.iceberg_catalog_name
    snap = {}
    for topic in TOPICS:
        t = TOPIC_TABLES[topic]
        kt = topic_name(topic, ingest)
        b = spark.table(f"{cat}.bronze.{t.bronze}").where(F.col("topic") == kt)
        s = spark.table(f"{cat}.silver.{t.silver}").where(F.col("kafka_topic") == kt)
        snap[topic] = [
            sorted((r.partition, r.offset, r.value) for r in b.collect()),
            sorted(r.event_id for r in s.collect()),
        ]
    r = spark.table(f"{cat}.silver.rejects").where(F.col("topic").startswith(ingest.topic_prefix))
    snap["rejects"] = sorted((r.topic, r.offset, r.reason) for r in r.collect())
    return snap


def test_bronze_and_silver_account_for_every_record_and_rerun_changes_nothing(
    spark: SparkSession, settings: Settings, world: IngestSettings, day1: dict
) -> None:
    in_kafka = kafka_records_in(settings, world, DAY1)
    assert sum(in_kafka.values()) > 500

    bronze_counts = day1["bronze"]
    assert bronze_counts == in_kafka

    accounts = day1["silver"]
    for topic, acc in accounts.items():
        assert acc.bronze == in_kafka[topic]
        assert acc.balanced, acc
    assert sum(a.duplicates for a in accounts.values()) > 0
    assert sum(a.silver for a in accounts.values()) > 0.8 * sum(in_kafka.values())
    assert accounts[PROFILES_TOPIC].rejects >= len(FOREIGN)

    cat = settings.iceberg_catalog_name
    for topic in TOPICS:
        silver = spark.table(f"{cat}.silver.{TOPIC_TABLES[topic].silver}").where(
            F.col("kafka_topic") == topic_name(topic, world)
        )
        assert silver.count() == silver.select("event_id").distinct().count()
        # The job counts while it writes; here the same account is taken from the tables.
        bronze = rows_in_interval(
            spark.table(f"{cat}.bronze.{TOPIC_TABLES[topic].bronze}"), DAY1
        ).where(F.col("topic") == topic_name(topic, world))
        valid = parse_bronze(bronze, topic).where(F.col("reject_reason").isNull())
        acc = accounts[topic]
        assert rows_in_interval(silver, DAY1).count() == acc.silver, topic
        conflicts = (
            spark.table(f"{cat}.silver.rejects")
            .where(F.col("topic") == topic_name(topic, world))
            .where(F.col("reason").startswith("conflict:"))
            .count()
        )
        assert valid.count() - acc.silver == acc.duplicates + conflicts, topic
        lost = valid.join(silver, "event_id", "left_anti")
        assert lost.count() == 0, f"{topic}: valid records with no event in Silver"

    reasons = {
        r.reason
        for r in spark.table(f"{cat}.silver.rejects")
        .where(F.col("topic") == topic_name(PROFILES_TOPIC, world))
        .collect()
    }
    assert any("malformed JSON" in r for r in reasons)
    assert any(r.startswith(f"conflict: event_id {world.topic_prefix}conflict-1") for r in reasons)
    kept = (
        spark.table(f"{cat}.silver.profiles")
        .where(F.col("event_id") == f"{world.topic_prefix}conflict-1")
        .collect()
    )
    assert [r.followers for r in kept] == [1500]  # the first record of the id
    assert any("followers_raw" in r and "12..5K" in r for r in reasons)

    before = table_snapshot(spark, settings, world)
    assert kafka_to_bronze.run(DAY1) == bronze_counts
    again = {a.topic: a for a in bronze_to_silver.run(DAY1)}
    assert {t: (a.bronze, a.silver, a.rejects) for t, a in again.items()} == {
        t: (a.bronze, a.silver, a.rejects) for t, a in accounts.items()
    }
    assert table_snapshot(spark, settings, world) == before


def test_late_records_land_in_the_next_interval(
    spark: SparkSession, settings: Settings, world: IngestSettings, day1: dict
) -> None:
    # A straggler: stamped inside day 1 (a producer's skewed clock), sent after day 1's run.
    # Selected by timestamp, it was never loaded; by offsets, day 2's run finds it.
    producer = KafkaProducer(**settings.kafka_client_config())
    producer.send(
        topic_name(PROFILES_TOPIC, world),
        json.dumps(
            {
                "event_id": f"{world.topic_prefix}straggler-1",
                "event_time": "2026-01-01T10:00:00Z",
                "event_type": "profile_snapshot",
                "platform": "tiktok",
                "username": "straggler",
                "followers_raw": "3.3K",
            }
        ).encode(),
        key=b"tiktok:straggler",
        timestamp_ms=int(datetime(2026, 1, 1, 10, tzinfo=UTC).timestamp() * 1000),
    ).get(timeout=30)
    producer.close()
    gaps = bronze_gaps(spark, settings, world)
    assert [(g.topic, g.records) for g in gaps] == [(topic_name(PROFILES_TOPIC, world), 1)]

    day2 = kafka_to_bronze.run(DAY2)
    in_kafka = kafka_records_in(settings, world, DAY2)
    assert day2 == {t: n + (t == PROFILES_TOPIC) for t, n in in_kafka.items()}
    bronze_to_silver.run(DAY2)
    assert bronze_gaps(spark, settings, world) == []
    cat = settings.iceberg_catalog_name
    (straggler,) = (
        spark.table(f"{cat}.silver.{TOPIC_TABLES[PROFILES_TOPIC].silver}")
        .where(F.col("event_id") == f"{world.topic_prefix}straggler-1")
        .collect()
    )
    assert straggler.followers == 3300
    assert straggler.landed_ts == DAY2.start.replace(tzinfo=None)  # Spark's local (UTC) time
    # Rerun of day 2: nothing new anywhere.
    before = table_snapshot(spark, settings, world)
    assert kafka_to_bronze.run(DAY2) == day2
    bronze_to_silver.run(DAY2)
    assert table_snapshot(spark, settings, world) == before
    # Late events: observed on day 1, arrived on day 2, so day 2's run is the one that has them.
    planted = spark.table(f"{cat}.silver.{TOPIC_TABLES[PROFILES_TOPIC].silver}").where(
        (F.col("event_id") == f"{world.topic_prefix}late-1")
        & (F.col("kafka_timestamp") >= F.lit(DAY2.start))
    )
    assert [r.followers for r in planted.collect()] == [1200]
    late = 0
    for topic in TOPICS:
        silver = spark.table(f"{cat}.silver.{TOPIC_TABLES[topic].silver}").where(
            F.col("kafka_topic") == topic_name(topic, world)
        )
        late += silver.where(
            (F.col("event_time") < F.lit(DAY2.start))
            & (F.col("kafka_timestamp") >= F.lit(DAY2.start))
        ).count()
    assert late > 0


def test_gates_pass_on_generated_data_and_trino_reads_every_table(
    spark: SparkSession, settings: Settings, world: IngestSettings, day1: dict
) -> None:
    for layer in ("bronze", "silver"):
        result = run_gate(spark, settings, layer, DAY1)
        assert result.ok, result.failures

    for topic in TOPICS:
        t = TOPIC_TABLES[topic]
        kt = topic_name(topic, world)
        n_bronze = query(settings, f"SELECT count(*) FROM bronze.{t.bronze} WHERE topic = ?", [kt])
        expected = rows_in_interval(
            spark.table(f"{settings.iceberg_catalog_name}.bronze.{t.bronze}"), DAY1
        ).where(F.col("topic") == kt)
        assert n_bronze[0][0] >= expected.count() > 0
        query(settings, f"SELECT count(*) FROM silver.{t.silver} WHERE kafka_topic = ?", [kt])
    assert query(settings, "SELECT count(*) FROM silver.rejects")[0][0] > 0


def test_insert_new_counts_its_write_and_refuses_a_table_with_repeated_ids(
    spark: SparkSession, settings: Settings, unique: str
) -> None:
    table = f"{settings.iceberg_catalog_name}.silver.insert_check_{unique}"
    t0 = datetime(2026, 1, 1, tzinfo=UTC)

    def rows(*records: tuple[str, int] | tuple[str, int, str]) -> DataFrame:
        return spark.createDataFrame(
            [
                (r[0], t0, r[2] if len(r) > 2 else "v", "kol.videos.raw", 0, r[1], t0, t0)
                for r in records
            ],
            "event_id string, event_time timestamp, v string, kafka_topic string, "
            "kafka_partition int, kafka_offset bigint, kafka_timestamp timestamp, "
            "landed_ts timestamp",
        )

    rows(("a", 0)).writeTo(table).using("iceberg").create()
    try:
        # b is new; a is already there as this very record; the other a is a later copy of it.
        done = insert_new(spark, rows(("a", 0), ("b", 1)), table, (t0, t0))
        assert done == Inserted(offered=2, written=1, present=1)
        done = insert_new(spark, rows(("a", 7)), table, (t0, t0))
        assert done == Inserted(offered=1, written=0, present=0, duplicates=1)
        # Other content under a's id: a conflict, neither written nor a duplicate.
        other = rows(("a", 8, "changed"))
        done = insert_new(spark, other, table, (t0, t0))
        assert done == Inserted(offered=1, written=0, present=0, conflicts=1)
        (clash,) = table_conflicts(spark, other, table, (t0, t0), t0).collect()
        assert clash.offset == 8 and "kol.videos.raw/0/0" in clash.reason
        assert sorted(r.event_id for r in spark.table(table).collect()) == ["a", "b"]

        rows(("b", 1)).writeTo(table).append()
        with pytest.raises(SilverWriteError, match="no longer unique"):
            insert_new(spark, rows(("b", 1)), table, (t0, t0))
    finally:
        spark.sql(f"DROP TABLE IF EXISTS {table} PURGE")


def test_has_rows_between_answers_from_the_manifests(
    spark: SparkSession, settings: Settings, unique: str
) -> None:
    table = f"{settings.iceberg_catalog_name}.silver.range_check_{unique}"
    t0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
    spark.sql(f"CREATE TABLE {table} (event_time TIMESTAMP, topic STRING) USING iceberg")
    try:
        assert not has_rows_between(spark, table, "event_time", t0, t0)  # no snapshot yet
        spark.createDataFrame([(t0, "a")], "event_time timestamp, topic string").writeTo(
            table
        ).append()
        minute = timedelta(minutes=1)
        assert has_rows_between(spark, table, "event_time", t0, t0)
        assert has_rows_between(spark, table, "event_time", t0 - minute, t0 + minute)
        assert not has_rows_between(spark, table, "event_time", t0 + minute, t0 + 2 * minute)
        assert not has_rows_between(spark, table, "event_time", t0 - 2 * minute, t0 - minute)
        # Spark hands times back naive, in this process's local time.
        naive = t0.astimezone().replace(tzinfo=None)
        assert has_rows_between(spark, table, "event_time", naive, naive)
        assert has_rows_between(spark, table, "event_time", t0, t0, ("topic", "a"))
        assert not has_rows_between(spark, table, "event_time", t0, t0, ("topic", "b"))
    finally:
        spark.sql(f"DROP TABLE IF EXISTS {table} PURGE")


def test_tables_get_the_write_properties_once(
    spark: SparkSession, settings: Settings, unique: str
) -> None:
    table = f"{settings.iceberg_catalog_name}.silver.props_check_{unique}"
    spark.sql(
        f"CREATE TABLE {table} (id STRING) USING iceberg "
        "TBLPROPERTIES ('write.distribution-mode'='hash')"
    )
    try:
        ensure_write_properties(spark, table)
        props = {r.key: r.value for r in spark.sql(f"SHOW TBLPROPERTIES {table}").collect()}
        assert {k: props.get(k) for k in WRITE_PROPERTIES} == WRITE_PROPERTIES
        metadata = iceberg_table(spark, table).metadata_location
        ensure_write_properties(spark, table)  # up to date: no new metadata
        t = iceberg_table(spark, table)
        assert t.metadata_location == metadata
    finally:
        spark.sql(f"DROP TABLE IF EXISTS {table} PURGE")
