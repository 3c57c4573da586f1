"""Bronze and Silver transforms on tiny inline DataFrames."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pyspark.sql import SparkSession

from ingestion.contracts import ProfileEvent
from kol.interval import Interval
from kol.topics import PRODUCTS_TOPIC, PROFILES_TOPIC, VIDEOS_TOPIC
from spark_jobs.bronze import to_bronze
from spark_jobs.silver.dedup import batch_repeats, silver_rows
from spark_jobs.silver.parse import contract_fields, parse_bronze, rejects_rows

T0 = datetime(2026, 11, 1, tzinfo=UTC)
DAY = Interval.parse("2026-11-01", "2026-11-02")


def bronze_df(spark: SparkSession, topic: str, payloads: list[object]):  # type: ignore[no-untyped-def]
    rows = [
        (
            topic,
            0,
            i,
            "tiktok:alice",
            p if isinstance(p, str) or p is None else json.dumps(p),
            datetime(2026, 11, 1, 1, 0, i, tzinfo=UTC),
            T0,
        )
        for i, p in enumerate(payloads)
    ]
    schema = (
        "topic STRING, partition INT, offset BIGINT, key STRING, value STRING, "
        "kafka_timestamp TIMESTAMP, ingest_time TIMESTAMP"
    )
    return spark.createDataFrame(rows, schema)


def profile(event_id: str, **over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "event_id": event_id,
        "event_time": "2026-11-01T08:00:00+07:00",
        "event_type": "profile_snapshot",
        "platform": "tiktok",
        "username": "alice",
        "followers_raw": "1,2K",
        "following_raw": "35",
        "likes_raw": "1.3M",
        "verified": True,
    }
    base.update(over)
    return base


def test_contract_fields_follow_the_pydantic_model() -> None:
    kinds = {f.name: (f.kind, f.required, f.out) for f in contract_fields(ProfileEvent)}
    assert kinds["followers_raw"] == ("count_raw", False, "followers")
    assert kinds["engagement_rate_raw"] == ("percent_raw", False, "engagement_rate")
    assert kinds["event_time"] == ("timestamp", True, "event_time")
    assert kinds["platform"] == ("platform", True, "platform")
    assert kinds["verified"] == ("bool", False, "verified")


def test_to_bronze_keeps_the_interval_and_earlier_records_at_its_start(
    spark: SparkSession,
) -> None:
    kafka = spark.createDataFrame(
        [
            (
                "kol.profiles.raw",
                0,
                5,
                b"k",
                b'{"x": 1}',
                datetime(2026, 10, 31, 23, 59, tzinfo=UTC),
            ),
            ("kol.profiles.raw", 0, 6, b"k", b'{"x": 2}', datetime(2026, 11, 1, 0, 0, tzinfo=UTC)),
            ("kol.profiles.raw", 1, 7, b"k", b'{"x": 3}', datetime(2026, 11, 2, 0, 0, tzinfo=UTC)),
        ],
        "topic STRING, partition INT, offset BIGINT, key BINARY, value BINARY, timestamp TIMESTAMP",
    )
    rows = to_bronze(kafka, DAY, T0).orderBy("offset").collect()
    # The record stamped before the interval is a straggler (merge_into_bronze keeps it only
    # if Bronze lacks it), placed at the interval's start; the one at its end is not yet due.
    assert [(r.offset, r.value, r.key) for r in rows] == [
        (5, '{"x": 1}', "k"),
        (6, '{"x": 2}', "k"),
    ]
    assert [r.landed_ts for r in rows] == [datetime(2026, 11, 1, 0, 0)] * 2  # session zone UTC


def test_profiles_parse_counts_and_normalise_time_to_utc(spark: SparkSession) -> None:
    parsed = parse_bronze(bronze_df(spark, PROFILES_TOPIC, [profile("e1")]), PROFILES_TOPIC)
    row = parsed.collect()[0]
    assert row.reject_reason is None
    assert (row.followers, row.following, row.likes) == (1200, 35, 1_300_000)
    assert row.event_time == datetime(2026, 11, 1, 1, 0)  # 08:00+07:00 in UTC (session zone)
    assert row.verified is True


def test_each_contract_violation_is_a_reject_with_its_reason(spark: SparkSession) -> None:
    payloads = [
        profile("bad-count", followers_raw="12..5K"),
        profile("bad-platform", platform="myspace"),
        profile("naive-time", event_time="2026-11-01T08:00:00"),
        {k: v for k, v in profile("no-user").items() if k != "username"},
        '{"event_id": "trunc", "platform": "tik',
        None,
    ]
    parsed = parse_bronze(bronze_df(spark, PROFILES_TOPIC, payloads), PROFILES_TOPIC)
    reasons = {r.offset: r.reason for r in rejects_rows(parsed, T0).collect()}
    assert len(reasons) == len(payloads)
    assert "followers_raw" in reasons[0] and "12..5K" in reasons[0]
    assert "unknown platform (myspace)" in reasons[1]
    assert "event_time" in reasons[2]
    assert "missing required field username" in reasons[3]
    assert "malformed JSON" in reasons[4]
    assert "empty payload" in reasons[5]


def test_text_rules_and_the_kafka_key_come_from_the_contract(spark: SparkSession) -> None:
    # A broken scraper's records that every typed check lets through: the contract's text
    # rules and the record key (tiktok:alice) catch them.
    payloads = [
        profile("empty-user", username=""),
        profile("numeric-user", username=31794),
        profile("other-creator", username="bob"),
        profile("bad-type", event_type="Profile Snapshot"),
        profile("fine"),
    ]
    parsed = parse_bronze(bronze_df(spark, PROFILES_TOPIC, payloads), PROFILES_TOPIC)
    reasons = {r.offset: r.reason for r in rejects_rows(parsed, T0).collect()}
    assert sorted(reasons) == [0, 1, 2, 3]
    assert "username: shorter than 1 ('')" in reasons[0]
    assert "Kafka key tiktok:alice does not match platform:username tiktok:31794" in reasons[1]
    assert "platform:username tiktok:bob" in reasons[2]
    assert "event_type: does not match ^[a-z][a-z0-9_]*$ ('Profile Snapshot')" in reasons[3]


def test_a_sale_in_a_currency_without_a_rate_is_a_reject(spark: SparkSession) -> None:
    def product(event_id: str, currency: str) -> dict[str, object]:
        return {
            "event_id": event_id,
            "event_time": "2026-11-01T00:00:00Z",
            "event_type": "product_snapshot",
            "platform": "tiktok",
            "username": "alice",
            "has_shop": True,
            "product_id": "p1",
            "price": 12.5,
            "currency": currency,
            "sold_count_raw": "1,2K",
        }

    parsed = parse_bronze(
        bronze_df(spark, PRODUCTS_TOPIC, [product("gbp", "GBP"), product("usd", "USD")]),
        PRODUCTS_TOPIC,
    )
    reasons = {r.offset: r.reason for r in rejects_rows(parsed, T0).collect()}
    assert list(reasons) == [0] and "currency" in reasons[0] and "'GBP'" in reasons[0]
    assert silver_rows(parsed, T0).collect()[0].currency == "USD"


def test_silver_keeps_the_first_record_of_each_event(spark: SparkSession) -> None:
    parsed = parse_bronze(
        bronze_df(spark, PROFILES_TOPIC, [profile("e1"), profile("e2"), profile("e1")]),
        PROFILES_TOPIC,
    )
    rows = silver_rows(parsed, T0).orderBy("event_id").collect()
    assert [(r.event_id, r.kafka_offset) for r in rows] == [("e1", 0), ("e2", 1)]
    assert rows[0].event_date.isoformat() == "2026-11-01"


def test_a_resent_event_is_a_duplicate_and_other_content_under_its_id_a_conflict(
    spark: SparkSession,
) -> None:
    records = [
        profile("e1"),
        profile("e1"),  # re-sent: a duplicate
        profile("e1", followers_raw="9,9K"),  # another event under e1: a conflict
        profile("e2", bio=None),
        profile("e2", bio="x"),  # a null and a value are different content too
    ]
    parsed = parse_bronze(bronze_df(spark, PROFILES_TOPIC, records), PROFILES_TOPIC)
    kept = silver_rows(parsed, T0).orderBy("event_id").collect()
    assert [(r.event_id, r.kafka_offset) for r in kept] == [("e1", 0), ("e2", 3)]
    repeats = batch_repeats(parsed, T0, "silver.profiles")
    assert repeats.duplicates == 1
    assert repeats.conflicts is not None
    rejects = {r.offset: r for r in repeats.conflicts.collect()}
    assert set(rejects) == {2, 4}
    assert "conflict: event_id e1" in rejects[2].reason
    assert f"first record {PROFILES_TOPIC}/0/0" in rejects[2].reason
    assert json.loads(rejects[2].payload)["followers"] == 9900  # what the record said


@pytest.mark.parametrize(
    ("fields", "expected_views"),
    [
        ({"view_count_raw": "11.3K"}, 11300),
        ({"view_count_raw": "11.3K", "view_count": 11342}, 11342),
    ],
)
def test_producer_parsed_counts_win_over_display_strings(
    spark: SparkSession, fields: dict[str, object], expected_views: int
) -> None:
    video = {
        "event_id": "v1",
        "event_time": "2026-11-01T00:00:00Z",
        "event_type": "video_snapshot",
        "platform": "tiktok",
        "username": "alice",
        "video_id": "123",
        **fields,
    }
    row = parse_bronze(bronze_df(spark, VIDEOS_TOPIC, [video]), VIDEOS_TOPIC).collect()[0]
    assert row.reject_reason is None
    assert row.view_count == expected_views
