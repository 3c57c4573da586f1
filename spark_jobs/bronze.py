"""Bronze: Kafka records of a data interval, kept as received.

The interval ``[start, end)`` is on the Kafka record timestamp, i.e. when the record reached the
platform (producers stamp it at send time). An event that is late in *event* time therefore
arrives in a later interval and is picked up by that interval's run, never lost.

Idempotence: rows are merged on ``(topic, partition, offset)``, the identity Kafka gives a record,
with "insert when not matched". A re-run of an interval, or an overlapping one, finds every record
already there and adds nothing; unlike overwriting day partitions, this stays correct for
intervals that do not align with days, and unlike an offsets ledger it keeps no state outside the
table that could drift from it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from kol.settings import Settings
from spark_jobs.interval import Interval
from spark_jobs.tables import (
    BRONZE,
    BRONZE_COLUMNS,
    added_since,
    current_snapshot_id,
    ensure_write_properties,
    has_rows_between,
    tblproperties,
)


def sql_ts(ts: datetime) -> str:
    """A UTC timestamp literal for Spark SQL (sessions run in UTC)."""
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def kafka_offset_range(
    settings: Settings, topics: list[str], start: datetime
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """Per-partition offsets that contain every record stamped at or after ``start``.

    Kafka finds the earliest offset whose timestamp is >= ``start``: every record before it is
    older, so nothing of the interval is skipped. Producer-stamped timestamps are not ordered
    within a partition, though (a record stamped inside the interval can follow later ones),
    so the range runs to the latest offset and the exact interval is filtered afterwards.
    """
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap.split(","), client_id="kol-bronze-offsets"
    )
    try:
        parts = []
        for topic in topics:
            ids = consumer.partitions_for_topic(topic)
            if not ids:  # None, or an empty set before the client has the topic's metadata
                raise ValueError(
                    f"Kafka topic {topic!r} does not exist on {settings.kafka_bootstrap}"
                )
            parts += [TopicPartition(topic, p) for p in sorted(ids)]
        latest = consumer.end_offsets(parts)
        found = consumer.offsets_for_times({tp: int(start.timestamp() * 1000) for tp in parts})
    finally:
        consumer.close()
    starting: dict[str, dict[str, int]] = {}
    ending: dict[str, dict[str, int]] = {}
    for tp in parts:
        hit = found.get(tp)
        starting.setdefault(tp.topic, {})[str(tp.partition)] = hit.offset if hit else latest[tp]
        ending.setdefault(tp.topic, {})[str(tp.partition)] = latest[tp]
    return starting, ending


def read_kafka(
    spark: SparkSession,
    settings: Settings,
    starting: dict[str, dict[str, int]],
    ending: dict[str, dict[str, int]],
) -> DataFrame:
    return (
        spark.read.format("kafka")
        .option("kafka.bootstrap.servers", settings.kafka_bootstrap)
        .option("subscribe", ",".join(sorted(starting)))
        .option("startingOffsets", json.dumps(starting))
        .option("endingOffsets", json.dumps(ending))
        .option("failOnDataLoss", "false")
        .load()
    )


def to_bronze(kafka: DataFrame, interval: Interval, ingest_time: datetime) -> DataFrame:
    """Kafka source rows -> Bronze rows of the interval (raw value as received)."""
    ts = F.col("timestamp")
    return kafka.where((ts >= F.lit(interval.start)) & (ts < F.lit(interval.end))).select(
        F.col("topic"),
        F.col("partition").cast("int").alias("partition"),
        F.col("offset").cast("bigint").alias("offset"),
        F.col("key").cast("string").alias("key"),
        F.col("value").cast("string").alias("value"),
        F.col("timestamp").alias("kafka_timestamp"),
        F.lit(ingest_time).cast("timestamp").alias("ingest_time"),
    )


def rows_in_interval(bronze: DataFrame, interval: Interval) -> DataFrame:
    ts = F.col("kafka_timestamp")
    return bronze.where((ts >= F.lit(interval.start)) & (ts < F.lit(interval.end)))


def ensure_bronze_table(spark: SparkSession, table: str) -> None:
    spark.sql(
        f"CREATE TABLE IF NOT EXISTS {table} ({BRONZE_COLUMNS}) USING iceberg "
        f"PARTITIONED BY (days(kafka_timestamp)) {tblproperties()}"
    )
    ensure_write_properties(spark, table)


def merge_into_bronze(
    spark: SparkSession, rows: DataFrame, table: str, interval: Interval, kafka_topic: str
) -> int | None:
    """Insert the records the table does not hold yet (identity: topic, partition, offset).

    When Iceberg's manifests say no file holds ``kafka_topic`` in the interval's time range
    (the usual daily run), every record is new and is appended without the MERGE. That saves
    little: Spark already drops the MERGE's join with an empty side (1.2M events, cold JVM,
    alternating runs: 29.6 / 29.2 s merged, 28.4 / 26.9 s appended; warm, no difference).

    Returns the number of records appended on that path, which are then all of the topic's
    rows in the interval (from the commit's summary, so nothing is scanned to count them);
    ``None`` after a MERGE, whose result has to be counted.
    """
    if not has_rows_between(
        spark, table, "kafka_timestamp", interval.start, interval.end, ("topic", kafka_topic)
    ):
        before = current_snapshot_id(spark, table)
        rows.writeTo(table).append()
        return added_since(spark, table, before)
    view = f"bronze_batch_{abs(hash(table))}"
    rows.createOrReplaceTempView(view)
    # The literal time range lets Iceberg prune the target to the interval's day partitions.
    spark.sql(
        f"""
        MERGE INTO {table} t
        USING {view} s
        ON t.topic = s.topic AND t.`partition` = s.`partition` AND t.`offset` = s.`offset`
           AND t.kafka_timestamp >= TIMESTAMP '{sql_ts(interval.start)}'
           AND t.kafka_timestamp < TIMESTAMP '{sql_ts(interval.end)}'
        WHEN NOT MATCHED THEN INSERT *
        """
    )
    return None


def bronze_namespace(settings: Settings) -> str:
    return f"{settings.iceberg_catalog_name}.{BRONZE}"
