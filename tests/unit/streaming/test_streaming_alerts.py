"""Alert rules on hand-made series."""

from __future__ import annotations

import pytest

from kol.settings import StreamSettings
from streaming import alerts as A


@pytest.mark.parametrize(
    ("followers", "step"),
    [(999, 1), (11_300, 100), (12_345, 1), (1_300_000, 100_000), (1_000_000, 100_000),
     (2_400_000_000, 100_000_000), (70_500, 100)],
)  # fmt: skip
def test_display_resolution(followers: int, step: int) -> None:
    assert A.display_resolution(followers) == step


def test_a_follower_purchase_is_a_jump(params: StreamSettings) -> None:
    history = [120.0, 95.0, 140.0, 110.0, 130.0]  # organic growth between snapshots
    bought = A.follower_jump(25_000.0, history, 52_000.0, params)
    organic = A.follower_jump(150.0, history, 52_000.0, params)
    assert bought is not None and bought.fired
    assert organic is not None and not organic.fired
    assert bought.threshold == organic.threshold


def test_rounded_displays_do_not_alert_on_one_step(params: StreamSettings) -> None:
    # "1.3M" for days: every delta 0, standard deviation 0; then the display ticks to "1.4M".
    history = [0.0, 0.0, 0.0, 0.0]
    tick = A.follower_jump(100_000.0, history, 1_400_000.0, params)
    assert tick is not None and not tick.fired
    jump = A.follower_jump(900_000.0, history, 2_300_000.0, params)
    assert jump is not None and jump.fired


def test_four_sigmas_of_the_creators_own_deltas(params: StreamSettings) -> None:
    # A volatile creator: big swings are normal for it, a 4-sigma outlier is not.
    history = [5_000.0, -3_000.0, 8_000.0, 0.0, 6_000.0, -1_000.0]
    mean = sum(history) / len(history)
    std = (sum((d - mean) ** 2 for d in history) / len(history)) ** 0.5
    check = A.follower_jump(mean + 3.9 * std, history, 412_345.0, params)
    assert check is not None and not check.fired
    check = A.follower_jump(mean + 4.1 * std, history, 412_345.0, params)
    assert check is not None and check.fired
    assert check.sigma == pytest.approx(std)


def test_no_verdict_without_history(params: StreamSettings) -> None:
    assert A.follower_jump(1e6, [], 10_000.0, params) is None
    assert A.follower_jump(1e6, [10.0], 10_000.0, params) is None  # min history is 2


def test_engagement_spike(params: StreamSettings) -> None:
    assert A.engagement_spike(60_000.0, 10_000.0, 1.0, params)
    assert not A.engagement_spike(40_000.0, 10_000.0, 1.0, params)  # 4x < 5x
    assert not A.engagement_spike(900.0, 0.0, 1.0, params)  # too small to matter
    assert not A.engagement_spike(60_000.0, 10_000.0, 0.3, params)  # baseline not known


def test_comment_burst_and_cool_down(params: StreamSettings) -> None:
    assert A.comment_burst(params.burst_min_comments, params)
    assert not A.comment_burst(params.burst_min_comments - 1, params)
    assert A.cooled_down(None, 100, params)
    assert not A.cooled_down(98, 100, params)
    assert A.cooled_down(100 - params.window_buckets, 100, params)
