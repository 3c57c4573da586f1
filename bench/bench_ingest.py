"""Ingestion throughput: generate only, generate + contract check, kafka-python's own ceiling,
and generate + produce to the real Kafka in one and in several processes.

    uv run python -m bench.bench_ingest [--creators 300] [--days 4] [--producers 2] [--json]

Needs the local stack's Kafka for the produce rows (``--no-kafka`` skips them). Topics are
created under a unique prefix and deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections.abc import Callable
from functools import partial

from rich.console import Console
from rich.table import Table

from ingestion.generator import GeneratorConfig, World, replay
from ingestion.pipeline import run_world
from ingestion.producer import (
    DryRunSink,
    EventSink,
    KafkaEventSink,
    ProcessKafkaSink,
    ensure_topics,
    make_admin,
    make_producer,
)
from kol.settings import IngestSettings, Settings, get_ingest_settings, get_settings
from kol.topics import topic_name


def _timed(fn: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    n = fn()
    return n, time.perf_counter() - started


def generate_only(config: GeneratorConfig) -> int:
    n = 0
    for _ev, _value in replay(World(config).events()):
        n += 1
    return n


def generate_validate(config: GeneratorConfig) -> int:
    sink = DryRunSink()
    return run_world(config, sink).total


def kafka_python_ceiling(
    config: GeneratorConfig, settings: Settings, ingest: IngestSettings
) -> tuple[int, float]:
    """Pre-encoded payloads straight into KafkaProducer.send: no generator, no validation."""
    messages = [
        (topic_name(ev.topic, ingest), ev.key.encode(), value)
        for ev, value in replay(World(config).events())
    ]
    sink = KafkaEventSink(settings, ingest, producer=make_producer(settings, ingest))
    producer = sink.producer
    started = time.perf_counter()
    for name, key, value in messages:
        # Same partition memo as the sink, so this row isolates kafka-python's own cost.
        producer.send(name, value=value, key=key, partition=sink._partition(name, key))
    producer.flush()
    elapsed = time.perf_counter() - started
    producer.close()
    return len(messages), elapsed


def generate_produce(
    config: GeneratorConfig, make_sink: Callable[[], EventSink]
) -> tuple[int, float]:
    """What the CLI does, timed from a connected sink (startup is reported on its own line)."""
    started = time.perf_counter()
    sink = make_sink()
    Console().print(f"  sink ready in {time.perf_counter() - started:.2f}s (not in the timing)")
    started = time.perf_counter()
    stats = run_world(config, sink)
    summary = sink.close()  # produced means acknowledged: the flush is timed
    elapsed = time.perf_counter() - started
    if summary.failed:
        raise RuntimeError(f"delivery failures: {dict(summary.failed)}")
    return stats.total, elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creators", type=int, default=300)
    parser.add_argument("--days", type=int, default=4)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--producers", type=int, default=2, help="up to this many processes")
    parser.add_argument("--no-kafka", action="store_true", help="skip the rows that need Kafka")
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = parser.parse_args(argv)

    console = Console()
    settings = get_settings()
    config = GeneratorConfig(creators=args.creators, days=args.days, seed=args.seed)
    rows: list[tuple[str, int, float]] = []

    def record(name: str, n: int, seconds: float) -> None:
        rows.append((name, n, seconds))
        console.print(f"{name:45} {n:>8,} events {seconds:6.2f}s {n / seconds:>10,.0f} ev/s")

    record("generate (simulate + serialise)", *_timed(lambda: generate_only(config)))
    record("generate + contract check", *_timed(lambda: generate_validate(config)))

    if not args.no_kafka:
        ingest = replace_prefix(get_ingest_settings(), f"bench.{uuid.uuid4().hex[:8]}.")
        ensure_topics(settings, ingest)
        try:
            record(
                "kafka-python send only (pre-encoded)",
                *kafka_python_ceiling(config, settings, ingest),
            )
            record(
                "generate + produce (in one process)",
                *generate_produce(config, lambda: KafkaEventSink(settings, ingest)),
            )
            for n in range(1, args.producers + 1):
                record(
                    f"generate + produce ({n} producer process{'es' if n > 1 else ''})",
                    *generate_produce(
                        config, partial(ProcessKafkaSink, settings, ingest, producers=n)
                    ),
                )
        finally:
            admin = make_admin(settings, ingest)
            try:
                admin.delete_topics(
                    [t for t in admin.list_topics() if t.startswith(ingest.topic_prefix)]
                )
            finally:
                admin.close()

    table = Table(title=f"ingest throughput: {args.creators} creators x {args.days} days")
    table.add_column("stage")
    table.add_column("events", justify="right")
    table.add_column("seconds", justify="right")
    table.add_column("events/s", justify="right")
    for name, n, seconds in rows:
        table.add_row(name, f"{n:,}", f"{seconds:.2f}", f"{n / seconds:,.0f}")
    console.print(table)
    if args.json:
        print(
            json.dumps(
                [
                    {"stage": s, "events": n, "seconds": round(t, 3), "events_per_s": round(n / t)}
                    for s, n, t in rows
                ]
            )
        )


def replace_prefix(ingest: IngestSettings, prefix: str) -> IngestSettings:
    return ingest.model_copy(update={"topic_prefix": prefix})


if __name__ == "__main__":
    main()
