"""Model cards and plots logged with each training run (matplotlib, headless)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def classifier_plots(y: np.ndarray, p: np.ndarray, out: Path, prefix: str) -> dict[str, Path]:
    """ROC curve and reliability diagram of holdout probabilities."""
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import roc_curve

    plt = _plt()
    files: dict[str, Path] = {}
    y = np.asarray(y, dtype=int)
    if 0 < y.sum() < len(y):
        fpr, tpr, _ = roc_curve(y, p)
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
        ax.plot(fpr, tpr, label="model")
        ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="chance")
        ax.set(xlabel="false positive rate", ylabel="true positive rate", title=f"{prefix} ROC")
        ax.legend(loc="lower right")
        files["roc"] = out / f"{prefix}_roc.png"
        fig.savefig(files["roc"], dpi=100, bbox_inches="tight")
        plt.close(fig)
    frac, mean = calibration_curve(y, p, n_bins=10, strategy="quantile")
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(mean, frac, "o-", label="model")
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="perfect")
    ax.set(
        xlabel="predicted P(inauthentic)", ylabel="observed share", title=f"{prefix} calibration"
    )
    ax.legend(loc="upper left")
    files["calibration"] = out / f"{prefix}_calibration.png"
    fig.savefig(files["calibration"], dpi=100, bbox_inches="tight")
    plt.close(fig)
    return files


def importance_plot(booster: Any, out: Path, prefix: str, top: int = 15) -> Path:
    plt = _plt()
    gain = booster.feature_importance(importance_type="gain")
    names = np.asarray(booster.feature_name())
    order = np.argsort(gain)[::-1][:top][::-1]
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(order) + 1))
    ax.barh(names[order], gain[order])
    ax.set(xlabel="total gain", title=f"{prefix}: feature importance")
    path = out / f"{prefix}_importance.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def success_plots(preds: Any, metrics: dict[str, float], out: Path) -> dict[str, Path]:
    """Predicted vs actual (log scale) and MAE of model and baselines per target kind."""
    plt = _plt()
    files = {}
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for kind, g in preds.groupby("target_kind"):
        ax.scatter(np.log1p(g["target"]), np.log1p(g["prediction"].clip(lower=0)), s=6, label=kind)
    lim = [0, float(np.log1p(max(preds["target"].max(), 1)))]
    ax.plot(lim, lim, "k--", lw=0.8)
    ax.set(xlabel="log1p(actual)", ylabel="log1p(predicted)", title="success: backtest")
    ax.legend()
    files["pred_vs_actual"] = out / "success_pred_vs_actual.png"
    fig.savefig(files["pred_vs_actual"], dpi=100, bbox_inches="tight")
    plt.close(fig)
    kinds = [k for k in ("shop", "engagement") if f"{k}_model_mae" in metrics]
    fig, axes = plt.subplots(1, max(1, len(kinds)), figsize=(4.5 * max(1, len(kinds)), 3.5))
    axes = np.atleast_1d(axes)
    for ax, kind in zip(axes, kinds, strict=False):
        names = ["model", "last_week", "creator_mean"]
        ax.bar(names, [metrics[f"{kind}_{n}_mae"] for n in names])
        ax.set(
            title=f"{kind}: MAE on the test weeks",
            ylabel="USD" if kind == "shop" else "engagements",
        )
    files["baselines"] = out / "success_baselines.png"
    fig.savefig(files["baselines"], dpi=100, bbox_inches="tight")
    plt.close(fig)
    return files


def model_card(
    title: str,
    purpose: str,
    data: Sequence[str],
    method: Sequence[str],
    metrics: dict[str, float],
    limitations: Sequence[str],
    features: Sequence[str],
) -> str:
    lines = [
        f"# Model card: {title}",
        "",
        f"Trained {datetime.now(UTC):%Y-%m-%d %H:%M UTC}.",
        "",
        "## Purpose",
        purpose,
        "",
        "## Data",
        *[f"- {d}" for d in data],
        "",
        "## Method",
        *[f"- {m}" for m in method],
        "",
        "## Evaluation",
        "| metric | value |",
        "|---|---|",
        *[f"| {k} | {v:.4g} |" for k, v in sorted(metrics.items())],
        "",
        "## Limitations",
        *[f"- {m}" for m in limitations],
        "",
        "## Features (input order)",
        ", ".join(features),
        "",
    ]
    return "\n".join(lines)
