"""Batch scoring rows: the columns and Redis fields the API reads; newer days win in Redis."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import orjson
import pandas as pd

from api.queries import KOL_SCORES_COLUMNS
from kol.settings import MlSettings, Settings, StreamSettings
from ml.batch import SCORE_COLUMNS, arrow_schema, score_features, write_redis
from tests.unit.ml.conftest import synthetic_rows


class FakeRedis:
    def __init__(self) -> None:
        self.h: dict[str, dict[str, str]] = {}

    def pipeline(self, transaction: bool = False) -> FakeRedis.Pipe:
        return FakeRedis.Pipe(self)

    class Pipe:
        def __init__(self, r: FakeRedis) -> None:
            self.r, self.ops = r, []

        def hget(self, key: str, field: str) -> None:
            self.ops.append(lambda: self.r.h.get(key, {}).get(field))

        def hset(self, key: str, mapping: dict[str, str]) -> None:
            self.ops.append(lambda: self.r.h.setdefault(key, {}).update(mapping))

        def execute(self) -> list[Any]:
            return [op() for op in self.ops]


def rows_for(day: date, trust_classifier: Any) -> pd.DataFrame:
    df = synthetic_rows(5, 1, seed=2)
    df["date_day"] = day
    return score_features(
        df, {"trust": trust_classifier.scorer("kol_trust", "4"), "success": None},
        computed_at=datetime(2026, 3, 9, tzinfo=UTC),
    )  # fmt: skip


def test_rows_have_the_api_columns_and_the_arrow_schema(trust_classifier: Any) -> None:
    rows = rows_for(date(2026, 3, 5), trust_classifier)
    assert set(KOL_SCORES_COLUMNS) <= set(rows.columns)
    assert list(rows.columns) == list(SCORE_COLUMNS) == arrow_schema().names
    assert rows["scored_at"].iloc[0] == datetime(2026, 3, 5, 23, 59, 59, 999999, tzinfo=UTC)
    assert rows["success_score"].isna().all() and rows["trust_model_version"].eq("4").all()
    assert orjson.loads(rows["trust_reasons"].iloc[0])[0]["factor"]


def test_redis_hashes_and_newer_days_win(trust_classifier: Any) -> None:
    ml = Settings(stream=StreamSettings(redis_prefix="t:"), ml=MlSettings(redis_batch=2)).ml
    r = FakeRedis()
    new = rows_for(date(2026, 3, 5), trust_classifier)
    assert write_redis(ml, new, r) == 5
    key = f"t:scores:{new['kol_id'].iloc[0]}"
    h = r.h[key]
    assert float(h["trust_score"]) == new["trust_score"].iloc[0]
    assert h["trust_label"] == new["trust_label"].iloc[0] and h["trust_model_version"] == "4"
    assert h["trust_scored_at"].startswith("2026-03-05T23:59:59") and "success_score" not in h
    old = rows_for(date(2026, 3, 1), trust_classifier)
    assert write_redis(ml, old, r) == 0  # a backfill does not overwrite newer scores
    assert r.h[key]["date_day"] == "2026-03-05"
    assert write_redis(ml, new, r) == 5  # the same day again: rewritten


def test_combine_trust_rests_on_the_weakest_known_component() -> None:
    import numpy as np

    from ml.scoring import combine_trust

    nan = float("nan")
    trust, setter, basis = combine_trust(
        np.array([80.0, 30.0, nan, 70.0, nan]), np.array([40.0, 90.0, 55.0, nan, nan])
    )
    assert trust[:4].tolist() == [40.0, 30.0, 55.0, 70.0] and np.isnan(trust[4])
    assert setter[:4].tolist() == ["account", "audience", "account", "audience"]
    assert basis == ["audience+account", "audience+account", "account", "audience", None]


def test_trust_puts_the_account_and_audience_components_together(
    trust_classifier: Any, account_classifier: Any
) -> None:
    from ml.account import with_account_features

    df = synthetic_rows(4, 1, seed=3)
    df["following"] = [300.0, 300.0, 5000.0, 300.0]
    df["posts"] = [120.0, 120.0, 0.0, 120.0]
    df["followers"] = [40_000.0, 40_000.0, 40.0, 40_000.0]
    profiles = pd.DataFrame(
        {
            "kol_id": df["kol_id"].iloc[:3],
            "username": ["maya.cooks", "linh.travels", "user84461092"],
            "nickname": ["Maya Cooks", "Linh", "user84461092"],
            "bio": ["Recipes every Sunday | maya.example.com", "Hanoi -> anywhere", ""],
            "avatar_url": ["https://a/1.jpg", "https://a/2.jpg", ""],
        }
    )
    df = with_account_features(df, profiles)
    rows = score_features(
        df,
        {
            "trust": trust_classifier.scorer("kol_trust", "4"),
            "account": account_classifier.scorer("kol_trust_account", "1"),
        },
    )
    spam, unknown = rows.iloc[2], rows.iloc[3]
    assert spam["trust_account_score"] < rows["trust_account_score"].iloc[0]
    assert spam["trust_account_score"] < 40  # a spam profile: Likely fake account
    for _, r in rows.iloc[:3].iterrows():
        assert r["trust_basis"] == "audience+account"
        assert r["trust_score"] == min(r["trust_audience_score"], r["trust_account_score"])
        parts = orjson.loads(r["trust_components"])
        assert set(parts) == {"audience", "account"}
        assert parts["account"]["model_version"] == "1" and parts["audience"]["reasons"]
    # No profile on record: the account component scores the counters alone.
    assert unknown["trust_basis"] == "audience+account"
    assert orjson.loads(spam["trust_components"])["account"]["label"] == "Likely fake account"
    # A genuine audience (synthetic creator 2) behind a spam profile: the account sets trust.
    assert spam["trust_audience_score"] > spam["trust_account_score"] == spam["trust_score"]
    assert spam["trust_label"] in ("Untrusted", "Low Trust")
    spam_parts = orjson.loads(spam["trust_components"])
    assert orjson.loads(spam["trust_reasons"]) == spam_parts["account"]["reasons"]
    # Without the audience model, trust rests on the account and keeps the account's label.
    alone = score_features(df, {"account": account_classifier.scorer("kol_trust_account", "1")})
    assert (alone["trust_basis"] == "account").all()
    assert set(alone["trust_label"]) <= {
        "Genuine account",
        "Uncertain account",
        "Likely fake account",
    }
    assert alone["trust_score"].tolist() == rows["trust_account_score"].tolist()


def test_a_naive_success_forecast_is_written_as_such() -> None:
    import lightgbm as lgb
    import numpy as np

    from ml.features import FEATURES
    from ml.scoring import Scorer, ScoreSpec

    x = np.random.default_rng(0).random((50, len(FEATURES)))
    booster = lgb.train(
        {"objective": "regression", "verbosity": -1, "min_data_in_leaf": 5},
        lgb.Dataset(x, x[:, 0], feature_name=list(FEATURES)),
        num_boost_round=3,
    )
    spec = ScoreSpec(
        "success", "log_target", FEATURES, horizon_days=7, prior="creator_mean",
        forecast="creator_mean",
    )  # fmt: skip
    df = synthetic_rows(3, 1, seed=4)
    df["engagements_28d"], df["days_since_first_seen"] = 560.0, 27.0
    rows = score_features(df, {"success": Scorer(booster, spec, "kol_success", "2")})
    assert rows["success_basis"].eq("naive:creator_mean").all()
    engagement = rows[rows["success_target_kind"] == "engagement"]
    assert np.allclose(engagement["success_prediction"], 560 / 28 * 7)
    r = FakeRedis()
    write_redis(Settings(stream=StreamSettings(redis_prefix="t:")).ml, rows, r)
    h = r.h[f"t:scores:{rows['kol_id'].iloc[0]}"]
    assert h["success_basis"] == "naive:creator_mean" and "trust_basis" not in h
