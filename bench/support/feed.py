"""Putting events on the stream's input topics as a scraper would: unchecked.

The platform's own producers check every event against its contract and send failures to the
DLQ before Kafka. The stream must survive producers that do not (``kol.dlq`` from the stream
side), so tests and benchmarks feed the topics through :class:`RawSink`, which sends each
payload to its topic as it is.
"""

from __future__ import annotations

from typing import Any

from ingestion.producer import KafkaEventSink, Routed, SendSummary
from kol.settings import IngestSettings, Settings


class RawSink:
    """An :class:`ingestion.producer.EventSink` that skips the contract check."""

    def __init__(self, settings: Settings, ingest: IngestSettings, **producer: Any) -> None:
        from ingestion.producer import make_producer

        self._inner = KafkaEventSink(
            settings,
            ingest,
            source="raw-feed",
            producer=make_producer(settings, ingest, **producer) if producer else None,
        )

    @property
    def summary(self) -> SendSummary:
        return self._inner.summary

    def send(
        self,
        topic: str,
        payload: bytes,
        key_hint: str | None = None,
        timestamp_ms: int | None = None,
    ) -> Routed:
        """``timestamp_ms``: the Kafka timestamp (replayed history: the simulated arrival)."""
        self._inner.produce(topic, topic, key_hint, payload, None, timestamp_ms)
        return Routed(topic, key_hint, payload)

    def close(self) -> SendSummary:
        return self._inner.close()
