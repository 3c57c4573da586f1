"""Monitoring in MLflow: one run per model and scoring run in the monitoring experiment
(``KOL_ML_MONITORING_EXPERIMENT``), with the score summary and each feature's PSI as metrics."""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

from kol.settings import MlSettings
from ml.monitoring.measure import QUANTILES, ModelMonitoring


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
