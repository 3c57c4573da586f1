"""
### KOL maintenance

Weekly: Iceberg maintenance of every Bronze, Silver and Gold table (expire old snapshots,
compact small files; safe while other jobs write), then delete Great Expectations
validation results and Data Docs pages older than 30 days.
"""

from __future__ import annotations

import pendulum
from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import dag, task

from shell import orchestration as orch


@dag(
    dag_id="kol_maintenance",
    schedule="@weekly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={**orch.DEFAULT_ARGS, "on_failure_callback": orch.on_failure},
    tags=["kol", "maintenance"],
    doc_md=__doc__,
)
def kol_maintenance() -> None:
    kwargs = orch.spark_job_kwargs("maintenance")
    kwargs["application_args"] = ["--older-than-days", "7", "--retain-last", "5"]
    iceberg = SparkSubmitOperator(
        task_id="iceberg_maintenance",
        doc_md="Expire snapshots older than 7 days (keep 5) and compact small files.",
        **kwargs,
    )

    @task(doc_md="Delete GX validation results and Data Docs older than 30 days.")
    def cleanup_data_docs() -> int:
        return orch.cleanup_data_docs(keep_days=30)

    iceberg >> cleanup_data_docs()


kol_maintenance()
