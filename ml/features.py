"""The one feature definition: the columns of ``gold.ml_kol_features`` the models use, and the
one way rows become a model matrix, for training, batch scoring and online scoring alike.

``FEATURES`` is the model input, in this order; the API's request schema
(:class:`api.schemas.KolFeatures`) has exactly these fields (a unit test holds them together),
and the dbt model documents each one. Every path builds its matrix with :func:`matrix` (objects
or mappings, the API and the stream) or :func:`frame_matrix` (a DataFrame read from Gold): float64,
unknown values NaN, booleans 0/1, so the same creator gives the same bytes whichever path it
took.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from kol.settings import MlSettings

ID_COLUMNS: tuple[str, ...] = ("kol_id", "date_day", "platform")

FEATURES: tuple[str, ...] = (
    # scale
    "followers",
    "following",
    "total_likes",
    "posts",
    "followers_log10",
    "follower_following_ratio",
    "likes_per_follower",
    # growth
    "followers_delta",
    "followers_delta_pct",
    "followers_gained_7d",
    "followers_growth_pct_7d",
    "max_followers_delta_pct_7d",
    "follower_jump_days_7d",
    "followers_gained_per_1k_views_7d",
    "followers_growth_pct_28d",
    "max_followers_delta_pct_28d",
    "follower_growth_days_28d",
    "followers_gained_per_1k_views_28d",
    # engagement
    "engagement_rate",
    "engagement_rate_by_followers",
    "views_per_follower",
    "views_gained_7d",
    "views_gained_per_follower_7d",
    "like_rate_7d",
    "comment_rate_7d",
    "share_rate_7d",
    "reported_engagement_rate",
    "views_gained_per_follower_28d",
    "like_rate_28d",
    "comment_rate_28d",
    # comments (audience authenticity)
    "comments_sampled_7d",
    "near_duplicate_share_7d",
    "early_comment_share_7d",
    "distinct_commenter_share_7d",
    "near_duplicate_share_28d",
    "early_comment_share_28d",
    "distinct_commenter_share_28d",
    "distinct_text_share_28d",
    # activity
    "active_days_7d",
    "videos_published_7d",
    "discoveries_7d",
    "trending_discoveries_7d",
    # commerce
    "has_shop",
    "products_listed_7d",
    "units_sold_7d",
    "gmv_usd_7d",
    "units_per_1k_views_7d",
    # level (success's naive forecasts: naive_forecasts)
    "engagements_7d",
    "engagements_28d",
    "gmv_usd_28d",
    # profile
    "profile_completeness",
    "is_verified",
    "days_since_first_seen",
)

# What a profile alone shows (no history, no videos): the features the stream and external
# profile-only data can fill in exactly; see :func:`profile_features`.
PROFILE_FEATURES: tuple[str, ...] = (
    "followers",
    "following",
    "total_likes",
    "posts",
    "followers_log10",
    "follower_following_ratio",
    "likes_per_follower",
    "profile_completeness",
    "is_verified",
)


def _value(v: Any) -> float:
    if v is None:
        return math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def matrix(rows: Sequence[Any], columns: Sequence[str] = FEATURES) -> np.ndarray:
    """Rows (mappings, or objects such as pydantic models) -> float64 matrix of ``columns``;
    missing or unknown values are NaN, booleans 0/1.

    Built by hand rather than through pandas: for one row it is ~50x cheaper, which is most of a
    prediction's cost."""
    out = np.empty((len(rows), len(columns)), dtype="float64")
    for i, row in enumerate(rows):
        values = row if isinstance(row, Mapping) else row.__dict__
        out[i] = [_value(values.get(c)) for c in columns]
    return out


def frame_matrix(df: pd.DataFrame, columns: Sequence[str] = FEATURES) -> np.ndarray:
    """A frame read from Gold -> float64 matrix of ``columns`` (absent columns are NaN)."""
    out = np.full((len(df), len(columns)), np.nan, dtype="float64")
    for j, c in enumerate(columns):
        if c not in df.columns:
            continue
        col = df[c]
        if col.dtype == object or str(col.dtype).startswith(("str", "string")):
            col = col.map(_value)
        out[:, j] = pd.to_numeric(col, errors="coerce").astype("float64").to_numpy()
    return out


def profile_features(
    followers: float | None,
    following: float | None = None,
    total_likes: float | None = None,
    posts: float | None = None,
    profile_completeness: float | None = None,
    is_verified: bool | None = None,
) -> dict[str, float | None]:
    """The profile features from raw counters, computed as dbt computes them
    (``log10(followers + 1)``, ratios null when the denominator is zero or unknown)."""

    def ratio(a: float | None, b: float | None) -> float | None:
        if a is None or b is None or b == 0 or _nan(a) or _nan(b):
            return None
        return float(a) / float(b)

    return {
        "followers": followers,
        "following": following,
        "total_likes": total_likes,
        "posts": posts,
        "followers_log10": None
        if followers is None or _nan(followers)
        else math.log10(float(followers) + 1),
        "follower_following_ratio": ratio(followers, following),
        "likes_per_follower": ratio(total_likes, followers),
        "profile_completeness": profile_completeness,
        "is_verified": is_verified,
    }


def _nan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


# ---- reading Gold -----------------------------------------------------------------------------
def read_features(
    ml: MlSettings,
    start: date | None = None,
    end: date | None = None,
    day: date | None = None,
) -> pd.DataFrame:
    """Rows of ``<gold>.ml_kol_features`` with ``start <= date_day < end`` (or ``= day``),
    through pyiceberg (Arrow, no SQL engine in the way). Ids plus :data:`FEATURES`."""

    from kol.iceberg import catalog, day_filter

    table = catalog(ml.core).load_table(f"{ml.gold_schema}.{ml.features_table}")
    flt = day_filter(start, end, day)
    names = set(table.schema().column_names)
    cols = [c for c in (*ID_COLUMNS, *FEATURES) if c in names]
    df = table.scan(row_filter=flt, selected_fields=tuple(cols)).to_pandas()
    return normalize(df)


def normalize(df: pd.DataFrame) -> pd.DataFrame:
    """Types every path agrees on: ids as str/date, features float64 (NaN = unknown)."""
    out = df.copy()
    for c in FEATURES:
        if c in out.columns:
            out[c] = frame_matrix(out[[c]], [c])[:, 0]
        else:
            out[c] = np.nan
    out["date_day"] = pd.to_datetime(out["date_day"]).dt.date
    out["kol_id"] = out["kol_id"].astype(str)
    return out.sort_values(["kol_id", "date_day"], ignore_index=True)


def latest_day(ml: MlSettings) -> date | None:
    from kol.trino import query

    rows = query(ml.core, f"SELECT max(date_day) FROM {ml.gold}.{ml.features_table}")
    return rows[0][0] if rows else None


def read_daily_outcomes(
    ml: MlSettings, start: date | None = None, end: date | None = None
) -> pd.DataFrame:
    """Per creator and observed day: sales (``gmv_usd``, from fct_product_sales_daily) and
    engagements gained (likes + comments + shares, from fct_kol_daily): what the success
    model predicts over the following days."""

    from kol.iceberg import catalog, day_filter

    cat = catalog(ml.core)
    flt = day_filter(start, end)
    kd = (
        cat.load_table(f"{ml.gold_schema}.fct_kol_daily")
        .scan(
            row_filter=flt,
            selected_fields=(
                "kol_id",
                "date_day",
                "likes_gained",
                "comments_gained",
                "shares_gained",
            ),
        )
        .to_pandas()
    )
    sales = (
        cat.load_table(f"{ml.gold_schema}.fct_product_sales_daily")
        .scan(row_filter=flt, selected_fields=("kol_id", "date_day", "gmv_usd"))
        .to_pandas()
    )
    kd["engagements"] = (
        kd[["likes_gained", "comments_gained", "shares_gained"]]
        .apply(pd.to_numeric, errors="coerce")
        .fillna(0)
        .clip(lower=0)
        .sum(axis=1)
    )
    sales["gmv_usd"] = sales["gmv_usd"].map(_value).fillna(0.0)
    sales = sales.groupby(["kol_id", "date_day"], as_index=False)["gmv_usd"].sum()
    out = kd[["kol_id", "date_day", "engagements"]].merge(
        sales, on=["kol_id", "date_day"], how="left"
    )
    out["gmv_usd"] = out["gmv_usd"].fillna(0.0)
    out["date_day"] = pd.to_datetime(out["date_day"]).dt.date
    return out


def _col(m: np.ndarray, columns: Sequence[str], name: str) -> np.ndarray:
    return m[:, list(columns).index(name)] if name in columns else np.full(len(m), np.nan)


def recent_value(m: np.ndarray, columns: Sequence[str], horizon_days: int) -> np.ndarray:
    """A creator's naive forecast for the next ``horizon_days`` from its features alone: the
    trailing window's sales (shop creators) or engagements (views gained x like + comment +
    share rates), per covered day (the window is shorter for creators seen for under 7 days),
    times the horizon. Unknown parts count as 0. The prior of success models trained before
    :func:`naive_forecasts` (``ScoreSpec.prior`` = ``recent``)."""
    shop = np.nan_to_num(_col(m, columns, "has_shop")) > 0.5
    gmv = np.nan_to_num(_col(m, columns, "gmv_usd_7d"))
    rates = sum(
        np.nan_to_num(_col(m, columns, c))
        for c in ("like_rate_7d", "comment_rate_7d", "share_rate_7d")
    )
    engagements = np.nan_to_num(_col(m, columns, "views_gained_7d")) * rates
    value = np.where(shop, gmv, engagements) / _covered(m, columns, 7) * horizon_days
    return np.maximum(value, 0.0)


def _covered(m: np.ndarray, columns: Sequence[str], window: int) -> np.ndarray:
    """Days of a trailing window the creator was seen for (1..window; unknown age: window)."""
    age = _col(m, columns, "days_since_first_seen")
    return np.clip(np.where(np.isnan(age), float(window), age + 1.0), 1.0, float(window))


# The naive forecasts of the next days' value (sales in USD for shop creators, engagements for
# the others), from a creator's Gold features alone: what the success model must beat, and what
# is served while it does not (ScoreSpec.forecast). Name -> (window, shop column, other column).
NAIVE_FORECASTS: dict[str, tuple[int, str, str]] = {
    "last_week": (7, "gmv_usd_7d", "engagements_7d"),
    "creator_mean": (28, "gmv_usd_28d", "engagements_28d"),
}


def naive_forecast(
    name: str, m: np.ndarray, columns: Sequence[str], horizon_days: int
) -> np.ndarray:
    """The ``name`` forecast (:data:`NAIVE_FORECASTS`): the window's value per day the creator
    was seen, times the horizon. ``last_week`` is last week's value; ``creator_mean`` the
    creator's own mean over up to 28 days. Unknown values count 0."""
    if name == "recent":
        return recent_value(m, columns, horizon_days)
    window, shop_col, other_col = NAIVE_FORECASTS[name]
    shop = np.nan_to_num(_col(m, columns, "has_shop")) > 0.5
    value = np.where(
        shop, np.nan_to_num(_col(m, columns, shop_col)), np.nan_to_num(_col(m, columns, other_col))
    )
    return np.maximum(value / _covered(m, columns, window) * horizon_days, 0.0)


def log_prior(
    m: np.ndarray, columns: Sequence[str], horizon_days: int, prior: str = "recent"
) -> np.ndarray:
    return np.log1p(naive_forecast(prior, m, columns, horizon_days))


def stream_profile_rows(frame: pd.DataFrame) -> list[dict[str, float | None]]:
    """The hot path's live trust inputs (:func:`streaming.engine.trust_features`: profile
    counters ``followers``, ``following``, ``likes``, ``posts``, ``verified``) -> the profile
    features, computed as dbt computes them; every other feature is unknown."""

    def get(row: dict[str, Any], key: str) -> float | None:
        v = row.get(key)
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)

    out = []
    for row in frame.to_dict("records"):
        verified = get(row, "verified")
        out.append(
            profile_features(
                followers=get(row, "followers"),
                following=get(row, "following"),
                total_likes=get(row, "likes"),
                posts=get(row, "posts"),
                is_verified=None if verified is None else bool(verified),
            )
        )
    return out
