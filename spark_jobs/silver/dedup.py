"""One Silver row per event: a batch's repeated event ids found, its duplicates counted and its
conflicts (other content under an id) made rejects rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from kol.lakehouse import LANDED

# What is not an event's content: where its record came from and what Silver adds.
RECORD = ("kafka_topic", "kafka_partition", "kafka_offset", "kafka_timestamp", LANDED)
_NOT_CONTENT = frozenset({*RECORD, "payload", "reject_reason", "event_date", "processed_at"})


def content_columns(df: DataFrame) -> list[str]:
    """The event's own fields (its contract's columns), in ``df``'s order."""
    return [c for c in df.columns if c not in _NOT_CONTENT and not c.startswith("_")]


def content_hash(columns: list[str]) -> Column:
    """A 64-bit hash of an event's fields: two records of one event (a re-send) hash alike,
    two events that share an id almost surely do not. Spark's hash skips nulls, so each field
    brings its null flag too, or (x, null) and (null, x) would hash alike."""
    parts: list[Column] = []
    for c in columns:
        parts += [F.col(c), F.col(c).isNull()]
    return F.xxhash64(*parts)


def _repeats(parsed: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Valid rows split into (rows whose event_id is seen once, rows of the ids seen more
    than once with ``_n``, their rank in Kafka order, ``_same``, whether their content is the
    first record's, and ``_first``, that record's coordinates).

    Repeats are rare (retries, re-sends), so only they are ordered. They are found by a
    64-bit hash of the id, which shuffles and groups faster than the string; two ids sharing a
    hash only send both through the ordering, which partitions by the id itself. A window over
    every row would shuffle and sort whole records (bench/README.md has the comparison)."""
    valid = (
        parsed.where(F.col("reject_reason").isNull())
        .drop("reject_reason", "payload")
        .withColumn("_h", F.xxhash64("event_id"))
    )
    repeated = F.broadcast(valid.groupBy("_h").count().where(F.col("count") > 1).select("_h"))
    order = Window.partitionBy("event_id").orderBy(
        "kafka_timestamp", "kafka_partition", "kafka_offset"
    )
    first = F.first
    ordered = (
        valid.join(repeated, "_h", "left_semi")
        .withColumn("_c", content_hash(content_columns(valid)))
        .withColumn("_n", F.row_number().over(order))
        .withColumn("_same", F.col("_c") == first("_c").over(order))
        .withColumn(
            "_first",
            F.format_string(
                "%s/%d/%d",
                first("kafka_topic").over(order),
                first("kafka_partition").over(order),
                first("kafka_offset").over(order),
            ),
        )
    )
    return valid.join(repeated, "_h", "left_anti").drop("_h"), ordered.drop("_h", "_c")


def silver_rows(parsed: DataFrame, processed_at: datetime) -> DataFrame:
    """Valid rows, one per ``event_id`` (the first Kafka record of an event wins)."""
    once, ordered = _repeats(parsed)
    firsts = ordered.where("_n = 1").drop("_n", "_same", "_first")
    return (
        once.unionByName(firsts)
        .withColumn("event_date", F.to_date("event_time"))
        .withColumn("processed_at", F.lit(processed_at).cast("timestamp"))
    )


@dataclass(frozen=True)
class BatchRepeats:
    """The later records of events a batch holds more than once."""

    duplicates: int  # the same event again (its content equal to the first record's)
    conflicts: DataFrame | None  # other content under the id: rejects-shaped rows, or None


def batch_repeats(parsed: DataFrame, processed_at: datetime, table: str) -> BatchRepeats:
    """Count a batch's duplicates, and make its conflicts rejects naming the first record."""
    _, ordered = _repeats(parsed)
    later = ordered.where("_n > 1").localCheckpoint()
    row = later.agg(F.count_if("_same"), F.count_if(~F.col("_same"))).first()
    assert row is not None
    if not row[1]:
        return BatchRepeats(row[0], None)
    reason = F.format_string(
        "conflict: event_id %s already came in this batch with different content "
        f"(first record %s); this record is not in {table}",
        "event_id",
        "_first",
    )
    conflicts = later.where(~F.col("_same"))
    return BatchRepeats(row[0], conflict_rejects(conflicts, reason, processed_at))


def conflict_rejects(rows: DataFrame, reason: Column, processed_at: datetime) -> DataFrame:
    """Rows of a Silver table's shape -> rejects rows; the payload is the event's fields as
    JSON (the raw bytes are in Bronze at the same topic, partition and offset)."""
    return rows.select(
        F.col("kafka_topic").alias("topic"),
        F.col("kafka_partition").alias("partition"),
        F.col("kafka_offset").alias("offset"),
        "kafka_timestamp",
        F.col("event_id").cast("string").alias("event_id"),
        F.to_json(F.struct(*content_columns(rows))).alias("payload"),
        reason.alias("reason"),
        F.lit(processed_at).cast("timestamp").alias("rejected_at"),
        LANDED,
    )
