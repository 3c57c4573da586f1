"""The hot path's one parse: Kafka records -> engine rows or rejects with a reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import pytest

from ingestion.contracts import BaseEvent
from ingestion.contracts import validate_payload as contract_check
from ingestion.generator import GeneratorConfig, World
from kol.topics import COMMENTS_TOPIC, PROFILES_TOPIC, VIDEOS_TOPIC
from streaming.engine import EVENT_COLUMNS
from streaming.events import STREAM_TOPICS, Record, event_frame, normalized_text

NOW_MS = int(datetime.now(UTC).timestamp() * 1000)


def rec(topic: str, payload: bytes | None, offset: int = 0) -> Record:
    return Record(topic, 0, offset, NOW_MS, payload)


def comment(text: str, vid: str = "v1") -> bytes:
    return orjson.dumps(
        {
            "event_id": f"{vid}:{text}",
            "event_time": "2025-01-01T10:00:00Z",
            "event_type": "comment",
            "platform": "youtube",
            "username": "bob",
            "video_id": vid,
            "comment_text": text,
        }
    )


PROFILE = orjson.dumps(
    {
        "event_id": "p1",
        "event_time": "2025-01-01T10:00:00+07:00",
        "event_type": "profile_snapshot",
        "platform": "instagram",
        "username": "cat",
        "followers_raw": "1,2M",
        "following_raw": "875",
        "likes_raw": None,
        "posts_raw": "1.234",
        "verified": True,
    }
)


def video(**kw: object) -> bytes:
    record = {
        "event_id": "e1",
        "event_time": "2025-01-01T10:00:00.000Z",
        "event_type": "video_snapshot",
        "platform": "tiktok",
        "username": "ann",
        "video_id": "v1",
        "view_count_raw": "11.3K",
        "like_count_raw": "1,2K",
        "comment_count_raw": "—",
        "share_count_raw": None,
        "published_at": "2025-01-01T09:00:00Z",
    }
    record.update(kw)
    return orjson.dumps({k: v for k, v in record.items() if v != "<drop>"})


# (payload, a part of the reason naming what is wrong)
VIOLATIONS = [
    (video(username=12345), "username"),
    (video(username=""), "username"),
    (video(username="a b"), "username"),
    (video(platform="TikTok"), "platform"),
    (video(event_time="2025-13-40T25:61:00Z"), "event_time"),
    (video(event_time="2025-01-01T10:00:00"), "event_time"),
    (video(view_count_raw="12..5K"), "view_count_raw"),
    (video(like_count_raw="-40"), "like_count_raw"),
    (video(video_id="<drop>"), "video_id"),
    (video()[:40], "JSON"),
    (b"[" + video() + b"]", ""),
    (None, "empty payload"),
]


def test_valid_events_are_typed() -> None:
    frame, rejected = event_frame([rec(VIDEOS_TOPIC, video())])
    assert not rejected and list(frame.columns) == list(EVENT_COLUMNS)
    row = frame.iloc[0]
    assert (row["views"], row["likes"]) == (11_300, 1_200)
    assert np.isnan(row["comments"])  # "—" is missing, not 0
    assert row["event_ms"] == int(datetime(2025, 1, 1, 10, tzinfo=UTC).timestamp() * 1000)
    assert row["published_ms"] == row["event_ms"] - 3_600_000


def test_the_producers_parsed_count_wins() -> None:
    frame, _ = event_frame([rec(VIDEOS_TOPIC, video(view_count=11_337))])
    assert frame.iloc[0]["views"] == 11_337


def test_profiles_parse_their_display_counts() -> None:
    frame, rejected = event_frame([rec(PROFILES_TOPIC, PROFILE)])
    assert not rejected
    row = frame.iloc[0]
    assert (row["followers"], row["following"], row["posts"], row["verified"]) == (
        1_200_000,
        875,
        1_234,
        1.0,
    )
    assert row["event_ms"] == int(datetime(2025, 1, 1, 3, tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize("case", range(len(VIOLATIONS)), ids=[r or "array" for _, r in VIOLATIONS])
def test_contract_violations_are_rejects_with_a_reason(case: int) -> None:
    payload, reason = VIOLATIONS[case]
    frame, rejected = event_frame([rec(VIDEOS_TOPIC, payload, offset=7)])
    assert frame.empty and len(rejected) == 1
    record, message = rejected[0]
    assert message and reason in message
    assert (record.payload, record.offset) == (payload, 7)


def test_events_stamped_far_after_their_arrival_are_rejected() -> None:
    ahead = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    records = [rec(VIDEOS_TOPIC, video(event_time=ahead)), rec(VIDEOS_TOPIC, video())]
    frame, rejected = event_frame(records, max_future_s=3600)
    assert len(frame) == 1 and "after the record reached Kafka" in rejected[0][1]
    frame, rejected = event_frame(records)  # no limit: both pass
    assert len(frame) == 2 and not rejected


def test_generated_dirt_is_rejected_exactly_as_the_contract_does() -> None:
    config = GeneratorConfig(creators=40, days=2, seed=9, malformed_rate=0.08)
    records, expected = [], []
    for i, ev in enumerate(World(config).events()):
        if ev.topic in STREAM_TOPICS:
            value = ev.encode()
            records.append(rec(ev.topic, value, offset=i))
            expected.append(isinstance(contract_check(ev.topic, value), BaseEvent))
    frame, rejected = event_frame(records)
    assert {r.offset for r, _ in rejected} == {
        r.offset for r, ok in zip(records, expected, strict=True) if not ok
    }
    assert len(frame) + len(rejected) == len(records) and len(rejected) > 20


def test_near_duplicate_comments_share_a_pair_hash() -> None:
    texts = ["Nice video!!! 👍", "nice video", "Nice  video.", "Great content"]
    records = [rec(COMMENTS_TOPIC, comment(t)) for t in texts]
    records.append(rec(COMMENTS_TOPIC, comment("nice video", vid="v2")))
    frame, _ = event_frame(records)
    hashes = frame["pair_hash"].tolist()
    assert hashes[0] == hashes[1] == hashes[2]
    assert len(set(hashes)) == 3  # different text, or the same text on another video
    assert frame["event_hash"].nunique() == 5
    assert {normalized_text(t) for t in texts[:3]} == {"nicevideo"}
