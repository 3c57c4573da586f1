"""``kol gold``: build the Gold star schema with dbt and run the BI starter queries."""

from __future__ import annotations

import sys
import time

import typer
from rich.console import Console
from rich.table import Table

from gold import runner
from kol.interval import interval_days
from kol.settings import get_gold_settings, get_settings

app = typer.Typer(
    help="Gold: the dbt star schema on Trino (dbt_kol/) and its BI queries.",
    no_args_is_help=True,
)
console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)


def _report(run: runner.DbtRun) -> None:
    for node in run.failed:
        err.print(
            f"[red]✗ {node.resource_type} {node.name}[/]: {node.message or node.status}",
            highlight=False,
        )
    for node in run.warned:
        err.print(f"[yellow]! {node.resource_type} {node.name}[/]: {node.message}", highlight=False)
    if run.error:
        err.print(f"[red]dbt: {run.error}[/]", highlight=False)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(run.counts().items()))
    verdict = "[green]passed[/]" if run.success else "[red]failed[/]"
    console.print(f"dbt {run.args[0]} {verdict} in {run.seconds:.1f}s ({counts})")


@app.command("build")
def build(
    start: str = typer.Option(
        None,
        "--start",
        help="Interval start, ISO 8601 (UTC if naive); rebuilds from late_days before it.",
    ),
    end: str = typer.Option(None, "--end", help="Interval end, exclusive (rounded up to a day)."),
    full_refresh: bool = typer.Option(
        False, "--full-refresh", help="Rebuild every table from Silver."
    ),
    select: list[str] = typer.Option(
        None, "--select", "-s", help="dbt selection, e.g. fct_kol_daily+."
    ),
    schema: str = typer.Option(
        None, "--schema", help="Target schema (default KOL_GOLD_SCHEMA or gold)."
    ),
    unit_tests: bool = typer.Option(
        None,
        "--unit-tests/--no-unit-tests",
        help="Run dbt's unit tests too (default: KOL_GOLD_UNIT_TESTS_IN_BUILDS, off).",
        show_default=False,
    ),
) -> None:
    """`dbt build` (seeds, models, data tests) with the stack's settings for the interval's days.

    Without --start, each incremental model continues from the last day it holds.
    """
    gold = get_gold_settings()
    if schema:
        gold = gold.model_copy(update={"schema_name": schema})
    try:
        first, until = interval_days(start, end)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    run = runner.build(
        first,
        until,
        full_refresh=full_refresh,
        select=select or (),
        settings=get_settings(),
        gold=gold,
        unit_tests=unit_tests,
    )
    _report(run)
    if not run.success:
        raise typer.Exit(1)


@app.command("analyses")
def analyses(
    name: list[str] = typer.Argument(None, help="Only these analyses (default: all)."),
    limit: int = typer.Option(10, "--limit", "-n", help="Rows to print per query."),
    show_sql: bool = typer.Option(False, "--sql", help="Print the compiled Trino SQL instead."),
) -> None:
    """Run the BI starter queries of dbt_kol/analyses/ through Trino and print their rows."""
    from kol.trino import trino_connection

    settings = get_settings()
    compiled = runner.compiled_analyses(settings=settings)
    unknown = set(name or ()) - set(compiled)
    if unknown:
        err.print(f"unknown analyses {sorted(unknown)}; known: {', '.join(sorted(compiled))}")
        raise typer.Exit(2)
    for analysis in sorted(name or compiled):
        sql = compiled[analysis]
        if show_sql:
            typer.echo(f"-- {analysis}\n{sql}\n")
            continue
        conn = trino_connection(settings)
        try:
            cur = conn.cursor()
            t0 = time.monotonic()
            cur.execute(sql)
            rows = cur.fetchall()
            seconds = time.monotonic() - t0
            columns = [d[0] for d in cur.description]
        finally:
            conn.close()
        table = Table(title=f"{analysis}: {len(rows)} rows in {seconds:.2f}s")
        for column in columns:
            table.add_column(column)
        for row in rows[:limit]:
            table.add_row(*("" if v is None else str(v) for v in row))
        console.print(table)


@app.command("docs")
def docs() -> None:
    """`dbt docs generate`: the catalog and docs site under dbt_kol/target/ (`dbt docs serve`)."""
    run = runner.run_dbt(["docs", "generate"])
    _report(run)
    if not run.success:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
