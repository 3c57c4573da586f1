"""`kol pipeline`: the daily pipeline without the Airflow UI (same DAG, same tasks)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import typer
from rich.console import Console

from kol.orchestration import airflow_env
from kol.settings import get_settings

app = typer.Typer(help="Run or backfill the daily pipeline through Airflow.")
console = Console()
DAG_ID = "kol_daily_pipeline"


def airflow(*args: str) -> int:
    """Run the `airflow` CLI against the stack's Airflow (its metadata DB and DAG folder)."""
    binary = str(Path(sys.executable).with_name("airflow"))
    console.print(f"[dim]airflow {' '.join(args)}[/]")
    return subprocess.call([binary, *args], env={**os.environ, **airflow_env(get_settings())})


def run_day(day: date, dag_id: str = DAG_ID) -> int:
    """Run every task of the DAG for the data interval [day, day + 1) in this process.

    A manual run of a data-interval timetable covers the last whole interval *before* its
    logical date, so the run for ``day`` is started at ``day + 1``.
    """
    return airflow("dags", "test", dag_id, (day + timedelta(days=1)).isoformat())


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
    rerun: bool = typer.Option(False, help="Re-run days that already succeeded."),
) -> None:
    """Queue a backfill of the days from..to (inclusive) for the running scheduler.

    Wraps `airflow backfill create`; watch it in the UI or with `kol stack logs`.
    """
    args = ["backfill", "create", "--dag-id", dag_id]
    args += ["--from-date", start.isoformat(), "--to-date", end.isoformat()]
    if rerun:
        args += ["--reprocess-behavior", "completed"]
    raise typer.Exit(airflow(*args))
