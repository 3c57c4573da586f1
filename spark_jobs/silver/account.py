"""Where every Bronze record of an interval went: its Silver table, the duplicates count or
``silver.rejects``, each counted on its own so that the balance is a check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from kol.interval import Interval
from kol.lakehouse import rows_in_interval
from spark_jobs.silver.dedup import BatchRepeats
from spark_jobs.silver.write import Inserted


@dataclass(frozen=True)
class BatchStats:
    """What one topic's parsed batch holds, from a single pass over it."""

    rows: int
    rejects: int
    # first and last event time of the valid rows: the Silver days the batch can touch
    event_range: tuple[datetime, datetime] | None


def batch_stats(parsed: DataFrame) -> BatchStats:
    valid_time = F.when(F.col("reject_reason").isNull(), F.col("event_time"))
    row = parsed.agg(
        F.count(F.lit(1)), F.count("reject_reason"), F.min(valid_time), F.max(valid_time)
    ).first()
    assert row is not None
    return BatchStats(row[0], row[1], None if row[2] is None else (row[2], row[3]))


@dataclass
class TopicAccount:
    topic: str
    bronze: int
    silver: int
    duplicates: int
    rejects: int

    @property
    def balanced(self) -> bool:
        return self.bronze == self.silver + self.duplicates + self.rejects


def account(
    spark: SparkSession,
    topic: str,
    kafka_topic: str,
    stats: BatchStats,
    repeats: BatchRepeats,
    inserted: Inserted | None,
    interval: Interval,
    rejects_table: str,
) -> TopicAccount:
    """Where each Bronze record of the interval went, each place counted on its own: Silver
    (written now, or by an earlier run of the interval) and duplicates from the counts the
    deduplication and :func:`insert_new` took; rejects (contract failures and conflicts) in
    ``rejects_table``. Nothing is derived by subtraction, so the balance is a check: a record
    counted nowhere, or twice, leaves it unbalanced.
    """
    silver = 0 if inserted is None else inserted.written + inserted.present
    conflicts = repeats.conflicts is not None or (inserted is not None and inserted.conflicts)
    in_rejects = 0
    if stats.rejects or conflicts:
        in_rejects = (
            rows_in_interval(spark.table(rejects_table), interval)
            .where(F.col("topic") == kafka_topic)
            .count()
        )
    duplicates = repeats.duplicates + (0 if inserted is None else inserted.duplicates)
    return TopicAccount(topic, stats.rows, silver, duplicates, in_rejects)
