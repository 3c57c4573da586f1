"""Wall time of one daily run of `kol_daily_pipeline`, per task, on a generated day.

    uv run python -m bench.bench_pipeline [--creators 30000] [--json]

About 33 events per creator per day: the default gives ~1M events in one day. The day goes
to Kafka topics under a unique prefix, on a day no earlier run used; then the whole DAG runs
for it through `airflow dags test` (`kol pipeline run`), each task as Airflow runs it:
spark-submit jobs, GX gates, dbt, batch scoring. Times come from the run's own output.

Gold goes to a schema of its own (KOL_GOLD_SCHEMA), dropped afterwards: Gold is one world
per topic prefix (its dimensions are rebuilt from that prefix's Silver rows), so building the
benchmark's world into the shared `gold` schema would orphan every other world's facts.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid

from rich.console import Console

from bench.world import produce_world
from kol.settings import get_settings
from kol.trino import query
from shell.pipeline_cli import run_day, run_log, task_durations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creators", type=int, default=30_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    console = Console(stderr=True)
    world = produce_world(args.creators, 1, console)
    day = world.start.date()
    schema = f"gold_bench{uuid.uuid4().hex[:6]}"
    os.environ["KOL_GOLD_SCHEMA"] = schema
    t0 = time.perf_counter()
    try:
        code = run_day(day)
    finally:
        for suffix in ("", "_staging", "_intermediate"):
            query(get_settings(), f"DROP SCHEMA IF EXISTS {schema}{suffix} CASCADE")
    wall = time.perf_counter() - t0
    log = run_log(day)
    console.print(f"kol_daily_pipeline for {day}: exit {code}, {wall:.0f}s including DAG parsing")
    if code:
        raise SystemExit(f"the run failed; its output: {log}")
    if args.json:
        took = {task: round(s, 1) for task, s in task_durations(log).items()}
        print(json.dumps({"events": world.events, "day": str(day), "wall_s": round(wall), **took}))


if __name__ == "__main__":
    main()
