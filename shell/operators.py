"""Airflow operators of the daily pipeline (imported by DAG files: keep imports light)."""

from __future__ import annotations

from typing import Any

from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator
from airflow.sdk import task
from airflow.sdk.exceptions import AirflowException

from expectations import GATE_FAILED_EXIT
from kol.settings import Settings, get_settings


class GatedSparkSubmitOperator(SparkSubmitOperator):
    """spark-submit of a job that gates what it wrote (Bronze, Silver).

    A failed gate fails the task at once, without retries (bad data stays bad; a retry would
    only delay the alert by the backoff); any other failure is retried as usual.
    """

    def __init__(self, *, layer: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.layer = layer

    def execute(self, context: Any) -> None:
        from shell.orchestration import gate_failed

        try:
            super().execute(context)
        except AirflowException as exc:
            process = getattr(self._hook, "_submit_sp", None)
            if getattr(process, "returncode", None) == GATE_FAILED_EXIT:
                interval = (
                    f"[{context.get('data_interval_start')}, {context.get('data_interval_end')})"
                )
                raise gate_failed(self.layer, interval) from exc
            raise


def spark_job_task(job: str, layer: str, doc_md: str, settings: Settings | None = None) -> Any:
    """The task of a gated Spark job of ``spark_jobs/`` (Bronze, Silver) for the run's interval.

    On the stack's Spark Connect server when ``KOL_SPARK_REMOTE`` names one (a Python task
    running the job's code, as :func:`shell.orchestration.run_spark_job`); otherwise a
    spark-submit of the job (a cluster's master, or no server). Same task id, same gate.
    """
    from shell import orchestration as orch

    settings = settings or get_settings()
    if not settings.spark_remote:
        return GatedSparkSubmitOperator(
            task_id=job, layer=layer, doc_md=doc_md, **orch.spark_job_kwargs(job, settings)
        )

    @task(task_id=job, doc_md=doc_md)
    def run_job(data_interval_start=None, data_interval_end=None, params=None):
        return orch.run_spark_job(job, layer, data_interval_start, data_interval_end, params)

    return run_job()
