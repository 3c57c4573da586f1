"""Creators: their list, profile, videos, products, daily series and peer benchmark."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from api.schemas.common import Out
from api.schemas.scores import Scores


class KolSummary(Out):
    kol_id: str
    platform: str
    username: str
    nickname: str | None = None
    avatar_url: str | None = None
    profile_url: str | None = None
    is_verified: bool | None = None
    country: str | None = None
    niche: str | None = None
    followers: int | None = None
    engagement_rate: float | None = None
    last_active_day: date | None = None
    trust_score: float | None = None
    trust_label: str | None = None
    trending_score: float | None = Field(default=None, description="Live, from Redis.")


class KolMetrics(Out):
    as_of: date | None = None
    followers: int | None = None
    following: int | None = None
    total_likes: int | None = None
    posts: int | None = None
    followers_delta: int | None = None
    engagement_rate: float | None = None
    engagement_rate_by_followers: float | None = None
    views_per_follower: float | None = None


class KolRanks(Out):
    as_of: date | None = None
    followers_rank: int | None = None
    growth_rank: int | None = None
    views_rank: int | None = None
    engagement_rank: int | None = None
    followers_gained_7d: int | None = None
    views_gained_7d: int | None = None


class KolProfile(Out):
    kol_id: str
    platform: str
    username: str
    nickname: str | None = None
    bio: str | None = None
    avatar_url: str | None = None
    profile_url: str | None = None
    is_verified: bool | None = None
    country: str | None = None
    niche: str | None = None
    profile_completeness: float | None = None
    is_inferred: bool | None = None
    profile_version: int | None = None
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    metrics: KolMetrics
    ranks: KolRanks
    videos: int = 0
    products: int = 0
    scores: Scores


class Video(Out):
    video_id: str
    video_url: str | None = None
    caption: str | None = None
    published_at: datetime | None = None
    is_inferred: bool | None = None
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    as_of: date | None = Field(default=None, description="Day of the latest counters.")
    view_count: int | None = None
    like_count: int | None = None
    comment_count: int | None = None
    share_count: int | None = None
    engagement_rate: float | None = None


class KolProduct(Out):
    product_id: str
    product_title: str | None = None
    category: str | None = None
    seller_id: str | None = None
    currency: str | None = None
    price: float | None = Field(default=None, description="Latest listed price, in currency.")
    sold_count: int | None = Field(default=None, description="Units sold so far (latest).")
    units_sold: int | None = Field(default=None, description="Units sold while observed.")
    gmv_usd: float | None = None
    first_seen_day: date | None = None
    last_seen_day: date | None = None
    video_id: str | None = None


class TimeseriesPoint(Out):
    date_day: date
    followers: int | None = None
    followers_delta: int | None = None
    following: int | None = None
    total_likes: int | None = None
    posts: int | None = None
    videos_published: int | None = None
    videos_observed: int | None = None
    views: int | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    views_gained: int | None = None
    likes_gained: int | None = None
    comments_gained: int | None = None
    shares_gained: int | None = None
    engagement_rate: float | None = None
    engagement_rate_by_followers: float | None = None
    is_follower_jump: bool | None = None


class Timeseries(Out):
    kol_id: str
    start: date
    end: date
    points: list[TimeseriesPoint]


class PeerBenchmark(Out):
    """A creator's engagement rate among creators of similar size on the same platform.

    Each creator's numbers are its latest readings in fct_kol_daily; peers are the creators
    with followers in [band_low, band_high] seen within the peer window before ``date_day``.
    """

    kol_id: str
    platform: str
    date_day: date | None = Field(
        default=None, description="The creator's latest day in Gold (null: no daily rows yet)."
    )
    followers: int | None = None
    engagement_rate: float | None = None
    band_low: int | None = Field(default=None, description="Fewest followers a peer has.")
    band_high: int | None = Field(default=None, description="Most followers a peer has.")
    peers: int = Field(description="Peers with an engagement rate.")
    p25: float | None = Field(default=None, description="Peers' engagement rate, 25th percentile.")
    median: float | None = None
    p75: float | None = None
    percentile: float | None = Field(
        default=None,
        description="0-100: share of peers whose engagement rate is lower than the creator's.",
    )
