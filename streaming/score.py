"""The trending score (0-100): how much faster than its own normal a creator is gaining engagement.

Inputs are per-creator buckets of ``slide_s`` seconds (event time) holding the engagement gained
in that bucket (weighted deltas of views, likes, comments and shares, see
:func:`engagement`) and the number of events that showed it. A window is ``n`` consecutive
buckets (``window_s / slide_s``: 5 minutes sliding by 1 minute by default); ``W(j)`` is the
window ending ``j`` buckets before the creator's latest bucket ``r``, so ``W(0)`` is the current
window, ``W(n)`` the one just before it without overlap.

Formula::

    velocity  v = ln((W(0) + a) / (B + a))
                  B = mean of W(n), W(2n), ..., W(Kn): the K windows before the current one
                  a = engagement_prior (pseudo-engagement on both sides)
    momentum  m = least-squares slope of ln(W(j) + a) over the last M sliding windows,
                  in log units per window length (positive when still accelerating)
    damping   d = N / (N + k) * c
                  N = events in the current window, k = damping_events,
                  c = coverage: share of the K baseline windows that lie after the creator was
                      first seen (a creator without history has no baseline to beat)
    score     = 50 + 50 * tanh(d * (v + beta * m) / s)
                  beta = momentum_weight (0.5), s = score_scale (3)
    label     = Viral >= 80 > Hot >= 60 > Stable >= 40 > Cooling >= 20 > Cold

Why this shape:

* Relative to the creator's own baseline, not a global constant: 50,000 new views is a normal
  minute for a star and a breakout for a niche creator. The log ratio is scale-free and
  symmetric: 2x and 0.5x are equally far from "normal".
* A flat creator (current window = baseline, no trend) scores exactly 50 whatever its size; the
  score only moves when the rate changes.
* Momentum separates a breakout that is still accelerating from one that already peaked within
  the window; it uses sliding windows one bucket apart, so it reacts within one slide.
* ``tanh`` bounds the score to (0, 100) and spends its resolution near "normal"; with s = 3 an
  8x velocity (ln 8 = 2.08) gives 80 (Viral), 2x gives 61 (Hot), 0.5x gives 39 (Cooling).
* Damping pulls creators with few events (or no history) towards 50: one snapshot showing a jump
  is weak evidence, and a creator first seen a minute ago has no baseline at all.

Every function here is pure (no I/O, no clock) so the same code scores in the Spark job, in the
plain-consumer benchmark and in the unit tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from kol.settings import StreamSettings

LABELS: Final = ("Viral", "Hot", "Stable", "Cooling", "Cold")


@dataclass(frozen=True, slots=True)
class TrendScore:
    score: float
    label: str
    velocity: float
    momentum: float
    damping: float
    coverage: float
    engagement: float  # current window W(0)
    baseline: float  # B, mean of the observed baseline windows
    events: float  # N, events in the current window


def engagement(views: Any, likes: Any, comments: Any, shares: Any, p: StreamSettings) -> Any:
    """Weighted engagement units of counter deltas (see the weights in StreamSettings)."""
    return (
        views * p.weight_views
        + likes * p.weight_likes
        + comments * p.weight_comments
        + shares * p.weight_shares
    )


def label_for(score: float, p: StreamSettings) -> str:
    if score >= p.viral_at:
        return "Viral"
    if score >= p.hot_at:
        return "Hot"
    if score >= p.stable_at:
        return "Stable"
    if score >= p.cooling_at:
        return "Cooling"
    return "Cold"


# The functions below take floats or numpy arrays (one element per creator), so the engine
# scores a whole batch of creators in one pass with the very code the unit tests check.


def velocity(current: Any, baseline: Any, prior: float) -> Any:
    return np.log((np.maximum(current, 0.0) + prior) / (np.maximum(baseline, 0.0) + prior))


def momentum(windows: Any, prior: float, window_buckets: int) -> Any:
    """Slope of ln(W + prior) over windows given oldest first, one bucket apart (the last axis:
    one row per creator).

    Returned per window length (slope per bucket * buckets per window), so it is on the same
    scale as the velocity whatever the slide.
    """
    w = np.asarray(windows, dtype="float64")
    n = w.shape[-1]
    if n < 2:
        return np.zeros(w.shape[:-1])[()]
    ys = np.log(np.maximum(w, 0.0) + prior)
    x = np.arange(n) - (n - 1) / 2.0
    sxy = ((ys - ys.mean(axis=-1, keepdims=True)) * x).sum(axis=-1)
    return (sxy / (x * x).sum() * window_buckets)[()]


def damping(events: Any, coverage: Any, k: float) -> Any:
    events = np.maximum(events, 0.0)
    return events / (events + k) * np.clip(coverage, 0.0, 1.0)


def combine(v: Any, m: Any, d: Any, p: StreamSettings) -> Any:
    """The 0-100 score from velocity, momentum and damping."""
    raw = d * (v + p.momentum_weight * m) / p.score_scale
    return np.clip(50.0 + 50.0 * np.tanh(raw), 0.0, 100.0)[()]


def trend_score(
    engagement_at: Callable[[int], float],
    events_at: Callable[[int], float],
    ref: int,
    first: int,
    p: StreamSettings,
) -> TrendScore:
    """Score the window ending at bucket ``ref`` for a creator first seen in bucket ``first``.

    ``engagement_at(b)`` / ``events_at(b)`` return a bucket's engagement and event count (0 for
    a bucket without events).
    """
    lo = ref - history_buckets(p) + 1
    eng = np.array([[engagement_at(b) for b in range(lo, ref + 1)]])
    events = np.array([[events_at(b) for b in range(lo, ref + 1)]])
    return trend_scores(eng, events, np.array([ref - first]), p)[0]


def trend_scores(
    engagement: np.ndarray, events: np.ndarray, seen: np.ndarray, p: StreamSettings
) -> list[TrendScore]:
    """:func:`trend_score` of many creators at once.

    ``engagement`` and ``events`` hold one row per creator and :func:`history_buckets` columns,
    the last being the creator's latest bucket ``r``; ``seen[i]`` is ``r - first``, how many
    buckets before ``r`` creator ``i`` was first seen.
    """
    n = p.window_buckets
    h = engagement.shape[1]
    # Prefix sums over the buckets a score can see: every window sum is then one subtraction.
    cum = np.zeros((len(engagement), h + 1))
    np.cumsum(engagement, axis=1, out=cum[:, 1:])

    def window(back: int) -> np.ndarray:  # the window ending `back` buckets before r
        return cum[:, h - back] - cum[:, h - back - n]

    current = window(0)
    in_window = events[:, h - n :].sum(axis=1)

    # Baseline windows that start before the creator was first seen are unknown, not zero.
    total = np.zeros(len(engagement))
    observed = np.zeros(len(engagement))
    for k in range(1, p.baseline_windows + 1):
        known = seen >= (k + 1) * n - 1
        total += np.where(known, window(k * n), 0.0)
        observed += known
    coverage = observed / p.baseline_windows
    baseline = np.divide(total, observed, out=current.copy(), where=observed > 0)

    # Momentum across the last M sliding windows (oldest first), observed ones only: creators
    # with the same number of observed windows are fitted together.
    slides = np.stack([window(j) for j in range(p.momentum_windows - 1, -1, -1)], axis=1)
    count = np.clip(seen - n + 2, 0, p.momentum_windows)
    m = np.zeros(len(engagement))
    for c in np.unique(count).tolist():
        rows = count == c
        m[rows] = momentum(slides[rows, p.momentum_windows - c :], p.engagement_prior, n)
    v = velocity(current, baseline, p.engagement_prior)
    d = damping(in_window, coverage, p.damping_events)
    score = combine(v, m, d, p)
    out = []
    for sc, vi, mi, di, ci, cur, base, evs in zip(
        *(a.tolist() for a in (score, v, m, d, coverage, current, baseline, in_window)),
        strict=True,
    ):
        sc = round(sc, 2)
        out.append(
            TrendScore(
                score=sc,
                label=label_for(sc, p),
                velocity=round(vi, 4),
                momentum=round(mi, 4),
                damping=round(di, 4),
                coverage=round(ci, 4),
                engagement=round(cur, 2),
                baseline=round(base, 2),
                events=evs,
            )
        )
    return out


def history_buckets(p: StreamSettings) -> int:
    """How many buckets before the current one a score can look at (retention of buckets)."""
    n = p.window_buckets
    return (p.baseline_windows + 1) * n + p.momentum_windows
