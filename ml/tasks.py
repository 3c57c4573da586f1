"""What the Airflow DAGs run for ML, as plain functions (the DAG files only wire these).

* :func:`score_interval`: batch scoring of a daily run's day (the daily pipeline's step);
  :func:`batch_scoring_task` builds that step as a TaskFlow task for a DAG.
* :func:`retrain_due`, :func:`train_model`, :func:`rescore_latest`: the weekly retrain DAG.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from ml.settings import MlSettings, get_ml_settings

log = logging.getLogger("kol.ml")


def _day(start: Any) -> Any:
    if start is None:
        return None
    if isinstance(start, str):
        start = datetime.fromisoformat(start)
    return start.astimezone(UTC).date() if isinstance(start, datetime) else start


def score_interval(
    data_interval_start: Any = None,
    data_interval_end: Any = None,
    ml: MlSettings | None = None,
) -> dict[str, Any]:
    """Batch-score the day the interval starts on ([D, D+1) -> D; None -> the latest day in
    Gold) with the champions: gold.kol_scores and Redis. Idempotent on the day. Without any
    champion (before the first training) nothing is written and ``skipped`` says why."""
    from ml.batch import score_day

    ml = ml or get_ml_settings()
    run = score_day(ml, _day(data_interval_start))
    out = run.as_dict()
    out["skipped"] = None
    if not any(run.versions.values()):
        out["skipped"] = f"batch scoring of {run.day}: no champion model: {run.missing}"
        log.warning(out["skipped"])
    elif run.missing:
        log.warning("batch scoring of %s without %s", run.day, run.missing)
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
    def batch_score(data_interval_start=None, data_interval_end=None):  # type: ignore[no-untyped-def]
        out = score_interval(data_interval_start, data_interval_end)
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


def retrain_due(
    run_type: str | None,
    last: datetime | None,
    now: datetime,
    every: timedelta,
) -> tuple[bool, str]:
    """Pure: should this run train? The weekly (time) and manual runs always do; a run
    triggered by a Gold update does when the last training is at least ``every`` old (or
    there is none), so fresh Gold after a missed week retrains without waiting."""
    if run_type not in ("asset_triggered", "asset_materialization"):
        return True, f"{run_type or 'manual'} run"
    if last is None:
        return True, "no training run yet"
    age = now - last
    if age >= every:
        return True, f"last training {age} ago (>= {every})"
    return False, f"last training {age} ago (< {every}): next one is due later"


def check_due(run_type: str | None, ml: MlSettings | None = None) -> bool:
    ml = ml or get_ml_settings()
    due, why = retrain_due(
        run_type,
        last_training(ml, ml.trust_experiment),
        datetime.now(UTC),
        timedelta(days=ml.retrain_every_days),
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
