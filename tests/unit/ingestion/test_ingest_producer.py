"""Routing, the DLQ record, and the Kafka sink against a stand-in producer (no broker)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from kafka.partitioner.default import murmur2

from ingestion.producer import (
    DryRunSink,
    JsonlSink,
    KafkaEventSink,
    ProcessKafkaSink,
    SendSummary,
    route,
)
from kol.settings import IngestSettings, Settings
from kol.topics import DLQ_TOPIC, PROFILES_TOPIC, topic_name

GOOD = {
    "event_id": "p-1",
    "event_time": "2025-01-01T00:00:00Z",
    "event_type": "profile_snapshot",
    "platform": "instagram",
    "username": "mai.glow",
    "followers_raw": "12,5K",
}


def test_valid_payload_goes_to_its_topic_unchanged() -> None:
    payload = orjson.dumps(GOOD)
    routed = route(PROFILES_TOPIC, payload)
    assert routed.topic == PROFILES_TOPIC and routed.value == payload
    assert routed.key == "instagram:mai.glow" and routed.reason is None


def test_rejected_payload_goes_to_the_dlq_with_payload_topic_and_reason() -> None:
    payload = orjson.dumps({**GOOD, "followers_raw": "12..5K"})
    routed = route(PROFILES_TOPIC, payload, source="test")
    assert routed.topic == DLQ_TOPIC and routed.reason == "count_parse:followers_raw"
    assert routed.key == "instagram:mai.glow"  # recovered from the payload
    record = orjson.loads(routed.value)
    assert record["topic"] == PROFILES_TOPIC
    assert record["payload"].encode() == payload
    assert record["reason"] == "count_parse:followers_raw" and "12..5K" in record["detail"]
    assert record["source"] == "test" and record["rejected_at"]


def test_unparseable_payload_keeps_its_bytes_in_the_dlq() -> None:
    routed = route(PROFILES_TOPIC, b'{"event_id": "x", "platf')
    assert routed.topic == DLQ_TOPIC and routed.key is None
    assert orjson.loads(routed.value)["payload"] == '{"event_id": "x", "platf'


class FakeFuture:
    def __init__(self) -> None:
        self.errbacks: list[Any] = []

    def add_errback(self, fn: Any, *args: Any) -> FakeFuture:
        self.errbacks.append((fn, args))
        return self

    def fail(self, exc: BaseException) -> None:
        # As kafka.future.Future: the bound arguments first, the exception last.
        for fn, args in self.errbacks:
            fn(*args, exc)


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.futures: list[FakeFuture] = []
        self.timestamps: list[int | None] = []
        self.closed = False

    def partitions_for(self, topic: str) -> set[int]:
        return {0, 1, 2}

    def send(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        partition: Any = None,
        timestamp_ms: int | None = None,
    ) -> Any:
        self.sent.append({"topic": topic, "value": value, "key": key, "partition": partition})
        self.timestamps.append(timestamp_ms)
        future = FakeFuture()
        self.futures.append(future)
        return future

    def flush(self, timeout: float | None = None) -> None:
        pass

    def close(self, timeout: float | None = None) -> None:
        self.closed = True


@pytest.fixture
def sink() -> KafkaEventSink:
    ingest = IngestSettings(topic_prefix="t1.")
    return KafkaEventSink(Settings(), ingest, producer=FakeProducer())


def test_kafka_sink_keys_partitions_and_prefixes(sink: KafkaEventSink) -> None:
    sink.send(PROFILES_TOPIC, orjson.dumps(GOOD))
    sink.send(PROFILES_TOPIC, orjson.dumps({**GOOD, "platform": "myspace"}))
    producer: FakeProducer = sink.producer
    good, bad = producer.sent
    assert good["topic"] == "t1.kol.profiles.raw" and good["key"] == b"instagram:mai.glow"
    # The Java client's default partitioner: murmur2(key) mod partitions.
    assert good["partition"] == (murmur2(b"instagram:mai.glow") & 0x7FFFFFFF) % 3
    assert bad["topic"] == "t1.kol.dlq"
    summary = sink.close()
    assert producer.closed
    assert summary.sent == {PROFILES_TOPIC: 1}
    assert summary.rejected == {"literal_error:platform": 1}
    assert summary.rejected_by_topic == {PROFILES_TOPIC: 1}


def test_failed_delivery_is_counted_not_lost(sink: KafkaEventSink) -> None:
    sink.send(PROFILES_TOPIC, orjson.dumps(GOOD))
    sink.send(PROFILES_TOPIC, orjson.dumps(GOOD))
    sink.producer.futures[0].fail(TimeoutError("broker gone"))
    summary = sink.close()
    assert summary.sent[PROFILES_TOPIC] == 1
    assert summary.failed == {"TimeoutError": 1}


def test_topic_prefix() -> None:
    assert topic_name("kol.dlq", IngestSettings(topic_prefix="")) == "kol.dlq"
    assert topic_name("kol.dlq", IngestSettings(topic_prefix="it.x.")) == "it.x.kol.dlq"


def test_jsonl_sink_writes_raw_payloads(tmp_path: Any) -> None:
    sink = JsonlSink(tmp_path)
    sink.send(PROFILES_TOPIC, b"not json")
    sink.send(PROFILES_TOPIC, orjson.dumps(GOOD))
    sink.close()
    lines = (tmp_path / "kol.profiles.raw.jsonl").read_bytes().splitlines()
    assert lines == [b"not json", orjson.dumps(GOOD)]


def test_summary_renders() -> None:
    from rich.console import Console

    sink = DryRunSink()
    sink.send(PROFILES_TOPIC, orjson.dumps(GOOD))
    sink.send(PROFILES_TOPIC, b"{")
    console = Console(file=None, force_terminal=False, width=120)
    with console.capture() as cap:
        sink.close().render(console)
    text = cap.get()
    assert "kol.profiles.raw" in text and "json_invalid" in text


def test_producer_process_reports_a_broker_it_cannot_reach() -> None:
    # Port 1 on loopback refuses at once; the child says why instead of dying silently.
    settings = Settings(kafka_bootstrap="127.0.0.1:1")
    with pytest.raises(RuntimeError, match="could not connect to Kafka"):
        ProcessKafkaSink(settings, IngestSettings(connect_timeout_s=0.5))


def test_replay_stamps_each_record_with_its_simulated_arrival() -> None:
    """Bronze intervals are on the Kafka timestamp: replayed days must arrive day by day."""
    from datetime import UTC, datetime, timedelta

    from ingestion.generator import GeneratorConfig
    from ingestion.pipeline import run_world

    class Recording:
        def __init__(self) -> None:
            self.summary = SendSummary()
            self.stamps: list[int | None] = []

        def send(self, topic, payload, key_hint=None, timestamp_ms=None):  # type: ignore[no-untyped-def]
            self.stamps.append(timestamp_ms)

        def close(self) -> SendSummary:
            return self.summary

    start = datetime(2026, 1, 1, tzinfo=UTC)
    sink = Recording()
    run_world(GeneratorConfig(creators=5, days=2, seed=3, start=start), sink)  # type: ignore[arg-type]
    stamps = [s for s in sink.stamps if s is not None]
    assert len(stamps) == len(sink.stamps) > 50
    day2 = int((start + timedelta(days=1)).timestamp() * 1000)
    assert min(stamps) < day2 <= max(stamps)
