"""The metrics the models report: classification (trust, the account component) and
regression (success, against the naive forecasts)."""

from __future__ import annotations

import math

import numpy as np


def classification_metrics(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

    y = np.asarray(y, dtype=int)
    p = np.clip(np.asarray(p, dtype="float64"), 1e-9, 1 - 1e-9)
    out: dict[str, float] = {"rows": float(len(y)), "positives": float(y.sum())}
    if 0 < y.sum() < len(y):
        out["roc_auc"] = float(roc_auc_score(y, p))
        out["pr_auc"] = float(average_precision_score(y, p))
        out["log_loss"] = float(log_loss(y, p, labels=[0, 1]))
    out["brier"] = float(brier_score_loss(y, p))
    out["ece"] = expected_calibration_error(y, p, bins)
    out["accuracy"] = float(((p >= 0.5).astype(int) == y).mean())
    return out


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs(p[m].mean() - y[m].mean())
    return float(ece)


def smape(y: np.ndarray, yhat: np.ndarray) -> float:
    """Symmetric MAPE in percent; a pair of zeros counts as a perfect forecast."""
    y, yhat = np.asarray(y, dtype="float64"), np.asarray(yhat, dtype="float64")
    den = np.abs(y) + np.abs(yhat)
    terms = np.where(den == 0, 0.0, 2.0 * np.abs(y - yhat) / np.where(den == 0, 1.0, den))
    return float(100.0 * terms.mean()) if len(y) else math.nan


def regression_metrics(y: np.ndarray, yhat: np.ndarray) -> dict[str, float]:
    y, yhat = np.asarray(y, dtype="float64"), np.asarray(yhat, dtype="float64")
    return {
        "rows": float(len(y)),
        "mae": float(np.abs(y - yhat).mean()) if len(y) else math.nan,
        "smape": smape(y, yhat),
        "mae_log": float(np.abs(np.log1p(y) - np.log1p(np.maximum(yhat, 0))).mean())
        if len(y)
        else math.nan,
    }
