"""Request and response models of every route (the OpenAPI schema at /docs is built from these)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

TrendLabel = Literal["Viral", "Hot", "Stable", "Cooling", "Cold"]
ModelKind = Literal["trust", "success"]
# What the API serves from MLflow: the two scores' models and trust's account component.
ServedKind = Literal["trust", "success", "account"]


class Out(BaseModel):
    # Gold rows arrive as dicts with extra columns; responses show only the declared fields.
    model_config = ConfigDict(extra="ignore")


# ---- errors ---------------------------------------------------------------------------------
class FieldError(Out):
    field: str = Field(description="The offending field, e.g. `limit` or `features.followers`.")
    location: str = Field(description="query, path, body or header.")
    message: str
    type: str


class ErrorBody(Out):
    detail: str = Field(description="What went wrong, in a sentence.")
    service: str | None = Field(
        default=None, description="For 503: the backing service that is unavailable."
    )
    errors: list[FieldError] | None = Field(default=None, description="For 422: each field.")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or unknown API key"},
    422: {"model": ErrorBody, "description": "Invalid request"},
    429: {"model": ErrorBody, "description": "Rate limit exceeded (see Retry-After)"},
    503: {"model": ErrorBody, "description": "A backing service is unavailable"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "Unknown creator"}
}
# Media type of the routes that return their body already serialised (a prebuilt Response).
JSON = "application/json"


class Page(Out, Generic[T]):
    items: list[T]
    total: int = Field(description="Matches over all pages.")
    limit: int
    offset: int


# ---- health ---------------------------------------------------------------------------------
class Liveness(Out):
    status: Literal["ok"] = "ok"


class Check(Out):
    ok: bool
    detail: str
    latency_ms: float | None = None


class ModelStatus(Out):
    kind: ServedKind
    name: str
    alias: str
    available: bool
    version: str | None = None
    loaded_at: datetime | None = None
    detail: str


class Readiness(Out):
    status: Literal["ok", "degraded", "unavailable"] = Field(
        description="ok: everything answers; degraded: some routes answer 503 (see checks); "
        "unavailable: Redis, Trino or the key store is down."
    )
    checks: dict[str, Check]
    models: list[ModelStatus]


class ModelInfo(Out):
    """A served model and the evidence it was promoted on (its champion's MLflow run)."""

    kind: ServedKind
    name: str = Field(description="Registered model name in MLflow.")
    available: bool = Field(description="Loaded and answering predictions.")
    version: str | None = Field(default=None, description="The version being served.")
    alias: str | None = Field(default=None, description="The registry alias served (champion).")
    trained_at: datetime | None = Field(
        default=None, description="When the version's training run logged it."
    )
    run_id: str | None = Field(default=None, description="The MLflow run of the version.")
    metrics: dict[str, float] = Field(
        default={},
        description="The model's metrics on data it never trained on, as logged on its run "
        "(trust: `holdout_*`; success: `holdout_mae_log` and the backtest's "
        "`<all|shop|engagement>_model_*`).",
    )
    baselines: dict[str, float] = Field(
        default={},
        description="The naive forecasts' metrics on the same data, when the run logged them "
        "(success: `<kind>_last_week_*`, `<kind>_creator_mean_*`).",
    )
    reason: str | None = Field(default=None, description="Why it is not available, when not.")


class ModelList(Out):
    items: list[ModelInfo]


# ---- scores ---------------------------------------------------------------------------------
class Reason(Out):
    factor: str = Field(description="Feature or signal behind the score.")
    value: float | None = Field(default=None, description="Its value.")
    effect: float | None = Field(
        default=None, description="Its contribution (model units; positive raises the score)."
    )
    text: str


class Component(Out):
    """One component of trust: its own score, label, model version and reasons."""

    score: float
    label: str | None = None
    model_version: str | None = None
    reasons: list[Reason] = []


BASIS_DOC = (
    "What the score rests on. Trust: its components, `audience` (behaviour over time: follower "
    "growth, engagement, comments; Gold's features) and/or `account` (the profile's own fields, "
    "validated on real labelled accounts); trust is the lower of the two. Success: `model`, or "
    "`naive:creator_mean` / `naive:last_week` while no model beats that naive forecast on the "
    "backtest (the forecast itself is served)."
)


class Score(Out):
    score: float | None = Field(default=None, description="0-100; null when not available.")
    label: str | None = None
    model_version: str | None = None
    scored_at: datetime | None = None
    source: str | None = Field(default=None, description="Where it was read: redis, gold, stream.")
    reasons: list[Reason] = []
    unavailable_reason: str | None = Field(
        default=None, description="Why score is null, when it is."
    )
    basis: str | None = Field(default=None, description=BASIS_DOC)
    components: dict[str, Component] = Field(
        default={}, description="Trust only: each component's score, label and reasons."
    )


class Scores(Out):
    kol_id: str
    platform: str
    username: str
    trust: Score
    success: Score
    trending: Score


# ---- creators -------------------------------------------------------------------------------
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


# ---- trending -------------------------------------------------------------------------------
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


# ---- predictions ----------------------------------------------------------------------------
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
    reasons: list[Reason] = []
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


# ---- search ---------------------------------------------------------------------------------
class KolHit(Out):
    kol_id: str
    platform: str
    username: str
    nickname: str | None = None
    niche: str | None = None
    followers: int | None = None


class ProductHit(Out):
    product_id: str
    product_title: str | None = None
    category: str | None = None
    seller_id: str | None = None
    currency: str | None = None
    current_price: float | None = None
    featuring_kols: int | None = None
    last_seen_at: datetime | None = None


class SearchResult(Out, Generic[T]):
    query: str
    items: list[T]


# ---- stats ----------------------------------------------------------------------------------
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


# ---- alerts ---------------------------------------------------------------------------------
class Alert(Out):
    alert_id: str
    type: str
    kol_id: str
    platform: str
    username: str
    event_time: datetime | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    value: float | None = None
    threshold: float | None = None
    details: dict[str, Any] = {}


class AlertList(Out):
    items: list[Alert]
