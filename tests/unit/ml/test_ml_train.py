"""Training pieces: the classifier recipe, success origins and the time-based backtest."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ml.features import FEATURES
from ml.train import (
    backtest_split,
    build_origins,
    classification_metrics,
    fit_calibration,
    smape,
    split_creators,
    success_metrics,
    train_trust,
)
from tests.unit.ml.conftest import synthetic_rows


def test_classifier_is_tuned_calibrated_and_separates(trust_classifier: Any) -> None:
    assert trust_classifier.tuned.trials == 2  # the budget
    assert trust_classifier.oof_metrics["roc_auc"] > 0.9
    assert trust_classifier.spec.calibration["method"] == "sigmoid"  # few rows: Platt
    assert trust_classifier.spec.output == "inauthentic_probability"


def test_isotonic_calibration_with_enough_rows() -> None:
    rng = np.random.default_rng(0)
    margin = rng.normal(size=3000)
    y = (rng.random(3000) < 1 / (1 + np.exp(-2 * margin))).astype(float)
    cal = fit_calibration(margin, y, isotonic_min_rows=1000)
    assert cal["method"] == "isotonic" and min(cal["y"]) > 0 and max(cal["y"]) < 1
    assert np.all(np.diff(cal["y"]) >= 0)  # monotone


def test_train_trust_holds_out_whole_creators(ml: Any) -> None:
    rows = synthetic_rows(40, 3, seed=3)
    result = train_trust(rows, ml)
    train_ids = set(result.data.train["kol_id"])
    hold_ids = set(result.data.holdout["kol_id"])
    assert train_ids and hold_ids and not train_ids & hold_ids
    assert result.holdout_scores["label"].sum() > 0
    assert result.metrics["holdout_bought_vs_genuine_auc"] > 0.9
    assert (
        result.metrics["holdout_bought_mean_trust"] < result.metrics["holdout_genuine_mean_trust"]
    )


def test_split_is_stratified_and_seeded() -> None:
    rows = pd.DataFrame({"kol_id": [f"k{i}" for i in range(20)], "label": [1] * 4 + [0] * 16})
    train, hold = split_creators(rows, 0.25, 7)
    assert split_creators(rows, 0.25, 7) == (train, hold)
    assert len(hold) == 5 and len([k for k in hold if int(k[1:]) < 4]) == 1


def daily_series() -> pd.DataFrame:
    start = date(2026, 3, 1)
    rows = []
    for d in range(10):
        rows.append(
            {
                "kol_id": "shop",
                "date_day": start + timedelta(days=d),
                "gmv_usd": float(d),
                "engagements": 100.0,
            }
        )
        rows.append(
            {
                "kol_id": "eng",
                "date_day": start + timedelta(days=d),
                "gmv_usd": 0.0,
                "engagements": 10.0 * d,
            }
        )
    return pd.DataFrame(rows)


def test_origins_targets_and_baselines() -> None:
    daily = daily_series()
    feats = daily[["kol_id", "date_day"]].copy()
    for f in FEATURES:
        feats[f] = np.nan
    feats["has_shop"] = (feats["kol_id"] == "shop").astype(float)
    o = build_origins(feats, daily, horizon=3).set_index(["kol_id", "date_day"])
    d2 = date(2026, 3, 3)  # day index 2
    shop = o.loc[("shop", d2)]
    assert shop["target_kind"] == "shop"
    assert shop["target"] == 3 + 4 + 5  # next three days' sales
    assert shop["baseline_last"] == 0 + 1 + 2
    assert shop["baseline_mean"] == pytest.approx(1.0 * 3)  # mean daily so far x horizon
    eng = o.loc[("eng", d2)]
    assert eng["target_kind"] == "engagement" and eng["target"] == 30 + 40 + 50
    # The last three days have no complete horizon.
    assert (
        o.loc[("shop", date(2026, 3, 8)), "target"] != o.loc[("shop", date(2026, 3, 8)), "target"]
    )
    assert not np.isnan(o.loc[("shop", date(2026, 3, 7)), "target"])


def test_backtest_training_targets_end_before_the_test_starts() -> None:
    daily = daily_series()
    feats = daily[["kol_id", "date_day"]].copy()
    for f in FEATURES:
        feats[f] = np.nan
    feats["has_shop"] = 0.0
    o = build_origins(feats, daily, horizon=2)
    train, test, start = backtest_split(o, 2, 0.3)
    assert test["date_day"].min() == start
    assert max(train["date_day"]) + timedelta(days=2) <= start
    with pytest.raises(ValueError, match="need more days"):
        backtest_split(o, 7, 0.9)


def test_metrics() -> None:
    assert smape(np.array([0.0, 100.0]), np.array([0.0, 50.0])) == pytest.approx(
        100 * (2 * 50 / 150) / 2
    )
    m = classification_metrics(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9]))
    assert m["roc_auc"] == 1.0 and m["accuracy"] == 1.0 and m["brier"] == pytest.approx(0.025)
    test = pd.DataFrame(
        {
            "target_kind": ["shop", "engagement"],
            "target": [10.0, 100.0],
            "baseline_last": [0.0, 100.0],
            "baseline_mean": [10.0, 50.0],
        }
    )
    sm = success_metrics(test, np.array([10.0, 90.0]))
    assert sm["shop_model_mae"] == 0 and sm["shop_last_week_mae"] == 10
    assert sm["all_model_mae"] == 5 and sm["engagement_creator_mean_mae"] == 50
