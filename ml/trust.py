"""The trust model: the classifier recipe (:func:`ml.train.fit_classifier`) on Gold's labelled
feature rows, evaluated on held-out creators.

Creators, not rows, are split between training and holdout (stratified on whether a creator was
ever inauthentic), so no creator is scored by a model that saw one of its days. The holdout is
measured on every day and on each creator's latest day, what batch scoring scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kol.settings import MlSettings
from ml.features import FEATURES, frame_matrix
from ml.metrics import classification_metrics
from ml.train import Classifier, fit_classifier, score_frame


@dataclass
class TrustData:
    rows: pd.DataFrame  # feature rows with label, kol_id, date_day
    train: pd.DataFrame
    holdout: pd.DataFrame


def split_creators(rows: pd.DataFrame, share: float, seed: int) -> tuple[set[str], set[str]]:
    """Creators -> (train, holdout), stratified on the creator's label (ever inauthentic)."""
    creator = rows.groupby("kol_id")["label"].max()
    rng = np.random.default_rng(seed)
    held: set[str] = set()
    for _, ids in creator.groupby(creator):
        ids_list = sorted(ids.index)
        rng.shuffle(ids_list)
        n = (
            min(max(round(share * len(ids_list)), 1), len(ids_list) - 1)
            if len(ids_list) >= 2
            else 0
        )
        held.update(ids_list[:n])
    return set(creator.index) - held, held


def latest_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Each creator's latest day (what batch scoring scores)."""
    return df.sort_values(["kol_id", "date_day"]).groupby("kol_id", as_index=False).tail(1)


@dataclass
class TrustResult:
    classifier: Classifier
    data: TrustData
    metrics: dict[str, float]
    holdout_scores: pd.DataFrame  # kol_id, date_day, label, behaviours, p_inauthentic, trust


def train_trust(rows: pd.DataFrame, ml: MlSettings) -> TrustResult:
    """Labelled feature rows (see :func:`ml.labels.label_rows`) -> calibrated trust model,
    evaluated on held-out creators (every day, and each creator's latest day)."""
    if rows.empty:
        raise ValueError("no labelled feature rows: generate a world or pass labels")
    train_ids, hold_ids = split_creators(rows, ml.holdout_share, ml.seed)
    train = rows[rows["kol_id"].isin(train_ids)].reset_index(drop=True)
    holdout = rows[rows["kol_id"].isin(hold_ids)].reset_index(drop=True)
    if len(train) < ml.min_train_rows:
        raise ValueError(f"{len(train)} training rows; need at least {ml.min_train_rows}")
    x = frame_matrix(train, FEATURES)
    clf = fit_classifier(x, train["label"].to_numpy(), train["kol_id"].to_numpy(), FEATURES, ml)
    metrics = {f"cv_{k}": v for k, v in clf.oof_metrics.items()}
    metrics["cv_objective"] = clf.tuned.cv_score
    scores = score_frame(clf.scorer(), holdout)
    hs = holdout[["kol_id", "date_day", "label", "behaviours"]].assign(
        p_inauthentic=scores.value, trust=scores.scores
    )
    metrics.update({f"holdout_{k}": v for k, v in trust_holdout_metrics(hs).items()})
    return TrustResult(clf, TrustData(rows, train, holdout), metrics, hs)


def trust_holdout_metrics(hs: pd.DataFrame) -> dict[str, float]:
    """Row-level metrics, latest-day (creator) metrics and bought-followers vs genuine AUC."""
    out = classification_metrics(hs["label"].to_numpy(), hs["p_inauthentic"].to_numpy())
    latest = latest_rows(hs)
    out.update(
        {
            f"latest_{k}": v
            for k, v in classification_metrics(
                latest["label"].to_numpy(), latest["p_inauthentic"].to_numpy()
            ).items()
        }
    )
    bought = latest["behaviours"].fillna("").str.contains("bought_followers")
    genuine = latest["label"] == 0
    sel = latest[bought | genuine]
    yb = bought[bought | genuine].astype(int).to_numpy()
    if 0 < yb.sum() < len(yb):
        from sklearn.metrics import roc_auc_score

        # Lower trust for bought-follower creators = higher P(inauthentic).
        out["bought_vs_genuine_auc"] = float(roc_auc_score(yb, -sel["trust"].to_numpy()))
        out["bought_mean_trust"] = float(sel["trust"][yb == 1].mean())
        out["genuine_mean_trust"] = float(sel["trust"][yb == 0].mean())
    return out
