"""The same trending scores from a plain single-process Kafka consumer (kafka-python), no Spark.

It exists to measure the Spark job against (``bench/bench_streaming.py``): same input topics,
same contract check (:func:`streaming.events.event_frame`), same engine, same Redis and Kafka
sinks, one Python process; only the reading of Kafka differs (kafka-python instead of Spark's
source, offsets and checkpoint).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import Path

import numpy as np

from kol.settings import IngestSettings, Settings, StreamSettings
from kol.topics import topic_name
from streaming.engine import TrendEngine
from streaming.events import STREAM_TOPICS, Record, event_frame, tune_gc
from streaming.sinks import KafkaOut, RedisStore, dead_letters, redis_client

log = logging.getLogger(__name__)


class PlainConsumer:
    """poll -> check -> engine -> Kafka + Redis, in one process, until ``stop_after`` idle."""

    def __init__(
        self,
        settings: Settings,
        ss: StreamSettings,
        ingest: IngestSettings,
        namespace: str,
        latency_log: Path | None = None,
        max_records: int = 20_000,
    ) -> None:
        from kafka import KafkaConsumer

        self.ss = ss
        self.engine = TrendEngine(ss)
        self.store = RedisStore(redis_client(settings), ss, namespace)
        self.kafka = KafkaOut(settings, ingest, ss)
        self.topic_of = {topic_name(t, ingest): t for t in STREAM_TOPICS}
        self.consumer = KafkaConsumer(
            *self.topic_of,
            **settings.kafka_client_config(),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=max_records,
            fetch_max_bytes=64 * 2**20,
            max_partition_fetch_bytes=16 * 2**20,
        )
        self.latency = latency_log.open("ab") if latency_log else None
        self.batch = 0
        self.events = 0
        self.first_at: float | None = None  # wall time of the first record's batch
        self.last_at: float | None = None  # wall time the last batch was committed

    def run(self, stop_after_idle_s: float = 5.0, deadline_s: float | None = None) -> int:
        """Consume until nothing arrived for ``stop_after_idle_s`` after the first record."""
        started = time.monotonic()
        idle_since = time.monotonic()
        while deadline_s is None or time.monotonic() - started < deadline_s:
            polled = self.consumer.poll(timeout_ms=200)
            records = [
                Record(self.topic_of[tp.topic], tp.partition, r.offset, r.timestamp, r.value)
                for tp, batch in polled.items()
                for r in batch
            ]
            if not records:
                # Idle only counts once data has flowed: the first poll can take a while.
                if self.first_at is not None and time.monotonic() - idle_since > stop_after_idle_s:
                    break
                continue
            idle_since = time.monotonic()
            self.process(records)
        return self.events

    def process(self, records: list[Record]) -> None:
        if self.first_at is None:
            self.first_at = time.time()
        frame, rejected = event_frame(records, self.ss.max_future_s)
        dead, codes = dead_letters(rejected)
        result = self.engine.process(frame, self.batch)
        self.kafka.send(result, dead, datetime.now().isoformat())
        self.store.commit(result, codes)
        self.engine.committed()
        if self.latency is not None:
            now_ms = time.time() * 1000.0
            lat = (now_ms - np.fromiter((r.kafka_ms for r in records), dtype="float64")) / 1000
            self.latency.write(lat.astype(np.float32).tobytes())
            self.latency.flush()
        self.batch += 1
        self.events += len(records)
        self.last_at = time.time()

    def close(self) -> None:
        self.consumer.close()
        self.kafka.close()
        if self.latency is not None:
            self.latency.close()


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.support.plain``: consume the stream's topics until idle, print a
    summary."""
    import argparse
    import json

    from kol.settings import get_ingest_settings, get_settings, get_stream_settings

    parser = argparse.ArgumentParser(prog="python -m bench.support.plain")
    parser.add_argument("--namespace", default="plain")
    parser.add_argument("--latency-log", type=Path)
    parser.add_argument("--idle-s", type=float, default=5.0)
    parser.add_argument("--max-s", type=float)
    args = parser.parse_args(argv)
    tune_gc()
    consumer = PlainConsumer(
        get_settings(),
        get_stream_settings(),
        get_ingest_settings(),
        args.namespace,
        args.latency_log,
    )
    try:
        consumer.run(args.idle_s, args.max_s)
    finally:
        consumer.close()
    print(
        json.dumps(
            {
                "events": consumer.events,
                "batches": consumer.batch,
                "first_at": consumer.first_at,
                "last_at": consumer.last_at,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
