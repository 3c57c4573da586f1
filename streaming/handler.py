"""The job's ``foreachBatch`` function: one micro-batch in, Kafka and Redis written.

:mod:`streaming.job` builds the query around it; the module docstring there says how a batch
flows and why a crash never double-counts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from kol.settings import IngestSettings, Settings, StreamSettings
from streaming.checkpoint import batch_range, last_finished_batch
from streaming.engine import BatchResult, TrendEngine
from streaming.events import ParallelParser
from streaming.sinks import KafkaOut, RedisStore, dead_letters, redis_client
from streaming.source import input_topics, kafka_range, source_rows
from streaming.trust import TrustScorer

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger("streaming.job")  # the job's log lines, whichever module writes them


def query_id(checkpoint: Path) -> str:
    """The id Spark keeps in the checkpoint across restarts (names the engine's Redis state)."""
    return str(json.loads((checkpoint / "metadata").read_text())["id"])


class BatchHandler:
    """The ``foreachBatch`` function: one micro-batch in, Kafka and Redis written.

    A large batch's outputs are written in the background (``write_behind_min_events``):
    ``foreachBatch`` returns once the batch is computed, and its Kafka sends and Redis
    transaction run while Spark plans the next batch and reads it from Kafka. The next batch
    waits for them before its engine step, so at most one batch is in flight and a failed
    write stops the query at the next batch. If the job dies meanwhile, Spark's commit log
    can be one batch ahead of Redis; ``recover`` replays that batch from its offsets in the
    checkpoint (:mod:`streaming.checkpoint`) before the query starts.
    """

    def __init__(
        self,
        settings: Settings,
        ss: StreamSettings,
        ingest: IngestSettings,
        checkpoint: Path,
        trust: TrustScorer | None = None,
        trust_loading: threading.Thread | None = None,
    ) -> None:
        self.ss = ss
        self.settings = settings
        self._trust_loading = trust_loading
        # Graceful stop: finish the batch in flight, start no other (see `run`).
        self.busy = threading.Event()
        self.stopping = threading.Event()
        self.checkpoint = checkpoint
        self.parse = ParallelParser(input_topics(ingest), ss.max_future_s, ss.check_workers)
        self.engine = TrendEngine(ss)
        self.redis = redis_client(settings)
        self.kafka = KafkaOut(settings, ingest, ss)
        self.trust = trust
        self.store: RedisStore | None = None
        self.committed: int | None = None
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="kol-stream-commit")
        self._pending: Future[None] | None = None
        self.stats: dict[str, Any] = {
            "batches": 0,
            "events": 0,
            "rejected": 0,
            "skipped": 0,
            "replayed": 0,
        }
        # (batch id, events, wall start, wall end) of recent batches, for benchmarks
        self.timeline: list[tuple[int, int, float, float]] = []
        self._latency = ss.latency_log.open("ab") if ss.latency_log else None

    def _ensure_state(self) -> RedisStore:
        if self.store is None:
            self.store = RedisStore(self.redis, self.ss, query_id(self.checkpoint))
            self.committed = self.store.load(self.engine)
        return self.store

    def __call__(self, df: DataFrame, batch_id: int) -> None:
        if self.stopping.is_set():
            # Returning would let Spark mark the batch done without its effects; wait for the
            # stop to interrupt us instead: the batch is replayed on the next start.
            while True:
                time.sleep(1.0)
        self.busy.set()
        try:
            self._process(df, batch_id)
        finally:
            self.busy.clear()

    def settle(self) -> float:
        """Wait for the last batch's writes; re-raises their error. Returns the seconds waited."""
        if self._pending is None:
            return 0.0
        started = time.perf_counter()
        pending, self._pending = self._pending, None
        try:
            pending.result()
        except Exception:
            # The in-memory state is ahead of Redis: reload before any other batch.
            self.store = None
            raise
        return time.perf_counter() - started

    def _process(self, df: DataFrame, batch_id: int) -> None:
        started = time.perf_counter()
        wall_start = time.time()
        if self._trust_loading is not None:
            # Loaded while Spark started; every batch must see the same model (a replayed
            # batch must score as it did the first time).
            self._trust_loading.join()
            self._trust_loading = None
        self._ensure_state()
        if self.committed is not None and batch_id <= self.committed:
            log.info("batch %d is already in Redis (replayed after a restart): skipped", batch_id)
            self.stats["skipped"] += 1
            return
        table = df.toArrow()
        read = time.perf_counter()
        events, rejected = self.parse(table)
        collected = time.perf_counter()
        dead, codes = dead_letters(rejected)
        waited = self.settle()
        store = self._ensure_state()
        engine_cpu = time.thread_time()
        try:
            result = self.engine.process(events, batch_id, trust=self.trust)
        except Exception:
            self.store = None
            raise
        computed = time.perf_counter()
        engine_cpu = time.thread_time() - engine_cpu
        # The delta is in `result`: the engine tracks the next batch's changes from here.
        self.engine.committed()
        phases = {
            "read": read - started,
            "check": collected - read,
            "wait": waited,
            "engine": computed - collected - waited,
            "engine_cpu": engine_cpu,
        }
        self._pending = self._writer.submit(
            self._write, store, result, dead, codes, table, phases, wall_start
        )
        if len(table) < self.ss.write_behind_min_events:
            self.settle()

    def _write(
        self,
        store: RedisStore,
        result: BatchResult,
        dead: list[tuple[str | None, bytes]],
        codes: Counter[str],
        table: pa.Table,
        phases: dict[str, float],
        wall_start: float,
    ) -> None:
        started = time.perf_counter()
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        self.kafka.send(result, dead, now)
        sent = time.perf_counter()
        applied = store.commit(result, codes, {"events_in_batch": len(table)})
        done = time.perf_counter()
        if not applied:
            raise RuntimeError(
                f"batch {result.batch_id} was committed by another writer: is a second job "
                f"running with checkpoint {self.checkpoint}?"
            )
        self.committed = result.batch_id
        self._record(result, table.column("kafka_ms").to_numpy(), len(dead), result.batch_id)
        self.timeline.append((result.batch_id, len(table), wall_start, time.time()))
        del self.timeline[:-2000]
        log.info(
            "batch %d: %d events (%d rejected, %d late), %d creators scored, %d alerts, "
            "watermark %s | read %.0f ms, check %.0f ms, waited %.0f ms, engine %.0f ms "
            "(%.0f ms of CPU), kafka %.0f ms, redis %.0f ms",
            result.batch_id,
            len(table),
            len(dead),
            result.counters.get("late", 0),
            len(result.updates),
            len(result.alerts),
            None if result.watermark_ms is None else _iso(result.watermark_ms),
            *(phases[p] * 1000 for p in ("read", "check", "wait", "engine", "engine_cpu")),
            (sent - started) * 1000,
            (done - sent) * 1000,
        )

    def recover(self, spark: SparkSession) -> None:
        """Before the query starts: apply the batch Spark finished if Redis lacks it.

        Writes lag Spark by at most one batch, so only its last can be missing. A wider gap
        means Redis lost the state (flushed): that is said, not rebuilt from Kafka.
        """
        done = last_finished_batch(self.checkpoint)
        if done is None:
            return
        self._ensure_state()
        have = -1 if self.committed is None else self.committed
        if done <= have:
            return
        if done > have + 1:
            log.warning(
                "Redis holds batch %s but Spark finished batch %d: the state of the batches "
                "between is gone (was Redis flushed?); going on from what Redis holds",
                self.committed,
                done,
            )
            return
        start, end = batch_range(self.checkpoint, done)
        log.warning(
            "batch %d is in Spark's commit log but not in Redis (the job stopped while writing "
            "it): replaying it from Kafka, offsets %s to %s",
            done,
            start,
            end,
        )
        self._process(source_rows(kafka_range(spark, self.settings, start, end)), done)
        self.settle()
        self.stats["replayed"] += 1

    def _record(self, result: BatchResult, kafka_ms: np.ndarray, rejected: int, batch: int) -> None:
        wall_ms = time.time() * 1000.0
        if self._latency is not None and len(kafka_ms):
            lat = (wall_ms - kafka_ms.astype("float64")) / 1000.0
            self._latency.write(lat.astype(np.float32).tobytes())
            self._latency.flush()
        self.stats["batches"] += 1
        self.stats["events"] += len(kafka_ms)
        self.stats["rejected"] += rejected
        self.stats["last_batch"] = batch
        self.stats["last_commit_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        self.stats["watermark"] = None if result.watermark_ms is None else _iso(result.watermark_ms)
        self.stats["creators"] = len(self.engine.creators)

    def close(self) -> None:
        """Wait for the last batch's writes, then release everything."""
        try:
            self.settle()
        except Exception as exc:
            # Not lost: Spark's commit log is ahead of Redis, and the next start replays it.
            log.error("the last batch's writes failed: %s", exc)
        finally:
            self._writer.shutdown(wait=True)
            self.parse.close()
            with contextlib.suppress(Exception):
                self.kafka.close()
            if self._latency is not None:
                self._latency.close()


def _iso(ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000.0, UTC).isoformat(timespec="seconds")
