"""Kafka records -> the engine's input frame, checked with the pydantic contracts.

The one parse of the hot path, used by the Spark job (on each micro-batch's records, handed
over as Arrow), the plain-consumer benchmark and the unit tests. Each payload is validated
with :func:`ingestion.contracts.validate_payload`, the check the producers run before Kafka,
display counts ("11.3K") with :func:`ingestion.counts.parse_count`; a record that fails
either is returned as a reject with the contract's reason, never dropped and never a 0.

Why not Spark SQL: the contract checks as Catalyst expressions (one merged JSON schema, the
length and pattern checks, zoned times) cost 0.8-2 s of planning and code generation on every
micro-batch on this machine, which alone broke the latency goal, while the pydantic check
costs ~15 us per event on the driver that has to hold the batch anyway.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing as mp
import re
from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.util import hash_array

from ingestion.contracts import CommentEvent, ProfileEvent, Rejection, VideoEvent, validate_payload
from ingestion.counts import parse_count
from kol.topics import COMMENTS_TOPIC, PROFILES_TOPIC, VIDEOS_TOPIC
from ml.account import ACCOUNT_TEXT_FEATURES, account_features
from streaming.engine import EVENT_COLUMNS

log = logging.getLogger(__name__)
STREAM_TOPICS = (VIDEOS_TOPIC, PROFILES_TOPIC, COMMENTS_TOPIC)
_NOT_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True, slots=True)
class Record:
    topic: str  # logical topic
    partition: int
    offset: int
    kafka_ms: int
    payload: bytes | None


def normalized_text(text: str) -> str:
    """Lower case, letters and digits only: near-duplicate comments become equal."""
    return _NOT_WORD.sub("", text.lower())


def stable_hashes(texts: list[str]) -> np.ndarray:
    """Signed 64-bit hashes of ``texts`` that are the same in every process (unlike
    ``hash()``): pandas' keyed SipHash-2-4 of the UTF-8 bytes, in one vectorised pass."""
    if not texts:
        return np.zeros(0, dtype="int64")
    return hash_array(np.array(texts, dtype=object), categorize=False).view("int64")


def _ms(t: datetime | None) -> float:
    return np.nan if t is None else t.timestamp() * 1000.0


def _count(parsed: int | None, raw: str | None) -> float:
    # The contract already checked that the display string parses (CountRaw).
    if parsed is not None:
        return float(parsed)
    value = parse_count(raw)
    return np.nan if value is None else float(value)


def records_from_arrow(table: pa.Table, topic_of: Mapping[str, str]) -> list[Record]:
    """Kafka source rows (``topic, partition, offset, kafka_ms, value``) -> records."""
    cols = [table.column(c).to_pylist() for c in ("topic", "partition", "offset", "kafka_ms")]
    values = table.column("value").to_pylist()
    return [Record(topic_of[t], p, o, ms, v) for t, p, o, ms, v in zip(*cols, values, strict=True)]


def event_frame(
    records: Iterable[Record], max_future_s: int | None = None
) -> tuple[pd.DataFrame, list[tuple[Record, str]]]:
    """Records -> (engine input frame, rejected records with their reason).

    With ``max_future_s``, an event stamped further than that after its record reached Kafka
    is rejected: one bad clock must not push the watermark ahead and make every other event
    late. Compared with the Kafka timestamp, not the clock, so a replay decides the same.
    """
    # Built column by column and hashed in one vectorised pass: a frame from a list of row
    # dicts cost 5 us per event at 300k-event batches, a third of the whole check.
    cols: dict[str, list[Any]] = {c: [] for c in EVENT_COLUMNS if c not in _HASHES}
    nan = np.nan
    rejected: list[tuple[Record, str]] = []
    comment_rows: list[int] = []
    ids: list[str] = []
    pairs: list[str] = []
    n = 0
    for rec in records:
        if rec.payload is None:
            rejected.append((rec, "empty payload"))
            continue
        ev = validate_payload(rec.topic, rec.payload)
        if isinstance(ev, Rejection):
            rejected.append((rec, ev.message))
            continue
        event_ms = int(ev.event_time.timestamp() * 1000)
        if max_future_s is not None and event_ms > rec.kafka_ms + max_future_s * 1000:
            rejected.append(
                (rec, f"event_time: more than {max_future_s}s after the record reached Kafka")
            )
            continue
        row: tuple[str | float | None, ...]
        if isinstance(ev, VideoEvent):
            row = (
                ev.video_id,
                _count(ev.view_count, ev.view_count_raw),
                _count(ev.like_count, ev.like_count_raw),
                _count(ev.comment_count, ev.comment_count_raw),
                _count(ev.share_count, ev.share_count_raw),
                _ms(ev.published_at),
                nan,
                nan,
                nan,
                nan,
                nan,
                *_NO_ACCOUNT,
            )
        elif isinstance(ev, ProfileEvent):
            row = (
                None,
                nan,
                nan,
                nan,
                nan,
                nan,
                _count(None, ev.followers_raw),
                _count(None, ev.following_raw),
                _count(None, ev.likes_raw),
                _count(None, ev.posts_raw),
                nan if ev.verified is None else float(ev.verified),
                *_account_text(ev),
            )
        else:
            assert isinstance(ev, CommentEvent)
            row = (ev.video_id, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, *_NO_ACCOUNT)
            # Only comments are deduplicated by id in the engine: the hashes are theirs alone.
            comment_rows.append(n)
            ids.append(ev.event_id)
            pairs.append(f"{ev.video_id}\x00{normalized_text(ev.comment_text)}")
        for name, value in zip(
            _META, (rec.topic, rec.partition, rec.offset, rec.kafka_ms, event_ms), strict=True
        ):
            cols[name].append(value)
        cols["platform"].append(ev.platform)
        cols["username"].append(ev.username)
        for name, value in zip(_PER_TOPIC, row, strict=True):
            cols[name].append(value)
        n += 1
    data: dict[str, Any] = {
        c: np.array(cols[c], dtype=t) if t != "object" else np.array(cols[c], dtype=object)
        for c, t in EVENT_COLUMNS.items()
        if c not in _HASHES
    }
    for name, texts in (("event_hash", ids), ("pair_hash", pairs)):
        column = np.zeros(n, dtype="int64")
        column[comment_rows] = stable_hashes(texts)
        data[name] = column
    return pd.DataFrame(data, columns=list(EVENT_COLUMNS)), rejected


_META = ("topic", "partition", "offset", "kafka_ms", "event_ms")
_PER_TOPIC = (
    "video_id",
    "views",
    "likes",
    "comments",
    "shares",
    "published_ms",
    "followers",
    "following",
    "total_likes",
    "posts",
    "verified",
    *ACCOUNT_TEXT_FEATURES,
)
_HASHES = ("event_hash", "pair_hash")
_NO_ACCOUNT = (np.nan,) * len(ACCOUNT_TEXT_FEATURES)


def _account_text(ev: ProfileEvent) -> tuple[float, ...]:
    """What the profile's text says about the account (:func:`ml.account.account_features`)."""
    f = account_features(ev.username, ev.nickname, ev.bio, ev.avatar_url)
    return tuple(np.nan if (v := f[n]) is None else v for n in ACCOUNT_TEXT_FEATURES)


def tune_gc() -> None:
    """Fewer full collections: the engine keeps ~10^5 small containers alive for good, and a
    batch's check holds its models; with the default thresholds Python rescans them all every
    few thousand allocations (measured: a third of the engine's time)."""
    gc.set_threshold(50_000, 20, 100)


def parse_table(
    table: pa.Table, topic_of: Mapping[str, str], max_future_s: int | None = None
) -> tuple[pd.DataFrame, list[tuple[Record, str]]]:
    """Kafka source rows (``topic, partition, offset, kafka_ms, value``) -> :func:`event_frame`."""
    return event_frame(records_from_arrow(table, topic_of), max_future_s)


def ipc_bytes(table: pa.Table) -> pa.Buffer:
    """``table`` as an Arrow IPC stream, to send to another process.

    Not pickled: a pickled slice carries its parent's whole buffers (pyarrow 25), so each
    worker was sent the entire micro-batch. 140k of 280k records: 115 MB pickled in 0.22 s,
    58 MB as IPC in 0.01 s.
    """
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def _parse_ipc(
    data: pa.Buffer, topic_of: Mapping[str, str], max_future_s: int | None
) -> tuple[pd.DataFrame, list[tuple[Record, str]]]:
    return parse_table(pa.ipc.open_stream(data).read_all(), topic_of, max_future_s)


class ParallelParser:
    """:func:`parse_table` of a micro-batch split over ``workers`` processes and the caller.

    The check is pure Python, 15-20 us per event, the largest part of a batch; while it runs
    the Spark JVM is idle, so a second process takes part of it off the driver (measured on
    100k-record batches: 1.5-1.8 s -> 1.0-1.4 s; the idle stack holds the rest). The table is
    cut into contiguous slices and the results joined in order: the same frame and rejects,
    in the same order, as one :func:`parse_table` of the whole (tested). A pool that breaks (a
    worker killed) is replaced, and that batch is parsed in the caller.
    """

    MIN_SPLIT = 2_000  # below this, shipping slices costs more than it saves

    def __init__(
        self,
        topic_of: Mapping[str, str],
        max_future_s: int | None,
        workers: int = 1,
    ) -> None:
        self.topic_of = dict(topic_of)
        self.max_future_s = max_future_s
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        if workers:
            self._start()

    def _start(self) -> None:
        self._pool = ProcessPoolExecutor(
            self.workers,
            # Not fork: the caller holds a JVM gateway and threads.
            mp_context=mp.get_context("spawn"),
            initializer=tune_gc,
        )
        # Import the contracts in the workers now, not during the first batch.
        for f in [self._pool.submit(event_frame, []) for _ in range(self.workers)]:
            f.result()

    def __call__(self, table: pa.Table) -> tuple[pd.DataFrame, list[tuple[Record, str]]]:
        n = table.num_rows
        if self._pool is None or n < self.MIN_SPLIT:
            return parse_table(table, self.topic_of, self.max_future_s)
        size = -(-n // (self.workers + 1))  # the caller parses the first slice
        try:
            futures: list[Future[tuple[pd.DataFrame, list[tuple[Record, str]]]]] = [
                self._pool.submit(
                    _parse_ipc, ipc_bytes(table.slice(a, size)), self.topic_of, self.max_future_s
                )
                for a in range(size, n, size)
            ]
            parts = [parse_table(table.slice(0, size), self.topic_of, self.max_future_s)]
            parts += [f.result() for f in futures]
        except BrokenProcessPool:
            log.warning("a parse worker died: parsing this batch here and restarting the pool")
            self.close()
            self._start()
            return parse_table(table, self.topic_of, self.max_future_s)
        frame = pd.concat([f for f, _ in parts], ignore_index=True)
        return frame, [r for _, rejected in parts for r in rejected]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
