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

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from streaming.settings import StreamSettings

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


def engagement(
    views: float, likes: float, comments: float, shares: float, p: StreamSettings
) -> float:
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


def velocity(current: float, baseline: float, prior: float) -> float:
    return math.log((max(current, 0.0) + prior) / (max(baseline, 0.0) + prior))


def momentum(windows: Sequence[float], prior: float, window_buckets: int) -> float:
    """Slope of ln(W + prior) over windows given oldest first, one bucket apart.

    Returned per window length (slope per bucket * buckets per window), so it is on the same
    scale as the velocity whatever the slide.
    """
    n = len(windows)
    if n < 2:
        return 0.0
    ys = [math.log(max(w, 0.0) + prior) for w in windows]
    x_mean = (n - 1) / 2.0
    y_mean = sum(ys) / n
    sxx = sum((i - x_mean) ** 2 for i in range(n))
    sxy = sum((i - x_mean) * (y - y_mean) for i, y in enumerate(ys))
    return sxy / sxx * window_buckets


def damping(events: float, coverage: float, k: float) -> float:
    events = max(events, 0.0)
    return events / (events + k) * min(max(coverage, 0.0), 1.0)


def combine(v: float, m: float, d: float, p: StreamSettings) -> float:
    """The 0-100 score from velocity, momentum and damping."""
    raw = d * (v + p.momentum_weight * m) / p.score_scale
    return min(100.0, max(0.0, 50.0 + 50.0 * math.tanh(raw)))


def window_sum(series: Callable[[int], float], end: int, n: int) -> float:
    """Sum of buckets ``end-n+1 .. end``."""
    return sum(series(b) for b in range(end - n + 1, end + 1))


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
    n = p.window_buckets
    lo = ref - history_buckets(p) + 1
    # Prefix sums over the buckets a score can see: every window sum is then O(1).
    eng = [0.0]
    for b in range(lo, ref + 1):
        eng.append(eng[-1] + engagement_at(b))

    def window(end: int) -> float:  # the window ending at bucket `end`
        return eng[end - lo + 1] - eng[end - lo + 1 - n]

    current = window(ref)
    events = sum(events_at(b) for b in range(ref - n + 1, ref + 1))

    # Baseline windows that start before the creator was first seen are unknown, not zero.
    observed = [
        window(ref - k * n)
        for k in range(1, p.baseline_windows + 1)
        if ref - (k + 1) * n + 1 >= first
    ]
    coverage = len(observed) / p.baseline_windows
    baseline = sum(observed) / len(observed) if observed else current

    # Momentum across the last M sliding windows (oldest first), observed ones only.
    slides = [
        window(ref - j) for j in range(p.momentum_windows - 1, -1, -1) if ref - j - n + 1 >= first
    ]
    v = velocity(current, baseline, p.engagement_prior)
    m = momentum(slides, p.engagement_prior, n)
    d = damping(events, coverage, p.damping_events)
    score = round(combine(v, m, d, p), 2)
    return TrendScore(
        score=score,
        label=label_for(score, p),
        velocity=round(v, 4),
        momentum=round(m, 4),
        damping=round(d, 4),
        coverage=round(coverage, 4),
        engagement=round(current, 2),
        baseline=round(baseline, 2),
        events=events,
    )


def history_buckets(p: StreamSettings) -> int:
    """How many buckets before the current one a score can look at (retention of buckets)."""
    n = p.window_buckets
    return (p.baseline_windows + 1) * n + p.momentum_windows
