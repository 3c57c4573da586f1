"""`kol pipeline`: the daily pipeline without the Airflow UI (same DAG, same tasks)."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from kol.settings import get_settings
from shell.airflow_cli import airflow

app = typer.Typer(help="Run or backfill the daily pipeline through Airflow.")
console = Console()
DAG_ID = "kol_daily_pipeline"
# The same tasks over KOL_PIPELINE_BACKFILL_DAYS-day intervals, for history.
BACKFILL_DAG_ID = "kol_backfill_pipeline"


def run_log(day: date, dag_id: str = DAG_ID) -> Path:
    return get_settings().log_dir / f"{dag_id}-{day.isoformat()}.log"


def run_day(day: date, dag_id: str = DAG_ID) -> int:
    """Run every task of the DAG for the data interval [day, day + 1) in this process.

    A manual run of a data-interval timetable covers the last whole interval that ended by its
    logical date, so the run for ``day`` is started just after ``day + 1``: one second past
    midnight, so that its logical date is never one a scheduled or backfill run uses
    (``day + 1`` itself is the logical date of the *next* day's scheduled run; a backfill
    finding a manual run there would reuse it, with this run's interval). The output is kept
    in :func:`run_log`.

    The DAG's start date is the installation's first day, and Airflow creates no task of a
    manual run whose logical date is before it (backfill runs are exempt), so this run's own
    parse of the DAG starts on ``day``. A run in which no task ran is reported as a failure.
    """
    log = run_log(day, dag_id)
    after = datetime.combine(day + timedelta(days=1), time(0, 0, 1), UTC)
    code = airflow(
        "dags",
        "test",
        dag_id,
        after.isoformat(),
        log_file=log,
        env={"KOL_PIPELINE_START_DATE": day.isoformat()},
    )
    print_durations(log)
    if code == 0 and not tasks_run(log):
        console.print(f"[red]{dag_id} for {day}: the run finished without running a task[/]")
        code = 1
    if code:
        console.print(f"[red]{dag_id} failed for {day}[/]; its output: {log}")
    return code


_TASK_STARTED = re.compile(r"\[DAG TEST\] starting task_id=(\w+)")
_TASK_EVENT = re.compile(r"^(\S+) .*\[DAG TEST\] (starting|end task) task_id=(\w+)", re.M)


def task_starts(log: Path) -> Counter[str]:
    """How often an `airflow dags test` run started each task (a retry starts it again)."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return Counter(_TASK_STARTED.findall(text))


def tasks_run(log: Path) -> set[str]:
    """The tasks an `airflow dags test` run started, from its output."""
    return set(task_starts(log))


def task_durations(log: Path) -> dict[str, float]:
    """Wall time in seconds of each task an `airflow dags test` run finished, in run order."""
    text = log.read_text(errors="replace") if log.exists() else ""
    started: dict[str, datetime] = {}
    took: dict[str, float] = {}
    for stamp, event, task in _TASK_EVENT.findall(text):
        at = datetime.fromisoformat(stamp)
        if event == "starting":
            started[task] = at
        elif task in started:
            took[task] = (at - started[task]).total_seconds()
    return took


def print_durations(log: Path) -> None:
    took = task_durations(log)
    if not took:
        return
    table = Table(title="task wall time", caption=str(log))
    table.add_column("task")
    table.add_column("seconds", justify="right")
    for task, seconds in took.items():
        table.add_row(task, f"{seconds:.1f}")
    table.add_row("[bold]all tasks[/]", f"[bold]{sum(took.values()):.1f}[/]")
    console.print(table)


def failure_lines(log: Path, n: int = 25) -> list[str]:
    """The lines of a run's output that say what failed (for messages and test reports)."""
    marks = ("ERROR", "Traceback", "Error:", "Exception", "failed", "FAILED", "Failure")
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return [ln[:400] for ln in lines if any(m in ln for m in marks)][-n:]


@app.command("run")
def run(
    day: datetime = typer.Option(..., "--date", formats=["%Y-%m-%d"], help="The day (UTC)."),
    dag_id: str = typer.Option(DAG_ID, help="DAG to run."),
) -> None:
    """Run every task of the pipeline for one day in this process (`airflow dags test`)."""
    raise typer.Exit(run_day(day.date(), dag_id))


@app.command("backfill")
def backfill(
    start: date = typer.Option(..., "--from", formats=["%Y-%m-%d"], help="First day (UTC)."),
    end: date = typer.Option(..., "--to", formats=["%Y-%m-%d"], help="Last day, inclusive."),
    dag_id: str = typer.Option(DAG_ID, help="DAG to backfill."),
    multi_day: bool = typer.Option(
        False,
        "--multi-day",
        help=f"Backfill with {BACKFILL_DAG_ID}: one run per KOL_PIPELINE_BACKFILL_DAYS days "
        "(the last run covers whole days past --to).",
    ),
    rerun: bool = typer.Option(False, help="Re-run days that already succeeded."),
    max_active_runs: int = typer.Option(
        1, help="Days run at once. Day-over-day deltas read the previous day: keep 1."
    ),
) -> None:
    """Queue a backfill of the days from..to (inclusive) for the running scheduler.

    Wraps `airflow backfill create`; watch it in the UI or with `kol stack logs`. The DAG
    must be unpaused for the scheduler to run it (`airflow dags unpause`).
    """
    dag = BACKFILL_DAG_ID if multi_day else dag_id
    raise typer.Exit(create_backfill(start, end, dag, rerun, max_active_runs))


def create_backfill(
    start: date,
    end: date,
    dag_id: str = DAG_ID,
    rerun: bool = False,
    max_active_runs: int = 1,
    conf: dict[str, str] | None = None,
) -> int:
    """`airflow backfill create`; ``conf`` sets the runs' parameters (``topic_prefix``,
    ``gold_schema``)."""
    args = ["backfill", "create", "--dag-id", dag_id, "--max-active-runs", str(max_active_runs)]
    args += ["--from-date", start.isoformat(), "--to-date", end.isoformat()]
    if rerun:
        args += ["--reprocess-behavior", "completed"]
    if conf:
        args += ["--dag-run-conf", json.dumps(conf)]
    return airflow(*args)
