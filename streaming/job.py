"""The hot-path job: Kafka -> Spark Structured Streaming -> trending engine -> Redis and Kafka.

Run it with ``kol stream start`` (a supervised background process) or in the foreground with
``python -m streaming.job`` (``--available-now`` processes what is in the topics and stops).

Pipeline of one micro-batch
    Spark reads the batch's offset range of ``kol.videos.raw``, ``kol.profiles.raw`` and
    ``kol.comments.raw``; ``foreachBatch`` hands the records to the driver as Arrow, where
    each is checked against its pydantic contract and typed (:mod:`streaming.events`, the
    same code as the plain consumer's, split over two processes by
    :class:`~streaming.events.ParallelParser`): rejected records go to ``kol.dlq`` with their
    reason, valid ones to the incremental :class:`~streaming.engine.TrendEngine` (event-time
    buckets, watermark, sliding windows, trending score, alerts), whose output goes to Kafka
    (``kol.scores.stream``, ``kol.alerts.stream``) and then, in one transaction, to Redis.

Exactly-once effect (why a crash, even ``kill -9``, never double-counts)
    1. Spark's checkpoint (``$KOL_HOME/checkpoints/stream``) writes the offset range of batch
       *N* to its offset log *before* running it, and marks it done in its commit log after
       ``foreachBatch`` returns. After a crash it re-runs the last planned batch with exactly
       the same offsets and the same batch id.
    2. The engine's state (video counters, buckets, follower history, duplicate-detection
       sets, watermark) lives in the driver and is persisted in Redis. Everything batch *N*
       changes, its state delta, the score hashes, the rankings, the counters and a commit
       marker ``stream:<query id>:commit = N``, is written in one Redis ``MULTI``/``EXEC``: either
       all of it is in Redis or none of it.
    3. On (re)start the engine loads the state of the last committed batch. A batch whose id
       is not above the marker was already applied and is skipped; any other batch is
       computed from exactly the state its predecessor left, so the same offsets give the same
       writes. Sums in buckets are commutative and deltas are taken in Kafka offset order, so
       the final state does not depend on where batch boundaries fell either; a restarted run
       ends with the same Redis content as an uninterrupted one (the integration test
       compares them).
    4. Kafka outputs are flushed before the Redis commit, so a crash in between re-sends
       them when the batch is replayed: at-least-once, with deterministic ids
       (``score_id``, ``alert_id``, DLQ source offsets) for consumers to deduplicate.
    5. A large batch's writes (Kafka, then Redis) run in the background while Spark plans and
       reads the next batch, which waits for them before its engine step: at most one batch is in
       flight, but Spark may mark batch *N* done before its Redis transaction lands. So on
       start, before the query runs, a commit log one batch ahead of the Redis marker means
       that batch is re-read from Kafka over the offset range its offset-log entry names
       (:mod:`streaming.checkpoint`) and applied like any other batch.
    Events later than the watermark are the one thing that can differ between two runs (the
    watermark advances per batch, as in Spark's own stateful operators); they are counted.

Why the windows are not Spark state-store aggregations: scrapers send cumulative counters,
so every delta needs the previous value of the same video, and the score needs each
creator's history of windows. Spark has no native "previous value" in streaming (Python
stateful operators would put per-group Python on the hot path anyway), and the history would
have to be joined back for every update. Spark reads Kafka and keeps offsets and the
checkpoint; a vectorised engine on the driver does the rest, which keeps a batch well under a
second on two cores. The price is that the engine scales with the driver, not the cluster
(fine for tens of thousands of events/s).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from ingestion.producer import ensure_topics
from kol.settings import (
    IngestSettings,
    Settings,
    StreamSettings,
    get_ingest_settings,
    get_settings,
    get_stream_settings,
)
from kol.topics import DLQ_TOPIC, topic_name
from streaming.checkpoint import Offsets, batch_range, last_finished_batch
from streaming.engine import BatchResult, TrendEngine
from streaming.events import STREAM_TOPICS, ParallelParser, tune_gc
from streaming.sinks import KafkaOut, RedisStore, dead_letters, redis_client
from streaming.trust import TrustScorer

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.streaming import StreamingQuery

log = logging.getLogger("streaming.job")
HEARTBEAT_S = 5


def input_topics(ingest: IngestSettings) -> dict[str, str]:
    """Kafka topic name -> logical topic, for the stream's three input topics."""
    return {topic_name(t, ingest): t for t in STREAM_TOPICS}


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
    checkpoint (:mod:`streaming.checkpoint`) before the query starts. One batch in flight,
    not two: scoring batch N while Spark reads N+1 kept up with more events per second but
    doubled the Kafka-to-Redis latency, the stream's goal.
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


def build_query(
    spark: SparkSession,
    settings: Settings,
    ss: StreamSettings,
    ingest: IngestSettings,
    handler: BatchHandler,
    available_now: bool = False,
) -> StreamingQuery:
    topics = input_topics(ingest)
    raw = kafka_stream(
        spark,
        settings,
        sorted(topics),
        ss.starting_offsets,
        ss.max_offsets_per_trigger,
    )
    writer = (
        source_rows(raw)
        .writeStream.queryName(ss.query_name)
        .option("checkpointLocation", str(ss.checkpoint(settings)))
        .foreachBatch(handler)
    )
    if available_now:
        writer = writer.trigger(availableNow=True)
    else:
        writer = writer.trigger(processingTime=f"{ss.trigger_ms} milliseconds")
    return writer.start()


def source_rows(raw: DataFrame) -> DataFrame:
    """Only what the driver needs of the Kafka source: the contract check runs there
    (streaming.events)."""
    from pyspark.sql import functions as F

    return raw.select(
        "topic",
        F.col("partition").cast("int").alias("partition"),
        "offset",
        F.unix_millis("timestamp").alias("kafka_ms"),
        "value",
    )


# One fetch per partition per micro-batch rather than 1 MiB at a time.
_FETCH_OPTIONS = {
    "kafka.max.partition.fetch.bytes": str(8 * 2**20),
    "kafka.fetch.max.bytes": str(64 * 2**20),
}


def kafka_range(spark: SparkSession, settings: Settings, start: Offsets, end: Offsets) -> DataFrame:
    """The records of one offset range, as the stream's micro-batch over it read them."""
    return (
        spark.read.format("kafka")
        .options(**settings.spark_kafka_options())
        .option("assign", json.dumps({t: sorted(map(int, parts)) for t, parts in end.items()}))
        .option("startingOffsets", json.dumps(start))
        .option("endingOffsets", json.dumps(end))
        .options(**_FETCH_OPTIONS)
        .load()
    )


def kafka_stream(
    spark: SparkSession,
    settings: Settings,
    topics: list[str],
    starting_offsets: str,
    max_offsets_per_trigger: int | None,
) -> DataFrame:
    reader = (
        spark.readStream.format("kafka")
        .options(**settings.spark_kafka_options())
        .option("subscribe", ",".join(topics))
        .option("startingOffsets", starting_offsets)
        .options(**_FETCH_OPTIONS)
    )
    if max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", str(max_offsets_per_trigger))
    return reader.load()


def write_progress(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, default=str, indent=1))
    tmp.replace(path)


def run(
    settings: Settings,
    ss: StreamSettings,
    ingest: IngestSettings,
    available_now: bool = False,
    spark: SparkSession | None = None,
) -> int:
    """Run the job until stopped (SIGTERM/SIGINT) or, with ``available_now``, drained.

    With ``spark`` (a session of the caller, e.g. a test's) the session is used and left
    running, and no signal handlers are installed.
    """
    from kol.spark import spark_session

    stop = threading.Event()
    own_session = spark is None
    ensure_topics(settings, ingest, (*STREAM_TOPICS, DLQ_TOPIC, ss.scores_topic, ss.alerts_topic))
    checkpoint = ss.checkpoint(settings)
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    trust = TrustScorer(settings, ss)
    # MLflow's import and the model load take seconds: overlap them with Spark's start.
    loading = threading.Thread(target=trust.refresh, kwargs={"force": True}, daemon=True)
    loading.start()
    if spark is None:
        master = {"spark.master": ss.spark_master} if ss.spark_master else {}
        spark = spark_session("kol-stream", settings, {**master, **ss.spark_conf})
        # After the session: PySpark's context installs its own SIGINT handler (cancel jobs,
        # raise KeyboardInterrupt inside whatever JVM call is waiting); ours stops the query
        # between batches instead.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    handler = BatchHandler(settings, ss, ingest, checkpoint, trust, loading)
    handler.recover(spark)
    progress_path = ss.progress_file(settings)
    query = build_query(spark, settings, ss, ingest, handler, available_now)
    log.info(
        "streaming from %s into redis %s:%s (checkpoint %s, trigger %s)",
        ", ".join(sorted(input_topics(ingest))),
        settings.redis_host,
        settings.redis_port,
        checkpoint,
        "availableNow" if available_now else f"{ss.trigger_ms} ms",
    )
    code = 0
    try:
        while True:
            finished = query.awaitTermination(HEARTBEAT_S)
            write_progress(progress_path, _progress(query, handler, trust, "running"))
            if finished:
                break
            if stop.is_set():
                log.info("stopping on signal: finishing the batch in flight")
                handler.stopping.set()
                deadline = time.monotonic() + 120
                while handler.busy.is_set() and time.monotonic() < deadline:
                    time.sleep(0.1)
                query.stop()
                break
            if not loading.is_alive():
                trust.refresh()
        handler.settle()  # the last batch's writes
        if query.exception() is not None:
            raise RuntimeError(str(query.exception()))
    except Exception as exc:
        if stop.is_set():
            # Stopping: a batch cut short is replayed from the checkpoint on the next start.
            log.info("stopped during a batch (%s)", type(exc).__name__)
        else:
            log.error("the stream failed: %s", exc)
            code = 1
    finally:
        state = "failed" if code else "stopped"
        with contextlib.suppress(Exception):
            if query.isActive:
                query.stop()
        with contextlib.suppress(Exception):
            write_progress(progress_path, _progress(query, handler, trust, state))
        handler.close()
        if own_session:
            with contextlib.suppress(Exception):
                spark.stop()
    return code


def _progress(
    query: StreamingQuery, handler: BatchHandler, trust: TrustScorer, state: str
) -> dict[str, Any]:
    last: dict[str, Any] | None = None
    with contextlib.suppress(Exception):
        last = query.lastProgress
    return {
        "state": state,
        "pid": os.getpid(),
        "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "query_id": str(query.id),
        "active": query.isActive,
        "trust": trust.status,
        **handler.stats,
        "input_rows_per_second": (last or {}).get("inputRowsPerSecond"),
        "processed_rows_per_second": (last or {}).get("processedRowsPerSecond"),
        "last_progress": last,
        "timeline": list(handler.timeline),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m streaming.job",
        description="The hot-path trending job (settings: KOL_STREAM_*, KOL_*).",
    )
    parser.add_argument(
        "--available-now",
        action="store_true",
        help="process what is in the topics now, then stop (bounded run)",
    )
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    tune_gc()
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stdout,
    )
    for noisy in ("py4j", "kafka", "urllib3", "mlflow"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return run(get_settings(), get_stream_settings(), get_ingest_settings(), args.available_now)


if __name__ == "__main__":
    sys.exit(main())
