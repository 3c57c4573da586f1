"""Wall time of a backfill through the scheduler (`airflow backfill create`), as days per hour.

    uv run python -m bench.bench_backfill [--creators 1000] [--days 30] [--daily-days 3] [--json]

Two worlds with the same creators per day, each in Kafka topics of its own, on days no earlier
run used, and each built into a Gold schema of its own (the runs' ``topic_prefix`` and
``gold_schema`` parameters, so the platform's own Gold is left alone):

* ``--days`` days backfilled with ``kol_backfill_pipeline`` (``KOL_PIPELINE_BACKFILL_DAYS`` days
  per run, 30 by default: one run for the default world);
* ``--daily-days`` days backfilled with ``kol_daily_pipeline``, one run per day, to compare
  with (0 skips it). Per day it costs what a month costs the multi-day DAG, so a few days
  give its rate.

Each DAG is unpaused for its backfill and paused again after. The times are Airflow's own: the
runs' start and end, and each task's duration, from its metadata database. The Gold schemas
are dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from bench.world import produce_world
from kol.settings import get_settings
from kol.trino import query
from shell.pipeline_cli import BACKFILL_DAG_ID, DAG_ID, airflow, create_backfill

TIMEOUT_S = 3 * 3600


@dataclass
class Backfill:
    dag_id: str
    days: int
    events: int
    runs: int = 0
    wall_s: float = 0.0
    tasks: dict[str, float] = field(default_factory=dict)

    @property
    def days_per_hour(self) -> float:
        return self.days * 3600 / self.wall_s if self.wall_s else 0.0


def runs_since(db: sa.Engine, dag_id: str, since: datetime) -> list[sa.Row]:
    with db.connect() as c:
        return list(
            c.execute(
                sa.text(
                    "SELECT run_id, state, queued_at, end_date FROM dag_run WHERE dag_id = :d "
                    "AND run_type = 'backfill' AND queued_at >= :s ORDER BY logical_date"
                ),
                {"d": dag_id, "s": since},
            )
        )


def task_seconds(db: sa.Engine, dag_id: str, run_ids: list[str]) -> dict[str, float]:
    """Seconds per task, summed over the runs (the last try of each)."""
    with db.connect() as c:
        rows = c.execute(
            sa.text(
                "SELECT task_id, duration FROM task_instance WHERE dag_id = :d AND run_id = ANY(:r)"
            ),
            {"d": dag_id, "r": run_ids},
        )
        out: dict[str, float] = defaultdict(float)
        for task, duration in rows:
            out[task] += duration or 0.0
    return dict(out)


def backfill(db: sa.Engine, console: Console, dag_id: str, creators: int, days: int) -> Backfill:
    world = produce_world(creators, days, console)
    schema = f"gold_bench{uuid.uuid4().hex[:6]}"
    first = world.start.date()
    result = Backfill(dag_id, days, world.events)
    since = datetime.now(UTC) - timedelta(seconds=5)
    assert airflow("dags", "unpause", dag_id) == 0, f"could not unpause {dag_id}"
    try:
        conf = {"topic_prefix": world.prefix, "gold_schema": schema}
        code = create_backfill(first, first + timedelta(days=days - 1), dag_id, conf=conf)
        if code:
            raise SystemExit(f"airflow backfill create failed for {dag_id} (exit {code})")
        deadline = time.monotonic() + TIMEOUT_S
        with console.status(f"{dag_id}: {days} days of {creators} creators ...") as status:
            while True:
                runs = runs_since(db, dag_id, since)
                states = [r.state for r in runs]
                status.update(f"{dag_id}: runs {states}")
                if runs and all(s == "success" for s in states):
                    break
                if "failed" in states:
                    raise SystemExit(f"{dag_id}: a backfill run failed: {runs}")
                if time.monotonic() > deadline:
                    raise SystemExit(f"{dag_id}: not done in {TIMEOUT_S}s: {runs}")
                time.sleep(10)
    finally:
        airflow("dags", "pause", dag_id)
        for suffix in ("", "_staging", "_intermediate"):
            query(get_settings(), f"DROP SCHEMA IF EXISTS {schema}{suffix} CASCADE")
    result.runs = len(runs)
    # From the first run queued to the last one finished: the scheduler's delays count too.
    result.wall_s = (max(r.end_date for r in runs) - min(r.queued_at for r in runs)).total_seconds()
    result.tasks = task_seconds(db, dag_id, [r.run_id for r in runs])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creators", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--daily-days", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    console = Console(stderr=True)
    settings = get_settings()
    db = sa.create_engine(settings.pg_dsn(settings.pg_airflow_db))
    results = [backfill(db, console, BACKFILL_DAG_ID, args.creators, args.days)]
    if args.daily_days:
        results.append(backfill(db, console, DAG_ID, args.creators, args.daily_days))
    db.dispose()

    table = Table(title=f"backfill of {args.creators} creators through the scheduler")
    for column in ("DAG", "days", "events", "runs", "wall s", "s/day", "days/hour"):
        table.add_column(column, justify="left" if column == "DAG" else "right")
    for r in results:
        table.add_row(
            r.dag_id,
            str(r.days),
            f"{r.events:,}",
            str(r.runs),
            f"{r.wall_s:.0f}",
            f"{r.wall_s / r.days:.1f}",
            f"{r.days_per_hour:.0f}",
        )
    console.print(table)
    for r in results:
        tasks = ", ".join(f"{t} {s:.0f}s" for t, s in r.tasks.items())
        console.print(f"{r.dag_id} task time: {tasks}")
    if args.json:
        print(
            json.dumps([{**r.__dict__, "days_per_hour": round(r.days_per_hour)} for r in results])
        )


if __name__ == "__main__":
    main()
