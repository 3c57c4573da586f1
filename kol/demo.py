"""`kol demo`: runs the platform end to end on generated data and prints where to look.

For now the end-to-end job is the stack's smoke path; later layers add their stages here.
"""

from __future__ import annotations

import time
import uuid

from rich.console import Console

from kol import smoke
from kol.settings import Settings
from kol.spark import spark_session


def run_demo(settings: Settings, console: Console) -> bool:
    run_id = uuid.uuid4().hex[:6]
    results: list[smoke.StepResult] = []
    t0 = time.monotonic()
    with console.status("starting Spark ..."):
        spark = spark_session("kol-demo", settings)
    try:
        # kept after the run so the tables can be queried: SELECT * FROM iceberg.demo.creators
        with smoke.scratch_namespace(spark, settings, "demo", keep=True) as ns:
            for step in (
                smoke.spark_writes_trino_and_pyiceberg_read,
                smoke.trino_writes_spark_reads,
            ):
                with console.status(step.__name__.replace("_", " ") + " ..."):
                    results.append(step(spark, settings, ns))
    finally:
        spark.stop()
    with console.status("Kafka, Redis, MLflow ..."):
        results.append(smoke.kafka_round_trip(settings, f"kol.demo.{run_id}"))
        results.append(smoke.redis_round_trip(settings, f"kol:demo:{run_id}"))
        results.append(smoke.mlflow_round_trip(settings, f"demo_model_{run_id}"))

    for r in results:
        mark = "[green]✓[/]" if r.ok else "[red]✗[/]"
        readers = ", ".join(f"{k} read {len(v)}" for k, v in r.read.items())
        console.print(f"{mark} {r.step}: wrote {len(r.written)}, {readers}")
    console.print(f"\nsmoke path finished in {time.monotonic() - t0:.1f}s. Where to look:")
    console.print(
        f"  Trino (SQL, BI tools):  {settings.trino_url}  catalog '{settings.trino_catalog}'"
    )
    console.print(f"  try in Trino:           SELECT * FROM {settings.trino_catalog}.demo.creators")
    console.print(f"  MLflow UI:              {settings.mlflow_tracking_uri}")
    console.print(f"  Kafka bootstrap:        {settings.kafka_bootstrap}")
    console.print(f"  Redis:                  redis://{settings.redis_host}:{settings.redis_port}")
    console.print(f"  Iceberg warehouse:      {settings.warehouse}")
    console.print(f"  service logs:           {settings.log_dir}  (kol stack logs SERVICE)")
    return all(r.ok for r in results)
