"""Event contracts: one pydantic model per raw topic, and the check every producer runs.

The fields follow the seed platform's scraper JSON, so its scrapers can point at this platform
unchanged. Models are *strict* (a number where a string is expected is an error, not a
coercion) because what passes here is written to Bronze byte for byte: a loose contract would
only move the failure into Spark. Extra fields are allowed for the same compatibility reason;
they travel on in the raw payload.

Display counts (``*_raw``) are kept as the strings the page showed, but must parse with the one
rule in :mod:`ingestion.counts`; a string that does not is a contract failure with the value.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from ingestion.counts import CountParseError, parse_count, parse_percent
from kol.topics import (
    COMMENTS_TOPIC,
    DISCOVERY_TOPIC,
    PRODUCTS_TOPIC,
    PROFILES_TOPIC,
    RAW_TOPICS,
    VIDEOS_TOPIC,
)

PLATFORMS: Final = ("tiktok", "youtube", "instagram")
Platform = Literal["tiktok", "youtube", "instagram"]


SCHEMAS_DIR = Path(__file__).with_name("schemas")
# Gold converts sales to USD with this seed's rates. A currency without a rate could only count
# as nothing, so it fails the contract: the DLQ at a producer, silver.rejects in Silver.
RATES_SEED = Path(__file__).resolve().parents[1] / "dbt_kol" / "seeds" / "currencies.csv"


def rated_currencies(seed: Path = RATES_SEED) -> tuple[str, ...]:
    with seed.open(encoding="utf-8", newline="") as f:
        return tuple(sorted(row["currency"] for row in csv.DictReader(f)))


CURRENCIES: Final = rated_currencies()


def _check_count(raw: str | None) -> str | None:
    try:
        parse_count(raw)
    except CountParseError as exc:
        raise PydanticCustomError(
            "count_parse",
            "unparseable display count '{raw}': {reason}",
            {"raw": raw, "reason": exc.reason},
        ) from None
    return raw


def _check_percent(raw: str | None) -> str | None:
    try:
        parse_percent(raw)
    except CountParseError as exc:
        raise PydanticCustomError(
            "percent_parse",
            "unparseable percentage '{raw}': {reason}",
            {"raw": raw, "reason": exc.reason},
        ) from None
    return raw


CountRaw = Annotated[
    str | None,
    AfterValidator(_check_count),
    Field(description="Display count as shown on the page, e.g. '11.3K', '1,2K', '1.234.567'"),
]
PercentRaw = Annotated[
    str | None,
    AfterValidator(_check_percent),
    Field(description="Display percentage, e.g. '1.39%'"),
]
Count = Annotated[int | None, Field(ge=0, description="Count already parsed by the producer")]
Username = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        pattern=r"^\S+$",
        description="Creator handle without '@'; with platform it forms the Kafka key",
    ),
]
Text = str | None


class BaseEvent(BaseModel):
    """Fields every event carries."""

    model_config = ConfigDict(strict=True, extra="allow")

    event_id: str = Field(
        min_length=1,
        max_length=200,
        description="Unique per event; retries and duplicates repeat it",
    )
    event_time: AwareDatetime = Field(
        description="When the observation was made (ISO 8601 with offset)"
    )
    event_type: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    platform: Platform
    username: Username

    @property
    def key(self) -> str:
        return event_key(self.platform, self.username)


class ProfileEvent(BaseEvent):
    """A snapshot of a creator's profile page (``kol.profiles.raw``)."""

    nickname: Text = None
    followers_raw: CountRaw = None
    following_raw: CountRaw = None
    likes_raw: CountRaw = None
    bio: Text = None
    avatar_url: Text = None
    verified: bool | None = None
    profile_url: Text = None
    # Filled by analytics-site imports (creator statistics CSVs), absent from page scrapes.
    posts_raw: CountRaw = None
    avg_views_raw: CountRaw = None
    avg_likes_raw: CountRaw = None
    avg_comments_raw: CountRaw = None
    avg_shares_raw: CountRaw = None
    recent_avg_likes_raw: CountRaw = None
    engagement_rate_raw: PercentRaw = None
    country: Text = None
    source: Text = None


class VideoEvent(BaseEvent):
    """A snapshot of one video's public counters (``kol.videos.raw``)."""

    video_id: str = Field(min_length=1)
    video_url: Text = None
    caption: Text = None
    view_count_raw: CountRaw = None
    like_count_raw: CountRaw = None
    comment_count_raw: CountRaw = None
    share_count_raw: CountRaw = None
    view_count: Count = None
    like_count: Count = None
    comment_count: Count = None
    share_count: Count = None
    published_at: AwareDatetime | None = None


class CommentEvent(BaseEvent):
    """One comment under a video (``kol.comments.raw``). ``username`` is the video's creator."""

    video_id: str = Field(min_length=1)
    video_url: Text = None
    comment_text: str
    comment_id: Text = None
    commenter: Text = Field(default=None, description="Handle of the comment's author")
    commented_at: AwareDatetime | None = None


class ProductEvent(BaseEvent):
    """A shop product seen on a creator's video or shop tab (``kol.products.raw``)."""

    video_id: Text = None
    video_url: Text = None
    has_shop: bool
    product_id: Text = None
    product_title: Text = None
    seller_id: Text = None
    price: float | None = Field(default=None, ge=0)
    currency: str | None = Field(
        default=None,
        pattern=rf"^({'|'.join(CURRENCIES)})$",
        description="ISO 4217 code with a USD rate in dbt_kol/seeds/currencies.csv",
    )
    sold_count_raw: CountRaw = None
    sold_count: Count = None
    category: Text = None


class DiscoveryEvent(BaseEvent):
    """A creator found through search, a hashtag or a trending list (``kol.discovery.raw``)."""

    video_id: Text = None
    video_url: Text = None
    caption: Text = None
    source: Text = Field(default=None, description="search | hashtag | trending | for_you | import")
    keyword: Text = None
    niche_hint: Text = None


TOPIC_MODELS: Final[dict[str, type[BaseEvent]]] = {
    PROFILES_TOPIC: ProfileEvent,
    VIDEOS_TOPIC: VideoEvent,
    COMMENTS_TOPIC: CommentEvent,
    PRODUCTS_TOPIC: ProductEvent,
    DISCOVERY_TOPIC: DiscoveryEvent,
}
TOPICS: Final = tuple(TOPIC_MODELS)
assert TOPICS == RAW_TOPICS, "one contract per raw topic, in kol.topics' order"

# The event_type each producer of this platform writes on each topic.
EVENT_TYPES: Final = {
    PROFILES_TOPIC: "profile_snapshot",
    VIDEOS_TOPIC: "video_snapshot",
    COMMENTS_TOPIC: "comment",
    PRODUCTS_TOPIC: "product_snapshot",
    DISCOVERY_TOPIC: "discovery",
}


def event_key(platform: str, username: str) -> str:
    """The Kafka key: all events of one creator land in one partition, in order."""
    return f"{platform}:{username}"


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a payload failed its contract: a short code to count by, and the full message."""

    code: str
    message: str


def validate_payload(topic: str, payload: bytes | str) -> BaseEvent | Rejection:
    """Check one raw JSON payload against the contract of ``topic``."""
    model = TOPIC_MODELS.get(topic)
    if model is None:
        return Rejection("unknown_topic", f"no contract for topic {topic!r}")
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        return rejection_from(exc)


def rejection_from(exc: ValidationError) -> Rejection:
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    loc = ".".join(str(p) for p in first["loc"])
    code = f"{first['type']}:{loc}" if loc else first["type"]
    message = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '<payload>'}: {e['msg']}" for e in errors
    )
    return Rejection(code, message)


# ---- JSON Schema files ----------------------------------------------------------------------


def json_schema(topic: str) -> dict[str, Any]:
    schema = TOPIC_MODELS[topic].model_json_schema()
    schema["$id"] = f"{topic}.schema.json"
    schema["x-kafka-topic"] = topic
    schema["x-kafka-key"] = "platform:username"
    return schema


def schema_text(topic: str) -> str:
    return json.dumps(json_schema(topic), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def schema_path(topic: str, directory: Path = SCHEMAS_DIR) -> Path:
    return directory / f"{topic}.schema.json"


def write_schemas(directory: Path = SCHEMAS_DIR) -> list[Path]:
    """(Re)write one JSON Schema file per topic; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for topic in TOPICS:
        path = schema_path(topic, directory)
        path.write_text(schema_text(topic), encoding="utf-8")
        paths.append(path)
    return paths
