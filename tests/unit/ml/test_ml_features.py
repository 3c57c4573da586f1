"""The one feature definition: API schema, dbt model and the matrix builders agree."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from api.schemas import KolFeatures
from ml.features import (
    FEATURES,
    PROFILE_FEATURES,
    frame_matrix,
    log_prior,
    matrix,
    profile_features,
    recent_value,
)

DBT_YML = Path(__file__).resolve().parents[3] / "dbt_kol/models/marts/ml/_ml__models.yml"


def test_api_schema_and_dbt_model_have_exactly_the_features() -> None:
    assert tuple(KolFeatures.model_fields) == FEATURES
    model = yaml.safe_load(DBT_YML.read_text())["models"][0]
    columns = [c["name"] for c in model["columns"]]
    assert columns[:3] == ["kol_id", "date_day", "platform"]
    assert tuple(columns[3:]) == FEATURES
    assert set(PROFILE_FEATURES) <= set(FEATURES)


def test_every_path_builds_the_same_matrix() -> None:
    row = {"followers": 5000, "has_shop": True, "gmv_usd_7d": 12.5, "posts": None}
    api_row = KolFeatures(**row)
    frame = pd.DataFrame([{**{f: None for f in FEATURES}, **row}])
    frame["has_shop"] = frame["has_shop"].astype(object)
    from_dict, from_api, from_frame = matrix([row]), matrix([api_row]), frame_matrix(frame)
    assert from_dict.dtype == from_api.dtype == from_frame.dtype == np.float64
    np.testing.assert_array_equal(from_dict, from_api)
    np.testing.assert_array_equal(from_dict, from_frame)
    assert from_dict[0, FEATURES.index("has_shop")] == 1.0
    assert math.isnan(from_dict[0, FEATURES.index("posts")])


def test_frame_matrix_reads_decimals_booleans_and_missing_columns() -> None:
    from decimal import Decimal

    frame = pd.DataFrame({"gmv_usd_7d": [Decimal("10.25"), None], "is_verified": [True, False]})
    m = frame_matrix(frame, ["gmv_usd_7d", "is_verified", "followers"])
    assert m[0].tolist()[:2] == [10.25, 1.0]
    assert math.isnan(m[1, 0]) and m[1, 1] == 0.0 and np.isnan(m[:, 2]).all()


def test_profile_features_follow_the_dbt_formulas() -> None:
    p = profile_features(followers=999, following=0, total_likes=1998, posts=3)
    assert p["followers_log10"] == 3.0
    assert p["follower_following_ratio"] is None  # zero denominator -> null, as safe_ratio
    assert p["likes_per_follower"] == 2.0
    assert profile_features(None)["followers_log10"] is None


def test_recent_value_is_sales_or_engagement_per_covered_day() -> None:
    cols = [
        "has_shop",
        "gmv_usd_7d",
        "views_gained_7d",
        "like_rate_7d",
        "comment_rate_7d",
        "share_rate_7d",
        "days_since_first_seen",
    ]
    m = np.array(
        [
            [1, 70.0, 1000, 0.1, 0.0, 0.0, 10],  # shop, full window: 70 over 7 days
            [0, 0.0, 1000, 0.1, 0.05, 0.05, 1],  # engagement over 2 covered days
            [np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan],
        ]
    )
    v = recent_value(m, cols, 7)
    assert v.tolist() == [70.0, 200.0 / 2 * 7, 0.0]
    assert log_prior(m, cols, 7)[2] == 0.0
