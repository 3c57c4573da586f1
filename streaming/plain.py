"""The same trending scores from a plain single-process Kafka consumer (kafka-python), no Spark.

It exists to measure the Spark job against (``bench/bench_streaming.py``): same input topics,
same contract check (the pydantic models instead of Spark SQL), same engine, same Redis and
Kafka sinks, one Python process. It is also how the unit tests turn generated payloads into
engine input without Spark.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ingestion.contracts import (
    COMMENTS_TOPIC,
    PROFILES_TOPIC,
    VIDEOS_TOPIC,
    CommentEvent,
    ProfileEvent,
    Rejection,
    VideoEvent,
    validate_payload,
)
from ingestion.counts import parse_count
from ingestion.producer import bootstrap_servers, topic_name
from ingestion.settings import IngestSettings
from kol.settings import Settings
from streaming.engine import EVENT_COLUMNS, TrendEngine
from streaming.settings import StreamSettings
from streaming.sinks import KafkaOut, RedisStore, dead_letter, redis_client

log = logging.getLogger(__name__)
_NOT_WORD = re.compile(r"[\W_]+")
STREAM_TOPICS = (VIDEOS_TOPIC, PROFILES_TOPIC, COMMENTS_TOPIC)


def normalized_text(text: str) -> str:
    """Python twin of streaming.transforms.normalized_text: lower case, letters and digits."""
    return _NOT_WORD.sub("", text.lower())


def stable_hash(*parts: str | None) -> int:
    """A signed 64-bit hash that is the same in every process (unlike ``hash()``)."""
    h = hashlib.blake2b(digest_size=8)
    for part in parts:
        h.update((part or "").encode())
        h.update(b"\x00")
    return int.from_bytes(h.digest(), "big", signed=True)


def _ms(t: datetime | None) -> float:
    return np.nan if t is None else t.timestamp() * 1000.0


def _count(parsed: int | None, raw: str | None) -> float:
    if parsed is not None:
        return float(parsed)
    value = parse_count(raw)
    return np.nan if value is None else float(value)


@dataclass(frozen=True, slots=True)
class Record:
    topic: str  # logical topic
    partition: int
    offset: int
    kafka_ms: int
    payload: bytes


def event_frame(records: Iterable[Record]) -> tuple[pd.DataFrame, list[tuple[Record, str]]]:
    """Records -> (engine input frame, rejected records with their reason)."""
    rows: list[dict[str, Any]] = []
    rejected: list[tuple[Record, str]] = []
    for rec in records:
        ev = validate_payload(rec.topic, rec.payload)
        if isinstance(ev, Rejection):
            rejected.append((rec, ev.message))
            continue
        row: dict[str, Any] = {
            "topic": rec.topic,
            "partition": rec.partition,
            "offset": rec.offset,
            "kafka_ms": rec.kafka_ms,
            "event_ms": int(ev.event_time.timestamp() * 1000),
            "platform": ev.platform,
            "username": ev.username,
            "event_hash": stable_hash(ev.event_id),
            "pair_hash": 0,
        }
        if isinstance(ev, VideoEvent):
            row.update(
                video_id=ev.video_id,
                views=_count(ev.view_count, ev.view_count_raw),
                likes=_count(ev.like_count, ev.like_count_raw),
                comments=_count(ev.comment_count, ev.comment_count_raw),
                shares=_count(ev.share_count, ev.share_count_raw),
                published_ms=_ms(ev.published_at),
            )
        elif isinstance(ev, ProfileEvent):
            row.update(
                followers=_count(None, ev.followers_raw),
                following=_count(None, ev.following_raw),
                total_likes=_count(None, ev.likes_raw),
                posts=_count(None, ev.posts_raw),
                verified=np.nan if ev.verified is None else float(ev.verified),
            )
        elif isinstance(ev, CommentEvent):
            row.update(
                video_id=ev.video_id,
                pair_hash=stable_hash(ev.video_id, normalized_text(ev.comment_text)),
            )
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(EVENT_COLUMNS))
    numeric = {c: t for c, t in EVENT_COLUMNS.items() if t != "object"}
    floats = [c for c, t in numeric.items() if t == "float64"]
    frame[floats] = frame[floats].astype("float64")
    return frame.astype(numeric), rejected


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
            bootstrap_servers=bootstrap_servers(settings),
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
        frame, rejected = event_frame(records)
        dead, codes = [], Counter[str]()
        for rec, reason in rejected:
            key, value, code = dead_letter(
                rec.topic, rec.payload, reason, rec.partition, rec.offset
            )
            dead.append((key, value))
            codes[code] += 1
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
    """``python -m streaming.plain``: consume the stream's topics until idle, print a summary."""
    import argparse
    import json

    from ingestion.settings import get_ingest_settings
    from kol.settings import get_settings
    from streaming.settings import get_stream_settings

    parser = argparse.ArgumentParser(prog="python -m streaming.plain")
    parser.add_argument("--namespace", default="plain")
    parser.add_argument("--latency-log", type=Path)
    parser.add_argument("--idle-s", type=float, default=5.0)
    parser.add_argument("--max-s", type=float)
    args = parser.parse_args(argv)
    from streaming.job import tune_gc

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
