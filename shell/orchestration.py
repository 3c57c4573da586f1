"""What the Airflow DAGs do, as plain functions: the DAG files only wire these together.

Every task takes its data interval from Airflow and is idempotent on it (the jobs merge on
record identity, dbt models merge on their keys), so clearing a task or backfilling a range
leaves the same tables.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from kol.settings import REPO_ROOT, Settings, get_settings
from kol.spark import submit_conf

log = logging.getLogger("kol.orchestration")

SPARK_CONN_ID = "kol_spark"
TRINO_CONN_ID = "kol_trino"
JOBS_DIR = REPO_ROOT / "spark_jobs"

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "data-platform",
    "retries": 2,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=15),
}


# Where the schedule starts when nothing says otherwise (a DAG parsed outside the stack).
DEFAULT_START = datetime(2026, 1, 1, tzinfo=UTC)


def pipeline_start(settings: Settings | None = None) -> datetime:
    """The daily DAG's start date (``KOL_PIPELINE_START_DATE``, which the stack sets)."""
    day = (settings or get_settings()).pipeline_start_date
    return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else DEFAULT_START


def pipeline_params(settings: Settings | None = None) -> dict[str, Any]:
    """The pipeline DAGs' run parameters (the trigger form, or ``--dag-run-conf``): which raw
    topics a run reads and which Gold schema it builds. The defaults are the platform's own;
    another prefix and schema keep a replayed or benchmark world out of the platform's Gold.
    Builds values only: DAG files call this at parse time."""
    from airflow.sdk import Param

    from kol.settings.base import IDENTIFIER_PATTERN

    settings = settings or get_settings()
    return {
        "topic_prefix": Param(
            settings.ingest.topic_prefix,
            type="string",
            description="Prefix of the raw Kafka topics read (empty: the platform's own).",
        ),
        "gold_schema": Param(
            settings.gold.schema_name,
            type="string",
            pattern=IDENTIFIER_PATTERN,
            description="Trino schema Gold is built in.",
        ),
    }


def run_settings(params: Mapping[str, Any] | None) -> Settings:
    """The settings of one run: the platform's, with the run's topic prefix and Gold schema."""
    params = params or {}
    return get_settings().for_world(params.get("topic_prefix"), params.get("gold_schema"))


def backfill_days(settings: Settings | None = None) -> int:
    """Days per run of the backfill DAG (``KOL_PIPELINE_BACKFILL_DAYS``)."""
    return (settings or get_settings()).pipeline_backfill_days


def on_failure(context: dict[str, Any]) -> None:
    """Failure callback: say what failed, for which interval, and where its log is."""
    ti = context.get("task_instance") or context.get("ti")
    dag_run = context.get("dag_run")
    settings = get_settings()
    task_id = getattr(ti, "task_id", "?")
    log.error(
        "kol pipeline task failed: dag=%s task=%s run=%s interval=[%s, %s) try=%s; "
        "log: %s (UI %s/dags/%s/runs/%s/tasks/%s); error: %s",
        getattr(ti, "dag_id", "?"),
        task_id,
        getattr(dag_run, "run_id", "?"),
        context.get("data_interval_start"),
        context.get("data_interval_end"),
        getattr(ti, "try_number", "?"),
        settings.airflow_home / "logs",
        settings.airflow_url,
        getattr(ti, "dag_id", "?"),
        getattr(dag_run, "run_id", "?"),
        task_id,
        context.get("exception"),
    )


def spark_job_kwargs(job: str, settings: Settings | None = None) -> dict[str, Any]:
    """SparkSubmitOperator arguments for one job of ``spark_jobs/``, for the DAG's interval.

    Builds strings only: DAG files call this at parse time.
    """
    settings = settings or get_settings()
    conf = submit_conf(settings)
    # The connection carries the master; the jars are passed as a glob Spark expands.
    conf.pop("spark.master")
    jars = conf.pop("spark.jars")
    driver_memory = conf.pop("spark.driver.memory")
    return {
        "conn_id": SPARK_CONN_ID,
        "application": str(JOBS_DIR / f"{job}.py"),
        "name": f"kol-{job}",
        "conf": conf,
        "jars": jars,
        "driver_memory": driver_memory,
        # The Spark jobs read the raw topics of the run's parameters (pipeline_params).
        "env_vars": {
            "KOL_HOME": str(settings.home),
            "KOL_INGEST_TOPIC_PREFIX": "{{ params.topic_prefix }}",
        },
        "application_args": [
            "--start",
            "{{ data_interval_start.isoformat() }}",
            "--end",
            "{{ data_interval_end.isoformat() }}",
        ],
    }


def run_spark_job(
    job: str, layer: str, start: datetime, end: datetime, params: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Run the gated job ``spark_jobs/<job>.py`` for the interval on the Spark Connect server
    (``settings.spark_remote``), in a session of its own that ends with the task.

    A failed gate fails the task without retries, as it does for the spark-submit of the job
    (:class:`shell.operators.GatedSparkSubmitOperator`).
    """
    from importlib import import_module

    from expectations import GATE_FAILED_EXIT
    from kol.interval import Interval
    from kol.spark import spark_session

    settings = run_settings(params)
    module = import_module(f"spark_jobs.{job}")
    # As the job's command line has it: Airflow's pendulum datetimes are not plain ones.
    interval = Interval.parse(start.isoformat(), end.isoformat())
    spark = spark_session(module.APP, settings)
    try:
        code = module.run_gated(interval, settings)
    finally:
        # Releases the session's state on the server (temporary views, checkpoints).
        spark.stop()
    if code == GATE_FAILED_EXIT:
        raise gate_failed(layer, interval)
    if code:
        raise RuntimeError(f"{job} for {interval} exited with {code}")
    return {"job": job, "interval": str(interval)}


def gate_failed(layer: str, interval: object) -> Exception:
    """What fails a gated job's task when its gate failed: at once, without retries (bad data
    stays bad; a retry would only delay the alert by the backoff)."""
    from airflow.sdk.exceptions import AirflowFailException

    return AirflowFailException(
        f"{layer} gate failed for {interval}: the expectations that failed are in this "
        "task's log above, and in the Data Docs"
    )


class QualityGateFailed(RuntimeError):
    """A layer's expectations failed; the next layer must not be written."""


def quality_gate(
    layer: str, start: datetime, end: datetime, params: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Run the GX suite of ``layer`` on the interval; raise naming each failed expectation."""
    from expectations.gate import check_layer, verdict
    from kol.interval import Interval

    result = check_layer(run_settings(params), layer, Interval(start, end))
    if not result.ok:
        raise QualityGateFailed("\n".join(verdict(result)))
    return {"layer": layer, "expectations": result.checked, "docs": str(result.docs)}


def gate_task(
    layer: str, start: datetime, end: datetime, params: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """:func:`quality_gate` for an Airflow task: failed expectations fail it without retries.

    Bad data stays bad on a retry; retrying would only delay the alert by the backoff.
    """
    from airflow.exceptions import AirflowFailException

    try:
        return quality_gate(layer, start, end, params)
    except QualityGateFailed as exc:
        raise AirflowFailException(str(exc)) from exc


class GoldBuildFailed(RuntimeError):
    """dbt build failed: a model errored or a dbt test (Gold's gate) failed."""


def build_gold(
    start: datetime, end: datetime, params: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """dbt build of the Gold models for the interval (models, snapshots and dbt tests).

    dbt's tests are Gold's quality gate: a failing test fails the task before the
    ``kol_gold_ready`` asset is published.
    """
    from gold import runner
    from kol.interval import interval_days

    settings = run_settings(params)
    first, until = interval_days(start.isoformat(), end.isoformat())
    run = runner.build(
        first,
        until,
        topic_prefix=settings.ingest.topic_prefix,
        settings=settings,
        gold=settings.gold,
    )
    if not run.success:
        failed = "\n".join(
            f"{n.resource_type} {n.name}: {n.message or n.status}" for n in run.failed
        )
        raise GoldBuildFailed(f"dbt build for [{start}, {end}) failed:\n{failed or run.error}")
    return {"seconds": round(run.seconds, 1), "nodes": run.counts()}


def cleanup_data_docs(keep_days: int = 30, settings: Settings | None = None) -> int:
    """Delete GX validation results and Data Docs pages older than ``keep_days``."""
    settings = settings or get_settings()
    root = settings.home / "gx" / "uncommitted"
    cutoff = time.time() - keep_days * 86400
    removed = 0
    for sub in ("validations", "data_docs/local_site/validations"):
        base = root / sub
        if not base.exists():
            continue
        for path in sorted(base.rglob("*"), reverse=True):
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
            elif path.is_dir() and not any(path.iterdir()):
                shutil.rmtree(path, ignore_errors=True)
    log.info("removed %d Data Docs files older than %d days under %s", removed, keep_days, root)
    return removed


def airflow_env(settings: Settings | None = None) -> dict[str, str]:
    """The environment Airflow's own processes run with (for `airflow` CLI calls)."""
    from shell.stack.services.airflow import AirflowApi

    return AirflowApi(settings or get_settings()).env()
