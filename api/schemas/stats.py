"""Platform statistics per day and the platform's summary, live part included."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from api.schemas.common import Out


class PlatformStats(Out):
    platform: str
    date_day: date
    creators_observed: int | None = None
    total_followers: int | None = None
    followers_gained: int | None = None
    creators_with_follower_jump: int | None = None
    videos_published: int | None = None
    videos_observed: int | None = None
    views_gained: int | None = None
    likes_gained: int | None = None
    comments_gained: int | None = None
    shares_gained: int | None = None
    engagement_rate: float | None = None
    comments_sampled: int | None = None
    near_duplicate_comments: int | None = None
    near_duplicate_share: float | None = None
    selling_creators: int | None = None
    units_sold: int | None = None
    gmv_usd: float | None = None


class PlatformStatsList(Out):
    date_day: date | None = Field(description="The day shown (latest in Gold unless asked).")
    items: list[PlatformStats]


class LiveSummary(Out):
    ranked_creators: int
    by_label: dict[str, int]
    last_commit_at: datetime | None = None
    recent_alerts: int


class Summary(Out):
    as_of: date | None = Field(description="Latest day in Gold.")
    creators: int
    platforms: int
    videos: int
    products: int
    total_followers: int | None = None
    units_sold_7d: int | None = None
    gmv_usd_7d: float | None = None
    live: LiveSummary | None = None
    live_unavailable_reason: str | None = None
