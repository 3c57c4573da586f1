"""Training pieces: the classifier recipe, success origins and the time-based backtest."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ml.features import FEATURES
from ml.metrics import classification_metrics, smape
from ml.success import backtest_split, build_origins, success_metrics
from ml.train import fit_calibration
from ml.trust import split_creators, train_trust
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
    # The level features as dbt computes them for day index 2 of "shop" (seen for 3 days).
    at_d2 = (feats["kol_id"] == "shop") & (feats["date_day"] == date(2026, 3, 3))
    feats.loc[at_d2, ["gmv_usd_7d", "gmv_usd_28d", "days_since_first_seen"]] = [3.0, 3.0, 2.0]
    # "eng" seen for 30 days: a 28-day level of 560 is 20 a day, the last week 35 a day.
    at_eng = (feats["kol_id"] == "eng") & (feats["date_day"] == date(2026, 3, 3))
    feats.loc[at_eng, ["engagements_7d", "engagements_28d", "days_since_first_seen"]] = [
        245.0,
        560.0,
        30.0,
    ]
    o = build_origins(feats, daily, horizon=3).set_index(["kol_id", "date_day"])
    d2 = date(2026, 3, 3)  # day index 2
    shop = o.loc[("shop", d2)]
    assert shop["target_kind"] == "shop"
    assert shop["target"] == 3 + 4 + 5  # next three days' sales
    assert shop["baseline_last"] == pytest.approx(3 / 3 * 3)  # per day seen x horizon
    assert shop["baseline_mean"] == pytest.approx(1.0 * 3)  # mean daily so far x horizon
    eng_baselines = o.loc[("eng", d2), ["baseline_last", "baseline_mean"]].tolist()
    assert eng_baselines == pytest.approx([35 * 3, 20 * 3])
    eng = o.loc[("eng", d2)]
    assert eng["target_kind"] == "engagement" and eng["target"] == 30 + 40 + 50
    # The last three days have no complete horizon.
    assert (
        o.loc[("shop", date(2026, 3, 8)), "target"] != o.loc[("shop", date(2026, 3, 8)), "target"]
    )
    assert not np.isnan(o.loc[("shop", date(2026, 3, 7)), "target"])


def test_the_served_forecast_is_the_model_only_when_it_beats_the_best_naive() -> None:
    from ml.success import served_forecast

    m = {"all_model_mae": 90.0, "all_last_week_mae": 120.0, "all_creator_mean_mae": 100.0}
    assert served_forecast(m) == "model"
    assert served_forecast(m, min_gain=0.1) == "creator_mean"  # 90 is not 10 % under 100
    assert served_forecast({**m, "all_model_mae": 101.0}) == "creator_mean"
    assert served_forecast({**m, "all_last_week_mae": 80.0, "all_model_mae": 85.0}) == "last_week"


def test_a_version_serving_a_naive_forecast_scores_it_without_the_model() -> None:
    import lightgbm as lgb

    from ml.scoring import Scorer, ScoreSpec

    x = np.random.default_rng(0).random((50, len(FEATURES)))
    booster = lgb.train(
        {"objective": "regression", "verbosity": -1, "min_data_in_leaf": 5},
        lgb.Dataset(x, x[:, 0] * 100, feature_name=list(FEATURES)),
        num_boost_round=5,
    )
    anchors = {"engagement": list(np.log1p(np.linspace(0, 1000, 101)))}
    spec = ScoreSpec("success", "log_target", FEATURES, anchors=anchors, horizon_days=7)
    naive = Scorer(booster, replace(spec, prior="creator_mean", forecast="creator_mean"))
    row = {f: np.nan for f in FEATURES}
    row.update(has_shop=0.0, engagements_28d=2800.0, engagements_7d=7000.0)
    row["days_since_first_seen"] = 40.0
    out = naive.score(naive.matrix([row]), reasons=True)
    assert out.value[0] == pytest.approx(2800 / 28 * 7)  # the creator's mean x horizon
    assert naive.spec.basis == "naive:creator_mean" and spec.basis == "model"
    ((reason,),) = naive.reasons(naive.matrix([row]), out, 3)
    assert reason["factor"] == "engagements_28d"
    model = Scorer(booster, replace(spec, prior="creator_mean"))
    assert model.score(model.matrix([row]), reasons=False).value[0] != out.value[0]


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


def test_a_rolling_origin_backtest_forecasts_each_week_from_the_weeks_before() -> None:
    from kol.settings import MlSettings
    from ml.success import backtest_success, origin_weeks

    rng = np.random.default_rng(1)
    start, days, creators = date(2026, 1, 1), 40, 12
    daily, feats = [], []
    for c in range(creators):
        level = 50.0 * (c + 1)
        series = rng.poisson(level, days).astype(float)
        for d in range(days):
            day = start + timedelta(days=d)
            daily.append(
                {"kol_id": f"c{c}", "date_day": day, "gmv_usd": 0.0, "engagements": series[d]}
            )
            row = {f: np.nan for f in FEATURES}
            row.update(
                kol_id=f"c{c}",
                date_day=day,
                has_shop=0.0,
                followers=level * 100,
                days_since_first_seen=float(d),
                engagements_7d=series[max(0, d - 6) : d + 1].sum(),
                engagements_28d=series[max(0, d - 27) : d + 1].sum(),
            )
            feats.append(row)
    daily_df, feats_df = pd.DataFrame(daily), pd.DataFrame(feats)
    ml = MlSettings(optuna_trials=2, optuna_timeout_s=30, cv_folds=2, num_threads=1)
    o = build_origins(feats_df, daily_df, 7)
    weeks = origin_weeks(o, 7, 3)
    # 33 origin days have a complete 7-day target: the last three 7-day blocks.
    assert weeks == [start + timedelta(days=d) for d in (12, 19, 26)]
    m = backtest_success(feats_df, daily_df, ml, weeks=3)
    # The first week would train on 6 origin days: skipped; two weeks of 12 creators remain.
    assert m["origin_weeks"] == 2.0 and m["all_rows"] == 2 * 7 * creators
    assert m["all_creator_mean_mae"] < m["all_last_week_mae"]  # a stable level: the mean wins
