"""Monitoring of the models in use: the score distribution and feature drift of every batch
scoring run, against the data the champion trained on.

* **Reference** (:func:`reference`), built at training time and stored with the model (MLflow
  model metadata ``kol_feature_reference``, read by :func:`ml.scoring.load_scorer`): for each
  feature, bin edges from the training quantiles (``bins`` quantile bins, plus one bin below
  the training minimum and one for missing values) and the share of training rows in each.
  It is built from each creator's latest training row, the same cross-section (one row per
  creator on one day) that batch scoring scores; all days of a creator's history would make
  ages and 7-day windows drift by construction.
* **PSI** (:func:`psi`): population stability index of a sample against the reference,
  ``sum((a - e) * ln(a / e))`` over the bins, shares floored at ``EPS`` so that an empty bin
  costs a finite amount. Rule of thumb: < 0.1 stable, 0.1-0.25 moderate, > 0.25 a shift.
* **Score summary** (:func:`score_summary`): count, mean, quantiles and the share per band.

:func:`monitor_run` does all of it for one scoring run and records it in MLflow (experiment
``KOL_ML_MONITORING_EXPERIMENT``, one run per model and scoring run) and in two Gold tables
(``gold.ml_drift``: one row per day, model and feature; ``gold.ml_score_stats``: one row per
day and model). It never raises: scores are written before it runs, and what failed is logged
and returned. :func:`latest_drift` reads the newest ``ml_score_stats`` rows back for the
weekly retrain's decision (:func:`ml.tasks.retrain_due`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import orjson
import pandas as pd

from kol.iceberg import day_filter
from kol.settings import MlSettings
from ml.scoring import REFERENCE_KEY

log = logging.getLogger("kol.ml")

__all__ = ["REFERENCE_KEY", "feature_psi", "monitor_run", "psi", "reference"]
EPS = 1e-4
QUANTILES: tuple[tuple[str, float], ...] = (
    ("p05", 0.05),
    ("p25", 0.25),
    ("p50", 0.50),
    ("p75", 0.75),
    ("p95", 0.95),
)


# ---- reference and PSI ------------------------------------------------------------------------
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


# ---- score summary ----------------------------------------------------------------------------
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


# ---- one scoring run --------------------------------------------------------------------------
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


def monitor_run(
    ml: MlSettings,
    day: date,
    features: pd.DataFrame,
    rows: pd.DataFrame,
    scorers: Mapping[str, Any],
    computed_at: datetime | None = None,
) -> Monitoring:
    """Measure, then record in MLflow and Gold; never raises (failures are in ``errors``)."""
    try:
        mon = measure(ml, day, features, rows, scorers)
    except Exception as exc:
        log.exception("monitoring %s: measuring failed", day)
        mon = Monitoring(day, errors={"measure": f"{type(exc).__name__}: {exc}"[:300]})
        return mon
    if not mon.models:
        return mon
    for kind, mm in mon.models.items():
        try:
            mm.run_id = log_mlflow(ml, day, mm)
        except Exception as exc:
            mon.errors[f"mlflow:{kind}"] = f"{type(exc).__name__}: {exc}"[:300]
            log.exception("monitoring %s: logging %s to MLflow failed", day, mm.model)
    try:
        write_gold(ml, mon, computed_at or datetime.now(UTC))
    except Exception as exc:
        mon.errors["gold"] = f"{type(exc).__name__}: {exc}"[:300]
        log.exception("monitoring %s: writing %s / %s failed", day, *gold_tables(ml))
    for mm in mon.models.values():
        log.info(
            "monitoring %s: %s v%s: %d scored, mean %s, psi_max %s (%s)",
            day,
            mm.model,
            mm.version,
            mm.scores["scored"],
            mm.scores["mean"],
            mm.psi_max,
            mm.psi_max_feature,
        )
    return mon


# ---- MLflow -----------------------------------------------------------------------------------
def mlflow_metrics(mm: ModelMonitoring) -> dict[str, float]:
    out: dict[str, float] = {
        "rows": float(mm.scores["rows"]),
        "scored": float(mm.scores["scored"]),
    }
    for k in ("mean", "std", "min", *dict(QUANTILES), "max"):
        if mm.scores.get(k) is not None:
            out[f"score_{k}"] = float(mm.scores[k])
    for label, share in mm.scores["bands"].items():
        out[f"band_{label.lower().replace(' ', '_')}"] = float(share)
    for d in mm.drift:
        if math.isfinite(d.psi):
            out[f"psi_{d.feature}"] = d.psi
    if mm.psi_max is not None:
        out["psi_max"] = mm.psi_max
        out["drifted_features"] = float(mm.drifted)
    return out


def log_mlflow(ml: MlSettings, day: date, mm: ModelMonitoring, client: Any = None) -> str:
    """One run in the monitoring experiment for one model of one scoring run; its id."""
    from mlflow.entities import Metric, Param, RunTag

    from ml.registry import mlflow_client

    client = client or mlflow_client(ml)
    exp = client.get_experiment_by_name(ml.monitoring_experiment)
    exp_id = exp.experiment_id if exp else client.create_experiment(ml.monitoring_experiment)
    tags = {
        "kol.model": mm.model,
        "kol.model_version": mm.version,
        "kol.kind": mm.kind,
        "kol.day": str(day),
        "kol.drift": "skipped: no reference" if mm.reference_rows is None else "measured",
    }
    if mm.psi_max_feature:
        tags["kol.psi_max_feature"] = mm.psi_max_feature
    run = client.create_run(exp_id, run_name=f"{mm.model} v{mm.version} {day}", tags=tags)
    run_id = str(run.info.run_id)
    ts = int(datetime.now(UTC).timestamp() * 1000)
    metrics = [Metric(k, v, ts, 0) for k, v in mlflow_metrics(mm).items()]
    params = [Param("psi_threshold", str(ml.drift_psi_threshold))]
    if mm.reference_rows is not None:
        params.append(Param("reference_rows", str(mm.reference_rows)))
    client.log_batch(run_id, metrics=metrics, params=params, tags=[RunTag("kol.day", str(day))])
    client.log_dict(
        run_id,
        {"scores": mm.scores, "drift": [asdict(d) for d in mm.drift]},
        "monitoring.json",
    )
    client.set_terminated(run_id)
    return run_id


# ---- Gold -------------------------------------------------------------------------------------
DRIFT_COLUMNS = (
    "date_day",
    "model",
    "model_version",
    "kind",
    "feature",
    "psi",
    "rows",
    "reference_rows",
    "missing_share",
    "reference_missing_share",
    "scored_at",
    "computed_at",
)
STATS_COLUMNS = (
    "date_day",
    "model",
    "model_version",
    "kind",
    "rows",
    "scored",
    "score_mean",
    "score_std",
    "score_min",
    "score_p05",
    "score_p25",
    "score_p50",
    "score_p75",
    "score_p95",
    "score_max",
    "band_shares",
    "psi_max",
    "psi_max_feature",
    "drifted_features",
    "psi_threshold",
    "reference_rows",
    "mlflow_run_id",
    "scored_at",
    "computed_at",
)


def gold_tables(ml: MlSettings) -> tuple[str, str]:
    return f"{ml.gold_schema}.{ml.drift_table}", f"{ml.gold_schema}.{ml.score_stats_table}"


def drift_schema() -> Any:
    import pyarrow as pa

    ts, s, d = pa.timestamp("us", tz="UTC"), pa.string(), pa.float64()
    return pa.schema(
        [
            pa.field("date_day", pa.date32(), nullable=False),
            pa.field("model", s, nullable=False),
            pa.field("model_version", s),
            pa.field("kind", s),
            pa.field("feature", s, nullable=False),
            pa.field("psi", d),
            pa.field("rows", pa.int64()),
            pa.field("reference_rows", pa.int64()),
            pa.field("missing_share", d),
            pa.field("reference_missing_share", d),
            pa.field("scored_at", ts, nullable=False),
            pa.field("computed_at", ts),
        ]
    )


def stats_schema() -> Any:
    import pyarrow as pa

    ts, s, d, i = pa.timestamp("us", tz="UTC"), pa.string(), pa.float64(), pa.int64()
    fields = [
        pa.field("date_day", pa.date32(), nullable=False),
        pa.field("model", s, nullable=False),
        pa.field("model_version", s),
        pa.field("kind", s),
        pa.field("rows", i),
        pa.field("scored", i),
    ]
    fields += [pa.field(c, d) for c in STATS_COLUMNS if c.startswith("score_")]
    fields += [
        pa.field("band_shares", s),
        pa.field("psi_max", d),
        pa.field("psi_max_feature", s),
        pa.field("drifted_features", i),
        pa.field("psi_threshold", d),
        pa.field("reference_rows", i),
        pa.field("mlflow_run_id", s),
        pa.field("scored_at", ts, nullable=False),
        pa.field("computed_at", ts),
    ]
    return pa.schema(fields)


def gold_frames(
    ml: MlSettings, mon: Monitoring, computed_at: datetime
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pure: the day's rows of ml_drift and ml_score_stats."""
    from ml.batch import day_end

    scored_at = day_end(mon.day)
    drift_rows, stats_rows = [], []
    for mm in mon.models.values():
        base = {"date_day": mon.day, "model": mm.model, "model_version": mm.version}
        base["kind"] = mm.kind
        for d in mm.drift:
            drift_rows.append(
                {
                    **base,
                    "feature": d.feature,
                    "psi": d.psi if math.isfinite(d.psi) else None,
                    "rows": d.rows,
                    "reference_rows": d.reference_rows,
                    "missing_share": d.missing_share,
                    "reference_missing_share": d.reference_missing_share,
                    "scored_at": scored_at,
                    "computed_at": computed_at,
                }
            )
        sc = mm.scores
        stats_rows.append(
            {
                **base,
                "rows": sc["rows"],
                "scored": sc["scored"],
                **{f"score_{k}": sc.get(k) for k in ("mean", "std", "min", *dict(QUANTILES))},
                "score_max": sc.get("max"),
                "band_shares": orjson.dumps(sc["bands"]).decode(),
                "psi_max": mm.psi_max,
                "psi_max_feature": mm.psi_max_feature,
                "drifted_features": mm.drifted if mm.reference_rows is not None else None,
                "psi_threshold": ml.drift_psi_threshold,
                "reference_rows": mm.reference_rows,
                "mlflow_run_id": mm.run_id,
                "scored_at": scored_at,
                "computed_at": computed_at,
            }
        )
    return (
        pd.DataFrame(drift_rows, columns=list(DRIFT_COLUMNS)),
        pd.DataFrame(stats_rows, columns=list(STATS_COLUMNS)),
    )


def gold_table(ml: MlSettings, name: str, schema: Any) -> Any:
    """``<gold>.<name>`` (pyiceberg), created partitioned by ``date_day`` if missing, as
    :func:`ml.batch.scores_table` creates kol_scores."""
    from pyiceberg.exceptions import NoSuchTableError
    from pyiceberg.transforms import IdentityTransform

    from kol.iceberg import catalog

    cat = catalog(ml.core)
    ident = f"{ml.gold_schema}.{name}"
    try:
        return cat.load_table(ident)
    except NoSuchTableError:
        pass
    cat.create_namespace_if_not_exists(ml.gold_schema)
    table = cat.create_table_if_not_exists(ident, schema=schema)
    if table.spec().is_unpartitioned():
        with table.update_spec() as spec:
            spec.add_field("date_day", IdentityTransform(), "date_day")
    return cat.load_table(ident)


def write_gold(ml: MlSettings, mon: Monitoring, computed_at: datetime) -> tuple[int, int]:
    """Replace the day's rows of ml_drift and ml_score_stats (one commit each)."""
    import pyarrow as pa

    drift_rows, stats_rows = gold_frames(ml, mon, computed_at)
    for name, schema, rows in (
        (ml.drift_table, drift_schema(), drift_rows),
        (ml.score_stats_table, stats_schema(), stats_rows),
    ):
        data = pa.Table.from_pandas(rows, schema=schema, preserve_index=False)
        gold_table(ml, name, schema).overwrite(data, overwrite_filter=day_filter(day=mon.day))
    return len(drift_rows), len(stats_rows)


# ---- reading back (the retrain decision) ------------------------------------------------------
@dataclass(frozen=True)
class DriftRecord:
    """A model's drift on its newest scored day (one ml_score_stats row)."""

    model: str
    version: str
    day: date
    psi_max: float | None
    feature: str | None


def latest_records(stats: pd.DataFrame) -> list[DriftRecord]:
    """Pure: per model, the row of its newest day (the latest computed on that day)."""
    if stats.empty:
        return []
    newest = stats.sort_values(["model", "date_day", "computed_at"]).groupby("model").tail(1)
    return [
        DriftRecord(
            str(r["model"]),
            str(r["model_version"]),
            r["date_day"],
            None if pd.isna(r["psi_max"]) else float(r["psi_max"]),
            None if pd.isna(r["psi_max_feature"]) else str(r["psi_max_feature"]),
        )
        for r in newest.to_dict("records")
    ]


def latest_drift(ml: MlSettings, models: Sequence[str]) -> list[DriftRecord]:
    """The newest ml_score_stats row of each of ``models`` (none before the table exists)."""
    from pyiceberg.exceptions import NoSuchTableError

    from kol.iceberg import catalog

    if not models:
        return []
    try:
        table = catalog(ml.core).load_table(f"{ml.gold_schema}.{ml.score_stats_table}")
    except NoSuchTableError:
        return []
    cols = ("model", "model_version", "date_day", "psi_max", "psi_max_feature", "computed_at")
    names = ", ".join("'" + m.replace("'", "''") + "'" for m in sorted(set(models)))
    df = table.scan(row_filter=f"model IN ({names})", selected_fields=cols).to_pandas()
    return latest_records(df)
