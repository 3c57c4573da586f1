"""The incremental engine on hand-made events and on a small generated world (no services)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest

from ingestion.generator import GeneratorConfig, World
from kol.settings import StreamSettings
from kol.topics import COMMENTS_TOPIC, PROFILES_TOPIC, VIDEOS_TOPIC
from streaming.engine import EVENT_COLUMNS, TrendEngine
from streaming.events import Record, event_frame
from streaming.state import Bucket, StateDelta
from streaming.windows import iso, isos

MIN = 60_000
T0 = 1_735_689_600_000  # 2025-01-01T00:00:00Z


class Feed:
    """Builds engine input rows with increasing offsets (one partition per creator)."""

    def __init__(self) -> None:
        self.offset = 0

    def rows(self, *events: dict[str, Any]) -> pd.DataFrame:
        out = []
        for ev in events:
            row: dict[str, Any] = {c: np.nan for c in EVENT_COLUMNS}
            row.update(partition=0, offset=self.offset, kafka_ms=0, event_hash=self.offset)
            row.update(pair_hash=0, video_id=None)
            row.update(ev)
            self.offset += 1
            out.append(row)
        frame = pd.DataFrame(out, columns=list(EVENT_COLUMNS))
        return frame.astype({c: t for c, t in EVENT_COLUMNS.items() if t != "object"})


def video(user: str, t: int, vid: str, views: float, published: int | None = None, **kw: Any):
    return {
        "topic": VIDEOS_TOPIC,
        "platform": "tiktok",
        "username": user,
        "event_ms": t,
        "video_id": vid,
        "views": views,
        "likes": kw.get("likes", views / 10),
        "comments": kw.get("comments", views / 100),
        "shares": kw.get("shares", views / 200),
        "published_ms": np.nan if published is None else published,
    }


def profile(user: str, t: int, followers: float) -> dict[str, Any]:
    return {
        "topic": PROFILES_TOPIC,
        "platform": "tiktok",
        "username": user,
        "event_ms": t,
        "followers": followers,
    }


def comment(user: str, t: int, vid: str, pair: int, event_hash: int | None = None):
    row = {
        "topic": COMMENTS_TOPIC,
        "platform": "tiktok",
        "username": user,
        "event_ms": t,
        "video_id": vid,
        "pair_hash": pair,
    }
    if event_hash is not None:
        row["event_hash"] = event_hash
    return row


def bucket_sum(engine: TrendEngine, key: str, slot: int) -> float:
    return sum(b.m[slot] for b in engine.creators[key].buckets.values())


def test_video_deltas_follow_the_running_maximum(params: StreamSettings) -> None:
    feed, engine = Feed(), TrendEngine(params)
    fresh = T0 - 10 * MIN
    engine.process(
        feed.rows(
            video("a", T0, "v1", 100, published=fresh),  # fresh: counts in full
            video("a", T0 + MIN, "v1", 150, published=fresh),  # +50
            video("a", T0 + MIN, "v1", 150, published=fresh),  # duplicate: 0
            video("a", T0 + 30_000, "v1", 120, published=fresh),  # out of order: 0
            video("a", T0 + MIN, "v2", 1_000_000, published=T0 - 30 * 86_400_000),  # old: 0
        ),
        0,
    )
    engine.committed()
    engine.process(
        feed.rows(
            video("a", T0 + 2 * MIN, "v1", 300, published=fresh),  # +150, across batches
            video("a", T0 + 2 * MIN, "v2", 1_000_500, published=T0 - 30 * 86_400_000),  # +500
        ),
        1,
    )
    assert bucket_sum(engine, "tiktok:a", 0) == 300 + 500  # views
    per_bucket = {b: bk.m[0] for b, bk in engine.creators["tiktok:a"].buckets.items()}
    start = T0 // MIN
    assert per_bucket == {start: 100, start + 1: 50, start + 2: 650}


def test_missing_counters_are_skipped_not_zero(params: StreamSettings) -> None:
    feed, engine = Feed(), TrendEngine(params)
    engine.process(
        feed.rows(
            video("a", T0, "v1", 1_000, published=T0 - MIN),
            video("a", T0 + MIN, "v1", np.nan, published=T0 - MIN),  # "—" on the page
            video("a", T0 + 2 * MIN, "v1", 1_200, published=T0 - MIN),
        ),
        0,
    )
    assert bucket_sum(engine, "tiktok:a", 0) == 1_200


def test_late_events_are_counted_and_kept_out_of_the_windows(params: StreamSettings) -> None:
    feed, engine = Feed(), TrendEngine(params)
    engine.process(feed.rows(comment("a", T0 + 10 * MIN, "v", 1)), 0)
    engine.committed()
    # Watermark is now 10 min - 2 min: an event at 5 min is late, one at 9 min is not.
    result = engine.process(
        feed.rows(comment("a", T0 + 5 * MIN, "v", 2), comment("a", T0 + 9 * MIN, "v", 3)), 1
    )
    assert result.counters["late"] == 1
    assert bucket_sum(engine, "tiktok:a", 5) == 2  # comment volume
    assert result.watermark_ms == T0 + 8 * MIN


def test_resent_comments_count_once_and_bots_make_a_burst(params: StreamSettings) -> None:
    feed, engine = Feed(), TrendEngine(params)
    bots = [comment("b", T0 + i * 1000, "v9", pair=42) for i in range(12)]
    resent = comment("b", T0 + 5_000, "v9", pair=7, event_hash=10_000)
    result = engine.process(feed.rows(*bots, resent), 0)
    engine.committed()
    again = engine.process(feed.rows(dict(resent, event_hash=10_000)), 1)
    assert result.counters["duplicates"] == 0 and again.counters["duplicates"] == 1
    assert bucket_sum(engine, "tiktok:b", 5) == 13
    bursts = [a for a in result.alerts if a["type"] == "comment_burst"]
    assert len(bursts) == 1 and bursts[0]["value"] == 12
    assert not [a for a in again.alerts if a["type"] == "comment_burst"]  # cool-down


def test_a_follower_purchase_alerts_and_organic_growth_does_not(params: StreamSettings) -> None:
    feed, engine = Feed(), TrendEngine(params)
    followers = 50_000.0
    rows = []
    for i in range(8):
        followers += 100 + 10 * (i % 3)
        rows.append(profile("c", T0 + i * MIN, followers))
    rows.append(profile("c", T0 + 8 * MIN, followers + 40_000))  # the package lands
    rows.append(profile("c", T0 + 9 * MIN, followers + 40_110))
    result = engine.process(feed.rows(*rows), 0)
    jumps = [a for a in result.alerts if a["type"] == "follower_jump"]
    assert len(jumps) == 1
    assert jumps[0]["value"] == 40_000 and jumps[0]["key"] == "tiktok:c"
    assert jumps[0]["alert_id"] == f"follower_jump:tiktok:c:{T0 + 8 * MIN}"
    assert 40_000 not in engine.creators["tiktok:c"].deltas  # a jump does not raise the bar


def steady_and_breakout(feed: Feed, minutes: int, breakout_at: int) -> list[pd.DataFrame]:
    """A big steady creator and a small one breaking out, one batch per minute."""
    batches = []
    big = small = 0.0
    for m in range(minutes):
        t = T0 + m * MIN
        big += 500_000
        small += 1_000 if m < breakout_at else 60_000
        batches.append(
            feed.rows(
                video("big", t, "b1", big, published=T0 - MIN),
                video("big", t + 1000, "b2", big / 2, published=T0 - MIN),
                video("small", t, "s1", small, published=T0 - MIN),
                video("small", t + 1000, "s2", small / 3, published=T0 - MIN),
            )
        )
    return batches


def test_a_breakout_ranks_above_a_steady_large_creator(params: StreamSettings) -> None:
    feed, engine = Feed(), TrendEngine(params)
    latest: dict[str, dict[str, Any]] = {}
    for i, batch in enumerate(steady_and_breakout(feed, 45, breakout_at=42)):
        for up in engine.process(batch, i).updates:
            latest[up["key"]] = up
        engine.committed()
    big, small = latest["tiktok:big"], latest["tiktok:small"]
    assert small["score"] > big["score"]
    assert small["label"] == "Viral" and big["label"] == "Stable"
    assert big["score"] == pytest.approx(50.0, abs=3.0)
    assert small["engagement"] < big["engagement"]


def world_records(config: GeneratorConfig) -> list[Record]:
    topics = (VIDEOS_TOPIC, PROFILES_TOPIC, COMMENTS_TOPIC)
    offsets: dict[tuple[str, int], int] = defaultdict(int)
    out = []
    for ev in World(config).events():
        if ev.topic not in topics:
            continue
        part = hash(ev.key) % 3
        out.append(Record(ev.topic, part, offsets[(ev.topic, part)], 0, ev.encode()))
        offsets[(ev.topic, part)] += 1
    return out


def run_batches(engine: TrendEngine, frames: list[pd.DataFrame], first_id: int = 0) -> dict:
    latest: dict[str, dict[str, Any]] = {}
    for i, frame in enumerate(frames):
        for up in engine.process(frame, first_id + i).updates:
            latest[up["key"]] = up
        engine.committed()
    return latest


def split(frame: pd.DataFrame, n: int) -> list[pd.DataFrame]:
    bounds = np.linspace(0, len(frame), n + 1).astype(int)
    return [frame.iloc[a:b] for a, b in itertools.pairwise(bounds)]


@pytest.fixture(scope="module")
def world_frame() -> pd.DataFrame:
    config = GeneratorConfig(creators=25, days=3, seed=5, late_rate=0.0, malformed_rate=0.0)
    frame, rejected = event_frame(world_records(config))
    assert not rejected
    return frame


def hour_params() -> StreamSettings:
    # The generator's comments arrive up to days after they were written (a scraper samples
    # them at the next visit); a watermark longer than the world keeps every event on time, so
    # lateness, the one thing that does depend on batch boundaries, stays out of these tests.
    return StreamSettings(
        _env_file=None, window_s=6 * 3600, slide_s=3600, watermark_s=30 * 86400, baseline_windows=4
    )


def state_of(engine: TrendEngine) -> dict[str, Any]:
    """Everything scores depend on. Alert cool-downs are left out: when an alert fires depends
    on which partial windows were evaluated, i.e. on the batch boundaries."""
    return {
        key: (
            {k: v for k, v in st.meta().items() if k != "cooldown"},
            {b: st.buckets[b].dump() for b in sorted(st.buckets)},
            {b: sorted(st.buckets[b].dups.items()) for b in sorted(st.buckets)},
            {v: st.videos[v] for v in sorted(st.videos)},
        )
        for key, st in sorted(engine.creators.items())
    }


def test_batch_boundaries_do_not_change_the_result(world_frame: pd.DataFrame) -> None:
    p = hour_params()
    one = TrendEngine(p)
    whole = run_batches(one, [world_frame])
    many = TrendEngine(p)
    pieces = run_batches(many, split(world_frame, 9))
    assert whole == pieces
    assert repr(state_of(one)) == repr(state_of(many))  # NaN-safe comparison


class FakeStore:
    """The persisted form of the state (what RedisStore writes), applied and read back."""

    def __init__(self) -> None:
        self.creators: dict[str, dict[bytes, bytes]] = {}
        self.seen: dict[int, set[int]] = {}
        self.dups: dict[int, list[bytes]] = {}
        self.max_ms: int | None = None

    def apply(self, delta: StateDelta) -> None:
        for key, cd in delta.creators.items():
            h = self.creators.setdefault(key, {})
            if cd.meta is not None:
                h[b"meta"] = cd.meta
            h.update({f"b:{b}".encode(): raw for b, raw in cd.buckets.items()})
            h.update({f"v:{v}".encode(): raw for v, raw in cd.videos.items()})
            for b in cd.gone_buckets:
                h.pop(f"b:{b}".encode(), None)
            for v in cd.gone_videos:
                h.pop(f"v:{v}".encode(), None)
        for key in delta.removed:
            self.creators.pop(key, None)
        for b, hashes in delta.seen_added.items():
            self.seen.setdefault(b, set()).update(hashes)
        for b in delta.seen_removed:
            self.seen.pop(b, None)
        for b, entry in delta.dups_added.items():
            self.dups.setdefault(b, []).append(entry)
        for b in delta.dups_removed:
            self.dups.pop(b, None)
        self.max_ms = delta.max_ms

    def run(self, engine: TrendEngine, frames: list[pd.DataFrame]) -> None:
        """Batches 0, 1, ... each processed, persisted here, then committed."""
        for i, frame in enumerate(frames):
            self.apply(engine.process(frame, i).state)
            engine.committed()

    def load(self, engine: TrendEngine) -> None:
        engine.reset()
        engine.max_ms = self.max_ms
        for key, fields in self.creators.items():
            engine.load_creator(key, dict(fields))
        for b, hashes in self.seen.items():
            engine.load_seen(b, hashes)
        for b, log in self.dups.items():
            engine.load_dups(b, log)
        engine.committed()


def test_a_restart_from_persisted_state_equals_an_uninterrupted_run(
    world_frame: pd.DataFrame,
) -> None:
    p = hour_params()
    frames = split(world_frame, 8)
    uninterrupted = TrendEngine(p)
    expected = run_batches(uninterrupted, frames)

    store = FakeStore()
    before = TrendEngine(p)
    store.run(before, frames[:5])
    # The process dies after computing batch 5 but before committing it: its work is lost.
    before.process(frames[5], 5)

    after = TrendEngine(p)
    store.load(after)
    latest = run_batches(after, frames[5:], first_id=5)
    for key, up in latest.items():
        assert up == expected[key]
    assert repr(state_of(after)) == repr(state_of(uninterrupted))


def test_old_state_is_pruned_behind_the_watermark(params: StreamSettings) -> None:
    feed, engine = Feed(), TrendEngine(params)
    engine.process(feed.rows(video("old", T0, "v", 100, published=T0)), 0)
    engine.committed()
    later = T0 + params.state_ttl_s * 1000 + 10 * 60_000
    result = engine.process(feed.rows(video("new", later, "w", 5, published=later)), 1)
    assert "tiktok:old" not in engine.creators
    assert result.state.removed == ["tiktok:old"]
    assert ("tiktok:old", "tiktok") in result.unranked


def test_trust_scores_are_attached_to_profiled_creators(params: StreamSettings) -> None:
    feed, engine = Feed(), TrendEngine(params)
    seen: list[pd.DataFrame] = []

    def trust(features: pd.DataFrame) -> np.ndarray:
        seen.append(features)
        return np.full(len(features), 87.5)

    result = engine.process(
        feed.rows(profile("p", T0, 10_000), video("q", T0, "v", 10, published=T0)), 0, trust
    )
    by_key = {u["key"]: u for u in result.updates}
    assert by_key["tiktok:p"]["trust_score"] == 87.5
    assert by_key["tiktok:q"]["trust_score"] is None
    assert list(seen[0]["followers"]) == [10_000]


def test_event_times_formatted_at_once_read_as_one_at_a_time() -> None:
    times = [0, 1, 999, 1_000, 1_789_999_999_999, 1_790_000_000_123, 4_102_444_800_000]
    assert isos(times) == [iso(t) for t in times]
    assert isos([1_790_000_000_123]) == ["2026-09-21T14:13:20.123Z"]


def test_a_bucket_record_holds_its_metrics_and_earlier_forms_still_load() -> None:
    bucket = Bucket([1.0, 0.0, 2.0, 0.0, 0.0, 3.0, 3.0], {-5: 1, 10: 2, 3: 1})
    loaded = Bucket.load(bucket.dump())
    assert loaded.m == bucket.m and loaded.dups == {}  # the pairs are in the log
    # Format 1 held the pairs in the record: as a dict, and before that a sorted list.
    for raw in (
        b'[[1.0,0.0,2.0,0.0,0.0,3.0,3.0],{"-5":1,"10":2,"3":1}]',
        b"[[1.0,0.0,2.0,0.0,0.0,3.0,3.0],[[-5,1],[3,1],[10,2]]]",
    ):
        old = Bucket.load(raw)
        assert old.m == bucket.m and old.dups == bucket.dups


def test_state_in_format_1_is_migrated_to_the_log_without_losing_or_doubling_pairs(
    world_frame: pd.DataFrame,
) -> None:
    p = hour_params()
    frames = split(world_frame, 6)
    uninterrupted = TrendEngine(p)
    expected = run_batches(uninterrupted, frames)

    store = FakeStore()
    before = TrendEngine(p)
    store.run(before, frames[:3])
    # Rewrite the stored state as format 1 wrote it: the pairs inside each bucket record.
    for key, fields in store.creators.items():
        for b, bk in before.creators[key].buckets.items():
            if bk.dups:
                fields[f"b:{b}".encode()] = orjson.dumps(
                    [bk.m, bk.dups], option=orjson.OPT_NON_STR_KEYS
                )
    store.dups.clear()

    after = TrendEngine(p)
    store.load(after)
    result = after.process(frames[3], 3)
    assert result.state.dups_added  # the migrated pairs, logged with the next batch
    store.apply(result.state)
    after.committed()
    latest = {up["key"]: up for up in result.updates}
    migrated = TrendEngine(p)  # loaded again from the migrated store: nothing counted twice
    store.load(migrated)
    latest.update(run_batches(migrated, frames[4:], first_id=4))
    for key, up in latest.items():
        assert up == expected[key]
    assert repr(state_of(migrated)) == repr(state_of(uninterrupted))
