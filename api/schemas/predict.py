"""Predictions on features sent in the body: the models' scores, one by one or in batches,
and the trending score of engagement numbers."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import ModelKind, Out, TrendLabel
from api.schemas.scores import BASIS_DOC, Component, Reason

Share = Annotated[float | None, Field(ge=0.0, le=1.0)]
Count = Annotated[int | None, Field(ge=0, le=10**13)]


class KolFeatures(BaseModel):
    """A creator's features, as in gold.ml_kol_features (null = unknown)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    followers: int = Field(ge=0, le=10**13)
    following: Count = None
    total_likes: Count = None
    posts: Count = None
    followers_log10: float | None = Field(default=None, ge=0, le=14)
    follower_following_ratio: float | None = Field(default=None, ge=0, le=1e13)
    likes_per_follower: float | None = Field(default=None, ge=0, le=1e13)
    followers_delta: int | None = Field(default=None, ge=-(10**13), le=10**13)
    followers_delta_pct: float | None = Field(default=None, ge=-1e6, le=1e6)
    followers_gained_7d: int | None = Field(default=None, ge=-(10**13), le=10**13)
    followers_growth_pct_7d: float | None = Field(default=None, ge=-1e6, le=1e6)
    max_followers_delta_pct_7d: float | None = Field(default=None, ge=-1e6, le=1e6)
    follower_jump_days_7d: int | None = Field(default=None, ge=0, le=7)
    followers_gained_per_1k_views_7d: float | None = Field(default=None, ge=-1e13, le=1e13)
    followers_growth_pct_28d: float | None = Field(default=None, ge=-1e6, le=1e6)
    max_followers_delta_pct_28d: float | None = Field(default=None, ge=-1e6, le=1e6)
    follower_growth_days_28d: int | None = Field(default=None, ge=0, le=28)
    followers_gained_per_1k_views_28d: float | None = Field(default=None, ge=-1e13, le=1e13)
    engagement_rate: Share = None
    engagement_rate_by_followers: float | None = Field(default=None, ge=0, le=1e6)
    views_per_follower: float | None = Field(default=None, ge=0, le=1e9)
    views_gained_7d: int | None = Field(default=None, ge=-(10**15), le=10**15)
    views_gained_per_follower_7d: float | None = Field(default=None, ge=-1e9, le=1e9)
    like_rate_7d: float | None = Field(default=None, ge=0, le=1e3)
    comment_rate_7d: float | None = Field(default=None, ge=0, le=1e3)
    share_rate_7d: float | None = Field(default=None, ge=0, le=1e3)
    reported_engagement_rate: float | None = Field(default=None, ge=0, le=1e3)
    views_gained_per_follower_28d: float | None = Field(default=None, ge=-1e9, le=1e9)
    like_rate_28d: float | None = Field(default=None, ge=0, le=1e3)
    comment_rate_28d: float | None = Field(default=None, ge=0, le=1e3)
    comments_sampled_7d: Count = None
    near_duplicate_share_7d: Share = None
    early_comment_share_7d: Share = None
    distinct_commenter_share_7d: Share = None
    near_duplicate_share_28d: Share = None
    early_comment_share_28d: Share = None
    distinct_commenter_share_28d: Share = None
    distinct_text_share_28d: Share = None
    active_days_7d: int | None = Field(default=None, ge=0, le=7)
    videos_published_7d: Count = None
    discoveries_7d: Count = None
    trending_discoveries_7d: Count = None
    has_shop: bool | None = None
    products_listed_7d: Count = None
    units_sold_7d: Count = None
    gmv_usd_7d: float | None = Field(default=None, ge=0, le=1e15)
    units_per_1k_views_7d: float | None = Field(default=None, ge=0, le=1e9)
    engagements_7d: int | None = Field(default=None, ge=0, le=10**15)
    engagements_28d: int | None = Field(default=None, ge=0, le=10**15)
    gmv_usd_28d: float | None = Field(default=None, ge=0, le=1e15)
    profile_completeness: Share = None
    is_verified: bool | None = None
    days_since_first_seen: int | None = Field(default=None, ge=0, le=100_000)


Text = Annotated[str | None, Field(default=None, max_length=2000)]


class ProfileFields(BaseModel):
    """A profile's own fields, as its profile events carry them: what trust's account
    component reads (with the counters in ``features``)."""

    model_config = ConfigDict(extra="forbid")

    username: Text = None
    nickname: Text = None
    bio: Text = None
    avatar_url: Text = None


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    features: KolFeatures
    profile: ProfileFields | None = Field(
        default=None, description="Trust only: the profile's fields, for the account component."
    )


class Prediction(Out):
    model: ModelKind
    score: float = Field(description="0-100.")
    label: str | None = Field(
        default=None,
        description="Trust: a trust band only when the audience component is part of the "
        "basis; from the account component alone, the account's own label (e.g. `Genuine "
        "account`), since a profile cannot show whether an audience is bought.",
    )
    model_name: str
    model_version: str
    reasons: list[Reason] = Field(default=[])
    basis: str | None = Field(default=None, description=BASIS_DOC)
    components: dict[str, Component] = Field(
        default={}, description="Trust only: each component's score, label and reasons."
    )


class BatchItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, max_length=200, description="Echoed back.")
    features: KolFeatures
    profile: ProfileFields | None = None


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The configured maximum (KOL_API_MAX_BATCH_SIZE) is checked too; this bounds parsing.
    items: list[BatchItem] = Field(min_length=1, max_length=1000)
    models: list[ModelKind] = Field(default=["trust", "success"], min_length=1)


class BatchResultItem(Out):
    id: str | None = None
    trust: Prediction | None = None
    success: Prediction | None = None


class BatchResult(Out):
    items: list[BatchResultItem]


# The trending score of engagement numbers sent in the body (streaming.score's formula).
Engagement = Annotated[float, Field(ge=0.0, le=1e15)]


class TrendRequest(BaseModel):
    """Engagement of one creator's windows, in the stream's engagement units (views + 10 x
    likes + 100 x comments + 100 x shares with the default KOL_STREAM_WEIGHT_*)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    current: Engagement = Field(description="W(0): engagement in the current window.")
    # Static ceilings here; the configured K and M - 1 are published in the schema (api.main)
    # and checked in the route.
    baseline: list[Engagement] = Field(
        min_length=1,
        max_length=100,
        description="The windows before the current one, back to back (W(n), W(2n), ...): "
        "1 to K (KOL_STREAM_BASELINE_WINDOWS) values; the baseline B is their mean.",
    )
    recent: list[Engagement] = Field(
        default=[],
        max_length=100,
        description="The sliding windows just before the current one, oldest first, one slide "
        "apart: up to M - 1 (KOL_STREAM_MOMENTUM_WINDOWS - 1) values. With the current window "
        "they give the momentum; none: momentum 0.",
    )
    events: int = Field(ge=0, le=10**12, description="N: events in the current window.")
    coverage: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Share of the K baseline windows after the creator was first seen; "
        "default: len(baseline) / K, as the stream counts unobserved windows.",
    )


class TrendPrediction(Out):
    score: float = Field(description="0-100; 50 is the creator's own normal.")
    label: TrendLabel
    velocity: float = Field(description="ln((W(0) + a) / (B + a)).")
    momentum: float = Field(description="Slope of ln(W + a) over the recent windows, per window.")
    damping: float = Field(description="N / (N + k) x coverage.")
    coverage: float
    engagement: float = Field(description="W(0), as sent.")
    baseline: float = Field(description="B, the mean of the baseline windows.")
    events: float
