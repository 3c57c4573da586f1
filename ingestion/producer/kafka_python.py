"""kafka-python clients: the producer every sink sends through, the admin that creates topics.

Both retry until the brokers answer (``connect_timeout_s``), so a command started with the
stack does not fail while Kafka is still coming up.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaConnectionError, KafkaTimeoutError, TopicAlreadyExistsError
from tenacity import (
    Retrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from ingestion.contracts import TOPICS
from kol.settings import IngestSettings, Settings
from kol.topics import DLQ_TOPIC, topic_name

log = logging.getLogger(__name__)


def _connect_retrying(timeout_s: float) -> Retrying:
    # kafka-python 3 reports unreachable brokers as a bootstrap timeout.
    return Retrying(
        retry=retry_if_exception_type((KafkaTimeoutError, KafkaConnectionError)),
        stop=stop_after_delay(timeout_s),
        wait=wait_exponential(multiplier=0.5, max=5.0),
        before_sleep=before_sleep_log(log, logging.WARNING),
        reraise=True,
    )


def make_producer(settings: Settings, ingest: IngestSettings, **overrides: Any) -> Any:
    """A batched, idempotent ``acks=all`` KafkaProducer, retried until the brokers answer."""
    config: dict[str, Any] = {
        **settings.kafka_client_config(),
        "client_id": "kol-ingest",
        "acks": "all",
        # Explicit, so kafka-python raises instead of silently downgrading on a conflict.
        "enable_idempotence": True,
        "linger_ms": ingest.linger_ms,
        "batch_size": ingest.batch_size,
        "compression_type": None if ingest.compression_type == "none" else ingest.compression_type,
        "max_in_flight_requests_per_connection": 5,
        "bootstrap_timeout_ms": int(min(10.0, ingest.connect_timeout_s) * 1000),
    }
    config.update(overrides)
    for attempt in _connect_retrying(ingest.connect_timeout_s):
        with attempt:
            return KafkaProducer(**config)
    raise AssertionError("unreachable")  # Retrying re-raises on the last failure


def make_admin(settings: Settings, ingest: IngestSettings) -> Any:
    for attempt in _connect_retrying(ingest.connect_timeout_s):
        with attempt:
            return KafkaAdminClient(**settings.kafka_client_config(), client_id="kol-ingest-admin")
    raise AssertionError("unreachable")


def ensure_topics(
    settings: Settings,
    ingest: IngestSettings,
    logical_topics: Iterable[str] = (*TOPICS, DLQ_TOPIC),
) -> dict[str, bool]:
    """Create the missing topics; returns {kafka topic: created now}."""
    names = [topic_name(t, ingest) for t in logical_topics]
    admin = make_admin(settings, ingest)
    try:
        existing = set(admin.list_topics())
        missing = [n for n in names if n not in existing]
        if missing:
            new = [
                NewTopic(
                    name=n,
                    num_partitions=settings.kafka_default_partitions,
                    replication_factor=ingest.replication_factor,
                    topic_configs={"retention.ms": str(ingest.retention_ms)},
                )
                for n in missing
            ]
            # Another producer may create one between our list and our create.
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(new, timeout_ms=30_000)
        return {n: n in missing for n in names}
    finally:
        admin.close()
