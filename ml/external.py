"""Real-data check: the trust classifier recipe (:func:`ml.train.fit_classifier`) on the
labelled Instagram fake/genuine accounts (``instagram_fake_spammer``: train.csv / test.csv,
label ``fake``), profile-only features.

Three feature sets, all reported:

* ``platform``: the platform's counters and ``profile_completeness`` (the share of picture,
  full name, bio and external URL present, as dim_kols defines it);
* ``account``: :data:`ml.account.ACCOUNT_FEATURES`, what the account component of trust reads
  (the registered component is trained by :func:`ml.account.train_account`);
* ``account+private``: those plus the private flag, which the platform's public creators lack.

Trained on train.csv only (Optuna on its folds, calibration on out-of-fold margins); ROC AUC and
accuracy (P >= 0.5) on test.csv.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kol.settings import MlSettings
from ml import account
from ml.account import ACCOUNT_FEATURES
from ml.metrics import classification_metrics
from ml.scoring import calibrate
from ml.train import fit_classifier

PLATFORM_FEATURES = (
    "followers",
    "following",
    "posts",
    "followers_log10",
    "follower_following_ratio",
    "profile_completeness",
)
FEATURE_SETS = {
    "platform": PLATFORM_FEATURES,
    "account": ACCOUNT_FEATURES,
    "account+private": (*ACCOUNT_FEATURES, "is_private"),
}


def read_split(path: Path) -> pd.DataFrame:
    """One CSV of the dataset (:func:`ml.account.read_split`) plus ``profile_completeness`` as
    dim_kols defines it: the share of picture, full name, bio and external URL present."""
    df = account.read_split(path)
    parts = pd.concat(
        [
            df["has_profile_pic"] > 0,
            df["fullname_words"] > 0,
            df["bio_length"] > 0,
            df["has_external_url"] > 0,
        ],
        axis=1,
    )
    return df.assign(profile_completeness=parts.mean(axis=1))


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
    feature_sets: tuple[str, ...] = ("platform", "account", "account+private"),
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
