"""What `kol ml train` and the weekly DAG run: read Gold, train, log to MLflow, promote."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kol.settings import MlSettings
from ml import features as F
from ml import labels as L
from ml import registry, report
from ml.features import FEATURES, frame_matrix
from ml.metrics import classification_metrics, regression_metrics
from ml.monitoring import training_reference
from ml.scoring import Scorer
from ml.success import train_success
from ml.trust import train_trust, trust_holdout_metrics

log = logging.getLogger("kol.ml")


@dataclass
class TrainOutcome:
    kind: str
    name: str
    version: str
    run_id: str
    promoted: bool
    reason: str
    metrics: dict[str, float]


def _params(tuned: Any, ml: MlSettings, extra: dict[str, Any]) -> dict[str, Any]:
    p = {f"lgb_{k}": v for k, v in tuned.params.items() if k not in ("verbosity",)}
    p.update(
        {
            "optuna_trials": tuned.trials,
            "optuna_budget_trials": ml.optuna_trials,
            "optuna_timeout_s": ml.optuna_timeout_s,
            "seed": ml.seed,
            "n_features": len(FEATURES),
            **extra,
        }
    )
    return p


def train_trust_model(
    ml: MlSettings,
    features: pd.DataFrame | None = None,
    labels: pd.DataFrame | None = None,
    start: date | None = None,
    end: date | None = None,
) -> TrainOutcome:
    features = F.read_features(ml, start, end) if features is None else features
    if labels is None:
        labels = L.load_labels(ml.label_files, ml.labels_csv)
    rows = L.label_rows(features, labels)
    log.info("trust: %d labelled rows of %d creators", len(rows), rows["kol_id"].nunique())
    result = train_trust(rows, ml)
    clf, hs = result.classifier, result.holdout_scores
    holdout = result.data.holdout
    x_hold = frame_matrix(holdout, FEATURES)

    def compare(champion: Scorer) -> dict[str, float]:
        s = champion.score(frame_matrix(holdout, champion.columns), reasons=False)
        m = trust_holdout_metrics(hs.assign(p_inauthentic=s.value, trust=s.scores))
        return {"roc_auc": m.get("roc_auc", float("nan")), "brier": m["brier"]}

    challenger = {
        "roc_auc": result.metrics.get("holdout_roc_auc", float("nan")),
        "brier": result.metrics["holdout_brier"],
    }
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        files = report.classifier_plots(
            hs["label"].to_numpy(), hs["p_inauthentic"].to_numpy(), out, "trust"
        )
        files["importance"] = report.importance_plot(clf.booster, out, "trust")
        card = report.model_card(
            "kol_trust",
            "Probability that a creator's audience is inauthentic (bought followers, engagement "
            "pods); trust = 100 x (1 - calibrated probability), labels Highly Trusted >= 80, "
            "Trusted >= 60, Moderate >= 40, Low Trust >= 20, Untrusted below.",
            [
                f"{len(rows)} creator-days of {rows['kol_id'].nunique()} labelled creators from "
                f"{ml.gold}.{ml.features_table} "
                f"({rows['date_day'].min()} .. {rows['date_day'].max()})",
                f"labels: generator ground truth ({len(ml.label_files)} files) + user CSVs "
                f"{[str(p) for p in ml.labels_csv]}; {int(rows['label'].sum())} inauthentic rows",
                f"holdout: {len(result.data.holdout)} rows of "
                f"{result.data.holdout['kol_id'].nunique()} creators never seen in training",
            ],
            [
                f"LightGBM, Optuna ({clf.tuned.trials} trials, creator-grouped stratified CV)",
                f"calibration: {(clf.spec.calibration or {}).get('method', 'none')} "
                "on out-of-fold margins",
                "explanations: LightGBM SHAP contributions (pred_contrib)",
            ],
            result.metrics,
            [
                "Labels are mostly simulated behaviours; real fraud patterns differ.",
                "Bought followers before the purchase day are labelled genuine.",
                "Champion comparison uses this run's holdout; an older champion may have trained "
                "on some of those creators (which favours the champion).",
            ],
            FEATURES,
        )
        reg = registry.log_model_run(
            ml,
            experiment=ml.trust_experiment,
            model_name=ml.trust_model_name,
            booster=clf.booster,
            spec=clf.spec,
            params=_params(
                clf.tuned,
                ml,
                {
                    "calibration": (clf.spec.calibration or {}).get("method"),
                    "holdout_share": ml.holdout_share,
                },
            ),
            metrics=result.metrics,
            artifacts={
                "model_card.md": card,
                "features.json": list(FEATURES),
                "optuna_trials.json": clf.tuned.history,
                "calibration.json": clf.spec.calibration,
                "holdout_scores.csv": hs.to_csv(index=False),
            },
            files=files,
            input_example=pd.DataFrame(x_hold[:5], columns=list(FEATURES)),
            compare=compare,
            challenger_metrics=challenger,
            promotion=registry.TRUST_PROMOTION,
            reference=training_reference(result.data.train, FEATURES, ml.drift_bins),
        )
    return TrainOutcome(
        "trust",
        reg.name,
        reg.version,
        reg.run_id,
        reg.promoted,
        reg.decision.reason,
        result.metrics,
    )


def train_success_model(
    ml: MlSettings,
    features: pd.DataFrame | None = None,
    daily: pd.DataFrame | None = None,
    start: date | None = None,
    end: date | None = None,
) -> TrainOutcome:
    features = F.read_features(ml, start, end) if features is None else features
    daily = F.read_daily_outcomes(ml, start, end) if daily is None else daily
    result = train_success(features, daily, ml)
    test = result.data.test

    def compare(champion: Scorer) -> dict[str, float]:
        s = champion.score(frame_matrix(test, champion.columns), reasons=False)
        m = regression_metrics(test["target"].to_numpy(), s.value)
        return {"mae_log": m["mae_log"], "smape": m["smape"]}

    # What this version serves (the model, or the naive forecast that beat it) is what is
    # compared with the champion.
    challenger = {
        "mae_log": result.metrics["holdout_mae_log"],
        "smape": result.metrics["served_smape"],
    }
    forecast = result.spec.forecast
    served = (
        "the model"
        if forecast == "model"
        else f"the naive forecast `{forecast}` (the model did not beat it on the backtest)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        files = report.success_plots(result.test_predictions, result.metrics, out)
        files["importance"] = report.importance_plot(result.booster, out, "success")
        card = report.model_card(
            "kol_success",
            f"Predicts a creator's next {ml.success_horizon_days} days of shop sales (USD; "
            "creators with a shop) or engagements (likes + comments + shares; the others); the "
            "score is the prediction's percentile among training creators of the same kind "
            "(Excellent >= 80, Strong >= 60, Average >= 40, Weak >= 20, Poor below).",
            [
                f"{len(result.data.train)} training origins before "
                f"{result.data.test_start} - {ml.success_horizon_days} days; "
                f"{len(test)} test origins from {result.data.test_start}",
                f"{ml.gold}.{ml.features_table}; targets from fct_product_sales_daily and "
                "fct_kol_daily",
            ],
            [
                f"serves {served}: backtest MAE "
                + ", ".join(
                    f"{name} {result.metrics.get(f'all_{key}_mae', float('nan')):.1f}"
                    for name, key in (
                        ("model", "model"),
                        ("last week", "last_week"),
                        ("creator mean", "creator_mean"),
                    )
                ),
                "LightGBM regression on log1p(target), learning a correction to the naive prior "
                "log1p(the creator's mean per day over up to 28 days x horizon) (init score)",
                f"Optuna ({result.tuned.trials} trials) on expanding-window time folds",
                "time-based backtest against last week's value and the creator's running mean",
            ],
            result.metrics,
            [
                "Short simulated histories: the backtest covers few weeks.",
                "Sales and engagement creators share one model; scores are percentiles within "
                "each kind, so they are not comparable across kinds in absolute units.",
            ],
            FEATURES,
        )
        reg = registry.log_model_run(
            ml,
            experiment=ml.success_experiment,
            model_name=ml.success_model_name,
            booster=result.booster,
            spec=result.spec,
            params=_params(
                result.tuned,
                ml,
                {
                    "horizon_days": ml.success_horizon_days,
                    "test_start": str(result.data.test_start),
                    "forecast": forecast,
                    "prior": result.spec.prior,
                },
            ),
            metrics=result.metrics,
            artifacts={
                "model_card.md": card,
                "features.json": list(FEATURES),
                "optuna_trials.json": result.tuned.history,
                "backtest_predictions.csv": result.test_predictions.to_csv(index=False),
            },
            files=files,
            input_example=pd.DataFrame(frame_matrix(test, FEATURES)[:5], columns=list(FEATURES)),
            compare=compare,
            challenger_metrics=challenger,
            promotion=registry.SUCCESS_PROMOTION,
            reference=training_reference(result.data.train, FEATURES, ml.drift_bins),
            tags={"kol.forecast": forecast},
        )
    return TrainOutcome(
        "success",
        reg.name,
        reg.version,
        reg.run_id,
        reg.promoted,
        f"{reg.decision.reason}; serves {result.spec.basis}",
        result.metrics,
    )


def train_account_model(ml: MlSettings) -> TrainOutcome:
    """The account component: trained on the real labelled accounts' train split, validated on
    their test split, registered as ``KOL_ML_ACCOUNT_MODEL_NAME``. A challenger is compared with
    the champion on the same test split."""
    from ml.account import ACCOUNT_FEATURES, read_split, train_account

    result = train_account(ml)
    clf = result.classifier
    test = read_split(ml.external_dir / "test.csv")
    x_test = test[list(ACCOUNT_FEATURES)].to_numpy(dtype="float64")

    def compare(champion: Scorer) -> dict[str, float]:
        s = champion.score(test[champion.columns].to_numpy(dtype="float64"), reasons=False)
        m = classification_metrics(test["label"].to_numpy(), s.value)
        return {"roc_auc": m["roc_auc"], "brier": m["brier"]}

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        files = report.classifier_plots(
            test["label"].to_numpy(), result.test_scores["p_fake"].to_numpy(), out, "account"
        )
        files["importance"] = report.importance_plot(clf.booster, out, "account")
        card = report.model_card(
            ml.account_model_name,
            "The account component of trust: the probability that a profile is a fake or spam "
            "account, from the profile's own fields (counters, picture, username and full name "
            "digits and words, bio length and link); account score = 100 x (1 - probability), "
            "labels Genuine account >= 60, Uncertain account >= 40, Likely fake account below. "
            "It says nothing about the audience (bought followers, pods): that is the audience "
            "component.",
            [
                f"real labelled Instagram accounts (instagram_fake_spammer, {ml.external_dir}): "
                f"{result.train_rows} train rows (balanced), validated on the "
                f"{result.test_rows} rows of its test split, never used in training",
                "the platform's creators are scored from their profile events' fields through "
                "ml.account.account_features, the same definitions as the dataset's columns",
            ],
            [
                f"LightGBM, Optuna ({clf.tuned.trials} trials, stratified CV on the train split)",
                f"calibration: {(clf.spec.calibration or {}).get('method', 'none')} "
                "on out-of-fold margins",
            ],
            result.metrics,
            [
                "One small dataset of Instagram accounts of unknown date and sampling; TikTok "
                "and YouTube profiles may differ.",
                "The dataset's private flag is not used: the platform's creators are public.",
            ],
            ACCOUNT_FEATURES,
        )
        reg = registry.log_model_run(
            ml,
            experiment=ml.account_experiment,
            model_name=ml.account_model_name,
            booster=clf.booster,
            spec=clf.spec,
            params=_params(
                clf.tuned,
                ml,
                {
                    "n_features": len(ACCOUNT_FEATURES),
                    "calibration": (clf.spec.calibration or {}).get("method"),
                    "dataset": "instagram_fake_spammer",
                },
            ),
            metrics=result.metrics,
            artifacts={
                "model_card.md": card,
                "features.json": list(ACCOUNT_FEATURES),
                "optuna_trials.json": clf.tuned.history,
                "test_scores.csv": result.test_scores.to_csv(index=False),
            },
            files=files,
            input_example=pd.DataFrame(x_test[:5], columns=list(ACCOUNT_FEATURES)),
            compare=compare,
            challenger_metrics={
                "roc_auc": result.metrics["test_roc_auc"],
                "brier": result.metrics["test_brier"],
            },
            promotion=registry.TRUST_PROMOTION,
            tags={"kol.component": "account", "kol.dataset": "instagram_fake_spammer"},
        )
    return TrainOutcome(
        "account",
        reg.name,
        reg.version,
        reg.run_id,
        reg.promoted,
        reg.decision.reason,
        result.metrics,
    )


def train_all(
    ml: MlSettings,
    models: tuple[str, ...] = ("trust", "success"),
    start: date | None = None,
    end: date | None = None,
) -> list[TrainOutcome]:
    out = []
    if "account" in models:  # from the real labelled accounts, not Gold
        out.append(train_account_model(ml))
    if not {"trust", "success"} & set(models):
        return out
    features = F.read_features(ml, start, end)
    if features.empty:
        raise ValueError(f"{ml.gold}.{ml.features_table} has no rows in [{start}, {end})")
    if "trust" in models:
        out.append(train_trust_model(ml, features))
    if "success" in models:
        out.append(train_success_model(ml, features, start=start, end=end))
    return out


def metrics_summary(outcome: TrainOutcome, keys: tuple[str, ...]) -> dict[str, float]:
    return {
        k: round(outcome.metrics[k], 4)
        for k in keys
        if k in outcome.metrics and np.isfinite(outcome.metrics[k])
    }


__all__ = [
    "TrainOutcome",
    "classification_metrics",
    "metrics_summary",
    "train_account_model",
    "train_all",
    "train_success_model",
    "train_trust_model",
]
