"""Running the generator into a sink (Kafka, files, or a dry run), with counts for the summary."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from ingestion.generator import GeneratorConfig, World, live, replay
from ingestion.producer import EventSink

Mode = Literal["replay", "live"]
TICK_EVERY = 2_000


@dataclass
class GenerateStats:
    """What the generator emitted, by kind; compared with the sink's summary in tests."""

    events: Counter[str] = field(default_factory=Counter)  # topic -> events emitted
    malformed: int = 0
    duplicates: int = 0
    late: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.events.values())


def run_world(
    config: GeneratorConfig,
    sink: EventSink,
    *,
    mode: Mode = "replay",
    rate: float | None = None,
    backdate_s: float = 0.0,
    shard: tuple[int, int] | None = None,
    max_events: int | None = None,
    on_tick: Callable[[int], None] | None = None,
    on_day: Callable[[int], None] | None = None,
) -> GenerateStats:
    """Simulate ``config`` (or one shard of it) and send every event to ``sink``.

    ``on_tick(n)`` is called every :data:`TICK_EVERY` events with the number sent since the
    last call, for progress bars. Stops after ``max_events`` if given (live mode otherwise runs
    until the simulated days are over or the process is interrupted).
    """
    stats = GenerateStats()
    world = World(config)
    events = world.events(shard=shard, on_day=on_day)
    if mode == "live":
        if rate is None:
            raise ValueError("live mode needs a rate (events/s)")
        stream = live(events, rate, backdate_s=backdate_s)
    else:
        stream = replay(events)
    started = time.perf_counter()
    n = 0
    topics = stats.events
    try:
        for ev, value in stream:
            # Replayed history arrives at its simulated delivery time; live events arrive now.
            arrival = int(ev.release * 1000) if mode == "replay" else None
            sink.send(ev.topic, value, ev.key, arrival)
            topics[ev.topic] += 1
            if ev.flaw is not None:
                stats.malformed += 1
            if ev.kind != "event":
                if ev.kind == "duplicate":
                    stats.duplicates += 1
                else:
                    stats.late += 1
            n += 1
            if on_tick is not None and n % TICK_EVERY == 0:
                on_tick(TICK_EVERY)
            if max_events is not None and n >= max_events:
                break
    finally:
        if on_tick is not None and n % TICK_EVERY:
            on_tick(n % TICK_EVERY)
        stats.seconds = time.perf_counter() - started
    return stats
