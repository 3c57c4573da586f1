"""A generated world in fresh Kafka topics, the input several benchmarks start from.

Not a benchmark itself (`make bench` runs bench_*.py only).
"""

from __future__ import annotations

import os
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rich.console import Console

from ingestion.generator import GeneratorConfig
from ingestion.pipeline import run_world
from ingestion.producer import ProcessKafkaSink, ensure_topics
from kol.settings import get_ingest_settings, get_settings


@dataclass(frozen=True)
class World:
    prefix: str  # topic prefix the world was produced under (KOL_INGEST_TOPIC_PREFIX)
    start: datetime
    days: int
    events: int
    produce_s: float


def unused_start() -> datetime:
    """A day earlier runs are unlikely to have used, so MERGEs find empty target partitions
    as a daily run does, not every previous run's rows for the same days. In the past (Kafka 4
    refuses records stamped more than an hour ahead) and within Gold's calendar, dim_dates
    (2020-2035, dbt_project.yml)."""
    return datetime(2020, 1, 1, tzinfo=UTC) + timedelta(days=random.randrange(1_800))


def produce_world(
    creators: int,
    days: int,
    console: Console,
    start: datetime | None = None,
    prefix: str | None = None,
) -> World:
    """Generate ``creators`` x ``days`` into topics under ``prefix`` (default: a new one), set
    for this process and the processes it starts through KOL_INGEST_TOPIC_PREFIX."""
    prefix = prefix or f"bench{uuid.uuid4().hex[:6]}."
    os.environ["KOL_INGEST_TOPIC_PREFIX"] = prefix
    get_ingest_settings.cache_clear()
    settings, ingest = get_settings(), get_ingest_settings()
    start = start or unused_start()
    config = GeneratorConfig(
        creators=creators, days=days, seed=random.randrange(1 << 30), start=start
    )
    ensure_topics(settings, ingest)
    t0 = time.perf_counter()
    with console.status(f"producing {creators} creators x {days} days ..."):
        sink = ProcessKafkaSink(settings, ingest, source="bench", producers=2)
        stats = run_world(config, sink)
        summary = sink.close()
    if summary.failed:
        raise SystemExit(f"Kafka refused events, numbers would be wrong: {dict(summary.failed)}")
    world = World(prefix, start, days, stats.total, time.perf_counter() - t0)
    console.print(
        f"produced {world.events:,} events in {world.produce_s:.1f}s "
        f"(topics {prefix}*, from {start:%Y-%m-%d})"
    )
    return world
