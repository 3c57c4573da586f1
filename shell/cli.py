"""`kol`: the platform's command line."""

from __future__ import annotations

import json
import sys
import time

import typer
from rich.console import Console
from rich.table import Table

from api.cli import app as api_app
from gold.cli import app as gold_app
from ingestion.cli import app as ingest_app
from kol import process
from kol.settings import get_settings
from ml.cli import app as ml_app
from shell import airflow_cli
from shell.jobs_cli import jobs_app, quality_app
from shell.pipeline_cli import app as pipeline_app
from shell.stack import manager
from shell.stack.services import all_services
from shell.stream_cli import app as stream_app

app = typer.Typer(help="KOL analytics platform.", no_args_is_help=True)
stack_app = typer.Typer(help="The local stack: PostgreSQL, Redis, Kafka, Trino, MLflow.")
app.add_typer(stack_app, name="stack")
app.add_typer(ingest_app, name="ingest", help="Event contracts, generator, importers, producer.")
app.add_typer(jobs_app, name="jobs")
app.add_typer(quality_app, name="quality")
app.add_typer(pipeline_app, name="pipeline")
app.add_typer(gold_app, name="gold")
app.add_typer(api_app, name="api")
app.add_typer(ml_app, name="ml")
app.add_typer(stream_app, name="stream")
app.command("airflow", **airflow_cli.COMMAND)(airflow_cli.run)

# Wide enough for the status table when piped (rich assumes 80 columns without a terminal).
console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)


def _status_table(rows: list[manager.ServiceStatus]) -> Table:
    table = Table(title="KOL stack")
    for col in ("service", "address", "healthy", "pid", "RSS MiB"):
        table.add_column(col, no_wrap=True)
    table.add_column("detail", overflow="ellipsis", no_wrap=True, max_width=48)
    for r in rows:
        table.add_row(
            r.service,
            r.address,
            "[green]yes[/]" if r.healthy else "[red]no[/]" if r.fault else "off",
            str(r.pid or "-"),
            f"{r.rss_mb:.0f}" if r.rss_mb is not None else "-",
            r.detail,
        )
    return table


@stack_app.command("up")
def stack_up(
    services: list[str] = typer.Argument(None, help="Only these services (and what they need)."),
    with_stream: bool = typer.Option(
        False, "--with-stream", help="Also start the streaming job (as `kol stream start`)."
    ),
) -> None:
    """Start every service that is not running and wait until each answers its health check."""
    s = get_settings()
    if with_stream:
        services = [*(services or [svc.name for svc in manager.select(s)]), "stream"]
    t0 = time.monotonic()
    try:
        with console.status("starting the stack ..."):
            started = manager.up(
                s, services, on_ready=lambda n: console.print(f"[green]✓[/] {n} is healthy")
            )
    except manager.StackError as exc:
        err.print(f"[red]stack up failed:[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(1) from exc
    if started:
        console.print(f"started {', '.join(started)} in {time.monotonic() - t0:.1f}s")
    else:
        console.print("everything was already running and healthy; nothing to do")
    console.print(_status_table(manager.status(s, services)))
    _print_airflow_login(s)


def _print_airflow_login(s) -> None:
    from shell.stack.services.airflow import AirflowApi

    api = AirflowApi(s)
    if process.read_pid(api.pid_file):
        console.print(f"Airflow UI: {s.airflow_url}  ({api.login(reveal=True)})")


@stack_app.command("down")
def stack_down(
    services: list[str] = typer.Argument(None, help="Only these services."),
) -> None:
    """Stop the stack's services (data under KOL_HOME is kept)."""
    stopped = manager.down(get_settings(), services)
    console.print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


@stack_app.command("status")
def stack_status(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    services: list[str] = typer.Argument(None, help="Only these services."),
) -> None:
    """Each service, its address and whether it is healthy; exits 1 if any is not."""
    rows = manager.status(get_settings(), services)
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in rows], indent=2))
    else:
        console.print(_status_table(rows))
        _print_airflow_login(get_settings())
    if manager.faults(rows):
        raise typer.Exit(1)


@stack_app.command("logs")
def stack_logs(
    service: str = typer.Argument(..., help="Service name, e.g. trino."),
    lines: int = typer.Option(50, "-n", "--lines"),
) -> None:
    """Print the last lines of one service's log."""
    services = all_services(get_settings())
    if service not in services:
        err.print(f"unknown service {service!r}; known: {', '.join(services)}")
        raise typer.Exit(2)
    svc = services[service]
    console.print(f"[dim]{svc.log_file}[/]")
    typer.echo(process.tail(svc.log_file, lines), nl=False)


@app.command("demo")
def demo() -> None:
    """Run the platform end to end on generated data (needs `kol stack up`)."""
    from shell.demo import run_demo

    if not run_demo(get_settings(), console):
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
