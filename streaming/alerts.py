"""Alert rules of the hot path, as pure functions (the engine decides when to evaluate them).

* **follower_jump**: a follower delta (between two consecutive profile snapshots) above
  ``mean + 4 * sigma`` of the creator's own recent deltas. ``sigma`` has a floor: display counts
  are rounded ("11.3K", "1.3M"), so a steady creator's deltas are often exactly 0 and their
  standard deviation says nothing; the floor is the larger of a share of the follower count
  (``follower_sigma_floor``) and half the display resolution, so one display step never alerts.
  A delta that alerted is kept out of the history, so one purchase does not hide the next.
* **engagement_spike**: the current window's engagement at least ``spike_ratio`` times the
  creator's baseline (the same baseline as the trending score), by at least
  ``spike_min_engagement`` units, with at least ``spike_min_coverage`` of the baseline observed.
* **comment_burst**: at least ``burst_min_comments`` near-duplicate comments on one video within
  the current window. Near-duplicate = equal after lower-casing and removing everything but
  letters and digits (bots vary punctuation, case and emoji: "Nice video!!! 👍" / "nice video").

Spikes and bursts have a cool-down of one window per creator and type, so a burst that spans
five sliding windows is one alert, not five.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from kol.settings import StreamSettings

FOLLOWER_JUMP = "follower_jump"
ENGAGEMENT_SPIKE = "engagement_spike"
COMMENT_BURST = "comment_burst"
ALERT_TYPES = (FOLLOWER_JUMP, ENGAGEMENT_SPIKE, COMMENT_BURST)


@dataclass(frozen=True, slots=True)
class JumpCheck:
    fired: bool
    delta: float
    mean: float
    sigma: float
    threshold: float


def display_resolution(n: float) -> float:
    """The step of a rounded display count that shows ``n``: 11,300 -> 100, 1,300,000 -> 100k.

    Taken from the value itself (its trailing zeros, at most two digits below the leading one),
    because the display style of the source is not known here.
    """
    v = abs(int(n))
    if v < 1000:
        return 1.0
    step = 10 ** (len(str(v)) - 2)
    while step > 1 and v % step:
        step //= 10
    return float(step)


def follower_jump(
    delta: float, history: Sequence[float], followers: float, p: StreamSettings
) -> JumpCheck | None:
    """Check one follower delta against the creator's recent ones; None without enough history."""
    if len(history) < p.follower_min_history:
        return None
    mean = sum(history) / len(history)
    std = math.sqrt(sum((d - mean) ** 2 for d in history) / len(history))
    floor = max(p.follower_sigma_floor * abs(followers), display_resolution(followers) / 2.0)
    sigma = max(std, floor)
    threshold = mean + p.follower_jump_sigmas * sigma
    return JumpCheck(delta > threshold, delta, mean, sigma, threshold)


def engagement_spike(current: float, baseline: float, coverage: float, p: StreamSettings) -> bool:
    return (
        coverage >= p.spike_min_coverage
        and current - baseline >= p.spike_min_engagement
        and current >= p.spike_ratio * max(baseline, 0.0)
    )


def comment_burst(max_duplicates: int, p: StreamSettings) -> bool:
    return max_duplicates >= p.burst_min_comments


def cooled_down(last_bucket: int | None, ref: int, p: StreamSettings) -> bool:
    """True if no alert of this type fired within the window ending at ``ref``."""
    return last_bucket is None or ref - last_bucket >= p.window_buckets
