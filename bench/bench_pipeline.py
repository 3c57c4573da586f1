"""Wall time of one daily run of `kol_daily_pipeline`, per task, on a small and a large day.

    uv run python -m bench.bench_pipeline [--creators 120 30000] [--days 1] [--json]

About 33 events per creator per day: 120 creators give a small day (~4k events, the demo's
size), 30,000 a day of ~1M events. Each day goes to Kafka topics under a unique prefix, on a day
no earlier run used; then the whole DAG runs for it through `airflow dags test` (`kol pipeline
run`), each task as Airflow runs it: spark-submit jobs, GX gates, dbt, batch scoring. Times
come from the run's own output.

With ``--days N`` each world has N days, run in order into the same Gold schema: the first
day is that schema's first build, the later ones are the daily case (Gold already holds the days
before, as in production).

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
from datetime import timedelta

from rich.console import Console
from rich.table import Table

from bench.world import produce_world
from kol.settings import get_settings
from kol.trino import query
from shell.pipeline_cli import run_day, run_log, task_durations


@dataclass
class DayRun:
    creators: int
    events: int  # the world's events divided by its days
    day: str
    day_of_world: int  # 1: the first build of the world's Gold schema
    wall_s: float
    tasks: dict[str, float]


def run_world_days(creators: int, days: int, console: Console) -> list[DayRun]:
    """``days`` generated days of ``creators`` through the whole DAG, in order, into one Gold
    schema; each day's tasks' seconds."""
    world = produce_world(creators, days, console)
    schema = f"gold_bench{uuid.uuid4().hex[:6]}"
    os.environ["KOL_GOLD_SCHEMA"] = schema
    runs = []
    try:
        for n in range(days):
            day = world.start.date() + timedelta(days=n)
            t0 = time.perf_counter()
            code = run_day(day)
            wall = time.perf_counter() - t0
            log = run_log(day)
            console.print(
                f"kol_daily_pipeline for {day}: exit {code}, {wall:.0f}s including DAG parsing"
            )
            if code:
                raise SystemExit(f"the run of {creators} creators failed; its output: {log}")
            took = {task: round(s, 1) for task, s in task_durations(log).items()}
            runs.append(DayRun(creators, world.events // days, str(day), n + 1, round(wall), took))
    finally:
        for suffix in ("", "_staging", "_intermediate"):
            query(get_settings(), f"DROP SCHEMA IF EXISTS {schema}{suffix} CASCADE")
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creators", type=int, nargs="+", default=[120, 30_000])
    parser.add_argument("--days", type=int, default=1, help="days per world, run in order")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    console = Console(stderr=True)
    results = [r for n in args.creators for r in run_world_days(n, args.days, console)]

    tasks = list(dict.fromkeys(t for r in results for t in r.tasks))
    table = Table(title="kol_daily_pipeline, seconds per task")
    table.add_column("task")
    for r in results:
        table.add_column(
            f"{r.creators:,} creators, day {r.day_of_world}\n{r.events:,} events", justify="right"
        )
    for task in tasks:
        table.add_row(task, *(f"{r.tasks.get(task, 0.0):.1f}" for r in results))
    table.add_row("[bold]all tasks[/]", *(f"[bold]{sum(r.tasks.values()):.1f}[/]" for r in results))
    console.print(table)
    if args.json:
        print(json.dumps([asdict(r) for r in results]))


if __name__ == "__main__":
    main()
