"""Wall time of one daily run of `kol_daily_pipeline`, per task, on a small and a large day.

    uv run python -m bench.bench_pipeline [--creators 120 30000] [--json]

About 33 events per creator per day: 120 creators give a small day (~4k events, the demo's
size), 30,000 a day of ~1M events. Each day goes to Kafka topics under a unique prefix, on a day
no earlier run used; then the whole DAG runs for it through `airflow dags test` (`kol pipeline
run`), each task as Airflow runs it: spark-submit jobs, GX gates, dbt, batch scoring. Times
come from the run's own output.

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
from dataclasses import asdict, dataclass

from rich.console import Console
from rich.table import Table

from bench.world import produce_world
from kol.settings import get_settings
from kol.trino import query
from shell.pipeline_cli import run_day, run_log, task_durations


@dataclass
class DayRun:
    creators: int
    events: int
    day: str
    wall_s: float
    tasks: dict[str, float]


def run_world_day(creators: int, console: Console) -> DayRun:
    """One generated day of ``creators`` through the whole DAG; its tasks' seconds."""
    world = produce_world(creators, 1, console)
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
        raise SystemExit(f"the run of {creators} creators failed; its output: {log}")
    took = {task: round(s, 1) for task, s in task_durations(log).items()}
    return DayRun(creators, world.events, str(day), round(wall), took)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creators", type=int, nargs="+", default=[120, 30_000])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    console = Console(stderr=True)
    results = [run_world_day(n, console) for n in args.creators]

    tasks = list(dict.fromkeys(t for r in results for t in r.tasks))
    table = Table(title="kol_daily_pipeline, seconds per task")
    table.add_column("task")
    for r in results:
        table.add_column(f"{r.creators:,} creators\n{r.events:,} events", justify="right")
    for task in tasks:
        table.add_row(task, *(f"{r.tasks.get(task, 0.0):.1f}" for r in results))
    table.add_row("[bold]all tasks[/]", *(f"[bold]{sum(r.tasks.values()):.1f}[/]" for r in results))
    console.print(table)
    if args.json:
        print(json.dumps([asdict(r) for r in results]))


if __name__ == "__main__":
    main()
