"""Bronze and Silver throughput on a generated world, against the real stack.

    uv run python bench/bench_lakehouse.py [--creators 600] [--days 10] [--json]

About 33 events per creator per day: the defaults give ~200k events; `--creators 3000
--days 10` gives ~1M. The world goes to Kafka topics under a unique prefix (the Kafka
produce time is not part of the numbers), then one interval covering every day is landed in
Bronze and conformed into Silver, each timed on its own.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

from rich.console import Console

from ingestion.generator import GeneratorConfig
from ingestion.pipeline import run_world
from ingestion.producer import ProcessKafkaSink, ensure_topics
from ingestion.settings import get_ingest_settings
from kol.settings import get_settings
from spark_jobs.interval import Interval


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creators", type=int, default=600)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    console = Console()

    os.environ["KOL_INGEST_TOPIC_PREFIX"] = f"bench{uuid.uuid4().hex[:6]}."
    get_ingest_settings.cache_clear()
    settings, ingest = get_settings(), get_ingest_settings()
    # A day no earlier run is likely to have used, so the MERGEs find empty target partitions
    # as a daily run does, rather than every previous benchmark's rows for the same days. In
    # the past: Kafka 4 refuses records stamped more than an hour ahead.
    start = datetime(1990, 1, 1, tzinfo=UTC) + timedelta(days=random.randrange(10_000))
    config = GeneratorConfig(
        creators=args.creators, days=args.days, seed=random.randrange(1 << 30), start=start
    )
    ensure_topics(settings, ingest)
    t0 = time.perf_counter()
    with console.status(f"producing {args.creators} creators x {args.days} days ..."):
        sink = ProcessKafkaSink(settings, ingest, source="bench", producers=2)
        stats = run_world(config, sink)
        summary = sink.close()
    if summary.failed:
        raise SystemExit(f"Kafka refused events, numbers would be wrong: {dict(summary.failed)}")
    produce_s = time.perf_counter() - t0
    events = stats.total
    console.print(
        f"produced {events:,} events in {produce_s:.1f}s "
        f"(topics {ingest.topic_prefix}*, from {start:%Y-%m-%d})"
    )

    # Imported here so the Spark JVM is not competing with the producers above.
    from spark_jobs import bronze_to_silver, kafka_to_bronze

    interval = Interval(start, start + timedelta(days=args.days + 3))
    t0 = time.perf_counter()
    bronze = sum(kafka_to_bronze.run(interval).values())
    bronze_s = time.perf_counter() - t0
    console.print(f"bronze: {bronze:,} records in {bronze_s:.1f}s = {bronze / bronze_s:,.0f}/s")
    t0 = time.perf_counter()
    accounts = bronze_to_silver.run(interval)
    silver_s = time.perf_counter() - t0
    silver = sum(a.silver for a in accounts)
    console.print(
        f"silver: {bronze:,} bronze records -> {silver:,} rows "
        f"(+{sum(a.duplicates for a in accounts):,} duplicates, "
        f"{sum(a.rejects for a in accounts):,} rejects) "
        f"in {silver_s:.1f}s = {bronze / silver_s:,.0f}/s"
    )
    if args.json:
        print(
            json.dumps(
                {
                    "events": events,
                    "bronze_records": bronze,
                    "bronze_s": round(bronze_s, 2),
                    "bronze_per_s": round(bronze / bronze_s),
                    "silver_s": round(silver_s, 2),
                    "silver_per_s": round(bronze / silver_s),
                }
            )
        )


if __name__ == "__main__":
    main()
