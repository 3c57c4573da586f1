"""Event contracts: committed JSON Schemas match the models; what passes and what fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from ingestion.contracts import (
    CURRENCIES,
    TOPIC_MODELS,
    TOPICS,
    BaseEvent,
    Rejection,
    json_schema,
    rated_currencies,
    schema_path,
    validate_payload,
    write_schemas,
)
from kol.topics import (
    COMMENTS_TOPIC,
    DISCOVERY_TOPIC,
    DLQ_TOPIC,
    PRODUCTS_TOPIC,
    PROFILES_TOPIC,
    VIDEOS_TOPIC,
)

BASE = {
    "event_id": "e-1",
    "event_time": "2025-01-01T10:00:00.000Z",
    "platform": "tiktok",
    "username": "linh.beauty",
}
EXAMPLES: dict[str, dict[str, Any]] = {
    PROFILES_TOPIC: {
        **BASE,
        "event_type": "profile_snapshot",
        "nickname": "Linh",
        "followers_raw": "11.3K",
        "following_raw": "120",
        "likes_raw": "1,2M",
        "bio": "beauty",
        "avatar_url": "https://example.invalid/a.jpg",
        "verified": False,
        "profile_url": "https://www.tiktok.com/@linh.beauty",
    },
    VIDEOS_TOPIC: {
        **BASE,
        "event_type": "video_snapshot",
        "video_id": "7300000000000000001",
        "video_url": "https://www.tiktok.com/@linh.beauty/video/7300000000000000001",
        "caption": "hi",
        "view_count_raw": "1.234.567",
        "like_count_raw": "—",
        "comment_count_raw": "",
        "share_count_raw": "12",
        "view_count": 1234567,
    },
    COMMENTS_TOPIC: {
        **BASE,
        "event_type": "comment",
        "video_id": "7300000000000000001",
        "video_url": None,
        "comment_text": "Xinh quá chị ơi 😍",
        "commenter": "minh_anh12",
    },
    PRODUCTS_TOPIC: {
        **BASE,
        "event_type": "product_snapshot",
        "video_id": None,
        "has_shop": True,
        "product_id": "1",
        "product_title": "Son kem",
        "seller_id": "2",
        "price": 199000,
        "currency": "VND",
        "sold_count_raw": "10K+",
        "sold_count": 10000,
    },
    DISCOVERY_TOPIC: {
        **BASE,
        "event_type": "discovery",
        "video_id": "1",
        "source": "hashtag",
        "keyword": "#xuhuong",
        "niche_hint": "beauty",
    },
}


def test_registry_covers_the_five_topics_and_the_dlq_is_separate() -> None:
    assert set(TOPICS) == {
        "kol.profiles.raw",
        "kol.videos.raw",
        "kol.comments.raw",
        "kol.products.raw",
        "kol.discovery.raw",
    }
    assert DLQ_TOPIC == "kol.dlq" and DLQ_TOPIC not in TOPIC_MODELS


@pytest.mark.parametrize("topic", TOPICS)
def test_committed_schema_file_matches_the_model(topic: str) -> None:
    committed = json.loads(schema_path(topic).read_text(encoding="utf-8"))
    assert committed == json_schema(topic), "run `kol ingest schemas` and commit the result"


def test_write_schemas_writes_one_file_per_topic(tmp_path: Path) -> None:
    paths = write_schemas(tmp_path)
    assert sorted(p.name for p in paths) == sorted(f"{t}.schema.json" for t in TOPICS)


@pytest.mark.parametrize("topic", TOPICS)
def test_every_schema_requires_the_common_fields(topic: str) -> None:
    required = set(json_schema(topic)["required"])
    assert {"event_id", "event_time", "event_type", "platform", "username"} <= required


@pytest.mark.parametrize("topic", TOPICS)
def test_valid_example_passes_and_is_keyed_platform_username(topic: str) -> None:
    result = validate_payload(topic, orjson.dumps(EXAMPLES[topic]))
    assert isinstance(result, BaseEvent), result
    assert result.key == "tiktok:linh.beauty"


def _reject(topic: str, **changes: Any) -> Rejection:
    record = {**EXAMPLES[topic], **changes}
    record = {k: v for k, v in record.items() if v is not ...}
    result = validate_payload(topic, orjson.dumps(record))
    assert isinstance(result, Rejection), f"{changes} should fail"
    return result


@pytest.mark.parametrize(
    ("topic", "changes", "code"),
    [
        (PROFILES_TOPIC, {"username": ...}, "missing:username"),
        (PROFILES_TOPIC, {"username": ""}, "string_too_short:username"),
        (PROFILES_TOPIC, {"username": "has space"}, "string_pattern_mismatch:username"),
        (PROFILES_TOPIC, {"username": 123}, "string_type:username"),
        (PROFILES_TOPIC, {"platform": "facebook"}, "literal_error:platform"),
        (PROFILES_TOPIC, {"platform": "TikTok"}, "literal_error:platform"),
        (PROFILES_TOPIC, {"event_time": "yesterday"}, "datetime_parsing:event_time"),
        (PROFILES_TOPIC, {"event_time": "2025-01-01T10:00:00"}, "timezone_aware:event_time"),
        (PROFILES_TOPIC, {"event_time": 1_700_000_000}, "datetime_type:event_time"),
        (PROFILES_TOPIC, {"followers_raw": "12..5K"}, "count_parse:followers_raw"),
        (PROFILES_TOPIC, {"followers_raw": 11300}, "string_type:followers_raw"),
        (PROFILES_TOPIC, {"verified": "yes"}, "bool_type:verified"),
        (PROFILES_TOPIC, {"engagement_rate_raw": "1.39"}, "percent_parse:engagement_rate_raw"),
        (VIDEOS_TOPIC, {"video_id": ...}, "missing:video_id"),
        (VIDEOS_TOPIC, {"view_count": "12"}, "int_type:view_count"),
        (VIDEOS_TOPIC, {"view_count": -1}, "greater_than_equal:view_count"),
        (COMMENTS_TOPIC, {"comment_text": ...}, "missing:comment_text"),
        (PRODUCTS_TOPIC, {"currency": "vnd"}, "string_pattern_mismatch:currency"),
        # Well formed, but no rate to count its sales in USD.
        (PRODUCTS_TOPIC, {"currency": "GBP"}, "string_pattern_mismatch:currency"),
        (PRODUCTS_TOPIC, {"price": "199000"}, "float_type:price"),
        (PRODUCTS_TOPIC, {"has_shop": ...}, "missing:has_shop"),
        (DISCOVERY_TOPIC, {"event_id": ...}, "missing:event_id"),
        (DISCOVERY_TOPIC, {"event_type": "Bad Type"}, "string_pattern_mismatch:event_type"),
    ],
)
def test_contract_failures_carry_a_countable_reason(
    topic: str, changes: dict[str, Any], code: str
) -> None:
    assert _reject(topic, **changes).code == code


def test_currencies_are_those_with_a_rate_in_the_dbt_seed(tmp_path: Path) -> None:
    seed = tmp_path / "currencies.csv"
    seed.write_text("currency,currency_name,usd_per_unit\nVND,Vietnamese dong,0.0000394\n")
    assert rated_currencies(seed) == ("VND",)
    assert {"USD", "VND"} <= set(CURRENCIES)
    assert "GBP" not in CURRENCIES


def test_count_failure_message_names_the_value() -> None:
    rejection = _reject(PROFILES_TOPIC, followers_raw="1.2.3M")
    assert "1.2.3M" in rejection.message


def test_not_json_and_not_an_object_are_rejected() -> None:
    assert validate_payload(VIDEOS_TOPIC, b'{"event_id": "x", "ev').code == "json_invalid"  # type: ignore[union-attr]
    assert validate_payload(VIDEOS_TOPIC, b"[1, 2]").code == "model_type"  # type: ignore[union-attr]
    assert validate_payload("kol.nope", b"{}").code == "unknown_topic"  # type: ignore[union-attr]


def test_extra_fields_travel_on() -> None:
    # Scrapers may send more than the contract names; Bronze keeps the raw payload anyway.
    result = validate_payload(VIDEOS_TOPIC, orjson.dumps({**EXAMPLES[VIDEOS_TOPIC], "rank": 3}))
    assert isinstance(result, BaseEvent)
