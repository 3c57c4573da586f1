"""Names and layouts of the Bronze and Silver tables, in one place for jobs, gates and tests."""

from __future__ import annotations

from dataclasses import dataclass

from ingestion.contracts import (
    COMMENTS_TOPIC,
    DISCOVERY_TOPIC,
    PRODUCTS_TOPIC,
    PROFILES_TOPIC,
    TOPICS,
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
assert set(TOPIC_TABLES) == set(TOPICS)

REJECTS = "rejects"

BRONZE_COLUMNS = """
    topic STRING NOT NULL,
    `partition` INT NOT NULL,
    `offset` BIGINT NOT NULL,
    key STRING,
    value STRING,
    kafka_timestamp TIMESTAMP NOT NULL,
    ingest_time TIMESTAMP NOT NULL
"""

REJECTS_COLUMNS = """
    topic STRING NOT NULL,
    `partition` INT NOT NULL,
    `offset` BIGINT NOT NULL,
    kafka_timestamp TIMESTAMP NOT NULL,
    event_id STRING,
    payload STRING,
    reason STRING NOT NULL,
    rejected_at TIMESTAMP NOT NULL
"""


def qualified(catalog: str, namespace: str, table: str) -> str:
    return f"{catalog}.{namespace}.{table}"
