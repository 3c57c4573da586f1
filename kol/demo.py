"""`kol demo`: the platform end to end on generated data, then where to look.

1. the smoke path: every engine reads what another wrote (Spark, Trino, pyiceberg, Kafka, Redis,
   MLflow);
2. a generated world (seeded, with its planted fraud, breakouts, duplicates and late events)
   replayed into Kafka, unless those days are already there;
3. the daily Airflow DAG for its first day (`airflow dags test`): Bronze, gate, Silver, gate,
   dbt Gold;
4. a look at Gold through Trino.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime, timedelta

from rich.console import Console
from rich.table import Table

from kol import smoke
from kol.settings import Settings
from kol.spark import spark_session

DEMO_START = date(2026, 5, 1)
DEMO_DAYS = 2
DEMO_CREATORS = 120
DEMO_SEED = 42


def run_smoke_path(settings: Settings, console: Console) -> bool:
    run_id = uuid.uuid4().hex[:6]
    results: list[smoke.StepResult] = []
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
    return all(r.ok for r in results)


def _days_in_kafka(settings: Settings, start: datetime, end: datetime) -> bool:
    """True when the platform's profile topic already holds records stamped in [start, end)."""
    from kafka import KafkaConsumer, TopicPartition

    from ingestion.contracts import PROFILES_TOPIC

    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap.split(","))
    try:
        parts = consumer.partitions_for_topic(PROFILES_TOPIC) or set()
        tps = [TopicPartition(PROFILES_TOPIC, p) for p in parts]
        if not tps:
            return False
        found = consumer.offsets_for_times({tp: int(start.timestamp() * 1000) for tp in tps})
        return any(
            hit is not None and hit.timestamp < end.timestamp() * 1000 for hit in found.values()
        )
    finally:
        consumer.close()


def generate_world(settings: Settings, console: Console) -> None:
    from ingestion.generator import GeneratorConfig
    from ingestion.pipeline import run_world
    from ingestion.producer import ProcessKafkaSink, ensure_topics
    from ingestion.settings import get_ingest_settings

    start = datetime(DEMO_START.year, DEMO_START.month, DEMO_START.day, tzinfo=UTC)
    if _days_in_kafka(settings, start, start + timedelta(days=DEMO_DAYS)):
        console.print(f"Kafka already holds the demo world from {DEMO_START}; not generating again")
        return
    ingest = get_ingest_settings()
    ensure_topics(settings, ingest)
    config = GeneratorConfig(creators=DEMO_CREATORS, days=DEMO_DAYS, seed=DEMO_SEED, start=start)
    with console.status(f"replaying {DEMO_CREATORS} creators x {DEMO_DAYS} days into Kafka ..."):
        sink = ProcessKafkaSink(settings, ingest, source="demo")
        stats = run_world(config, sink)
        summary = sink.close()
    rejected = sum(summary.rejected.values())
    console.print(
        f"✓ generated {stats.total:,} events ({stats.duplicates} duplicates, {stats.late} late, "
        f"{stats.malformed} malformed -> {rejected} sent to kol.dlq)"
    )


def show_gold(settings: Settings, console: Console, day: date) -> bool:
    from kol.trino import query

    n = query(settings, "SELECT count(*) FROM gold.fct_kol_daily WHERE date_day = ?", [day])[0][0]
    console.print(f"✓ gold.fct_kol_daily holds {n} creators for {day}")
    table = Table(title=f"gold.fct_kol_daily, {day}: largest creators")
    rows = query(
        settings,
        "SELECT kol_id, followers, followers_delta, engagement_rate FROM gold.fct_kol_daily "
        "WHERE date_day = ? ORDER BY followers DESC NULLS LAST LIMIT 5",
        [day],
    )
    for col in ("kol_id", "followers", "followers_delta", "engagement_rate"):
        table.add_column(col)
    for row in rows:
        table.add_row(*(str(v) for v in row))
    console.print(table)
    return n > 0


def run_demo(settings: Settings, console: Console) -> bool:
    from kol.pipeline_cli import run_day

    t0 = time.monotonic()
    ok = run_smoke_path(settings, console)
    generate_world(settings, console)
    console.print(f"running kol_daily_pipeline for {DEMO_START} (airflow dags test) ...")
    ok = run_day(DEMO_START) == 0 and ok
    ok = show_gold(settings, console, DEMO_START) and ok
    console.print(f"\ndemo finished in {time.monotonic() - t0:.0f}s. Where to look:")
    console.print(f"  Airflow UI:             {settings.airflow_url}  (login: kol stack status)")
    console.print(
        f"  Trino (SQL, BI tools):  {settings.trino_url}  catalog '{settings.trino_catalog}'"
    )
    console.print(
        f"    try: SELECT * FROM {settings.trino_catalog}.gold.kol_rankings_daily LIMIT 20"
    )
    console.print(f"  MLflow UI:              {settings.mlflow_tracking_uri}")
    docs = settings.home / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    console.print(f"  Data Docs (GX gates):   {docs}")
    console.print(f"  Kafka bootstrap:        {settings.kafka_bootstrap}")
    console.print(f"  Iceberg warehouse:      {settings.warehouse}")
    console.print(f"  service logs:           {settings.log_dir}  (kol stack logs SERVICE)")
    return ok
