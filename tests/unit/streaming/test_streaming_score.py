"""The trending score on hand-made bucket series (one bucket = one slide)."""

from __future__ import annotations

import math

import pytest

from kol.settings import StreamSettings
from streaming.score import (
    combine,
    label_for,
    momentum,
    trend_score,
    velocity,
)

REF = 1_000  # the creator's latest bucket


def series(values: dict[int, float], default: float = 0.0):  # type: ignore[no-untyped-def]
    return lambda b: values.get(b, default)


def steady(per_bucket: float, events: float = 3.0, since: int = 0):  # type: ignore[no-untyped-def]
    eng = lambda b: per_bucket if b >= since else 0.0  # noqa: E731
    evs = lambda b: events if b >= since else 0.0  # noqa: E731
    return eng, evs


def breakout(normal: float, factor: float, last: int, events: float = 3.0):  # type: ignore[no-untyped-def]
    """`normal` per bucket, `factor` times that in the last `last` buckets."""
    eng = lambda b: normal * (factor if b > REF - last else 1.0)  # noqa: E731
    evs = lambda b: events * (factor if b > REF - last else 1.0) ** 0.5  # noqa: E731
    return eng, evs


def test_a_flat_creator_sits_at_50_whatever_its_size(params: StreamSettings) -> None:
    for per_bucket in (10.0, 5_000.0, 2_000_000.0):
        eng, evs = steady(per_bucket)
        s = trend_score(eng, evs, REF, first=0, p=params)
        assert s.score == pytest.approx(50.0, abs=0.01)
        assert s.label == "Stable"
        assert s.velocity == pytest.approx(0.0, abs=1e-9)
        assert s.momentum == pytest.approx(0.0, abs=1e-9)


def test_a_noisy_flat_creator_stays_near_50(params: StreamSettings) -> None:
    # +-20 % around a constant rate, alternating: no trend, no breakout.
    eng = lambda b: 10_000.0 * (1.2 if b % 2 else 0.8)  # noqa: E731
    evs = lambda b: 4.0  # noqa: E731
    s = trend_score(eng, evs, REF, first=0, p=params)
    assert 45.0 <= s.score <= 55.0
    assert s.label == "Stable"


def test_a_breakout_ranks_above_a_steady_large_creator(params: StreamSettings) -> None:
    big = trend_score(*steady(3_000_000.0, events=40.0), REF, first=0, p=params)
    small = trend_score(*breakout(2_000.0, 50.0, last=3), REF, first=0, p=params)
    assert small.score > big.score
    assert small.score >= params.viral_at and small.label == "Viral"
    assert small.engagement < big.engagement  # it wins on velocity, not on size
    assert small.velocity > 0 and small.momentum > 0


def test_eight_times_the_baseline_fully_damped_in_is_the_viral_threshold() -> None:
    p = StreamSettings(_env_file=None, momentum_weight=0.0, engagement_prior=1e-9)
    assert combine(math.log(8.0), 0.0, 1.0, p) == pytest.approx(80.0, abs=0.01)
    assert label_for(combine(math.log(2.0), 0.0, 1.0, p), p) == "Hot"
    assert label_for(combine(math.log(0.5), 0.0, 1.0, p), p) == "Cooling"
    assert label_for(combine(math.log(1 / 50), 0.0, 1.0, p), p) == "Cold"


def test_a_creator_falling_off_cools(params: StreamSettings) -> None:
    s = trend_score(*breakout(50_000.0, 0.05, last=5), REF, first=0, p=params)
    assert s.velocity < 0
    assert s.score < params.stable_at and s.label in ("Cooling", "Cold")


def test_few_events_are_damped_towards_50(params: StreamSettings) -> None:
    eng = breakout(2_000.0, 20.0, last=3)[0]
    one = trend_score(eng, lambda b: 1.0 if b == REF else 0.0, REF, first=0, p=params)
    many = trend_score(eng, lambda b: 20.0, REF, first=0, p=params)
    assert one.velocity == many.velocity
    assert 50.0 < one.score < many.score
    assert one.damping < many.damping


def test_no_history_means_no_baseline_and_a_neutral_score(params: StreamSettings) -> None:
    # First seen in the current window: nothing to compare with.
    eng, evs = breakout(2_000.0, 50.0, last=3)
    s = trend_score(eng, evs, REF, first=REF - 2, p=params)
    assert s.coverage == 0.0 and s.score == 50.0
    # Half the baseline horizon observed: half the evidence.
    n = params.window_buckets
    half = trend_score(
        eng, evs, REF, first=REF - (params.baseline_windows // 2 + 1) * n + 1, p=params
    )
    assert half.coverage == pytest.approx(0.5)
    full = trend_score(eng, evs, REF, first=0, p=params)
    assert 50.0 < half.score < full.score


def test_momentum_sign_follows_the_trend() -> None:
    assert momentum([100.0, 200.0, 400.0, 800.0], 1.0, 5) > 0
    assert momentum([800.0, 400.0, 200.0, 100.0], 1.0, 5) < 0
    assert momentum([300.0] * 5, 1.0, 5) == 0.0
    assert momentum([300.0], 1.0, 5) == 0.0


def test_velocity_is_a_symmetric_log_ratio() -> None:
    assert velocity(200.0, 100.0, 1e-9) == pytest.approx(-velocity(50.0, 100.0, 1e-9))
    assert velocity(0.0, 0.0, 100.0) == 0.0


@pytest.mark.parametrize(
    ("score", "label"),
    [(100.0, "Viral"), (80.0, "Viral"), (79.99, "Hot"), (60.0, "Hot"), (59.9, "Stable"),
     (40.0, "Stable"), (39.9, "Cooling"), (20.0, "Cooling"), (19.99, "Cold"), (0.0, "Cold")],
)  # fmt: skip
def test_labels(score: float, label: str, params: StreamSettings) -> None:
    assert label_for(score, params) == label


def test_scores_are_bounded(params: StreamSettings) -> None:
    huge = trend_score(*breakout(1.0, 1e9, last=1, events=1e6), REF, first=0, p=params)
    dead = trend_score(breakout(1e9, 0.0, last=5)[0], lambda b: 1e6, REF, first=0, p=params)
    assert 0.0 <= dead.score < 1.0 and 99.0 < huge.score <= 100.0
