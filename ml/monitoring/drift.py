"""Feature drift: each feature's training distribution (the reference stored with the model)
and the population stability index (PSI) of new values against it.

See :mod:`ml.monitoring` for the bins and why the reference is each creator's latest row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

EPS = 1e-4


def feature_reference(values: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """One feature's training distribution: ``min`` (values below it get their own bin),
    ``cuts`` (distinct training quantiles; bin ``i`` is ``(cuts[i-1], cuts[i]]``, the last one
    open above), ``shares`` (training share per bin: below min, then the quantile bins) and
    ``missing`` (share of NaN). A constant feature has one cut: below / equal / above."""
    v = np.asarray(values, dtype="float64")
    finite = v[np.isfinite(v)]
    if finite.size == 0:
        lo, cuts = None, []
    else:
        lo = float(finite.min())
        probs = np.linspace(0.0, 1.0, bins + 1)[1:-1]
        cuts = [float(c) for c in np.unique(np.quantile(finite, probs))] if bins > 1 else []
        if not cuts:
            cuts = [float(finite.max())]
    ref: dict[str, Any] = {"min": lo, "cuts": cuts, "shares": [], "missing": 0.0}
    shares, missing = bin_shares(v, ref)
    ref["shares"], ref["missing"] = [float(s) for s in shares], float(missing)
    return ref


def _bin_index(v: np.ndarray, ref: Mapping[str, Any]) -> np.ndarray:
    """Bin of each non-missing value (see :func:`feature_reference`)."""
    lo, cuts = ref.get("min"), np.asarray(ref.get("cuts") or [], dtype="float64")
    if lo is None:  # no finite training value: every non-missing value in one bin
        return np.zeros(len(v), dtype=int)
    inner = np.searchsorted(cuts, v, side="left") + 1
    return np.where(v < float(lo), 0, inner)


def n_bins(ref: Mapping[str, Any]) -> int:
    return 1 if ref.get("min") is None else len(ref.get("cuts") or []) + 2


def bin_shares(values: np.ndarray, ref: Mapping[str, Any]) -> tuple[np.ndarray, float]:
    """Shares of ``values`` per bin of ``ref`` and the share missing (NaN); zeros for an
    empty sample."""
    v = np.asarray(values, dtype="float64")
    k = n_bins(ref)
    if len(v) == 0:
        return np.zeros(k), 0.0
    nan = np.isnan(v)
    counts = np.bincount(_bin_index(v[~nan], ref), minlength=k)[:k]
    return counts / len(v), float(nan.mean())


def psi(expected: Sequence[float], actual: Sequence[float], eps: float = EPS) -> float:
    """Population stability index of ``actual`` shares against ``expected`` (same bins)."""
    e = np.maximum(np.asarray(expected, dtype="float64"), eps)
    a = np.maximum(np.asarray(actual, dtype="float64"), eps)
    if e.shape != a.shape:
        raise ValueError(f"PSI over {e.shape} expected and {a.shape} actual bins")
    return float(np.sum((a - e) * np.log(a / e)))


def feature_psi(ref: Mapping[str, Any], values: np.ndarray, eps: float = EPS) -> float:
    """PSI of one feature's new values against its reference; NaN for an empty sample."""
    if len(values) == 0:
        return math.nan
    shares, missing = bin_shares(values, ref)
    return psi([*ref["shares"], ref["missing"]], [*shares, missing], eps)


def reference(m: np.ndarray, columns: Sequence[str], bins: int = 10) -> dict[str, Any]:
    """The reference of every column of a training matrix (stored with the model)."""
    m = np.asarray(m, dtype="float64")
    return {
        "version": 1,
        "rows": len(m),
        "bins": bins,
        "features": {c: feature_reference(m[:, j], bins) for j, c in enumerate(columns)},
    }


def training_reference(rows: pd.DataFrame, columns: Sequence[str], bins: int = 10) -> dict:
    """The reference of a model's training rows: each creator's latest row (the cross-section
    batch scoring scores; see the module docstring)."""
    from ml.features import frame_matrix

    if {"kol_id", "date_day"} <= set(rows.columns) and not rows.empty:
        rows = rows.sort_values(["kol_id", "date_day"]).groupby("kol_id").tail(1)
    return reference(frame_matrix(rows, columns), columns, bins)


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    psi: float
    rows: int
    reference_rows: int
    missing_share: float
    reference_missing_share: float


def drift(ref: Mapping[str, Any], m: np.ndarray, columns: Sequence[str]) -> list[FeatureDrift]:
    """PSI of each column of ``m`` that the reference has (in ``columns`` order)."""
    feats = ref.get("features") or {}
    out = []
    for j, c in enumerate(columns):
        if c not in feats:
            continue
        v = np.asarray(m[:, j], dtype="float64")
        out.append(
            FeatureDrift(
                c,
                feature_psi(feats[c], v),
                len(v),
                int(ref.get("rows") or 0),
                float(np.isnan(v).mean()) if len(v) else math.nan,
                float(feats[c].get("missing", 0.0)),
            )
        )
    return out


def max_drift(
    drifts: Sequence[FeatureDrift], ignore: Sequence[str] = ()
) -> tuple[float | None, str | None]:
    """The largest PSI and its feature, leaving out ``ignore`` (features that drift by
    design); (None, None) without any."""
    best: tuple[float | None, str | None] = (None, None)
    for d in drifts:
        if d.feature in ignore or not math.isfinite(d.psi):
            continue
        if best[0] is None or d.psi > best[0]:
            best = (d.psi, d.feature)
    return best
