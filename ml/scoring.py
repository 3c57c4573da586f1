"""The one scoring function: model output -> 0-100 score, label and reasons.

Training (holdout evaluation), batch scoring, the API and the stream all score through
:class:`Scorer`, so a creator gets the same score, to the last digit, whichever path asked.

A model carries its own :class:`ScoreSpec` (MLflow model metadata ``kol_score_spec``): which
features it reads, in which order, and how its raw output becomes a score:

* ``inauthentic_probability`` (trust): LightGBM's margin is the log-odds that the creator's
  audience is inauthentic; a monotone calibration map (isotonic or sigmoid, fitted on
  out-of-fold predictions) turns it into a probability ``p``; **trust = 100 * (1 - p)**, so high
  means trustworthy. Reasons: SHAP contributions with the sign flipped (positive raises trust).
* ``log_target`` (success): the model predicts ``log1p`` of next week's sales (shop creators) or
  engagements (the others); the score is the prediction's percentile among the training
  creators of the same kind (quantile anchors stored with the model).
* ``scaled`` (models registered without a spec): prediction (last column of class
  probabilities) x ``scale``, clipped to 0-100.

Scores are rounded to 2 decimals here and nowhere else.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ml.features import FEATURES, NAIVE_FORECASTS, log_prior, matrix

TRUST_BANDS: tuple[tuple[str, float], ...] = (
    ("Highly Trusted", 80.0),
    ("Trusted", 60.0),
    ("Moderate", 40.0),
    ("Low Trust", 20.0),
    ("Untrusted", 0.0),
)
SUCCESS_BANDS: tuple[tuple[str, float], ...] = (
    ("Excellent", 80.0),
    ("Strong", 60.0),
    ("Average", 40.0),
    ("Weak", 20.0),
    ("Poor", 0.0),
)
SPEC_KEY = "kol_score_spec"
# The features' training distribution (ml.monitoring), next to the spec in the model metadata.
REFERENCE_KEY = "kol_feature_reference"
SHOP, ENGAGEMENT = "shop", "engagement"


def band_label(score: float | None, bands: Sequence[tuple[str, float]]) -> str | None:
    """The first band (highest first) whose lower bound the score reaches."""
    if score is None or (isinstance(score, float) and math.isnan(score)):
        return None
    for label, lower in bands:
        if score >= lower:
            return label
    return bands[-1][0] if bands else None


def labels_for(scores: np.ndarray, bands: Sequence[tuple[str, float]]) -> list[str | None]:
    return [band_label(float(s), bands) for s in scores]


# Trust's components (see ml.account): the audience's behaviour over time (the kol_trust model on
# Gold's windowed features, trained on the generator's labels) and the account's profile fields
# (kol_trust_account, trained on real labelled accounts).
AUDIENCE, ACCOUNT = "audience", "account"


def combine_trust(
    audience: np.ndarray, account: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """Component scores (NaN = not scored) -> (trust, which component set it, basis).

    Trust rests on its weakest known component: a fake account or an inauthentic audience
    each makes a creator untrustworthy, and a clean profile must not average bought followers
    away. Ties go to the audience. Basis: ``audience+account``, ``audience``, ``account`` or
    None (no component)."""
    audience = np.asarray(audience, dtype="float64")
    account = np.asarray(account, dtype="float64")
    use_account = ~np.isnan(account) & (np.isnan(audience) | (account < audience))
    trust = np.where(use_account, account, audience)
    setter = np.where(use_account, ACCOUNT, AUDIENCE)
    basis: list[str | None] = []
    for a, b in zip(np.isnan(audience).tolist(), np.isnan(account).tolist(), strict=True):
        parts = [n for n, missing in ((AUDIENCE, a), (ACCOUNT, b)) if not missing]
        basis.append("+".join(parts) or None)
    return trust, setter, basis


@dataclass(frozen=True)
class ScoreSpec:
    kind: str  # trust | success | generic
    output: str  # inauthentic_probability | log_target | scaled
    features: tuple[str, ...] = FEATURES
    bands: tuple[tuple[str, float], ...] = ()
    # Over the raw margin: {"method": "isotonic", "x": [...], "y": [...]} or
    # {"method": "sigmoid", "a": a, "b": b} (p = 1 / (1 + exp(-(a * margin + b)))).
    calibration: dict[str, Any] | None = None
    # log_target: quantiles (equally spaced probabilities) of the predictions per target kind.
    anchors: dict[str, list[float]] = field(default_factory=dict)
    scale: float = 100.0
    target: str = ""  # what the model predicts, for people
    # log_target: the model learns a correction to a naive prior, log1p of the creator's
    # recent value (see :func:`ml.features.recent_value`) over ``horizon_days``; the prior's
    # typical value per kind (``base_center``) makes its part of the explanation.
    horizon_days: int = 0
    base_center: dict[str, float] = field(default_factory=dict)
    # log_target: which naive forecast is the prior (ml.features.naive_forecast; models trained
    # before the level features used ``recent``), and what is served: ``model`` (prior + the
    # booster's correction) or, while the model does not beat it on the backtest, the best
    # naive forecast itself (``last_week`` or ``creator_mean``; the booster is then not used).
    prior: str = "recent"
    forecast: str = "model"

    @property
    def basis(self) -> str:
        """What the score rests on: ``model``, or ``naive:<forecast>``."""
        return "model" if self.forecast == "model" else f"naive:{self.forecast}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["features"] = list(self.features)
        d["bands"] = [list(b) for b in self.bands]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ScoreSpec:
        return cls(
            kind=str(d["kind"]),
            output=str(d["output"]),
            features=tuple(d.get("features") or FEATURES),
            bands=tuple((str(a), float(b)) for a, b in d.get("bands") or ()),
            calibration=d.get("calibration"),
            anchors={k: [float(x) for x in v] for k, v in (d.get("anchors") or {}).items()},
            scale=float(d.get("scale", 100.0)),
            target=str(d.get("target", "")),
            horizon_days=int(d.get("horizon_days", 0)),
            base_center={k: float(v) for k, v in (d.get("base_center") or {}).items()},
            prior=str(d.get("prior", "recent")),
            forecast=str(d.get("forecast", "model")),
        )


def calibrate(margin: np.ndarray, calibration: dict[str, Any] | None) -> np.ndarray:
    """Raw log-odds -> calibrated probability (plain sigmoid without a calibration map)."""
    margin = np.asarray(margin, dtype="float64")
    if not calibration:
        return 1.0 / (1.0 + np.exp(-margin))
    method = calibration["method"]
    if method == "isotonic":
        x = np.asarray(calibration["x"], dtype="float64")
        y = np.asarray(calibration["y"], dtype="float64")
        return np.interp(margin, x, y)  # flat outside the fitted range, as isotonic clips
    if method == "sigmoid":
        return 1.0 / (1.0 + np.exp(-(calibration["a"] * margin + calibration["b"])))
    raise ValueError(f"unknown calibration method {method!r}")


def percentile_score(pred: np.ndarray, anchors: Sequence[float]) -> np.ndarray:
    """Prediction -> 0-100: its position among the anchors (quantiles of the training
    predictions), linear between anchors, 0 / 100 outside."""
    a = np.asarray(anchors, dtype="float64")
    if len(a) < 2 or a[-1] <= a[0]:
        return np.full(len(pred), 50.0)
    # Ties in the anchors (many zero predictions) would make interp jump: keep the first of each.
    keep = np.concatenate([[True], np.diff(a) > 0])
    probs = np.linspace(0.0, 100.0, len(a))
    return np.interp(pred, a[keep], probs[keep])


@dataclass
class Scored:
    scores: np.ndarray  # 0-100, rounded to 2 decimals
    value: np.ndarray  # trust: P(inauthentic); success: predicted next-week value; else raw
    contributions: np.ndarray | None  # (n, features): effect on the score's direction
    labels: list[str | None]


class Scorer:
    """A LightGBM booster plus its :class:`ScoreSpec`."""

    def __init__(
        self,
        booster: Any,
        spec: ScoreSpec,
        name: str = "",
        version: str = "",
        reference: dict[str, Any] | None = None,
    ) -> None:
        self.booster = booster
        self.spec = spec
        self.name, self.version = name, version
        # The training distribution of the features (ml.monitoring.reference); None for a
        # model trained before drift monitoring.
        self.reference = reference
        names = list(booster.feature_name())
        if spec.kind != "generic" and names != list(spec.features):
            raise ValueError(
                f"model {name} v{version}: booster features {names} differ from its spec"
            )
        self.columns: list[str] = list(spec.features) if spec.kind != "generic" else names
        self.has_shop_col = self.columns.index("has_shop") if "has_shop" in self.columns else None

    # ---- the matrix -------------------------------------------------------------------------
    def matrix(self, rows: Sequence[Any]) -> np.ndarray:
        return matrix(rows, self.columns)

    # ---- scoring ----------------------------------------------------------------------------
    def score(self, m: np.ndarray, reasons: bool = True, threads: int = 1) -> Scored:
        spec = self.spec
        m = np.ascontiguousarray(m, dtype="float64")
        contrib: np.ndarray | None = None
        if reasons:
            full = np.asarray(
                self.booster.predict(m, pred_contrib=True, num_threads=threads), dtype="float64"
            )
            contrib = full[:, :-1] if full.ndim == 2 and full.shape[1] == m.shape[1] + 1 else None
        if spec.output == "inauthentic_probability":
            margin = self.booster.predict(m, raw_score=True, num_threads=threads)
            value = calibrate(margin, spec.calibration)
            scores = 100.0 * (1.0 - value)
            if contrib is not None:
                contrib = -contrib  # a push towards "inauthentic" lowers trust
        elif spec.output == "log_target":
            shop = self.shop_mask(m)
            if spec.forecast != "model":  # the naive forecast is served: no model part
                pred = log_prior(m, self.columns, spec.horizon_days, spec.forecast)
                if contrib is not None:
                    contrib = np.zeros_like(contrib)
                    self._attribute_prior(contrib, pred, shop, spec.forecast)
            else:
                pred = np.asarray(self.booster.predict(m, num_threads=threads), dtype="float64")
                if spec.horizon_days:
                    base = log_prior(m, self.columns, spec.horizon_days, spec.prior)
                    pred = pred + base
                    if contrib is not None:
                        self._attribute_prior(contrib, base, shop, spec.prior)
            scores = np.empty(len(pred))
            for kind, mask in ((SHOP, shop), (ENGAGEMENT, ~shop)):
                if mask.any():
                    scores[mask] = percentile_score(pred[mask], spec.anchors.get(kind, []))
            value = np.expm1(np.maximum(pred, 0.0))  # a forecast below zero means none
        else:  # scaled
            raw = np.asarray(self.booster.predict(m, num_threads=threads), dtype="float64")
            value = raw[:, -1] if raw.ndim == 2 else raw
            scores = value * spec.scale
            if contrib is not None and spec.scale < 0:
                contrib = -contrib
        scores = np.round(np.clip(scores, 0.0, 100.0), 2).astype("float64")
        return Scored(scores, value, contrib, labels_for(scores, spec.bands))

    def _attribute_prior(
        self, contrib: np.ndarray, base: np.ndarray, shop: np.ndarray, prior: str
    ) -> None:
        """The prior's distance from its typical value, credited to the feature it comes from
        (sales for shop creators, engagements or views for the others)."""
        _, shop_col, other_col = NAIVE_FORECASTS.get(prior, (7, "gmv_usd_7d", "views_gained_7d"))
        for kind, mask, col in ((SHOP, shop, shop_col), (ENGAGEMENT, ~shop, other_col)):
            if col in self.columns and mask.any():
                center = self.spec.base_center.get(kind, 0.0)
                contrib[mask, self.columns.index(col)] += base[mask] - center

    def shop_mask(self, m: np.ndarray) -> np.ndarray:
        if self.has_shop_col is None:
            return np.zeros(len(m), dtype=bool)
        return np.nan_to_num(m[:, self.has_shop_col]) > 0.5

    def reasons(self, m: np.ndarray, scored: Scored, n: int) -> list[list[dict[str, Any]]]:
        """Each row's :func:`top_reasons`, ranked for all rows at once."""
        if scored.contributions is None or n == 0:
            return [[] for _ in range(len(m))]
        c = scored.contributions
        order = np.argsort(-np.abs(c), axis=1, kind="stable")[:, :n]
        rows = np.arange(len(m))[:, None]
        effects, values = c[rows, order].tolist(), m[rows, order].tolist()
        names = self.columns
        return [
            [_reason(names[j], v, e) for j, v, e in zip(o, vs, es, strict=True) if e != 0.0]
            for o, vs, es in zip(order.tolist(), values, effects, strict=True)
        ]


def _reason(name: str, v: float, c: float) -> dict[str, Any]:
    shown = "unknown" if math.isnan(v) else f"{v:.4g}"
    return {
        "factor": name,
        "value": None if math.isnan(v) else v,
        "effect": round(c, 6),
        "text": f"{name} = {shown} {'raises' if c > 0 else 'lowers'} the score",
    }


def top_reasons(
    names: Sequence[str], values: np.ndarray, contrib: np.ndarray, n: int
) -> list[dict[str, Any]]:
    """The ``n`` features that moved one score most (by absolute contribution; positive
    ``effect`` raises the score)."""
    order = np.argsort(-np.abs(contrib), kind="stable")[:n]
    return [
        _reason(names[i], float(values[i]), float(contrib[i])) for i in order if contrib[i] != 0.0
    ]


# ---- loading from MLflow ----------------------------------------------------------------------
def spec_from_metadata(metadata: dict[str, Any] | None) -> ScoreSpec | None:
    raw = (metadata or {}).get(SPEC_KEY)
    return ScoreSpec.from_dict(raw) if raw else None


def load_scorer(tracking_uri: str, name: str, alias_or_version: str) -> Scorer:
    """``models:/<name>@<alias>`` (or ``/<version>``) as a :class:`Scorer`; the version is
    resolved first, so a move of the alias during the load cannot mix versions."""
    import os

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    if alias_or_version.isdigit():
        version = alias_or_version
    else:
        version = str(client.get_model_version_by_alias(name, alias_or_version).version)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    uri = f"models:/{name}/{version}"
    info = mlflow.models.get_model_info(uri)
    spec = spec_from_metadata(info.metadata)
    if spec is None:
        raise ValueError(f"{name} v{version} has no {SPEC_KEY} metadata (not trained by ml.train)")
    booster = mlflow.lightgbm.load_model(uri)
    booster = getattr(booster, "booster_", booster)
    reference = (info.metadata or {}).get(REFERENCE_KEY)
    return Scorer(booster, spec, name, version, reference=reference or None)
