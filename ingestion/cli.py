"""``kol ingest``: generate a KOL world, import files, create topics, export schemas."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from ingestion.contracts import SCHEMAS_DIR, TOPICS, write_schemas
from ingestion.generator import PRESETS, World
from ingestion.importers import ImportFormatError, iter_records, plan_import
from ingestion.pipeline import GenerateStats, run_world
from ingestion.producer import (
    DryRunSink,
    EventSink,
    JsonlSink,
    KafkaEventSink,
    ProcessKafkaSink,
    SendSummary,
    ensure_topics,
)
from kol.settings import get_ingest_settings, get_settings
from kol.topics import DLQ_TOPIC

app = typer.Typer(
    help="Ingestion: event contracts, the KOL world generator, importers and Kafka producers.",
    no_args_is_help=True,
)
console = Console(stderr=True)


class Mode(StrEnum):
    replay = "replay"
    live = "live"


class Preset(StrEnum):
    """Named worlds (:data:`ingestion.generator.PRESETS`)."""

    easy = "easy"
    hard = "hard"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _counter_progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[events]:>10,} events"),
        TextColumn("{task.fields[rate]:>8,.0f} ev/s"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _print_generate_stats(stats: GenerateStats, summary: SendSummary, to_files: bool) -> None:
    rate = stats.total / stats.seconds if stats.seconds else 0.0
    console.print(
        f"generated [bold]{stats.total:,}[/] events in {stats.seconds:.1f}s ({rate:,.0f} ev/s): "
        f"{stats.duplicates:,} duplicates, {stats.late:,} late, {stats.malformed:,} malformed"
    )
    if to_files:
        # Files keep the dirt unvalidated; `kol ingest import` checks contracts later.
        for topic, n in sorted(summary.sent.items()):
            console.print(f"  {topic}.jsonl: {n:,} lines")
    else:
        summary.render(console)


@app.command()
def generate(
    creators: int = typer.Option(200, min=1, help="Number of creators in the world."),
    days: int | None = typer.Option(
        None, min=1, help="Simulated days [default: 7 in replay, ~unbounded in live mode]."
    ),
    seed: int = typer.Option(42, help="Same seed, same events."),
    start_date: datetime = typer.Option(
        datetime(2025, 1, 1), formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"], help="Start (UTC)."
    ),
    mode: Mode = typer.Option(Mode.replay, help="replay: history at full speed; live: paced."),
    preset: Preset = typer.Option(
        Preset.easy,
        help="easy: one signature per planted behaviour; hard: organic spikes, drip-fed "
        "purchases, stealth pods and bots, weak genuine engagement, 5% wrong labels.",
    ),
    rate: float = typer.Option(1000.0, min=0.001, help="Events/s in live mode."),
    backdate: float = typer.Option(
        0.0, min=0.0, help="Live mode: send the first SECONDS of the schedule at once, in the past."
    ),
    plant_within_days: int | None = typer.Option(
        None, min=1, help="Planted fraud and breakouts start within this many days."
    ),
    duplicate_rate: float = typer.Option(0.01, min=0.0, max=1.0),
    late_rate: float = typer.Option(0.02, min=0.0, max=1.0),
    malformed_rate: float = typer.Option(0.005, min=0.0, max=1.0),
    max_events: int | None = typer.Option(None, min=1, help="Stop after this many events."),
    labels: Path | None = typer.Option(
        None, help="Ground-truth labels (JSON Lines) [default: <out>/labels.jsonl or state dir]."
    ),
    out: Path | None = typer.Option(
        None, help="Write <out>/<topic>.jsonl (raw, dirt included) instead of sending to Kafka."
    ),
    producers: int = typer.Option(
        1,
        min=1,
        help="Kafka producer processes beside the generator (kafka-python needs a core each).",
    ),
) -> None:
    """Simulate creators on TikTok, YouTube and Instagram and produce their raw events."""
    settings, ingest = get_settings(), get_ingest_settings()
    if days is None:
        days = 7 if mode is Mode.replay else 3650
    config = replace(
        PRESETS[preset.value],
        creators=creators,
        days=days,
        seed=seed,
        start=_utc(start_date),
        duplicate_rate=duplicate_rate,
        late_rate=late_rate,
        malformed_rate=malformed_rate,
        plant_within_days=plant_within_days,
    )
    labels_path = labels or (
        out / "labels.jsonl"
        if out
        else settings.data_dir / "generator" / f"labels-seed{seed}.jsonl"
    )
    World(config).write_labels(labels_path)
    console.print(f"labels: {labels_path}")

    sink: EventSink
    if out is None and mode is Mode.live:
        # In this process: the producer processes hand over batches of 1,000 events, which
        # at a live pace of a few events a second would hold each event for minutes.
        ensure_topics(settings, ingest)
        sink = KafkaEventSink(settings, ingest, source="generator")
        target = f"Kafka {settings.kafka_bootstrap}"
    elif out is None:
        ensure_topics(settings, ingest)
        sink = ProcessKafkaSink(settings, ingest, source="generator", producers=producers)
        target = f"Kafka {settings.kafka_bootstrap} ({producers} producer process(es))"
    else:
        sink = JsonlSink(out)
        target = str(out)
    console.print(
        f"{creators} creators x {days} days, seed {seed}, {preset.value} world, "
        f"{mode.value} mode → {target}"
    )

    progress = _counter_progress()
    with progress:
        task = progress.add_task(
            "simulated days", total=None if mode is Mode.live else days, events=0, rate=0.0
        )
        started = time.perf_counter()
        sent = 0

        def tick(n: int) -> None:
            nonlocal sent
            sent += n
            elapsed = time.perf_counter() - started or 1e-9
            progress.update(task, events=sent, rate=sent / elapsed)

        def day_done(day: int) -> None:
            progress.update(task, completed=day + 1)

        stats = GenerateStats()
        try:
            stats = run_world(
                config,
                sink,
                mode=mode.value,
                rate=rate,
                backdate_s=backdate,
                max_events=max_events,
                on_tick=tick,
                on_day=day_done,
            )
        except KeyboardInterrupt:
            console.print("[yellow]stopped; flushing what was produced")
        finally:
            summary = sink.close()
    _print_generate_stats(stats, summary, to_files=out is not None)
    _exit_on_delivery_failures(summary)


def _exit_on_delivery_failures(summary: SendSummary) -> None:
    """Events that never reached Kafka make the command fail (exit 1), with the counts: a
    caller (the demo, a DAG, a script) must not carry on as if they were landed."""
    failed = sum(summary.failed.values())
    if failed:
        delivered = sum(summary.sent.values())  # failures were taken out of "sent"
        console.print(
            f"[red]{failed:,} event(s) were not delivered to Kafka[/] ({delivered:,} delivered): "
            + ", ".join(f"{error} x{n:,}" for error, n in summary.failed.most_common()),
            highlight=False,
        )
        raise typer.Exit(1)


@app.command("import")
def import_(
    path: Path = typer.Argument(..., help="A JSON / JSON Lines / CSV file, or a folder of them."),
    topic: str | None = typer.Option(
        None, help=f"Topic of JSON files [default: from the file name]: {', '.join(TOPICS)}."
    ),
    event_time: datetime | None = typer.Option(
        None,
        formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
        help="Event time of CSV rows (UTC) [default: the file's modification time].",
    ),
    dry_run: bool = typer.Option(False, help="Validate and count only; send nothing."),
) -> None:
    """Import seed-format JSON / JSON Lines exports or creator-statistics CSVs."""
    settings, ingest = get_settings(), get_ingest_settings()
    try:
        plan = plan_import(path, topic)
        for file, why in plan.skipped:
            console.print(f"[yellow]skipped {file.name}[/]: {why}")
        records = iter_records(plan, None if event_time is None else _utc(event_time))
        sink: EventSink
        if dry_run:
            sink = DryRunSink(source=f"import:{path.name}")
        else:
            ensure_topics(settings, ingest)
            sink = KafkaEventSink(settings, ingest, source=f"import:{path.name}")
        try:
            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                MofNCompleteColumn(),
                console=console,
            ) as progress:
                task = progress.add_task(f"importing {len(plan.files)} file(s)", total=None)
                for n, rec in enumerate(records, start=1):
                    sink.send(rec.topic, rec.payload)
                    if n % 1000 == 0:
                        progress.update(task, completed=n)
                progress.update(task, completed=sink.summary.total_in)
        finally:
            summary = sink.close()
    except ImportFormatError as exc:
        console.print(f"[red]{exc}")
        raise typer.Exit(2) from None
    if dry_run:
        summary.render(console, title="import summary (dry run)", sent_label="valid")
    else:
        summary.render(console, title="import summary")
        _exit_on_delivery_failures(summary)


@app.command()
def topics() -> None:
    """Create the raw topics and the DLQ if missing (partitions from settings)."""
    settings, ingest = get_settings(), get_ingest_settings()
    result = ensure_topics(settings, ingest, (*TOPICS, DLQ_TOPIC))
    for name, created in result.items():
        state = "[green]created" if created else "exists"
        console.print(f"{name:40} {state}")


@app.command()
def schemas(
    directory: Path = typer.Option(SCHEMAS_DIR, help="Where to write <topic>.schema.json."),
) -> None:
    """Regenerate the JSON Schema files of the event contracts."""
    for path in write_schemas(directory):
        console.print(str(path))


if __name__ == "__main__":
    app()
