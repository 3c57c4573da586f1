"""The Spark side: contract checks and typing of Kafka records, on tiny inline DataFrames."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pandas as pd
import pytest
from pyspark.sql import DataFrame, SparkSession

from ingestion.contracts import COMMENTS_TOPIC, PROFILES_TOPIC, VIDEOS_TOPIC, BaseEvent
from ingestion.contracts import validate_payload as contract_check
from ingestion.generator import GeneratorConfig, World
from streaming.engine import EVENT_COLUMNS
from streaming.events import complete_counts
from streaming.plain import normalized_text
from streaming.transforms import STREAM_TOPICS, engine_rows, parse_events

PREFIX = "t."
TOPIC_OF = {PREFIX + t: t for t in STREAM_TOPICS}
NOW = datetime.now(UTC)


def kafka_rows(spark: SparkSession, records: list[tuple[str, bytes]]) -> DataFrame:
    rows = [
        (PREFIX + topic, 0, i, NOW.replace(tzinfo=None), bytearray(value))
        for i, (topic, value) in enumerate(records)
    ]
    return spark.createDataFrame(
        rows, "topic string, partition int, offset long, timestamp timestamp, value binary"
    )


def parsed(spark: SparkSession, records: list[tuple[str, bytes]]) -> list[dict]:
    df = engine_rows(parse_events(kafka_rows(spark, records), TOPIC_OF))
    table = df.toArrow()  # also proves every string survives the trip to Python
    return complete_counts(table.to_pandas()).to_dict("records")


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
    rec = {
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
    rec.update(kw)
    return orjson.dumps({k: v for k, v in rec.items() if v != "<drop>"})


VIOLATIONS = [
    (video(username=12345), "username: wrong JSON type"),
    (video(username=""), "username: shorter than 1"),
    (video(username="a b"), "username: must match"),
    (video(platform="TikTok"), "platform: unknown platform (TikTok)"),
    (video(event_time="2025-13-40T25:61:00Z"), "event_time: not an ISO 8601 time"),
    (video(event_time="2025-01-01T10:00:00"), "event_time: not an ISO 8601 time"),
    (video(view_count_raw="12..5K"), "view_count_raw: a suffixed count"),
    (video(like_count_raw="-40"), "like_count_raw: not a display count (-40)"),
    # Integers are read as JSON integers: a string there fails the record.
    (video(view_count="12"), "malformed JSON"),
    (video(video_id=123), "video_id: wrong JSON type"),
    (video(video_id="<drop>"), "missing required field video_id"),
    (video(event_type="Video Snapshot"), "event_type: must match"),
    (video()[:40], "malformed JSON"),
    (b"[" + video() + b"]", "malformed JSON"),
    ("é".encode()[:1] + video(), "payload is not valid UTF-8"),
    (video(event_time=(NOW + timedelta(days=2)).isoformat()), "after the record reached Kafka"),
]
NEAR_DUPLICATES = ["Nice video!!! 👍", "nice video", "Nice  video.", "Great content"]


@pytest.fixture(scope="module")
def world() -> tuple[list[tuple[str, bytes]], list[bool]]:
    config = GeneratorConfig(creators=40, days=2, seed=9, malformed_rate=0.08)
    records, expected = [], []
    for ev in World(config).events():
        if ev.topic in STREAM_TOPICS:
            value = ev.encode()
            records.append((ev.topic, value))
            # The stream reads a display count only when the producer sent no parsed one, so
            # a bad display string beside a good parsed count is the producer's to catch.
            tolerated = ev.flaw == "bad_count" and ev.topic == VIDEOS_TOPIC
            expected.append(isinstance(contract_check(ev.topic, value), BaseEvent) or tolerated)
    return records, expected


@pytest.fixture(scope="module")
def rows(spark: SparkSession, world: tuple[list[tuple[str, bytes]], list[bool]]) -> list[dict]:
    """Every case of this module in one Spark job (planning the parse takes seconds)."""
    records = [
        (VIDEOS_TOPIC, video()),
        (VIDEOS_TOPIC, video(view_count=11_337)),
        (PROFILES_TOPIC, PROFILE),
        *[(VIDEOS_TOPIC, payload) for payload, _ in VIOLATIONS],
        *[(COMMENTS_TOPIC, comment(t)) for t in NEAR_DUPLICATES],
        (COMMENTS_TOPIC, comment("nice video", vid="v2")),
        *world[0],
    ]
    return parsed(spark, records)


FIRST_VIOLATION = 3
FIRST_COMMENT = FIRST_VIOLATION + len(VIOLATIONS)
FIRST_WORLD = FIRST_COMMENT + len(NEAR_DUPLICATES) + 1


def test_valid_events_are_typed(rows: list[dict]) -> None:
    row = rows[0]
    assert pd.isna(row["reject_reason"])
    assert set(EVENT_COLUMNS) <= set(row)
    assert (row["views"], row["likes"]) == (11_300, 1_200)
    assert pd.isna(row["comments"])  # "—" is missing, not 0
    assert row["event_ms"] == int(datetime(2025, 1, 1, 10, tzinfo=UTC).timestamp() * 1000)
    assert row["published_ms"] == row["event_ms"] - 3_600_000


def test_the_producers_parsed_count_wins(rows: list[dict]) -> None:
    assert rows[1]["views"] == 11_337
    assert pd.isna(rows[1]["views_raw"])  # not even shipped to the driver


def test_profiles_parse_their_display_counts(rows: list[dict]) -> None:
    row = rows[2]
    assert pd.isna(row["reject_reason"])
    assert (row["followers"], row["following"], row["posts"], row["verified"]) == (
        1_200_000,
        875,
        1_234,
        1.0,
    )
    assert row["event_ms"] == int(datetime(2025, 1, 1, 3, tzinfo=UTC).timestamp() * 1000)


@pytest.mark.parametrize("case", range(len(VIOLATIONS)), ids=[r for _, r in VIOLATIONS])
def test_contract_violations_are_rejects_with_a_reason(rows: list[dict], case: int) -> None:
    payload, reason = VIOLATIONS[case]
    row = rows[FIRST_VIOLATION + case]
    assert not pd.isna(row["reject_reason"]) and reason in row["reject_reason"]
    assert bytes(row["payload"]) == payload


def test_generated_dirt_is_rejected_like_the_contract_does(
    rows: list[dict], world: tuple[list[tuple[str, bytes]], list[bool]]
) -> None:
    got = [pd.isna(r["reject_reason"]) for r in rows[FIRST_WORLD:]]
    assert got == world[1]
    assert sum(not ok for ok in got) > 20


def test_near_duplicate_comments_share_a_pair_hash(rows: list[dict]) -> None:
    comments = rows[FIRST_COMMENT:FIRST_WORLD]
    hashes = [r["pair_hash"] for r in comments]
    assert hashes[0] == hashes[1] == hashes[2]
    assert len(set(hashes)) == 3  # different text, or the same text on another video
    assert len({r["event_hash"] for r in comments}) == 5
    # The plain consumer's normalisation agrees with Spark's.
    assert {normalized_text(t) for t in NEAR_DUPLICATES[:3]} == {"nicevideo"}
