"""Bronze and Silver throughput on a generated world, against the real stack.

    uv run python -m bench.bench_lakehouse [--creators 600] [--days 10] [--json] [--jfr DIR]

About 33 events per creator per day: the defaults give ~200k events; `--creators 3000
--days 10` gives ~1M. The world goes to Kafka topics under a unique prefix (the Kafka
produce time is not part of the numbers), then one interval covering every day is landed in
Bronze and conformed into Silver, each timed on its own; between them, `kol jobs reconcile`'s
check (Kafka's records against Bronze's) is timed too. With ``--jfr DIR`` each stage is also
recorded by the JDK's flight recorder (DIR/bronze.jfr, DIR/silver.jfr) and summarised: where
the CPU samples were, by component. The recorder costs a few percent, so the throughput of a
profiled run is not the benchmark's number.
"""

from __future__ import annotations

import argparse
import json
import time
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.machine import describe
from bench.support import jfr
from bench.world import produce_world
from kol.interval import Interval


def print_profile(console: Console, stage: str, path: Path) -> None:
    profile = jfr.summarize(jfr.read_recording(path))
    table = Table(title=f"{stage}: {profile.samples:,} CPU samples ({path})")
    table.add_column("component (samples with it on the stack)")
    table.add_column("share", justify="right")
    for name, share in profile.components:
        table.add_row(name, f"{share:.1%}")
    table.add_section()
    for frame, share in profile.hottest:
        table.add_row(f"self: {frame}", f"{share:.1%}")
    console.print(table)
    console.print(
        f"{stage}: JIT compilations recorded {profile.compilation_ms / 1000:.1f} s, "
        f"child processes started {profile.child_processes}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creators", type=int, default=600)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--jfr", type=Path, help="record and summarise each stage's CPU here")
    args = parser.parse_args()
    console = Console()
    machine = describe()
    console.print(
        f"machine speed: 5M Python additions in {machine['python_loop_5m_s']} s, "
        f"load average {machine['load_average']}"
    )

    world = produce_world(args.creators, args.days, console)
    start, events = world.start, world.events

    # Imported here so the Spark JVM is not competing with the producers above.
    from kol.settings import get_ingest_settings, get_settings
    from kol.spark import spark_session
    from spark_jobs import bronze_to_silver, kafka_to_bronze
    from spark_jobs.reconcile import bronze_gaps

    t0 = time.perf_counter()
    spark = spark_session("bench-lakehouse", get_settings())
    start_s = time.perf_counter() - t0
    console.print(f"spark session: started in {start_s:.1f}s")

    interval = Interval(start, start + timedelta(days=args.days + 3))

    def profiled(stage: str) -> AbstractContextManager[object]:
        return (
            nullcontext() if args.jfr is None else jfr.recording(spark, args.jfr / f"{stage}.jfr")
        )

    t0 = time.perf_counter()
    with profiled("bronze"):
        bronze = sum(kafka_to_bronze.run(interval).values())
    bronze_s = time.perf_counter() - t0
    console.print(f"bronze: {bronze:,} records in {bronze_s:.1f}s = {bronze / bronze_s:,.0f}/s")
    # kol jobs reconcile's check: every record Kafka keeps against Bronze, per partition.
    t0 = time.perf_counter()
    gaps = bronze_gaps(spark, get_settings(), get_ingest_settings())
    reconcile_s = time.perf_counter() - t0
    missing = sum(g.records for g in gaps)
    console.print(
        f"reconcile: {missing:,} records missing from Bronze ({len(gaps)} ranges), "
        f"checked in {reconcile_s:.1f}s"
    )
    t0 = time.perf_counter()
    with profiled("silver"):
        accounts = bronze_to_silver.run(interval)
    silver_s = time.perf_counter() - t0
    silver = sum(a.silver for a in accounts)
    console.print(
        f"silver: {bronze:,} bronze records -> {silver:,} rows "
        f"(+{sum(a.duplicates for a in accounts):,} duplicates, "
        f"{sum(a.rejects for a in accounts):,} rejects) "
        f"in {silver_s:.1f}s = {bronze / silver_s:,.0f}/s"
    )
    if args.jfr is not None:
        for stage in ("bronze", "silver"):
            print_profile(console, stage, args.jfr / f"{stage}.jfr")
    if args.json:
        print(
            json.dumps(
                {
                    "events": events,
                    "machine": machine,
                    "spark_start_s": round(start_s, 2),
                    "bronze_records": bronze,
                    "bronze_s": round(bronze_s, 2),
                    "bronze_per_s": round(bronze / bronze_s),
                    "reconcile_s": round(reconcile_s, 2),
                    "reconcile_missing": missing,
                    "silver_s": round(silver_s, 2),
                    "silver_per_s": round(bronze / silver_s),
                }
            )
        )


if __name__ == "__main__":
    main()
