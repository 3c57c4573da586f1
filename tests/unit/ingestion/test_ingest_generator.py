"""The world generator: determinism, planted behaviours, dirt."""

from __future__ import annotations

import hashlib
import itertools
import re
import statistics
from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from ingestion.cli import app
from ingestion.contracts import TOPICS, BaseEvent, Rejection, validate_payload
from ingestion.counts import parse_count
from ingestion.generator import (
    FLAWS,
    PRESETS,
    GeneratorConfig,
    SimEvent,
    World,
    apply_flaw,
    live,
    replay,
    scheduled,
)
from kol.topics import COMMENTS_TOPIC, PRODUCTS_TOPIC, PROFILES_TOPIC, VIDEOS_TOPIC

SMALL = GeneratorConfig(creators=40, days=4, seed=7)


def stream(config: GeneratorConfig, **kw: Any) -> list[tuple[SimEvent, bytes]]:
    return list(replay(World(config).events(**kw)))


@pytest.fixture(scope="module")
def small() -> list[tuple[SimEvent, bytes]]:
    return stream(SMALL)


def digest(events: list[tuple[SimEvent, bytes]]) -> str:
    h = hashlib.sha256()
    for ev, value in events:
        h.update(ev.topic.encode() + b"\0" + ev.key.encode() + b"\0" + value + b"\n")
    return h.hexdigest()


def test_same_seed_same_events(small: list[tuple[SimEvent, bytes]]) -> None:
    assert digest(stream(SMALL)) == digest(small)


def test_other_seed_other_events(small: list[tuple[SimEvent, bytes]]) -> None:
    assert digest(stream(replace(SMALL, seed=8))) != digest(small)


def test_every_topic_is_produced(small: list[tuple[SimEvent, bytes]]) -> None:
    assert {ev.topic for ev, _ in small} == set(TOPICS)
    assert len(small) > 2_000


def test_shards_partition_the_stream(small: list[tuple[SimEvent, bytes]]) -> None:
    shards = [stream(SMALL, shard=(k, 3)) for k in range(3)]
    by_key: dict[str, list[bytes]] = defaultdict(list)
    for ev, value in small:
        by_key[ev.key].append(value)
    from_shards: dict[str, list[bytes]] = defaultdict(list)
    for shard in shards:
        for ev, value in shard:
            from_shards[ev.key].append(value)
    assert from_shards == by_key  # same events, same order per creator


def test_dirt_rates_do_not_change_the_clean_world() -> None:
    clean = replace(SMALL, duplicate_rate=0, late_rate=0, malformed_rate=0)
    dirty = replace(SMALL, duplicate_rate=0.2, late_rate=0.2, malformed_rate=0)
    clean_ids = [orjson.loads(v)["event_id"] for _, v in stream(clean)]
    dirty_events = stream(dirty)
    original_ids = [orjson.loads(v)["event_id"] for ev, v in dirty_events if ev.kind != "duplicate"]
    assert sorted(original_ids) == sorted(clean_ids)
    assert len(original_ids) == len(set(original_ids))


def test_one_dirt_rate_does_not_shift_the_others() -> None:
    def late_ids(malformed_rate: float) -> list[str]:
        config = replace(SMALL, malformed_rate=malformed_rate, late_rate=0.05)
        return [ev.record["event_id"] for ev, _ in stream(config) if ev.kind == "late"]

    assert late_ids(0.0) == late_ids(0.2)


def test_event_times_are_within_the_simulated_window(small: list[tuple[SimEvent, bytes]]) -> None:
    start = SMALL.start.timestamp()
    end = start + SMALL.days * 86_400
    assert all(start <= ev.t < end for ev, _ in small)


def test_contract_holds_exactly_for_the_well_formed(small: list[tuple[SimEvent, bytes]]) -> None:
    malformed = 0
    for ev, value in small:
        result = validate_payload(ev.topic, value)
        if ev.malformed:
            malformed += 1
            assert isinstance(result, Rejection), (ev.flaw, value)
        else:
            assert isinstance(result, BaseEvent), (result, value)
            assert result.key == ev.key
    assert malformed > 0


@pytest.mark.parametrize("topic", TOPICS)
def test_every_flaw_breaks_the_contract(topic: str, small: list[tuple[SimEvent, bytes]]) -> None:
    ev = next(e for e, _ in small if e.topic == topic and not e.malformed)
    for flaw in FLAWS[topic]:
        broken = apply_flaw(ev.record, flaw)
        assert isinstance(validate_payload(topic, broken), Rejection), flaw


def test_malformed_rate_is_respected() -> None:
    events = stream(replace(SMALL, malformed_rate=0.05))
    share = sum(ev.malformed for ev, _ in events) / len(events)
    assert 0.03 < share < 0.07


def test_duplicates_repeat_their_original_bytes_later() -> None:
    events = stream(replace(SMALL, duplicate_rate=0.05, malformed_rate=0))
    position = {}
    for i, (ev, value) in enumerate(events):
        if ev.kind != "duplicate":
            position[orjson.loads(value)["event_id"]] = (i, value)
    dups = [(i, v) for i, (ev, v) in enumerate(events) if ev.kind == "duplicate"]
    assert dups
    for i, value in dups:
        j, original = position[orjson.loads(value)["event_id"]]
        assert value == original and j < i


def test_late_events_arrive_out_of_order() -> None:
    events = stream(replace(SMALL, late_rate=0.05, duplicate_rate=0, malformed_rate=0))
    late = [ev for ev, _ in events if ev.kind == "late"]
    assert late
    latest_seen = float("-inf")
    behind = 0
    for ev, _ in events:
        behind += ev.t < latest_seen
        latest_seen = max(latest_seen, ev.t)
    assert behind >= len(late) * 0.9
    assert all(ev.release > ev.t for ev in late)


def test_live_mode_paces_and_stamps_wall_clock(small: list[tuple[SimEvent, bytes]]) -> None:
    now = [1_800_000_000.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    world = World(replace(SMALL, late_rate=0, duplicate_rate=0, malformed_rate=0))
    out = []
    for _ev, value in live(world.events(), rate=100.0, clock=lambda: now[0], sleep=sleep):
        out.append(orjson.loads(value))
        if len(out) == 50:
            break
    assert sum(slept) == pytest.approx(0.49)
    assert out[0]["event_time"] == "2027-01-15T08:00:00.000Z"
    for rec in out:
        assert "2027-01-15T08:00:00" <= rec["event_time"] <= "2027-01-15T08:00:01"
        if "published_at" in rec:  # ages compressed with the clock, never in the future
            assert rec["published_at"] <= rec["event_time"]


def test_scheduled_plans_what_live_sends_on_time() -> None:
    """The load generator's pre-encoded stream is byte for byte the live one, given a producer
    that keeps the schedule."""
    config = replace(SMALL, late_rate=0.05, duplicate_rate=0.02, malformed_rate=0.02)
    now = [1_800_000_000.0]

    def sleep(s: float) -> None:
        now[0] += s

    sent = [
        v
        for _, v in itertools.islice(
            live(World(config).events(), 100.0, lambda: now[0], sleep), 300
        )
    ]
    planned = list(itertools.islice(scheduled(World(config).events(), 100.0, 1_800_000_000.0), 300))
    assert [v for _, _, v in planned] == sent
    assert [due for due, _, _ in planned][:3] == [
        1_800_000_000.0,
        1_800_000_000.01,
        1_800_000_000.02,
    ]


# ---- planted behaviours ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def planted() -> tuple[dict[str, dict[str, Any]], list[tuple[SimEvent, bytes]]]:
    config = GeneratorConfig(creators=120, days=8, seed=11, malformed_rate=0, missing_rate=0)
    world = World(config)
    labels = {row["key"]: row for row in world.labels()}
    return labels, list(replay(world.events()))


def follower_series(events: list[tuple[SimEvent, bytes]]) -> dict[str, list[tuple[str, int]]]:
    series: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for ev, value in events:
        if ev.topic == PROFILES_TOPIC and ev.kind != "duplicate":
            rec = orjson.loads(value)
            followers = parse_count(rec["followers_raw"])
            assert followers is not None
            series[ev.key].append((rec["event_time"], followers))
    return {k: sorted(v) for k, v in series.items()}


def max_step(points: list[tuple[str, int]]) -> float:
    return max(b / a for (_, a), (_, b) in itertools.pairwise(points))


def keys_with(labels: dict[str, dict[str, Any]], behaviour: str | None) -> list[str]:
    if behaviour is None:
        return [k for k, row in labels.items() if not row["behaviours"]]
    return [k for k, row in labels.items() if behaviour in row["behaviours"]]


def test_every_behaviour_is_planted(planted: Any) -> None:
    labels, _ = planted
    for behaviour in ("bought_followers", "engagement_pod", "viral_breakout", "declining"):
        assert keys_with(labels, behaviour), behaviour
    assert all(len(row["behaviours"]) <= 1 for row in labels.values())


def test_bought_follower_series_jumps(planted: Any) -> None:
    labels, events = planted
    series = follower_series(events)
    for key in keys_with(labels, "bought_followers"):
        assert max_step(series[key]) > 1.2, key
    # Organic growth never steps like that between two snapshots.
    assert max(max_step(series[k]) for k in keys_with(labels, None)) < 1.1


def test_bought_followers_come_with_bot_comment_bursts(planted: Any) -> None:
    labels, events = planted
    texts: dict[str, list[str]] = defaultdict(list)
    for ev, value in events:
        if ev.topic == COMMENTS_TOPIC:
            rec = orjson.loads(value)
            if rec["commenter"].startswith("user") and rec["commenter"][4:].isdigit():
                texts[ev.key].append(rec["comment_text"])
    bought = keys_with(labels, "bought_followers")
    assert any(len(texts[k]) >= 15 for k in bought)
    assert not any(texts[k] for k in keys_with(labels, None))


def _views_per_follower(events: list[tuple[SimEvent, bytes]]) -> dict[str, float]:
    followers = {k: v[-1][1] for k, v in follower_series(events).items()}
    views: dict[str, dict[str, int]] = defaultdict(dict)
    for ev, value in events:
        if ev.topic == VIDEOS_TOPIC:
            rec = orjson.loads(value)
            views[ev.key][rec["video_id"]] = rec["view_count"]
    return {k: sum(v.values()) / len(v) / followers[k] for k, v in views.items() if v}


def test_bought_followers_have_low_engagement_for_their_size(planted: Any) -> None:
    labels, events = planted
    ratio = _views_per_follower(events)
    bought = sorted(ratio[k] for k in keys_with(labels, "bought_followers") if k in ratio)
    organic = sorted(ratio[k] for k in keys_with(labels, None) if k in ratio)
    assert bought[len(bought) // 2] < organic[len(organic) // 2]


def videos_by_creator(events: list[tuple[SimEvent, bytes]]) -> dict[str, dict[str, dict]]:
    """Latest snapshot of every video, per creator."""
    videos: dict[str, dict[str, dict]] = defaultdict(dict)
    for ev, value in events:
        if ev.topic == VIDEOS_TOPIC:
            rec = orjson.loads(value)
            videos[ev.key][rec["video_id"]] = rec
    return videos


def test_pod_members_share_commenters(planted: Any) -> None:
    labels, events = planted
    commenters: dict[str, set[str]] = defaultdict(set)
    for ev, value in events:
        if ev.topic == COMMENTS_TOPIC:
            commenters[ev.key].add(orjson.loads(value)["commenter"])
    start = "2025-01-01T00:00:00"
    videos = videos_by_creator(events)
    pods: dict[int, list[str]] = defaultdict(list)
    for key in keys_with(labels, "engagement_pod"):
        # Pod comments come within minutes of posting: only posts inside the window show them.
        if any(v["published_at"] >= start for v in videos[key].values()):
            pods[labels[key]["pod_id"]].append(key)
    pairs = [(a, b) for members in pods.values() for a in members for b in members if a < b]
    assert pairs
    for a, b in pairs:
        assert len(commenters[a] & commenters[b]) >= 3, (a, b)


def test_viral_breakout_has_an_outlier_video_and_trends(planted: Any) -> None:
    labels, events = planted
    trending = {ev.key for ev, v in events if b'"source":"trending"' in v}
    videos = videos_by_creator(events)
    compared = 0
    for key in keys_with(labels, "viral_breakout"):
        assert key in trending
        views = sorted(v["view_count"] for v in videos[key].values())
        if len(views) >= 2:
            others = views[:-1]
            assert views[-1] > 5 * max(1, others[len(others) // 2]), views
            compared += 1
    assert compared


def test_declining_creators_lose_followers(planted: Any) -> None:
    labels, events = planted
    series = follower_series(events)
    for key in keys_with(labels, "declining"):
        assert series[key][-1][1] < series[key][0][1], key


def test_sales_follow_audience_quality(planted: Any) -> None:
    labels, events = planted
    sold: dict[str, dict[str, int]] = defaultdict(dict)
    for ev, value in events:
        if ev.topic == PRODUCTS_TOPIC:
            rec = orjson.loads(value)
            if rec["has_shop"]:
                sold[ev.key][rec["product_id"]] = rec["sold_count"]
    assert any(sum(v.values()) > 0 for v in sold.values())
    assert {ev.key for ev, _ in events if ev.topic == PRODUCTS_TOPIC} == set(labels)


def test_labels_file_round_trips(tmp_path: Any) -> None:
    world = World(SMALL)
    path = world.write_labels(tmp_path / "labels.jsonl")
    rows = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert len(rows) == SMALL.creators
    assert rows[0]["world"]["seed"] == SMALL.seed
    bought = [r for r in rows if r["is_fake_audience"]]
    assert bought and all(r["bought_followers_steps"] for r in bought)


def test_a_world_simulates_once() -> None:
    world = World(SMALL)
    list(world.events())
    with pytest.raises(RuntimeError):
        list(world.events())


def test_live_backdate_sends_the_past_at_once_then_paces() -> None:
    """With a backdate, the schedule's past is sent without sleeping, each event stamped with
    its own due time in order; from the present on, events are paced and stamped now."""
    now = [1_800_000_000.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    world = World(replace(SMALL, late_rate=0, duplicate_rate=0, malformed_rate=0))
    out = [
        orjson.loads(v)["event_time"]
        for _, v in itertools.islice(
            live(world.events(), 10.0, lambda: now[0], sleep, backdate_s=3.0), 40
        )
    ]
    # 30 events were due in the 3 s before the start: sent at once, spread over those 3 s.
    assert out[0] == "2027-01-15T07:59:57.000Z"
    assert out[29] == "2027-01-15T07:59:59.900Z"
    assert out == sorted(out)
    assert sum(slept) == pytest.approx(0.9)
    assert out[39] == "2027-01-15T08:00:00.900Z"
    with pytest.raises(ValueError, match="backdate_s"):
        next(live(world.events(), 10.0, backdate_s=-1))


def test_plant_within_days_starts_every_planted_behaviour_early() -> None:
    config = replace(SMALL, creators=120, days=60, plant_within_days=2)
    labels = World(config).labels()
    viral = [r["viral_day"] for r in labels if "viral_breakout" in r["behaviours"]]
    bought = [r for r in labels if r.get("bought_followers_steps")]
    assert viral and set(viral) == {1}
    assert bought
    start = config.start.timestamp()
    for r in bought:
        first = min(s["at"] for s in r["bought_followers_steps"])
        at = datetime.fromisoformat(first.replace("Z", "+00:00")).timestamp()
        assert (at - start) / 86400 < 2
    wide = World(replace(config, plant_within_days=None)).labels()
    assert max(r["viral_day"] or 0 for r in wide) > 1
    with pytest.raises(ValueError, match="plant_within_days"):
        replace(SMALL, plant_within_days=0)


def test_event_ids_differ_between_worlds_that_start_on_different_days() -> None:
    a = World(SMALL).labels()
    later = replace(SMALL, start=SMALL.start + timedelta(days=30))
    first = next(iter(World(SMALL).events()))
    again = next(iter(World(later).events()))
    assert [r["key"] for r in a] == [r["key"] for r in World(later).labels()]
    assert first.record["event_id"] != again.record["event_id"]


# ---- the hard world -------------------------------------------------------------------------

HARD_CASES = {"drip_fed", "stealth_bots", "stealth_pod", "organic_spike", "weak_engagement"}
HARD = GeneratorConfig.hard(creators=120, days=14, seed=11, malformed_rate=0, missing_rate=0)


@pytest.fixture(scope="module")
def hard() -> tuple[World, dict[str, dict[str, Any]], list[tuple[SimEvent, bytes]]]:
    world = World(HARD)
    labels = {row["key"]: row for row in world.labels()}
    return world, labels, list(replay(world.events()))


def truly(labels: dict[str, dict[str, Any]], behaviour: str | None) -> list[str]:
    """Keys by their true behaviours (the written ones are noisy in the hard world)."""
    if behaviour is None:
        return [k for k, row in labels.items() if not row["true_behaviours"]]
    return [k for k, row in labels.items() if behaviour in row["true_behaviours"]]


def planted_comments(
    events: list[tuple[SimEvent, bytes]], what: str
) -> dict[str, list[tuple[SimEvent, dict[str, Any]]]]:
    out: dict[str, list[tuple[SimEvent, dict[str, Any]]]] = defaultdict(list)
    for ev, value in events:
        if ev.topic == COMMENTS_TOPIC and ev.planted == what and ev.kind != "duplicate":
            out[ev.key].append((ev, orjson.loads(value)))
    return out


def test_presets_easy_is_the_default_and_hard_turns_every_case_on() -> None:
    assert PRESETS["easy"] == GeneratorConfig() and not GeneratorConfig().hard_cases
    assert PRESETS["hard"].hard_cases and PRESETS["hard"].label_noise > 0
    assert GeneratorConfig.hard(label_noise=0.2, creators=9).label_noise == 0.2
    with pytest.raises(ValueError, match="drip_fed_share"):
        GeneratorConfig.hard(drip_fed_share=1.5)


def test_hard_cases_leave_every_other_creator_byte_for_byte() -> None:
    """The hard cases draw from streams of their own: turning them on (label noise included)
    changes only the creators who get one."""
    easy = GeneratorConfig(creators=60, days=6, seed=5)
    hard = GeneratorConfig.hard(creators=60, days=6, seed=5)
    truth = {row["key"]: set(row["true_behaviours"]) for row in World(hard).labels()}
    per_key: dict[str, list[list[bytes]]] = defaultdict(lambda: [[], []])
    for n, config in enumerate((easy, hard)):
        for ev, value in stream(config):
            per_key[ev.key][n].append(value)
    untouched = [k for k, b in truth.items() if not b & HARD_CASES]
    touched = [k for k in truth if k not in untouched]
    assert len(untouched) > 40 and touched
    assert all(per_key[k][0] == per_key[k][1] for k in untouched)
    assert sum(per_key[k][0] != per_key[k][1] for k in touched) >= len(touched) - 1


def test_organic_spikes_of_every_cause_jump_like_purchases(hard: Any) -> None:
    _, labels, events = hard
    series = follower_series(events)
    jumps = {
        cause: [max_step(series[k]) for k, r in labels.items() if r["spike_cause"] == cause]
        for cause in ("giveaway", "shoutout", "ad")
    }
    assert all(jumps.values()), jumps
    assert all(
        "organic_spike" in labels[k]["true_behaviours"] for k in truly(labels, "organic_spike")
    )
    bulk = [
        max_step(series[k])
        for k in truly(labels, "bought_followers")
        if "drip_fed" not in labels[k]["true_behaviours"]
    ]
    # A benign spike as big as a purchase: a follower-jump threshold flags genuine creators.
    assert max(jumps["giveaway"]) > min(bulk)
    assert max(jumps["shoutout"]) > min(bulk)
    assert max(jumps["giveaway"] + jumps["shoutout"]) > 1.2


def test_giveaway_followers_engage_less_than_the_audience_before(hard: Any) -> None:
    _, labels, events = hard
    videos = videos_by_creator(events)

    def like_rate(vs: list[dict[str, Any]]) -> float:
        return sum(v["like_count"] for v in vs) / sum(v["view_count"] for v in vs)

    ratios = []
    for key in (k for k, r in labels.items() if r["spike_cause"] == "giveaway"):
        day = (HARD.start + timedelta(days=labels[key]["spike_day"])).isoformat()[:10]
        seen = [v for v in videos[key].values() if v["view_count"] > 100]
        before = [v for v in seen if v["published_at"][:10] < day]
        after = [v for v in seen if v["published_at"][:10] >= day]
        if before and after:
            ratios.append(like_rate(after) / like_rate(before))
    assert len(ratios) >= 2
    assert statistics.mean(ratios) < 0.95, ratios


def test_drip_fed_purchases_come_in_many_small_steps(hard: Any) -> None:
    _, labels, events = hard
    series = follower_series(events)
    drip = truly(labels, "drip_fed")
    assert drip
    for key in drip:
        steps = labels[key]["bought_followers_steps"]
        first = min(s["at"] for s in steps)
        before = [n for t, n in series[key] if t < first]
        assert len(steps) >= 7 and before, key
        assert max(s["followers_added"] for s in steps) < 0.1 * before[-1], key
        # No step a jump threshold would catch, unlike a package (> 1.2, see above).
        assert max_step(series[key]) < 1.1, key


def test_stealth_pods_comment_over_hours_from_accounts_beyond_the_pod(hard: Any) -> None:
    world, labels, events = hard
    comments = planted_comments(events, "pod")
    stealth = {labels[k]["pod_id"] for k in truly(labels, "stealth_pod")}
    assert stealth
    for pod_id in stealth:
        keys = [k for k, r in labels.items() if r["pod_id"] == pod_id]
        pod = [(ev, rec) for k in keys for ev, rec in comments[k]]
        times: dict[str, list[float]] = defaultdict(list)
        for ev, rec in pod:
            times[rec["video_id"]].append(ev.t)
        spans = [max(t) - min(t) for t in times.values() if len(t) >= 3]
        assert spans and statistics.median(spans) > 45 * 60
        roster = set(world.pods[pod_id]) | set(world.pod_associates[pod_id])
        commenters = {rec["commenter"] for _, rec in pod}
        assert len(commenters) > len(roster)
        assert not any("_pod" in c for c in commenters)
    # The easy pods still comment within 45 minutes, from their roster only.
    easy = [k for k in truly(labels, "engagement_pod") if labels[k]["pod_id"] not in stealth]
    assert easy
    for key in easy:
        roster = set(world.pods[labels[key]["pod_id"]]) | set(
            world.pod_associates[labels[key]["pod_id"]]
        )
        assert {rec["commenter"] for _, rec in comments[key]} <= roster


def _words(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def test_stealth_bots_vary_their_words_handles_and_timing(hard: Any) -> None:
    _, labels, events = hard
    comments = planted_comments(events, "bot")
    stealth = [k for k in truly(labels, "stealth_bots") if comments[k]]
    plain = [
        k
        for k in truly(labels, "bought_followers")
        if "stealth_bots" not in labels[k]["true_behaviours"] and comments[k]
    ]
    assert stealth and plain

    def distinct(keys: list[str]) -> float:
        texts = [_words(rec["comment_text"]) for k in keys for _, rec in comments[k]]
        return len(set(texts)) / len(texts)

    assert distinct(stealth) > 0.8
    assert distinct(plain) < 0.2  # the easy bursts: one line, a few punctuations and emoji
    handles = [rec["commenter"] for k in stealth for _, rec in comments[k]]
    numbered = sum(bool(re.fullmatch(r"user\d{10}", h)) for h in handles) / len(handles)
    assert 0 < numbered < 0.5
    times: dict[str, list[float]] = defaultdict(list)
    for k in stealth:
        for ev, rec in comments[k]:
            times[rec["video_id"]].append(ev.t)
    assert max(max(t) - min(t) for t in times.values()) > 3600  # not within 300 s


def test_weak_engagement_creators_are_genuine_and_engage_less(hard: Any) -> None:
    _, labels, events = hard
    videos = videos_by_creator(events)

    def engagement(key: str) -> float:
        vs = videos[key].values()
        views = sum(v["view_count"] for v in vs)
        return sum(v["like_count"] + v["comment_count"] for v in vs) / max(views, 1)

    weak = truly(labels, "weak_engagement")
    genuine = statistics.median(engagement(k) for k in truly(labels, None))
    assert weak
    assert all(engagement(k) < genuine for k in weak)
    assert not any(labels[k]["true_is_fake_audience"] for k in weak)
    assert all(labels[k]["true_behaviours"] == ["weak_engagement"] for k in weak)


def test_label_noise_flips_a_share_and_keeps_the_truth(tmp_path: Path) -> None:
    from ml.labels import INAUTHENTIC_BEHAVIOURS, load_labels

    def bad(behaviours: list[str]) -> bool:
        return any(b in INAUTHENTIC_BEHAVIOURS for b in behaviours)

    world = World(GeneratorConfig.hard(creators=1000, days=3, seed=3))
    rows = world.labels()
    flipped = [r for r in rows if r["label_flipped"]]
    assert 0.03 < len(flipped) / len(rows) < 0.07
    assert all(bad(r["behaviours"]) != bad(r["true_behaviours"]) for r in flipped)
    kept = [r for r in rows if not r["label_flipped"]]
    assert all(r["behaviours"] == r["true_behaviours"] for r in kept)
    assert any(bad(r["true_behaviours"]) for r in flipped)  # fraud written as genuine
    assert any(not bad(r["true_behaviours"]) for r in flipped)  # and the other way round

    # ML trains on the label as written and scores against the truth.
    labels = load_labels([world.write_labels(tmp_path / "labels.jsonl")]).set_index("kol_id")
    wrong = {r["key"] for r in flipped}
    assert set(labels.index[labels["label"] != labels["true_label"]]) == wrong
    assert labels["true_label"].sum() == sum(bad(r["true_behaviours"]) for r in rows)


def test_generate_hard_preset_from_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "hard"
    args = ["generate", "--creators", "12", "--days", "2", "--preset", "hard", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = [orjson.loads(line) for line in (out / "labels.jsonl").read_bytes().splitlines()]
    assert len(rows) == 12 and all("true_behaviours" in r for r in rows)
    assert any(r["spike_cause"] in ("giveaway", "shoutout", "ad") for r in rows)
