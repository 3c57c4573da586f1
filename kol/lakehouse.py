"""The lakehouse's tables as every layer names them: the Bronze and Silver namespaces, each raw
topic's tables, and which rows belong to a data interval (the arrival predicate the Bronze and
Silver jobs, the gates and tests all select with)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from kol.interval import Interval
from kol.topics import (
    COMMENTS_TOPIC,
    DISCOVERY_TOPIC,
    PRODUCTS_TOPIC,
    PROFILES_TOPIC,
    RAW_TOPICS,
    VIDEOS_TOPIC,
)

BRONZE = "bronze"
SILVER = "silver"


@dataclass(frozen=True)
class TopicTables:
    topic: str
    bronze: str  # table name inside the bronze namespace
    silver: str  # table name inside the silver namespace


TOPIC_TABLES: dict[str, TopicTables] = {
    PROFILES_TOPIC: TopicTables(PROFILES_TOPIC, "profiles_raw", "profiles"),
    VIDEOS_TOPIC: TopicTables(VIDEOS_TOPIC, "videos_raw", "video_stats"),
    COMMENTS_TOPIC: TopicTables(COMMENTS_TOPIC, "comments_raw", "comments"),
    PRODUCTS_TOPIC: TopicTables(PRODUCTS_TOPIC, "products_raw", "products"),
    DISCOVERY_TOPIC: TopicTables(DISCOVERY_TOPIC, "discovery_raw", "discovery"),
}
assert tuple(TOPIC_TABLES) == RAW_TOPICS

REJECTS = "rejects"

# Where a record sits in the platform's timeline: the interval whose run landed it in Bronze.
# Its Kafka timestamp, unless it was stamped in an interval that had already been landed (a
# producer's skewed clock, a late retry, a replay): then the start of the interval that found
# it. Every layer selects an interval's rows on it (:func:`rows_in_interval`), so such
# a record goes through Silver and Gold with the next run instead of being skipped. Null in rows
# written before the column existed: those were landed by their Kafka timestamp.
LANDED = "landed_ts"


def sql_ts(ts: datetime) -> str:
    """A UTC timestamp literal for Spark SQL (sessions run in UTC)."""
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def arrival(df: DataFrame) -> Column:
    """Where ``df``'s rows sit in the platform's timeline (:data:`LANDED`);
    rows written before that column existed were landed by their Kafka timestamp."""
    if LANDED in df.columns:
        return F.coalesce(F.col(LANDED), F.col("kafka_timestamp"))
    return F.col("kafka_timestamp")


def arrived_between(df: DataFrame, lo: datetime, hi: datetime) -> Column:
    """``lo <= arrival(df) < hi``, spelled out so that Iceberg can prune files on either
    column's bounds (a coalesce hides them)."""
    ts = F.col("kafka_timestamp")
    in_ts = (ts >= F.lit(lo)) & (ts < F.lit(hi))
    if LANDED not in df.columns:
        return in_ts
    landed = F.col(LANDED)
    return ((landed >= F.lit(lo)) & (landed < F.lit(hi))) | (landed.isNull() & in_ts)


def arrival_sql(alias: str, interval: Interval) -> str:
    """SQL for "the row of ``alias`` belongs to ``interval``" (as :func:`arrival`), in a form
    Iceberg prunes files with."""
    lo, hi = f"TIMESTAMP '{sql_ts(interval.start)}'", f"TIMESTAMP '{sql_ts(interval.end)}'"
    return (
        f"(({alias}.{LANDED} >= {lo} AND {alias}.{LANDED} < {hi}) OR ({alias}.{LANDED} IS NULL "
        f"AND {alias}.kafka_timestamp >= {lo} AND {alias}.kafka_timestamp < {hi}))"
    )


def rows_in_interval(df: DataFrame, interval: Interval) -> DataFrame:
    """The rows of a Bronze, Silver or rejects table that belong to ``interval``."""
    return df.where(arrived_between(df, interval.start, interval.end))
