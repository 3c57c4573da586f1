"""The incremental trending engine: per-creator event-time state, window metrics, scores, alerts.

It consumes micro-batches of parsed, contract-valid events (a pandas frame with
:data:`EVENT_COLUMNS`) and returns what to write: creator score updates, alerts, counters and the
state changes to persist. It does no I/O and reads no clock, so the Spark job, the
plain-consumer benchmark and the unit tests run the very same code, and replaying a batch from
the same state gives the same result byte for byte.

Event time
    Every event is placed in the bucket ``event_ms // slide_ms``. The watermark is the latest
    event time seen in earlier batches minus ``watermark_s``; an event older than the watermark
    is *late*: counted, and kept out of the windows (its snapshot still updates the video's
    counters, so its growth is not attributed to the next snapshot either).

Deltas from snapshots
    Scrapers report cumulative counters. A video's engagement delta is its growth over the
    highest value seen before, taken in Kafka offset order per video (all events of a creator
    share a partition, so that order is fixed): ``max(0, count - max(previous counts))``.
    Because it depends only on the order within a partition, it is the same whatever the batch
    boundaries, which is what makes a restarted run equal an uninterrupted one. Out-of-order
    snapshots and duplicates contribute 0. The first snapshot of a video counts in full only if
    the video is fresh (published less than ``fresh_video_s`` before); otherwise it only sets the
    baseline. Follower deltas are taken between consecutive profile snapshots in event time.

Windows
    A bucket holds sums (views, likes, comments, shares deltas, weighted engagement, follower
    delta, comment volume, events) and near-duplicate comment counts. A sliding window of
    ``window_s`` every ``slide_s`` is the sum of ``window_s / slide_s`` consecutive buckets, so
    every window at every slide is available without storing overlapping copies.

Duplicates
    Re-sent comments (same ``event_id``) are dropped with a set of event-id hashes per bucket,
    kept down to the watermark (anything older is late anyway). Video and profile duplicates are
    harmless by construction (max and "newer than" rules).

Persisted state
    What changed in a batch (:class:`~streaming.state.StateDelta`) is written with the
    batch's outputs. A bucket's metrics are rewritten whole; its near-duplicate counts are
    not: they grow all minute, and rewriting them every batch would cost more with every
    comment. The near-duplicate pairs a batch adds are appended instead, one log entry per
    bucket and batch (``dups_added``), and summed again when the state is loaded.

Modules
    :mod:`streaming.state` holds the state and its persisted form, :mod:`streaming.buckets`
    adds each topic's events to it, :mod:`streaming.windows` scores the windows and builds
    the alerts; :class:`TrendEngine` runs them over one micro-batch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from kol.topics import COMMENTS_TOPIC, PROFILES_TOPIC, VIDEOS_TOPIC
from ml.account import ACCOUNT_TEXT_FEATURES
from streaming.buckets import add_comments, add_profiles, add_videos, tuples
from streaming.score import TrendScore
from streaming.state import CreatorState, EngineState, StateDelta
from streaming.windows import score_update, window_alerts, window_scores

# The engine's input: one row per contract-valid event. Counts are floats so that a counter the
# page did not show ("—") is NaN rather than 0.
EVENT_COLUMNS: Final = {
    "topic": "object",  # logical topic (kol.videos.raw ...)
    "partition": "int32",
    "offset": "int64",
    "kafka_ms": "int64",  # Kafka record timestamp: when the event entered Kafka
    "event_ms": "int64",
    "platform": "object",
    "username": "object",
    "video_id": "object",
    "views": "float64",
    "likes": "float64",
    "comments": "float64",
    "shares": "float64",
    "published_ms": "float64",
    "followers": "float64",
    "following": "float64",
    "total_likes": "float64",
    "posts": "float64",
    "verified": "float64",
    **dict.fromkeys(ACCOUNT_TEXT_FEATURES, "float64"),  # profiles: ml.account.account_features
    "event_hash": "int64",  # comments: hash of event_id (duplicate detection); others 0
    "pair_hash": "int64",  # hash of (video_id, normalised comment text): near-duplicates
}


def empty_events() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in EVENT_COLUMNS.items()})


@dataclass
class BatchResult:
    batch_id: int
    updates: list[dict[str, Any]]  # one per creator whose score changed: hash fields
    alerts: list[dict[str, Any]]
    unranked: list[tuple[str, str]]  # (key, platform) to drop from the rankings
    counters: Counter[str]
    state: StateDelta
    watermark_ms: int | None
    kafka_ms: np.ndarray  # Kafka timestamps of the batch's valid events (latency)


TrustFn = Callable[[pd.DataFrame], "np.ndarray | None"]


class TrendEngine(EngineState):
    """The engine: :meth:`process` one micro-batch of events, on the state it inherits."""

    def process(
        self, events: pd.DataFrame, batch_id: int, trust: TrustFn | None = None
    ) -> BatchResult:
        counters: Counter[str] = Counter()
        alerts_out: list[dict[str, Any]] = []
        wm = self.watermark_ms
        if len(events):
            ev = events.sort_values(["topic", "partition", "offset"], kind="stable")
            ev = ev.reset_index(drop=True)
        else:
            ev = empty_events()
        keys = ev["platform"] + ":" + ev["username"]
        ev = ev.assign(key=keys, bucket=ev["event_ms"] // self.slide_ms)
        on_time = np.ones(len(ev), dtype=bool) if wm is None else (ev["event_ms"] >= wm).to_numpy()
        ev["on_time"] = on_time
        counters.update({f"valid:{t}": n for t, n in ev["topic"].value_counts().items()})
        counters["late"] += int((~on_time).sum())

        firsts = ev[["key", "platform", "username"]].drop_duplicates("key")
        for key, platform, username in tuples(firsts):
            self._state(key, platform, username)

        touched: set[str] = set()
        profiled: set[str] = set()
        add_videos(self, ev[ev["topic"] == VIDEOS_TOPIC], counters)
        add_profiles(self, ev[ev["topic"] == PROFILES_TOPIC], alerts_out, profiled, batch_id)
        add_comments(self, ev[(ev["topic"] == COMMENTS_TOPIC) & ev["on_time"]], counters)

        timely = ev[ev["on_time"]]
        if len(timely):
            span = timely.groupby("key", sort=False)["event_ms"].agg(["min", "max"])
            for key, lo, hi in tuples(span.reset_index()):
                st = self.creators[key]
                if st.first_ms is None or lo < st.first_ms:
                    st.first_ms = int(lo)
                if st.last_ms is None or hi > st.last_ms:
                    st.last_ms = int(hi)
                st.dirty_meta = True
                touched.add(key)
        if len(ev):
            top = int(ev["event_ms"].max())
            self.max_ms = top if self.max_ms is None else max(self.max_ms, top)

        updates: list[dict[str, Any]] = []
        scored: dict[str, tuple[TrendScore, dict[str, Any]]] = {}
        states = [self.creators[key] for key in sorted(touched)]
        for st, (score, metrics) in zip(states, window_scores(states, self.p), strict=True):
            scored[st.key] = (score, metrics)
            alerts_out.extend(window_alerts(st, score, metrics, batch_id, self.p))
        if trust is not None and profiled:
            self._trust(trust, sorted(profiled & touched), scored)
        for key, (score, metrics) in scored.items():
            st = self.creators[key]
            st.ranked = True
            updates.append(score_update(st, score, metrics))

        unranked = self._prune()
        counters["alerts"] += len(alerts_out)
        return BatchResult(
            batch_id=batch_id,
            updates=updates,
            alerts=alerts_out,
            unranked=unranked,
            counters=counters,
            state=self._delta(),
            watermark_ms=self.watermark_ms,
            kafka_ms=ev["kafka_ms"].to_numpy(dtype="int64"),
        )

    def _trust(
        self,
        trust: TrustFn,
        keys: list[str],
        scored: dict[str, tuple[TrendScore, dict[str, Any]]],
    ) -> None:
        if not keys:
            return
        rows = []
        for key in keys:
            st = self.creators[key]
            score, metrics = scored[key]
            rows.append(trust_features(st, score, metrics))
        values = trust(pd.DataFrame(rows))
        if values is None:
            return
        for key, value in zip(keys, values, strict=True):
            st = self.creators[key]
            st.trust = None if value is None or np.isnan(value) else round(float(value), 2)
            st.dirty_meta = True


def trust_features(st: CreatorState, score: TrendScore, metrics: dict[str, Any]) -> dict[str, Any]:
    """What the stream knows about a creator when its profile changes: the live trust inputs.

    Profile counters of the latest snapshot plus the current window's metrics. The champion
    model is given the columns its signature asks for (see streaming.trust).
    """
    prof = st.profile
    followers = prof.get("followers")
    return {
        "platform": st.platform,
        "followers": followers,
        "following": prof.get("following"),
        "likes": prof.get("total_likes"),
        "posts": prof.get("posts"),
        "verified": prof.get("verified"),
        **{name: prof.get(name) for name in ACCOUNT_TEXT_FEATURES},
        "follower_delta": metrics["follower_delta"],
        "views": metrics["views"],
        "video_likes": metrics["likes"],
        "video_comments": metrics["comments"],
        "video_shares": metrics["shares"],
        "comment_volume": metrics["comment_volume"],
        "dup_comments": metrics["dup_comments"],
        "engagement": score.engagement,
        "events": score.events,
        "trending_score": score.score,
    }
