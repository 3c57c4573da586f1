"""The platform's Kafka topics: their logical names, and the topic a name has under the
configured prefix. Producers, Spark jobs, the stream and the gates all name topics here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from kol.settings import IngestSettings

# Creator events, one topic per event contract (ingestion.contracts).
PROFILES_TOPIC: Final = "kol.profiles.raw"
VIDEOS_TOPIC: Final = "kol.videos.raw"
COMMENTS_TOPIC: Final = "kol.comments.raw"
PRODUCTS_TOPIC: Final = "kol.products.raw"
DISCOVERY_TOPIC: Final = "kol.discovery.raw"
RAW_TOPICS: Final = (PROFILES_TOPIC, VIDEOS_TOPIC, COMMENTS_TOPIC, PRODUCTS_TOPIC, DISCOVERY_TOPIC)
# Events that fail their contract at a producer, with the reason.
DLQ_TOPIC: Final = "kol.dlq"
# The streaming job's outputs.
SCORES_TOPIC: Final = "kol.scores.stream"
ALERTS_TOPIC: Final = "kol.alerts.stream"


def topic_name(logical: str, ingest: IngestSettings) -> str:
    """The Kafka topic of a logical topic (``kol.videos.raw``) under the configured prefix.

    The prefix is empty in normal use; tests and benchmarks set one so that runs never share
    topics."""
    return f"{ingest.topic_prefix}{logical}"
