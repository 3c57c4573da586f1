"""Real-data check: the trust classifier recipe (:func:`ml.train.fit_classifier`) on the
labelled Instagram fake/genuine accounts (``instagram_fake_spammer``: train.csv / test.csv,
label ``fake``), profile-only features.

Two feature sets, both reported:

* ``platform``: the platform's own profile features (:data:`ml.features.PROFILE_FEATURES`
  that the dataset has), computed by :func:`ml.features.profile_features`, the dbt formulas;
  ``profile_completeness`` is the share of picture, full name, bio and external URL present,
  as dim_kols defines it;
* ``profile``: those plus the dataset's other profile fields (digits in the username and full
  name, words in the full name, name == username, bio length, private).

Trained on train.csv only (Optuna on its folds, calibration on out-of-fold margins); ROC AUC and
accuracy (P >= 0.5) on test.csv.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml.features import profile_features
from ml.scoring import calibrate
from ml.settings import MlSettings
from ml.train import classification_metrics, fit_classifier

PLATFORM_FEATURES = (
    "followers",
    "following",
    "posts",
    "followers_log10",
    "follower_following_ratio",
    "profile_completeness",
)
EXTRA_FEATURES = (
    "username_digit_share",
    "fullname_words",
    "fullname_digit_share",
    "name_equals_username",
    "bio_length",
    "is_private",
)
FEATURE_SETS = {"platform": PLATFORM_FEATURES, "profile": PLATFORM_FEATURES + EXTRA_FEATURES}


def read_split(path: Path) -> pd.DataFrame:
    """One CSV of the dataset -> our feature names plus ``label`` (1 = fake)."""
    raw = pd.read_csv(path, encoding="utf-8-sig")
    raw.columns = [c.strip() for c in raw.columns]
    rows = []
    for r in raw.to_dict("records"):
        completeness = np.mean(
            [
                r["profile pic"] > 0,
                r["fullname words"] > 0,
                r["description length"] > 0,
                r["external URL"] > 0,
            ]
        )
        p = profile_features(
            followers=float(r["#followers"]),
            following=float(r["#follows"]),
            posts=float(r["#posts"]),
            profile_completeness=float(completeness),
        )
        rows.append(
            {
                **{k: p[k] for k in PLATFORM_FEATURES},
                "username_digit_share": float(r["nums/length username"]),
                "fullname_words": float(r["fullname words"]),
                "fullname_digit_share": float(r["nums/length fullname"]),
                "name_equals_username": float(r["name==username"]),
                "bio_length": float(r["description length"]),
                "is_private": float(r["private"]),
                "label": int(r["fake"]),
            }
        )
    return pd.DataFrame(rows).astype("float64").astype({"label": int})


@dataclass
class ExternalResult:
    feature_set: str
    features: tuple[str, ...]
    train_rows: int
    test_rows: int
    test_metrics: dict[str, float]
    cv_metrics: dict[str, float]
    params: dict[str, Any]
    calibration: str


def evaluate(
    ml: MlSettings,
    data_dir: Path | None = None,
    feature_sets: tuple[str, ...] = ("platform", "profile"),
) -> list[ExternalResult]:
    folder = data_dir or ml.external_dir
    train, test = read_split(folder / "train.csv"), read_split(folder / "test.csv")
    out = []
    for name in feature_sets:
        cols = FEATURE_SETS[name]
        x = train[list(cols)].to_numpy(dtype="float64")
        clf = fit_classifier(
            x,
            train["label"].to_numpy(),
            np.arange(len(train)),
            cols,
            ml,
            target="P(fake account)",
        )
        xt = test[list(cols)].to_numpy(dtype="float64")
        p = calibrate(clf.booster.predict(xt, raw_score=True), clf.spec.calibration)
        out.append(
            ExternalResult(
                name,
                cols,
                len(train),
                len(test),
                classification_metrics(test["label"].to_numpy(), p),
                clf.oof_metrics,
                clf.tuned.params,
                (clf.spec.calibration or {}).get("method", "none"),
            )
        )
    return out


def log_to_mlflow(ml: MlSettings, results: list[ExternalResult]) -> str:
    """One MLflow run with both feature sets' metrics (no model is registered)."""
    import mlflow

    from ml.registry import mlflow_client

    mlflow_client(ml)
    mlflow.set_experiment(ml.external_experiment)
    with mlflow.start_run() as run:
        mlflow.set_tags({"kol.dataset": "instagram_fake_spammer"})
        for r in results:
            mlflow.log_metrics({f"{r.feature_set}_test_{k}": v for k, v in r.test_metrics.items()})
            mlflow.log_metrics({f"{r.feature_set}_cv_{k}": v for k, v in r.cv_metrics.items()})
            mlflow.log_dict(
                {"features": list(r.features), "params": r.params, "calibration": r.calibration},
                f"{r.feature_set}.json",
            )
        return str(run.info.run_id)
