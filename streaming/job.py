"""The hot-path job: Kafka -> Spark Structured Streaming -> trending engine -> Redis and Kafka.

Run it with ``kol stream start`` (a supervised background process) or in the foreground with
``python -m streaming.job`` (``--available-now`` processes what is in the topics and stops).

Pipeline of one micro-batch
    Spark reads the batch's offset range of ``kol.videos.raw``, ``kol.profiles.raw`` and
    ``kol.comments.raw`` (:mod:`streaming.source`); ``foreachBatch``
    (:class:`~streaming.handler.BatchHandler`) hands the records to the driver as Arrow, where
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
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingestion.producer import ensure_topics
from kol.settings import (
    IngestSettings,
    Settings,
    StreamSettings,
    get_ingest_settings,
    get_settings,
    get_stream_settings,
)
from kol.topics import DLQ_TOPIC
from streaming.events import STREAM_TOPICS, tune_gc
from streaming.handler import BatchHandler
from streaming.source import input_topics, kafka_stream, source_rows
from streaming.trust import TrustScorer

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql.streaming import StreamingQuery

log = logging.getLogger("streaming.job")
HEARTBEAT_S = 5


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
