"""`kol jobs` and `kol quality`: batch jobs and gates, run exactly as the DAG runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typer
from rich.console import Console

from kol.settings import REPO_ROOT, get_settings
from kol.spark import spark_submit_args

jobs_app = typer.Typer(help="Batch jobs (spark-submit), with the arguments the daily DAG passes.")
quality_app = typer.Typer(help="Great Expectations gates per layer.")
console = Console()

JOBS_DIR = REPO_ROOT / "spark_jobs"


def spark_submit(script: Path, args: list[str]) -> int:
    settings = get_settings()
    submit = Path(sys.executable).with_name("spark-submit")
    cmd = [str(submit), *spark_submit_args(settings, script, args, name=f"kol-{script.stem}")]
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    console.print(f"[dim]spark-submit {script.name} {' '.join(args)}[/]")
    return subprocess.call(cmd, env=env, cwd=REPO_ROOT)


StartOpt = typer.Option(..., "--start", help="Interval start, ISO 8601 (UTC if naive).")
EndOpt = typer.Option(..., "--end", help="Interval end, exclusive.")
GateOpt = typer.Option(
    True, "--gate/--no-gate", help="Run the layer's expectations on what was written."
)


def gated_job_args(start: str, end: str, gate: bool) -> list[str]:
    """A Bronze or Silver job's arguments: the interval, and --no-gate when asked."""
    return ["--start", start, "--end", end, *([] if gate else ["--no-gate"])]


@jobs_app.command("bronze")
def bronze(start: str = StartOpt, end: str = EndOpt, gate: bool = GateOpt) -> None:
    """Kafka raw topics -> Iceberg bronze.* for [start, end), then the bronze gate (exit 3 if
    it fails)."""
    raise typer.Exit(
        spark_submit(JOBS_DIR / "kafka_to_bronze.py", gated_job_args(start, end, gate))
    )


@jobs_app.command("silver")
def silver(start: str = StartOpt, end: str = EndOpt, gate: bool = GateOpt) -> None:
    """Bronze -> Silver (conformed, deduplicated, rejects) for [start, end), then the silver
    gate (exit 3 if it fails)."""
    raise typer.Exit(
        spark_submit(JOBS_DIR / "bronze_to_silver.py", gated_job_args(start, end, gate))
    )


@jobs_app.command("maintenance")
def maintenance(
    older_than_days: float = typer.Option(7, help="Expire snapshots older than this."),
    retain_last: int = typer.Option(5, help="Always keep this many snapshots."),
) -> None:
    """Expire old snapshots and compact small files in every table."""
    args = ["--older-than-days", str(older_than_days), "--retain-last", str(retain_last)]
    raise typer.Exit(spark_submit(JOBS_DIR / "maintenance.py", args))


@jobs_app.command("reconcile")
def reconcile(
    topic: list[str] = typer.Option(
        None, "--topic", help="Only this logical topic, e.g. kol.profiles.raw (repeatable)."
    ),
) -> None:
    """Kafka's offsets against Bronze's rows, per topic partition: print each range of
    records Kafka keeps that Bronze lacks; exit 1 when there is any."""
    args = [a for t in topic or [] for a in ("--topic", t)]
    raise typer.Exit(spark_submit(JOBS_DIR / "reconcile.py", args))


@quality_app.command("check")
def check(
    layer: str = typer.Argument(..., help="bronze | silver | gold"),
    start: str = StartOpt,
    end: str = EndOpt,
) -> None:
    """Run the layer's expectation suite on the interval; exit 1 if any expectation fails."""
    from expectations.gate import check_layer, verdict
    from kol.interval import Interval

    result = check_layer(get_settings(), layer, Interval.parse(start, end))
    for line in verdict(result):
        console.print(line, highlight=False, style=None if result.ok else "red")
    if not result.ok:
        raise typer.Exit(1)
