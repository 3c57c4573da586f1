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
import time
from datetime import timedelta

from rich.console import Console
from world import produce_world

from spark_jobs.interval import Interval


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creators", type=int, default=600)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    console = Console()

    world = produce_world(args.creators, args.days, console)
    start, events = world.start, world.events

    # Imported here so the Spark JVM is not competing with the producers above.
    from kol.settings import get_settings
    from kol.spark import spark_session
    from spark_jobs import bronze_to_silver, kafka_to_bronze

    t0 = time.perf_counter()
    spark_session("bench-lakehouse", get_settings())
    start_s = time.perf_counter() - t0
    console.print(f"spark session: started in {start_s:.1f}s")

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
                    "spark_start_s": round(start_s, 2),
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
