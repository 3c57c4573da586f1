"""What the Airflow DAGs run for ML, as plain functions (the DAG files only wire these).

* :func:`score_interval`: batch scoring of a daily run's day (the daily pipeline's step);
  :func:`batch_scoring_task` builds that step as a TaskFlow task for a DAG.
* :func:`retrain_due`, :func:`train_model`, :func:`rescore_latest`: the weekly retrain DAG;
  :func:`read_drift` reads what batch scoring recorded (:mod:`ml.monitoring`) for the early
  retrain on drift.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kol.interval import days_of
from kol.settings import MlSettings, get_ml_settings

if TYPE_CHECKING:
    from ml.monitoring import DriftRecord

log = logging.getLogger("kol.ml")


def score_interval(
    data_interval_start: Any = None,
    data_interval_end: Any = None,
    ml: MlSettings | None = None,
) -> dict[str, Any]:
    """Batch-score each day of the interval, in order, with the champions: gold.kol_scores and
    Redis (a daily run's one day, a backfill run's N; no interval: the latest day in Gold).
    Idempotent on each day. Without any champion (before the first training) nothing is
    written and ``skipped`` says why. Returns the last day's run, with ``days`` scored."""
    from ml.batch import champions, score_day

    ml = ml or get_ml_settings()
    scorers, missing = champions(ml)
    days = days_of(data_interval_start, data_interval_end)
    out: dict[str, Any] = {}
    for day in days:
        run = score_day(ml, day, scorers=scorers)
        run.missing = missing
        out = run.as_dict()
    out["days"] = [str(d) if d else None for d in days]
    out["skipped"] = None
    if not any(s is not None for s in scorers.values()):
        out["skipped"] = f"batch scoring of {out['days']}: no champion model: {missing}"
        log.warning(out["skipped"])
    elif missing:
        log.warning("batch scoring of %s without %s", out["days"], missing)
    return out


def batch_scoring_task(task_id: str = "batch_score", **task_kwargs: Any) -> Any:
    """The daily pipeline's scoring step as a TaskFlow task (call the result in the DAG:
    ``gold_build() >> batch_scoring_task()()``). Builds nothing but the task at parse time."""
    from airflow.sdk import task

    @task(
        task_id=task_id,
        doc_md="Batch scoring of the interval's day with the champion trust and success "
        "models -> gold.kol_scores (Iceberg, the day's rows replaced) and the Redis score "
        "hashes the API reads.",
        **task_kwargs,
    )
    def batch_score(data_interval_start=None, data_interval_end=None, params=None):
        from kol.settings import get_settings

        # The run's Gold schema (the pipeline DAGs' ``gold_schema`` parameter).
        schema = (params or {}).get("gold_schema")
        ml = get_settings().for_world(gold_schema=schema).ml
        out = score_interval(data_interval_start, data_interval_end, ml)
        if out["skipped"]:  # shown as skipped in the UI, not as a failed pipeline
            from airflow.exceptions import AirflowSkipException

            raise AirflowSkipException(out["skipped"])
        return out

    return batch_score


def last_training(ml: MlSettings, experiment: str) -> datetime | None:
    """Start time of the experiment's latest finished run (None without one)."""
    from ml.registry import mlflow_client

    client = mlflow_client(ml)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return None
    runs = client.search_runs(
        [exp.experiment_id],
        filter_string="attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return datetime.fromtimestamp(runs[0].info.start_time / 1000, UTC) if runs else None


def drift_trigger(
    drift: Sequence[DriftRecord],
    champions: Mapping[str, str | None],
    threshold: float,
    last: datetime,
) -> str | None:
    """Pure: why feature drift calls for an early retrain, or None. A record counts when it
    measures the model's current champion version (a newer champion not yet scored does
    not inherit its predecessor's drift), its ``psi_max`` reaches ``threshold``, and the last
    training started before the end of the drifted day: a training that already saw that
    day's data and produced no better model is not repeated on the same data."""
    hits = []
    for r in drift:
        if r.psi_max is None or r.psi_max < threshold:
            continue
        if champions.get(r.model) != r.version:
            continue
        day_end = datetime.combine(r.day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        if last >= day_end:
            continue
        hits.append(
            f"{r.model} v{r.version} drifted on {r.day}: PSI {r.psi_max:.3f} of {r.feature} "
            f">= {threshold}"
        )
    return "; ".join(hits) or None


def retrain_due(
    run_type: str | None,
    last: datetime | None,
    now: datetime,
    every: timedelta,
    drift: Sequence[DriftRecord] = (),
    champions: Mapping[str, str | None] | None = None,
    threshold: float = math.inf,
) -> tuple[bool, str]:
    """Pure: should this run train? The weekly (time) and manual runs always do; a run
    triggered by a Gold update does when the last training is at least ``every`` old (or
    there is none), so fresh Gold after a missed week retrains without waiting, or earlier
    when a champion's features drifted (:func:`drift_trigger`)."""
    if run_type not in ("asset_triggered", "asset_materialization"):
        return True, f"{run_type or 'manual'} run"
    if last is None:
        return True, "no training run yet"
    age = now - last
    if age >= every:
        return True, f"last training {age} ago (>= {every})"
    why = drift_trigger(drift, champions or {}, threshold, last)
    if why:
        return True, f"early, last training {age} ago: {why}"
    return False, f"last training {age} ago (< {every}): next one is due later"


def champion_versions(ml: MlSettings) -> dict[str, str | None]:
    """Current champion version of each model (None without one)."""
    from ml.registry import mlflow_client

    client = mlflow_client(ml)
    out: dict[str, str | None] = {}
    for name in (ml.trust_model_name, ml.success_model_name):
        try:
            out[name] = str(client.get_model_version_by_alias(name, ml.alias).version)
        except Exception:
            out[name] = None
    return out


def read_drift(ml: MlSettings) -> tuple[list[DriftRecord], dict[str, str | None]]:
    """The champions' newest drift records (gold.ml_score_stats) and their versions."""
    from ml.monitoring import latest_drift

    champions = champion_versions(ml)
    return latest_drift(ml, list(champions)), champions


def check_due(run_type: str | None, ml: MlSettings | None = None) -> bool:
    ml = ml or get_ml_settings()
    drift: list[DriftRecord] = []
    champions: dict[str, str | None] = {}
    try:
        drift, champions = read_drift(ml)
    except Exception as exc:  # decide on age alone rather than fail the run
        log.warning("retraining: drift records unreadable (%s: %s)", type(exc).__name__, exc)
    due, why = retrain_due(
        run_type,
        last_training(ml, ml.trust_experiment),
        datetime.now(UTC),
        timedelta(days=ml.retrain_every_days),
        drift,
        champions,
        ml.drift_psi_threshold,
    )
    log.info("retraining %s: %s", "due" if due else "skipped", why)
    return due


def train_model(kind: str, ml: MlSettings | None = None) -> dict[str, Any]:
    from ml.pipeline import train_all

    ml = ml or get_ml_settings()
    (outcome,) = train_all(ml, (kind,))
    return {
        "model": outcome.name,
        "version": outcome.version,
        "champion": outcome.promoted,
        "reason": outcome.reason,
        "run_id": outcome.run_id,
    }


def rescore_latest(ml: MlSettings | None = None) -> dict[str, Any]:
    """Re-score Gold's latest day, so a newly promoted champion shows at once (right after
    training, a missing champion is an error)."""
    out = score_interval(None, None, ml)
    if out["skipped"]:
        raise RuntimeError(out["skipped"])
    return out
