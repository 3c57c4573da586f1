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

The parts: :mod:`ml.monitoring.drift` (reference and PSI), :mod:`ml.monitoring.measure` (one
run measured), :mod:`ml.monitoring.tracking` (MLflow) and :mod:`ml.monitoring.tables` (Gold);
:func:`monitor_run` is here, and so are the parts' public names.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from kol.settings import MlSettings
from ml.monitoring.drift import (
    EPS,
    FeatureDrift,
    bin_shares,
    drift,
    feature_psi,
    feature_reference,
    max_drift,
    n_bins,
    psi,
    reference,
    training_reference,
)
from ml.monitoring.measure import QUANTILES, ModelMonitoring, Monitoring, measure, score_summary
from ml.monitoring.tables import (
    DRIFT_COLUMNS,
    STATS_COLUMNS,
    DriftRecord,
    drift_schema,
    gold_frames,
    gold_table,
    gold_tables,
    latest_drift,
    latest_records,
    stats_schema,
    write_gold,
)
from ml.monitoring.tracking import log_mlflow, mlflow_metrics
from ml.scoring import REFERENCE_KEY

log = logging.getLogger("kol.ml")

__all__ = [
    "DRIFT_COLUMNS",
    "EPS",
    "QUANTILES",
    "REFERENCE_KEY",
    "STATS_COLUMNS",
    "DriftRecord",
    "FeatureDrift",
    "ModelMonitoring",
    "Monitoring",
    "bin_shares",
    "drift",
    "drift_schema",
    "feature_psi",
    "feature_reference",
    "gold_frames",
    "gold_table",
    "gold_tables",
    "latest_drift",
    "latest_records",
    "log_mlflow",
    "max_drift",
    "measure",
    "mlflow_metrics",
    "monitor_run",
    "n_bins",
    "psi",
    "reference",
    "score_summary",
    "stats_schema",
    "training_reference",
    "write_gold",
]


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
