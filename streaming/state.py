"""The trending engine's state: what it keeps per creator, what changed, and its stored form.

:class:`EngineState` holds every creator's buckets, videos and latest profile, the event-id
hashes of the comments seen (duplicate detection), the near-duplicate logs and the event-time
maximum the watermark follows. It tracks what changed since the last commit, forgets what no
future event can need (:meth:`EngineState._prune`) and loads what Redis holds
(:mod:`streaming.sinks`). :class:`streaming.engine.TrendEngine` computes on it; the module
docstring there says what is persisted and why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import orjson
import pandas as pd

from kol.settings import StreamSettings
from streaming.score import history_buckets

# Bucket metric slots. All are sums of integers, so they are exact in float64 whatever the
# order of addition (the batch boundaries); weighted engagement is derived when read.
M_VIEWS, M_LIKES, M_COMMENTS, M_SHARES, M_FOLLOW, M_CVOL, M_EVENTS = range(7)
N_METRICS: Final = 7
STATE_FORMAT: Final = 2  # 1: near-duplicate counts inside each bucket's record


class Bucket:
    __slots__ = ("dups", "m")

    def __init__(self, m: list[float] | None = None, dups: dict[int, int] | None = None) -> None:
        self.m = m if m is not None else [0.0] * N_METRICS
        self.dups = dups if dups is not None else {}

    def dump(self) -> bytes:
        """The metrics only: near-duplicate pairs are persisted as a log (``dups_added``)."""
        return orjson.dumps(self.m)

    @classmethod
    def load(cls, raw: bytes) -> Bucket:
        m = orjson.loads(raw)
        if m and isinstance(m[0], list):  # format 1: [metrics, pairs]
            m, dups = m
            # Pairs as a dict, or before that as a list of [hash, count].
            pairs = dups.items() if isinstance(dups, dict) else dups
            return cls([float(x) for x in m], {int(h): int(c) for h, c in pairs})
        return cls([float(x) for x in m])


@dataclass(slots=True)
class CreatorState:
    key: str
    platform: str
    username: str
    first_ms: int | None = None  # earliest on-time event
    last_ms: int | None = None  # latest on-time event
    buckets: dict[int, Bucket] = field(default_factory=dict)
    # video_id -> [views, likes, comments, shares, last seen ms]; NaN = never shown
    videos: dict[str, list[float]] = field(default_factory=dict)
    followers_ms: int | None = None
    profile: dict[str, float | None] = field(default_factory=dict)  # latest profile snapshot
    deltas: list[float] = field(default_factory=list)  # recent follower deltas (no alerts)
    cooldown: dict[str, int] = field(default_factory=dict)  # alert type -> bucket it fired in
    ranked: bool = False
    trust: float | None = None
    # Near-duplicate counts of the window ending at bucket win_ref, kept up to date as comments
    # arrive: merging the window's buckets again every batch is costly (bench/README.md).
    # Derived from the buckets, so not persisted; None = rebuild when next scored.
    win_ref: int | None = None
    win_dups: dict[int, int] = field(default_factory=dict)
    win_max: int = 0
    # what changed since the last commit
    dirty_meta: bool = False
    dirty_buckets: set[int] = field(default_factory=set)
    gone_buckets: set[int] = field(default_factory=set)
    dirty_videos: set[str] = field(default_factory=set)
    gone_videos: set[str] = field(default_factory=set)

    def bucket(self, b: int) -> Bucket:
        bk = self.buckets.get(b)
        if bk is None:
            bk = self.buckets[b] = Bucket()
        self.dirty_buckets.add(b)
        self.gone_buckets.discard(b)
        return bk

    def meta(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "username": self.username,
            "first_ms": self.first_ms,
            "last_ms": self.last_ms,
            "followers_ms": self.followers_ms,
            "profile": self.profile,
            "deltas": self.deltas,
            "cooldown": self.cooldown,
            "ranked": self.ranked,
            "trust": self.trust,
        }

    def clean(self) -> None:
        self.dirty_meta = False
        self.dirty_buckets.clear()
        self.gone_buckets.clear()
        self.dirty_videos.clear()
        self.gone_videos.clear()


@dataclass
class CreatorDelta:
    """The persisted form of what changed in one creator's state."""

    meta: bytes | None
    buckets: dict[int, bytes]
    gone_buckets: list[int]
    videos: dict[str, bytes]
    gone_videos: list[str]


@dataclass
class StateDelta:
    creators: dict[str, CreatorDelta] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    seen_added: dict[int, list[int]] = field(default_factory=dict)
    seen_removed: list[int] = field(default_factory=list)
    # bucket -> one log entry: JSON {creator key: [pair hash of each near-duplicate comment]}
    dups_added: dict[int, bytes] = field(default_factory=dict)
    dups_removed: list[int] = field(default_factory=list)
    max_ms: int | None = None


class EngineState:
    """Every creator's state and the engine's own (seen comments, near-duplicate logs, the
    event-time maximum), with what changed since the last :meth:`committed`."""

    def __init__(self, params: StreamSettings) -> None:
        self.p = params
        self.slide_ms = params.slide_s * 1000
        self.creators: dict[str, CreatorState] = {}
        self.seen: dict[int, set[int]] = {}
        self.max_ms: int | None = None
        self._seen_added: dict[int, list[int]] = {}
        self._seen_removed: set[int] = set()
        self.dup_logs: set[int] = set()  # buckets with a persisted near-duplicate log
        self._dups_added: dict[int, dict[str, list[int]]] = {}
        self._dups_removed: set[int] = set()
        # Pairs of buckets loaded in format 1, logged with the next delta (which also rewrites
        # those buckets in the current format), so the counts are neither lost nor doubled.
        self._migrated: dict[int, dict[str, list[int]]] = {}
        self._removed: set[str] = set()
        self._pruned_at: int | None = None  # watermark bucket of the last pruning
        self._dirty: list[str] = []  # creators in the last delta: what committed() cleans

    # ---- time ----------------------------------------------------------------------------
    @property
    def watermark_ms(self) -> int | None:
        if self.max_ms is None:
            return None
        return self.max_ms - self.p.watermark_s * 1000

    def _state(self, key: str, platform: str, username: str) -> CreatorState:
        st = self.creators.get(key)
        if st is None:
            st = self.creators[key] = CreatorState(key, platform, username)
            st.dirty_meta = True
            self._removed.discard(key)
        return st

    # ---- comments: duplicates and near-duplicate logs ------------------------------------
    def first_seen(self, buckets: np.ndarray, hashes: np.ndarray) -> np.ndarray:
        """Which comments (their buckets and event-id hashes) were not seen before; the new
        ones are remembered. Re-sent comments (same event id, so same event time) are a repeat
        within the batch or one already seen in an earlier batch."""
        new = ~pd.DataFrame({"b": buckets, "h": hashes}).duplicated().to_numpy()
        for b in pd.unique(buckets).tolist():
            rows = np.flatnonzero(buckets == b)
            ids = self.seen.get(b)
            if ids:
                new[rows] &= [h not in ids for h in hashes[rows].tolist()]
            fresh = hashes[rows[new[rows]]].tolist()
            if fresh:
                self.seen.setdefault(b, set()).update(fresh)
                self._seen_added.setdefault(b, []).extend(fresh)
        return new

    def log_pairs(self, bucket: int, key: str, pairs: list[int]) -> None:
        """Log the near-duplicate pairs a creator's comments added to a bucket."""
        self._dups_added.setdefault(bucket, {}).setdefault(key, []).extend(pairs)

    # ---- retention -----------------------------------------------------------------------
    def _prune(self) -> list[tuple[str, str]]:
        """Forget what no future event can need; runs when the watermark enters a new bucket.

        Everything is cut at bucket boundaries, so what is kept depends on the watermark's
        bucket only, not on when within it a batch ended.
        """
        if self.max_ms is None:
            return []
        wm_bucket = self.watermark_ms // self.slide_ms  # type: ignore[operator]
        if wm_bucket == self._pruned_at:
            return []
        self._pruned_at = wm_bucket
        wm = wm_bucket * self.slide_ms
        p = self.p
        keep_from = wm_bucket - history_buckets(p)
        for b in [b for b in self.seen if b < wm_bucket]:
            del self.seen[b]
            self._seen_added.pop(b, None)
            self._seen_removed.add(b)
        for b in [b for b in self.dup_logs | self._dups_added.keys() if b < keep_from]:
            self.dup_logs.discard(b)
            self._dups_added.pop(b, None)
            self._migrated.pop(b, None)
            self._dups_removed.add(b)
        video_cut = wm - p.video_ttl_s * 1000
        rank_cut = wm - p.rank_ttl_s * 1000
        state_cut = wm - p.state_ttl_s * 1000
        unranked = []
        for key in list(self.creators):
            st = self.creators[key]
            last = st.last_ms if st.last_ms is not None else st.followers_ms
            if last is None or last < state_cut:
                if st.ranked:
                    unranked.append((key, st.platform))
                del self.creators[key]
                self._removed.add(key)
                continue
            if st.ranked and st.last_ms is not None and st.last_ms < rank_cut:
                st.ranked = False
                st.dirty_meta = True
                unranked.append((key, st.platform))
            for b in [b for b in st.buckets if b < keep_from]:
                if st.win_ref is not None and b > st.win_ref - p.window_buckets:
                    st.win_ref = None  # a bucket of the cached window goes
                del st.buckets[b]
                st.dirty_buckets.discard(b)
                st.gone_buckets.add(b)
            for vid in [vid for vid, x in st.videos.items() if x[4] < video_cut]:
                del st.videos[vid]
                st.dirty_videos.discard(vid)
                st.gone_videos.add(vid)
        return unranked

    # ---- persistence ---------------------------------------------------------------------
    def _delta(self) -> StateDelta:
        self._dirty.clear()
        delta = StateDelta(
            removed=sorted(self._removed),
            seen_added={b: list(hs) for b, hs in self._seen_added.items()},
            seen_removed=sorted(self._seen_removed),
            dups_added=self._dup_log(),
            dups_removed=sorted(self._dups_removed),
            max_ms=self.max_ms,
        )
        for key, st in self.creators.items():
            if not (
                st.dirty_meta
                or st.dirty_buckets
                or st.gone_buckets
                or st.dirty_videos
                or st.gone_videos
            ):
                continue
            self._dirty.append(key)
            delta.creators[key] = CreatorDelta(
                meta=orjson.dumps(st.meta(), option=orjson.OPT_SERIALIZE_NUMPY)
                if st.dirty_meta
                else None,
                buckets={b: st.buckets[b].dump() for b in st.dirty_buckets},
                gone_buckets=sorted(st.gone_buckets),
                videos={vid: orjson.dumps(st.videos[vid]) for vid in st.dirty_videos},
                gone_videos=sorted(st.gone_videos),
            )
        return delta

    def _dup_log(self) -> dict[int, bytes]:
        for b, by_key in self._migrated.items():
            added = self._dups_added.setdefault(b, {})
            for key, pairs in by_key.items():
                added[key] = pairs + added.get(key, [])
        self._migrated.clear()
        self.dup_logs.update(self._dups_added)
        return {b: orjson.dumps(by_key) for b, by_key in self._dups_added.items()}

    def committed(self) -> None:
        """The last result's state delta is durable: start tracking changes afresh."""
        # Every dirty creator is in the last delta (it holds all changes since the last
        # commit), so only those need cleaning, not every creator held.
        for key in self._dirty:
            st = self.creators.get(key)
            if st is not None:
                st.clean()
        self._dirty.clear()
        self._seen_added.clear()
        self._seen_removed.clear()
        self._dups_added.clear()
        self._dups_removed.clear()
        self._removed.clear()

    def reset(self) -> None:
        self.creators.clear()
        self.seen.clear()
        self.dup_logs.clear()
        self._migrated.clear()
        self.max_ms = None
        self._pruned_at = None
        self.committed()

    def load_creator(self, key: str, fields: dict[bytes, bytes]) -> None:
        meta = orjson.loads(fields[b"meta"])
        st = CreatorState(key, meta["platform"], meta["username"])
        st.first_ms = meta["first_ms"]
        st.last_ms = meta["last_ms"]
        st.followers_ms = meta["followers_ms"]
        st.profile = meta["profile"]
        st.deltas = [float(x) for x in meta["deltas"]]
        st.cooldown = {k: int(v) for k, v in meta["cooldown"].items()}
        st.ranked = bool(meta["ranked"])
        st.trust = meta["trust"]
        for name, raw in fields.items():
            if name.startswith(b"b:"):
                b = int(name[2:])
                bk = st.buckets[b] = Bucket.load(raw)
                if bk.dups:  # format 1
                    log = self._migrated.setdefault(b, {})[key] = []
                    for pair, count in bk.dups.items():
                        log.extend([pair] * count)
                    st.dirty_buckets.add(b)
            elif name.startswith(b"v:"):
                st.videos[name[2:].decode()] = [
                    np.nan if x is None else float(x) for x in orjson.loads(raw)
                ]
        self.creators[key] = st

    def load_seen(self, bucket: int, members: Iterable[bytes | str | int]) -> None:
        self.seen[bucket] = {int(m) for m in members}

    def load_dups(self, bucket: int, log: Iterable[bytes | str]) -> None:
        """Sum a bucket's near-duplicate log into the loaded creators' buckets. Entries of a
        creator forgotten since, or of a bucket it no longer holds, are stale: skipped."""
        self.dup_logs.add(bucket)
        for entry in log:
            for key, pairs in orjson.loads(entry).items():
                st = self.creators.get(key)
                bk = None if st is None else st.buckets.get(bucket)
                if bk is not None:
                    count_pairs(bk.dups, pairs)


def count_pairs(counts: dict[int, int], pairs: list[int]) -> int:
    """Add one to each pair's count; returns the highest count among them (0 if none)."""
    top = 0
    for pair in pairs:
        c = counts[pair] = counts.get(pair, 0) + 1
        if c > top:
            top = c
    return top
