"""One scoring run measured: each scored model's score summary and feature drift (no I/O)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from kol.settings import MlSettings
from ml.monitoring.drift import FeatureDrift, drift, max_drift

log = logging.getLogger("kol.ml")

QUANTILES: tuple[tuple[str, float], ...] = (
    ("p05", 0.05),
    ("p25", 0.25),
    ("p50", 0.50),
    ("p75", 0.75),
    ("p95", 0.95),
)


def score_summary(scores: Any, bands: Sequence[tuple[str, float]] = ()) -> dict[str, Any]:
    """Count, mean, std, min/max, quantiles (``p05`` .. ``p95``) of the non-missing scores and
    the share of them per band (``bands``: label and lower bound, highest first)."""
    from ml.scoring import band_label

    s = pd.to_numeric(pd.Series(scores, dtype="object"), errors="coerce").to_numpy(dtype=float)
    rows = len(s)
    s = s[~np.isnan(s)]
    out: dict[str, Any] = {"rows": rows, "scored": len(s)}
    if len(s):
        out.update(mean=float(s.mean()), std=float(s.std()), min=float(s.min()))
        out.update({k: float(np.quantile(s, q)) for k, q in QUANTILES})
        out["max"] = float(s.max())
    else:
        out.update({k: None for k in ("mean", "std", "min", *dict(QUANTILES), "max")})
    labels = pd.Series([band_label(float(x), bands) for x in s], dtype="object")
    out["bands"] = {
        label: (float((labels == label).mean()) if len(s) else 0.0) for label, _ in bands
    }
    return out


@dataclass
class ModelMonitoring:
    kind: str
    model: str
    version: str
    scores: dict[str, Any]
    drift: list[FeatureDrift] = field(default_factory=list)
    reference_rows: int | None = None  # None: the model has no reference (drift skipped)
    psi_max: float | None = None
    psi_max_feature: str | None = None
    drifted: int = 0  # features at or above the threshold
    run_id: str | None = None  # MLflow


@dataclass
class Monitoring:
    day: date
    models: dict[str, ModelMonitoring] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def psi_max(self) -> dict[str, float | None]:
        return {
            k: (None if m.psi_max is None else round(m.psi_max, 4)) for k, m in self.models.items()
        }


def measure(
    ml: MlSettings,
    day: date,
    features: pd.DataFrame,
    rows: pd.DataFrame,
    scorers: Mapping[str, Any],
) -> Monitoring:
    """Pure: the score summary and feature drift of each scored model (no I/O)."""
    from ml.features import frame_matrix

    mon = Monitoring(day)
    for kind, scorer in scorers.items():
        if scorer is None or f"{kind}_score" not in rows:
            continue
        mm = ModelMonitoring(
            kind,
            scorer.name,
            str(scorer.version),
            score_summary(rows[f"{kind}_score"].to_numpy(), scorer.spec.bands),
        )
        ref = getattr(scorer, "reference", None)
        if not ref:
            log.info(
                "monitoring %s: %s v%s has no feature reference (trained before drift "
                "monitoring): drift skipped",
                day,
                scorer.name,
                scorer.version,
            )
        else:
            cols = [c for c in scorer.columns if c in ref.get("features", {})]
            mm.drift = drift(ref, frame_matrix(features, cols), cols)
            mm.reference_rows = int(ref.get("rows") or 0)
            mm.psi_max, mm.psi_max_feature = max_drift(mm.drift, ml.drift_ignore_features)
            mm.drifted = sum(
                d.psi >= ml.drift_psi_threshold
                for d in mm.drift
                if d.feature not in ml.drift_ignore_features
            )
        mon.models[kind] = mm
    return mon
