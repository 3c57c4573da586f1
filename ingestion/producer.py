"""Sending events: contract check, dead-letter routing, Kafka producer, topic creation, summary.

Every producer of the platform (generator, importers, connectors) goes through an
:class:`EventSink`. A payload that passes its contract goes to its topic keyed
``platform:username``; one that fails goes to ``kol.dlq`` with the original payload, the
topic it was meant for and the reason. Either way it is counted, so that
counts in = sent + rejected (nothing is dropped silently).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import signal
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

import orjson
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaConnectionError, KafkaTimeoutError, TopicAlreadyExistsError
from kafka.partitioner.default import murmur2
from rich.console import Console
from rich.table import Table
from tenacity import (
    Retrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from ingestion.contracts import DLQ_TOPIC, TOPICS, BaseEvent, event_key, validate_payload
from kol.settings import IngestSettings, Settings, topic_name

log = logging.getLogger(__name__)


# ---- routing (pure) -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Routed:
    """Where one payload goes: its own topic, or the DLQ (then ``reason`` is set)."""

    topic: str
    key: str | None
    value: bytes
    reason: str | None = None


def dlq_record(
    topic: str, payload: bytes, reason: str, detail: str, source: str, key: str | None
) -> bytes:
    return orjson.dumps(
        {
            "topic": topic,
            "reason": reason,
            "detail": detail,
            "key": key,
            "source": source,
            "rejected_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            # Decoded losslessly where it is UTF-8 (always, for JSON); replacement characters
            # mark bytes that were not.
            "payload": payload.decode("utf-8", "replace"),
        }
    )


def _guess_key(payload: bytes) -> str | None:
    """Best-effort key of a rejected payload, so its creator's DLQ entries stay together."""
    try:
        obj = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if isinstance(obj, dict):
        platform, username = obj.get("platform"), obj.get("username")
        if isinstance(platform, str) and isinstance(username, str) and platform and username:
            return event_key(platform, username)
    return None


def route(topic: str, payload: bytes, source: str = "", key_hint: str | None = None) -> Routed:
    """Check ``payload`` against the contract of ``topic`` and decide where it goes."""
    result = validate_payload(topic, payload)
    if isinstance(result, BaseEvent):
        return Routed(topic, result.key, payload)
    key = key_hint or _guess_key(payload)
    value = dlq_record(topic, payload, result.code, result.message, source, key)
    return Routed(DLQ_TOPIC, key, value, result.code)


# ---- summary --------------------------------------------------------------------------------


@dataclass
class SendSummary:
    sent: Counter[str] = field(default_factory=Counter)  # topic -> events accepted
    rejected: Counter[str] = field(default_factory=Counter)  # reason code -> events
    rejected_by_topic: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)  # delivery error -> events

    @property
    def total_in(self) -> int:
        return sum(self.sent.values()) + sum(self.rejected.values())

    def merge(self, other: SendSummary) -> None:
        self.sent.update(other.sent)
        self.rejected.update(other.rejected)
        self.rejected_by_topic.update(other.rejected_by_topic)
        self.failed.update(other.failed)

    def record(self, intended: str, reason: str | None) -> None:
        """Count one event meant for ``intended``: sent, or rejected for ``reason``."""
        if reason is None:
            self.sent[intended] += 1
        else:
            self.rejected[reason] += 1
            self.rejected_by_topic[intended] += 1

    def render(
        self,
        console: Console | None = None,
        title: str = "ingest summary",
        sent_label: str = "sent",
    ) -> None:
        console = console or Console(stderr=True)
        table = Table(title=title)
        table.add_column("topic")
        table.add_column(sent_label, justify="right")
        table.add_column("rejected → DLQ", justify="right")
        for topic in sorted(set(self.sent) | set(self.rejected_by_topic)):
            table.add_row(topic, f"{self.sent[topic]:,}", f"{self.rejected_by_topic[topic]:,}")
        table.add_row(
            "[bold]total",
            f"[bold]{sum(self.sent.values()):,}",
            f"[bold]{sum(self.rejected.values()):,}",
        )
        console.print(table)
        if self.rejected:
            reasons = Table(title="rejected per reason")
            reasons.add_column("reason")
            reasons.add_column("events", justify="right")
            for reason, n in self.rejected.most_common():
                reasons.add_row(reason, f"{n:,}")
            console.print(reasons)
        if self.failed:
            failed = Table(title="[red]delivery failures (not in Kafka)")
            failed.add_column("error")
            failed.add_column("events", justify="right")
            for error, n in self.failed.most_common():
                failed.add_row(error, f"{n:,}")
            console.print(failed)


# ---- sinks ----------------------------------------------------------------------------------


class EventSink(Protocol):
    summary: SendSummary

    def send(
        self,
        topic: str,
        payload: bytes,
        key_hint: str | None = None,
        timestamp_ms: int | None = None,
    ) -> Routed: ...

    def close(self) -> SendSummary: ...


class DryRunSink:
    """Validates and counts, sends nothing: ``kol ingest import --dry-run``."""

    def __init__(self, source: str = "") -> None:
        self.source = source
        self.summary = SendSummary()

    def send(
        self,
        topic: str,
        payload: bytes,
        key_hint: str | None = None,
        timestamp_ms: int | None = None,
    ) -> Routed:
        routed = route(topic, payload, self.source, key_hint)
        self.summary.record(topic, routed.reason)
        return routed

    def close(self) -> SendSummary:
        return self.summary


class JsonlSink:
    """Writes raw payloads, dirt included, to ``<dir>/<topic>.jsonl`` (importable later)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._files: dict[str, IO[bytes]] = {}
        self.summary = SendSummary()

    def send(
        self,
        topic: str,
        payload: bytes,
        key_hint: str | None = None,
        timestamp_ms: int | None = None,
    ) -> Routed:
        fh = self._files.get(topic)
        if fh is None:
            fh = self._files[topic] = (self.directory / f"{topic}.jsonl").open("wb")
        fh.write(payload)
        fh.write(b"\n")
        routed = Routed(topic, key_hint, payload)
        self.summary.record(topic, routed.reason)
        return routed

    def close(self) -> SendSummary:
        for fh in self._files.values():
            fh.close()
        self._files.clear()
        return self.summary


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


def rdkafka_client_config(settings: Settings) -> dict[str, str]:
    """:meth:`~kol.settings.Settings.kafka_client_config` in librdkafka's property names."""
    client = settings.kafka_client_config()
    names = {
        "security_protocol": "security.protocol",
        "sasl_mechanism": "sasl.mechanism",
        "sasl_plain_username": "sasl.username",
        "sasl_plain_password": "sasl.password",
    }
    config = {"bootstrap.servers": ",".join(client.pop("bootstrap_servers"))}
    config.update({names[k]: str(v) for k, v in client.items()})
    return config


def make_rdkafka_producer(settings: Settings, ingest: IngestSettings, **overrides: Any) -> Any:
    """:func:`make_producer`'s guarantees (idempotent, ``acks=all``, the batching settings) on
    librdkafka (confluent-kafka), for the paths where kafka-python's ~40 us of Python per send
    is the cost: the stream's outputs and the benchmark's load generator. The Java client's
    partitioner, so a key lands on the partition kafka-python would pick. ``overrides`` are
    librdkafka property names."""
    from confluent_kafka import Producer

    config: dict[str, Any] = {
        **rdkafka_client_config(settings),
        "client.id": "kol-ingest",
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": ingest.linger_ms,
        "compression.type": ingest.compression_type,
        "partitioner": "murmur2_random",
        "queue.buffering.max.messages": 1_000_000,
    }
    config.update(overrides)
    return Producer(config)


def rdkafka_send(
    producer: Any, topic: str, value: bytes, key: str | bytes | None, **kw: Any
) -> None:
    """``producer.produce``, waiting for deliveries to make room when the local queue is full."""
    while True:
        try:
            producer.produce(topic, value, key, **kw)
            return
        except BufferError:
            producer.poll(0.05)


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


class KafkaEventSink:
    """Validates, routes and sends through one KafkaProducer; counts what happened."""

    def __init__(
        self,
        settings: Settings,
        ingest: IngestSettings,
        source: str = "kol-ingest",
        producer: Any = None,
    ) -> None:
        self.ingest = ingest
        self.source = source
        self.producer = producer if producer is not None else make_producer(settings, ingest)
        self.summary = SendSummary()
        self._names = {t: topic_name(t, ingest) for t in (*TOPICS, DLQ_TOPIC)}
        self._partitions: dict[str, list[int]] = {}
        self._partition_of: dict[tuple[str, bytes], int] = {}

    def _partition(self, name: str, key: bytes) -> int:
        """The partition Kafka's default partitioner picks for ``key`` (murmur2), memoised.

        kafka-python computes murmur2 in pure Python on every send, about a fifth of its
        per-message cost; creators are few and send many events, so we remember the answer.
        Same formula as the Java client, so other producers put a creator where we do.
        """
        cached = self._partition_of.get((name, key))
        if cached is not None:
            return cached
        parts = self._partitions.get(name)
        if parts is None:
            parts = self._partitions[name] = sorted(self.producer.partitions_for(name))
        partition = parts[(murmur2(key) & 0x7FFFFFFF) % len(parts)]
        self._partition_of[(name, key)] = partition
        return partition

    def _on_error(self, exc: BaseException, intended: str, reason: str | None) -> None:
        # The event was counted as sent or rejected when queued; move it to "failed".
        if reason is None:
            self.summary.sent[intended] -= 1
        else:
            self.summary.rejected[reason] -= 1
            self.summary.rejected_by_topic[intended] -= 1
        self.summary.failed[type(exc).__name__] += 1
        log.error("delivery to Kafka failed (%s): %s", intended, exc)

    def send(
        self,
        topic: str,
        payload: bytes,
        key_hint: str | None = None,
        timestamp_ms: int | None = None,
    ) -> Routed:
        routed = route(topic, payload, self.source, key_hint)
        self.produce(topic, routed.topic, routed.key, routed.value, routed.reason, timestamp_ms)
        return routed

    def produce(
        self,
        intended: str,
        dest: str,
        key: str | None,
        value: bytes,
        reason: str | None,
        timestamp_ms: int | None = None,
    ) -> None:
        """Send a routed payload: to ``dest`` (its topic or the DLQ), meant for ``intended``.

        ``timestamp_ms`` is the record's Kafka timestamp, i.e. when it reached the platform;
        replayed history passes the simulated arrival time so Bronze intervals see it arrive
        day by day, and None means now.

        Plain arguments rather than a :class:`Routed`, so batches for a producer process
        pickle as tuples of str and bytes (measurably cheaper).
        """
        name = self._names.get(dest) or topic_name(dest, self.ingest)
        if key is None:
            future = self.producer.send(name, value=value, timestamp_ms=timestamp_ms)
        else:
            key_bytes = key.encode()
            future = self.producer.send(
                name,
                value=value,
                key=key_bytes,
                partition=self._partition(name, key_bytes),
                timestamp_ms=timestamp_ms,
            )
        future.add_errback(self._on_error, intended, reason)
        self.summary.record(intended, reason)

    def close(self, timeout: float | None = 60.0) -> SendSummary:
        self.producer.flush(timeout=timeout)
        self.producer.close(timeout=timeout)
        return self.summary


# ---- producing in separate processes --------------------------------------------------------


def _producer_process(conn: Any, settings: Settings, ingest: IngestSettings, source: str) -> None:
    """Child side of :class:`ProcessKafkaSink`: send routed batches until told to stop."""
    # Ctrl-C is the parent's to handle: it stops generating, then closes us cleanly.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        sink = KafkaEventSink(settings, ingest, source=source)
    except Exception as exc:  # report why, instead of dying silently
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", None))
    try:
        while (batch := conn.recv()) is not None:
            for args in batch:
                sink.produce(*args)
    finally:
        conn.send(("done", sink.close()))


class ProcessKafkaSink:
    """Validates and routes here, produces in ``producers`` child processes.

    kafka-python needs a whole core for about 20-25k messages/s of pure-Python work (measured
    in bench/bench_ingest.py); generating and checking events in the same process halves that.
    Here the caller's process generates and checks, children only send. Events of one key
    always go to the same child, so each creator's events keep their order.
    """

    def __init__(
        self,
        settings: Settings,
        ingest: IngestSettings,
        source: str = "kol-ingest",
        producers: int = 1,
        batch_size: int = 1000,
    ) -> None:
        if producers < 1:
            raise ValueError("producers must be >= 1")
        self.source = source
        self.summary = SendSummary()
        self._batch_size = batch_size
        # spawn, not fork: the caller may run threads (a progress bar) that fork would copy.
        ctx = mp.get_context("spawn")
        self._conns: list[Any] = []
        self._procs: list[Any] = []
        for _ in range(producers):
            here, there = ctx.Pipe()
            proc = ctx.Process(
                target=_producer_process, args=(there, settings, ingest, source), daemon=True
            )
            proc.start()
            self._conns.append(here)
            self._procs.append(proc)
        for conn in self._conns:
            status, detail = conn.recv()
            if status != "ready":
                self._stop()
                raise RuntimeError(f"producer process could not connect to Kafka: {detail}")
        self._batches: list[list[tuple[str, str, str | None, bytes, str | None, int | None]]] = [
            [] for _ in range(producers)
        ]

    def send(
        self,
        topic: str,
        payload: bytes,
        key_hint: str | None = None,
        timestamp_ms: int | None = None,
    ) -> Routed:
        routed = route(topic, payload, self.source, key_hint)
        n = len(self._conns)
        i = 0 if n == 1 or routed.key is None else zlib.crc32(routed.key.encode()) % n
        batch = self._batches[i]
        batch.append((topic, routed.topic, routed.key, routed.value, routed.reason, timestamp_ms))
        if len(batch) >= self._batch_size:
            self._conns[i].send(batch)
            self._batches[i] = []
        return routed

    def close(self) -> SendSummary:
        """Flush every child; the summary is what the children report (failures included)."""
        for conn, batch in zip(self._conns, self._batches, strict=True):
            if batch:
                conn.send(batch)
            conn.send(None)
        self._batches = [[] for _ in self._conns]
        for conn in self._conns:
            try:
                status, summary = conn.recv()
            except EOFError:
                raise RuntimeError("a producer process died; its events are unaccounted") from None
            if status == "done":
                self.summary.merge(summary)
        self._stop()
        return self.summary

    def _stop(self) -> None:
        for proc in self._procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.terminate()
