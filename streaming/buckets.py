"""Filling the buckets: what each topic's events add to the creators' state.

Videos add their counter deltas (growth over the highest value seen before, in Kafka offset
order), profiles their follower delta (and may fire a follower-jump alert), comments their
volume and near-duplicate pairs once re-sent ones are dropped. Late events (older than the
watermark) update what they describe, a video's counters or the latest profile, but add
nothing to a bucket. :mod:`streaming.engine` says why each rule is what it is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any, Final

import numpy as np
import pandas as pd

from ml.account import ACCOUNT_TEXT_FEATURES
from streaming import alerts as A
from streaming.state import (
    M_COMMENTS,
    M_CVOL,
    M_EVENTS,
    M_FOLLOW,
    M_LIKES,
    M_SHARES,
    M_VIEWS,
    EngineState,
    count_pairs,
)
from streaming.windows import alert

COUNTERS: Final = ("views", "likes", "comments", "shares")
# A profile snapshot: its counters and what its text says about the account (the account
# component of trust reads both; see ml.account).
PROFILE_FIELDS: Final = (
    "followers",
    "following",
    "total_likes",
    "posts",
    "verified",
    *ACCOUNT_TEXT_FEATURES,
)


def tuples(frame: pd.DataFrame) -> Iterator[tuple[Any, ...]]:
    """The frame's rows as tuples of Python values. Not ``itertuples``: with pandas 3's
    Arrow-backed strings it steps through each string column one element at a time, ~2 us a
    value."""
    return zip(*(frame[c].tolist() for c in frame.columns), strict=True)


def add_videos(state: EngineState, v: pd.DataFrame, counters: Counter[str]) -> None:
    """Video snapshots: counter deltas into the buckets, the latest counters per video."""
    if not len(v):
        return
    p = state.p
    codes, uniq = pd.factorize(v["key"] + "\x1f" + v["video_id"])
    ids = [u.split("\x1f", 1) for u in uniq.tolist()]
    stored = [state.creators[key].videos.get(vid) for key, vid in ids]
    prior = np.full((len(uniq), len(COUNTERS)), np.nan)
    for j, old in enumerate(stored):
        if old is not None:
            prior[j] = old[: len(COUNTERS)]
    # Group rows by video, keeping offset order inside each video.
    order = np.argsort(codes, kind="stable")
    grp = codes[order]
    starts = np.r_[True, grp[1:] != grp[:-1]]
    ends = np.r_[starts[1:], True]
    published = v["published_ms"].to_numpy()[order]
    event_ms = v["event_ms"].to_numpy()[order]
    fresh = ~np.isnan(published) & (event_ms - published <= p.fresh_video_s * 1000)
    on_time = v["on_time"].to_numpy()[order]
    informative = np.zeros(len(v), dtype=bool)
    contrib = np.zeros((len(v), len(COUNTERS)))
    latest = np.full((len(uniq), len(COUNTERS)), np.nan)
    for i, c in enumerate(COUNTERS):
        run, prev = _running_max(v[c].to_numpy(dtype="float64")[order], grp, starts)
        base = np.fmax(prior[grp, i], prev)
        first = np.isnan(base) & ~np.isnan(run)
        d = np.where(np.isnan(base), 0.0, np.maximum(run - base, 0.0))
        d = np.nan_to_num(np.where(first & fresh, run, d), nan=0.0)
        informative |= (d > 0) | first
        contrib[:, i] = np.where(on_time, d, 0.0)
        latest[grp[ends], i] = run[ends]
    seen_ms = np.zeros(len(uniq))
    np.maximum.at(seen_ms, grp, event_ms)
    # The stored form of each video, compared with what was stored, all videos at once.
    before = np.full((len(uniq), len(COUNTERS) + 1), np.nan)
    before[:, : len(COUNTERS)] = prior
    before[:, -1] = [old[4] if old is not None else np.nan for old in stored]
    after = np.empty_like(before)
    after[:, : len(COUNTERS)] = np.fmax(prior, latest)
    after[:, -1] = np.fmax(before[:, -1], seen_ms)
    same = ((after == before) | (np.isnan(after) & np.isnan(before))).all(axis=1)
    changed = np.flatnonzero(~same)
    for j, stored_form in zip(changed.tolist(), after[changed].tolist(), strict=True):
        key, vid = ids[j]
        st = state.creators[key]
        st.videos[vid] = stored_form
        st.dirty_videos.add(vid)
        st.gone_videos.discard(vid)

    rows = np.flatnonzero(on_time & (informative | (contrib > 0).any(axis=1)))
    _add_to_buckets(
        state,
        v["key"].to_numpy()[order][rows],
        v["bucket"].to_numpy()[order][rows],
        contrib[rows],
        informative[rows],
    )
    counters["video_deltas"] += int((contrib > 0).any(axis=1).sum())


def add_profiles(
    state: EngineState,
    rows: pd.DataFrame,
    alerts_out: list[dict[str, Any]],
    profiled: set[str],
    batch_id: int,
) -> None:
    """Profile snapshots newer than the creator's last: the latest profile, follower deltas
    into the buckets, follower-jump alerts into ``alerts_out``; ``profiled`` gets every
    creator whose profile changed."""
    p = state.p
    cols = ["key", "event_ms", "bucket", "on_time", *PROFILE_FIELDS]
    for key, t, b, on_time, followers, *rest in tuples(rows[cols]):
        st = state.creators[key]
        if st.followers_ms is not None and t <= st.followers_ms:
            continue  # an older or repeated snapshot: the newer one already counted
        t = int(t)
        prev = st.profile.get("followers")
        snapshot = {
            name: (None if pd.isna(x) else float(x))
            for name, x in zip(PROFILE_FIELDS, (followers, *rest), strict=True)
        }
        if snapshot["followers"] is None:
            snapshot["followers"] = prev  # not shown this time: keep the last known value
        st.profile = snapshot
        st.followers_ms = t
        st.dirty_meta = True
        profiled.add(key)
        if not on_time:
            continue
        bk = st.bucket(int(b))
        bk.m[M_EVENTS] += 1
        f = snapshot["followers"]
        if prev is None or f is None or pd.isna(followers):
            continue
        delta = f - prev
        bk.m[M_FOLLOW] += delta
        check = A.follower_jump(delta, st.deltas, f, p)
        if check is not None and check.fired:
            alerts_out.append(
                alert(
                    st,
                    A.FOLLOWER_JUMP,
                    t,
                    int(b),
                    batch_id,
                    p,
                    value=delta,
                    threshold=round(check.threshold, 2),
                    followers=f,
                    previous=prev,
                    mean=round(check.mean, 2),
                    sigma=round(check.sigma, 2),
                )
            )
            continue  # kept out of the history: one purchase must not mask the next
        st.deltas.append(delta)
        if len(st.deltas) > p.follower_history:
            del st.deltas[: len(st.deltas) - p.follower_history]


def _add_to_buckets(
    state: EngineState,
    keys: np.ndarray,
    buckets: np.ndarray,
    contrib: np.ndarray,
    counted: np.ndarray,
) -> None:
    """Add video rows' counter deltas (and event counts) to their creators' buckets, one
    update per (creator, bucket) rather than per row."""
    if not len(keys):
        return
    starts, _, order, names = _groups(keys, buckets)
    sums = np.add.reduceat(contrib[order], starts, axis=0).tolist()
    events = np.add.reduceat(counted[order].astype("float64"), starts).tolist()
    firsts = order[starts]
    for key, b, (views, likes, comments, shares), n in zip(
        names[firsts].tolist(), buckets[firsts].tolist(), sums, events, strict=True
    ):
        m = state.creators[key].bucket(b).m
        m[M_VIEWS] += views
        m[M_LIKES] += likes
        m[M_COMMENTS] += comments
        m[M_SHARES] += shares
        m[M_EVENTS] += n


def add_comments(state: EngineState, c: pd.DataFrame, counters: Counter[str]) -> None:
    """On-time comments: volume and near-duplicate pairs into the buckets, re-sent ones
    dropped."""
    if not len(c):
        return
    buckets = c["bucket"].to_numpy()
    hashes = c["event_hash"].to_numpy()
    new = state.first_seen(buckets, hashes)
    counters["duplicates"] += int(len(c) - new.sum())
    if not new.any():
        return
    keys = c["key"].to_numpy()[new]
    buckets = buckets[new]
    starts, ends, order, names = _groups(keys, buckets)
    pairs = c["pair_hash"].to_numpy()[new][order].tolist()
    firsts = order[starts]
    n = state.p.window_buckets
    for key, b, lo, hi in zip(
        names[firsts].tolist(),
        buckets[firsts].tolist(),
        starts.tolist(),
        ends.tolist(),
        strict=True,
    ):
        st = state.creators[key]
        bk = st.bucket(b)
        bk.m[M_CVOL] += hi - lo
        bk.m[M_EVENTS] += hi - lo
        added = pairs[lo:hi]
        state.log_pairs(b, key, added)
        count_pairs(bk.dups, added)
        ref = st.win_ref
        if ref is not None and ref - n < b <= ref:
            st.win_max = max(st.win_max, count_pairs(st.win_dups, added))


def _running_max(
    x: np.ndarray, grp: np.ndarray, starts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-group running maximum of ``x`` (rows sorted by group) and its value one row before.

    NaN (a counter the page did not show) is skipped: it neither raises nor resets the maximum;
    rows before a group's first value are NaN in both outputs.
    """
    n = len(x)
    # Offsetting each group far above the previous one lets one cumulative max serve all.
    filled = np.where(np.isnan(x), -1.0, x)
    span = float(np.max(filled, initial=0.0)) + 2.0
    run = np.maximum.accumulate(grp * span + filled + 1.0) - grp * span - 1.0
    run = np.where(run < 0, np.nan, run)
    prev = np.empty(n)
    prev[0] = np.nan
    prev[1:] = run[:-1]
    prev[starts] = np.nan
    return run, prev


def _groups(
    keys: np.ndarray, buckets: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows grouped by (creator key, bucket): (group starts, group ends) as positions in
    ``order``, the rows in group order (row order kept inside a group), and ``keys`` as an
    array to index with ``order``."""
    codes = pd.factorize(keys)[0]
    order = np.lexsort((buckets, codes))
    k, b = codes[order], buckets[order]
    cut = np.flatnonzero((k[1:] != k[:-1]) | (b[1:] != b[:-1])) + 1
    return np.r_[0, cut], np.r_[cut, len(order)], order, np.asarray(keys, dtype=object)
