"""Training: tuned LightGBM models and the one classifier recipe.

Plain functions over DataFrames and arrays; MLflow logging and promotion live in
:mod:`ml.registry`, reading Gold in :mod:`ml.features`. :mod:`ml.trust` trains the trust model
with the classifier recipe, :mod:`ml.success` the success model with :func:`tune`, and
:mod:`ml.metrics` holds the metrics both report.

``fit_classifier`` is the one classifier recipe: Optuna searches LightGBM's parameters within a
bounded budget (trials and seconds from settings) on creator-grouped, stratified folds; the
winner's out-of-fold margins fit the calibration map (isotonic with enough rows, else Platt's
sigmoid), so calibration never sees a row its model trained on; the final booster trains on all
rows. The trust model and the external real-data check both use it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kol.settings import MlSettings
from ml.features import frame_matrix
from ml.metrics import classification_metrics
from ml.scoring import TRUST_BANDS, Scorer, ScoreSpec

Folds = list[tuple[np.ndarray, np.ndarray]]


# ---- tuning -----------------------------------------------------------------------------------
def _lgb_params(
    trial: Any, objective: str | tuple[str, ...], seed: int, threads: int
) -> dict[str, Any]:
    if not isinstance(objective, str):  # a choice for Optuna
        objective = trial.suggest_categorical("objective", list(objective))
    return {
        "objective": objective,
        "verbosity": -1,
        "seed": seed,
        "deterministic": True,
        "num_threads": threads,
        "num_leaves": trial.suggest_int("num_leaves", 4, 31),
        "learning_rate": trial.suggest_float("learning_rate", 0.03, 0.3, log=True),
        "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 3, 40),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.5, 1.0),
        "bagging_fraction": trial.suggest_float("bagging_fraction", 0.6, 1.0),
        "bagging_freq": 1,
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 10.0, log=True),
        "num_boost_round": trial.suggest_int("num_boost_round", 40, 300, step=20),
    }


DEFAULTS = {
    "num_leaves": 15,
    "learning_rate": 0.1,
    "min_data_in_leaf": 10,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.9,
    "lambda_l2": 0.1,
    "num_boost_round": 100,
}


def train_booster(
    x: np.ndarray,
    y: np.ndarray,
    params: dict[str, Any],
    features: Sequence[str],
    init: np.ndarray | None = None,
) -> Any:
    """One LightGBM booster; ``init`` is a per-row prior the trees correct (not stored in the
    model: the scorer adds it back, see :class:`ml.scoring.ScoreSpec`)."""
    import lightgbm as lgb

    p = dict(params)
    rounds = int(p.pop("num_boost_round"))
    # Small data: bin on few rows too (min_data_in_leaf is tuned instead).
    ds = lgb.Dataset(
        x,
        label=y,
        init_score=init,
        feature_name=list(features),
        params={"verbosity": -1, "min_data_in_bin": 1},
    )
    return lgb.train(p, ds, num_boost_round=rounds)


@dataclass
class Tuned:
    params: dict[str, Any]
    cv_score: float
    oof: np.ndarray  # out-of-fold raw predictions (margins) of the best parameters
    trials: int
    history: list[dict[str, Any]] = field(default_factory=list)


def tune(
    x: np.ndarray,
    y: np.ndarray,
    folds: Folds,
    features: Sequence[str],
    objective: str | tuple[str, ...],
    loss: Callable[[np.ndarray, np.ndarray, np.ndarray], float],
    ml: MlSettings,
    trials: int | None = None,
    init: np.ndarray | None = None,
) -> Tuned:
    """Optuna (TPE, seeded) over LightGBM parameters, minimising ``loss(y_valid, raw_valid,
    valid_idx)`` averaged over ``folds``; the first trial is the defaults. Budget: ``trials``
    (default ``ml.optuna_trials``) and ``ml.optuna_timeout_s``."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    oofs: dict[int, np.ndarray] = {}

    def objective_fn(trial: Any) -> float:
        params = _lgb_params(trial, objective, ml.seed, ml.num_threads)
        oof = np.full(len(y), np.nan)
        losses = []
        for train_idx, valid_idx in folds:
            booster = train_booster(
                x[train_idx],
                y[train_idx],
                params,
                features,
                None if init is None else init[train_idx],
            )
            raw = booster.predict(x[valid_idx], raw_score=True)
            if init is not None:
                raw = raw + init[valid_idx]
            oof[valid_idx] = raw
            losses.append(loss(y[valid_idx], raw, valid_idx))
        oofs[trial.number] = oof
        return float(np.mean(losses))

    sampler = optuna.samplers.TPESampler(seed=ml.seed)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    study.enqueue_trial(DEFAULTS)
    study.optimize(objective_fn, n_trials=trials or ml.optuna_trials, timeout=ml.optuna_timeout_s)
    best = study.best_trial
    params = _lgb_params(optuna.trial.FixedTrial(best.params), objective, ml.seed, ml.num_threads)
    history = [{"number": t.number, "value": t.value, **t.params} for t in study.trials]
    assert best.value is not None  # a finished trial has its value
    return Tuned(params, float(best.value), oofs[best.number], len(study.trials), history)


# ---- calibration ------------------------------------------------------------------------------
def fit_calibration(margin: np.ndarray, y: np.ndarray, isotonic_min_rows: int) -> dict[str, Any]:
    """A monotone map margin -> P(y=1): isotonic with enough rows, else Platt's sigmoid."""
    ok = ~np.isnan(margin)
    margin, y = margin[ok], y[ok]
    if len(margin) >= isotonic_min_rows and 0 < y.sum() < len(y):
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(margin, y)
        x_knots, y_knots = iso.X_thresholds_, iso.y_thresholds_
        # Keep the probabilities off exact 0/1: a calibrated 0 would claim certainty.
        eps = 1.0 / (len(margin) + 2)
        return {
            "method": "isotonic",
            "x": [float(v) for v in x_knots],
            "y": [float(v) for v in np.clip(y_knots, eps, 1 - eps)],
        }
    from sklearn.linear_model import LogisticRegression

    if 0 < y.sum() < len(y):
        lr = LogisticRegression(C=1.0).fit(margin.reshape(-1, 1), y)
        return {"method": "sigmoid", "a": float(lr.coef_[0, 0]), "b": float(lr.intercept_[0])}
    return {"method": "sigmoid", "a": 1.0, "b": 0.0}


# ---- folds ------------------------------------------------------------------------------------
def grouped_folds(y: np.ndarray, groups: np.ndarray, k: int, seed: int) -> Folds:
    """Stratified folds that keep each creator's rows together (stratified on the creator's
    label); fewer folds when a class has fewer creators than ``k``."""
    from sklearn.model_selection import StratifiedGroupKFold

    creator_label = pd.Series(y).groupby(groups).transform("max").to_numpy()
    per_class = pd.Series(creator_label).groupby(groups).first().value_counts()
    k = int(max(2, min(k, per_class.min() if len(per_class) == 2 else 2)))
    skf = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return [(tr, va) for tr, va in skf.split(np.zeros(len(y)), creator_label, groups)]


def auc_loss(y: np.ndarray, raw: np.ndarray, _: np.ndarray) -> float:
    """1 - ROC AUC, with log loss as a tie-breaker (many folds separate perfectly)."""
    from sklearn.metrics import log_loss, roc_auc_score

    p = 1.0 / (1.0 + np.exp(-raw))
    auc = roc_auc_score(y, raw) if 0 < y.sum() < len(y) else 0.5
    return float((1.0 - auc) + 0.01 * log_loss(y, np.clip(p, 1e-9, 1 - 1e-9), labels=[0, 1]))


# ---- classifier -------------------------------------------------------------------------------
@dataclass
class Classifier:
    booster: Any
    spec: ScoreSpec
    tuned: Tuned
    oof_metrics: dict[str, float]

    def scorer(self, name: str = "", version: str = "") -> Scorer:
        return Scorer(self.booster, self.spec, name, version)


def fit_classifier(
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    features: Sequence[str],
    ml: MlSettings,
    bands: Sequence[tuple[str, float]] = TRUST_BANDS,
    target: str = "P(inauthentic audience)",
) -> Classifier:
    """The classifier recipe (module docstring): tuned, calibrated on out-of-fold margins,
    refit on everything. The result scores through :class:`ml.scoring.Scorer`."""
    y = np.asarray(y, dtype=int)
    if y.sum() == 0 or y.sum() == len(y):
        raise ValueError(f"need both classes to train; got {int(y.sum())} positives of {len(y)}")
    folds = grouped_folds(y, groups, ml.cv_folds, ml.seed)
    tuned = tune(x, y, folds, features, "binary", auc_loss, ml)
    calibration = fit_calibration(tuned.oof, y.astype("float64"), ml.isotonic_min_rows)
    from ml.scoring import calibrate

    oof_metrics = classification_metrics(y, calibrate(tuned.oof, calibration))
    booster = train_booster(x, y, tuned.params, features)
    spec = ScoreSpec(
        kind="trust",
        output="inauthentic_probability",
        features=tuple(features),
        bands=tuple(bands),
        calibration=calibration,
        target=target,
    )
    return Classifier(booster, spec, tuned, oof_metrics)


def score_frame(scorer: Scorer, df: pd.DataFrame, reasons: bool = False) -> Any:
    return scorer.score(frame_matrix(df, scorer.columns), reasons=reasons)
