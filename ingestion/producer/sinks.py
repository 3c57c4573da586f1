"""The sinks every producer of the platform (generator, importers, connectors) sends through.

A sink takes payloads meant for a topic and counts each in its
:class:`~ingestion.producer.summary.SendSummary`: checked and routed only (:class:`DryRunSink`),
written as they came, dirt included (:class:`JsonlSink`), or checked, routed
(:func:`~ingestion.producer.routing.route`) and sent through kafka-python, in this process
(:class:`KafkaEventSink`) or in child processes (:class:`ProcessKafkaSink`).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import signal
import zlib
from pathlib import Path
from typing import IO, Any, Protocol

from kafka.partitioner.default import murmur2

from ingestion.contracts import TOPICS
from ingestion.producer.kafka_python import make_producer
from ingestion.producer.routing import Routed, route
from ingestion.producer.summary import SendSummary
from kol.settings import IngestSettings, Settings
from kol.topics import DLQ_TOPIC, topic_name

log = logging.getLogger(__name__)


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

    def _on_error(self, intended: str, reason: str | None, exc: BaseException) -> None:
        # The event was counted as sent or rejected when queued; move it to "failed".
        # kafka-python calls an errback with its bound arguments first and the exception last.
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
