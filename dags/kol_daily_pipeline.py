"""
### KOL daily pipeline

For one day of data (the run's data interval, UTC):

1. **kafka_to_bronze** - Spark: Kafka records that arrived in the interval -> `bronze.*`,
   then the Great Expectations suite `bronze` on what it wrote; a failure stops the run here
2. **bronze_to_silver** - Spark: contracts, counts, dedup -> `silver.*`, `silver.rejects`,
   then the suite `silver` (keys, uniqueness, plausible counts, reject ratio, freshness)
3. **gold_build** - `dbt build` on Trino: Gold star schema and marts, with dbt's tests
4. **gold_gate** - suite `gold` on the interval's days (rows arrived, one row per creator and
   day, plausible values)
5. **batch_score** - scores the day's creators with the MLflow champion models into
   `gold.kol_scores` and Redis (skipped while no champion exists)
6. **gold_ready** - publishes the `kol_gold_ready` asset that retraining waits for

A run reads the platform's own raw topics and builds the `gold` schema, unless its parameters
(`topic_prefix`, `gold_schema`; the trigger form or `--dag-run-conf`) name others.

Bronze and Silver run on the stack's Spark Connect server (`KOL_SPARK_REMOTE`), one warm Spark
for every run, or through spark-submit when no server is set (a cluster's master). Each is gated
inside its own job (one Spark session, not one per gate). A failed
gate fails its task at once (no retries: bad data stays bad); the expectations that failed are
in the task log and in the Data Docs under `$KOL_HOME/gx`.

Every task is idempotent on the interval: clear and re-run any of them, or backfill a range.
Logic lives in `shell.orchestration`; this file only wires it.

**kol_backfill_pipeline** has the same tasks over intervals of `KOL_PIPELINE_BACKFILL_DAYS`
days (30 by default) and is never scheduled: it is for `airflow backfill create` (or
`kol pipeline backfill --dag-id kol_backfill_pipeline`) over history. One run loads a month at
the cost of one day's start-up, and leaves the tables a day-by-day backfill leaves: Bronze and
Silver are idempotent on any interval, and Gold's day-over-day deltas are computed within it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import dag, task
from airflow.timetables.interval import CronDataIntervalTimetable, DeltaDataIntervalTimetable

from dags.assets import GOLD_READY
from ml.tasks import batch_scoring_task
from shell import orchestration as orch
from shell.operators import spark_job_task


def lakehouse_tasks() -> None:
    """The pipeline's tasks, for whatever data interval the run has."""
    bronze = spark_job_task(
        "kafka_to_bronze",
        "bronze",
        "Kafka raw topics -> Iceberg bronze.* for the interval (merge on record identity), "
        "then the suite `bronze` on what was written.",
    )
    silver = spark_job_task(
        "bronze_to_silver",
        "silver",
        "Bronze -> Silver: contracts, count parsing, dedup by event_id, rejects; then the "
        "suite `silver` on what was written.",
    )

    @task(doc_md="`dbt build` of the Gold models for the interval; dbt tests gate Gold.")
    def gold_build(data_interval_start=None, data_interval_end=None, params=None):
        return orch.build_gold(data_interval_start, data_interval_end, params)

    @task(doc_md="Great Expectations suite `gold` on the interval's days.")
    def gold_gate(data_interval_start=None, data_interval_end=None, params=None):
        return orch.gate_task("gold", data_interval_start, data_interval_end, params)

    @task(outlets=[GOLD_READY], doc_md="Announce Gold for downstream DAGs (scoring, retraining).")
    def gold_ready(data_interval_start=None, data_interval_end=None):
        return {"start": str(data_interval_start), "end": str(data_interval_end)}

    gold = bronze >> silver >> gold_build() >> gold_gate()
    gold >> [batch_scoring_task()(), gold_ready()]


COMMON: dict[str, Any] = {
    "max_active_runs": 1,
    # Which raw topics a run reads and which Gold schema it builds (the platform's by default).
    "params": orch.pipeline_params(),
    "default_args": {**orch.DEFAULT_ARGS, "on_failure_callback": orch.on_failure},
    "doc_md": __doc__,
}

dag(
    dag_id="kol_daily_pipeline",
    # A data interval per day ([D, D+1)); Airflow 3's plain cron schedules have none.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    # The stack sets it to the installation's first day; earlier days are backfilled.
    start_date=orch.pipeline_start(),
    catchup=True,
    tags=["kol", "lakehouse", "daily"],
    **COMMON,
)(lakehouse_tasks)()

dag(
    dag_id="kol_backfill_pipeline",
    # Intervals of N days from the backfill's first day: [D, D+N), [D+N, D+2N), ...
    schedule=DeltaDataIntervalTimetable(timedelta(days=orch.backfill_days())),
    # Never scheduled (it ends where it starts); backfill runs ignore both dates.
    start_date=orch.DEFAULT_START,
    end_date=orch.DEFAULT_START,
    catchup=False,
    tags=["kol", "lakehouse", "backfill"],
    **COMMON,
)(lakehouse_tasks)()
