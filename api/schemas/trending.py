"""The live trending ranking, as the streaming job keeps it in Redis."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.schemas.common import Out, TrendLabel


class TrendingItem(Out):
    rank: int
    kol_id: str
    platform: str
    username: str
    score: float
    label: str | None = None
    velocity: float | None = None
    momentum: float | None = None
    engagement: float | None = None
    baseline: float | None = None
    events: float | None = None
    views: float | None = None
    likes: float | None = None
    comments: float | None = None
    shares: float | None = None
    followers: float | None = None
    follower_delta: float | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    event_time: datetime | None = None
    updated_at: datetime | None = None
    trust_score: float | None = None


class TrendingList(Out):
    platform: str | None
    label: TrendLabel | None
    total_ranked: int = Field(description="Creators in the ranking (before label and limit).")
    items: list[TrendingItem]
