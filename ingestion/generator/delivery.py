"""Delivery modes: the simulated stream as fast as possible, or paced on the wall clock."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator

from ingestion.generator.events import SimEvent


def replay(events: Iterable[SimEvent]) -> Iterator[tuple[SimEvent, bytes]]:
    """History as fast as possible, with simulated event times."""
    for ev in events:
        yield ev, ev.encode()


def live(
    events: Iterable[SimEvent],
    rate: float,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    backdate_s: float = 0.0,
) -> Iterator[tuple[SimEvent, bytes]]:
    """Emit ``rate`` events/s stamped with the wall clock, until the stream ends or is stopped.

    The simulation runs faster than real time, by ``speed`` = simulated seconds per wall
    second so far (never below 1). Each event is stamped *now*; every other time in it is
    placed relative to now by its simulated distance divided by ``speed``: a late event
    arrives late in wall time, a video's age grows as the stream goes on, and a streaming
    job sees consistent, out-of-order data in real time.

    ``backdate_s`` starts the schedule that long ago: the events due in the past are sent at
    once, each stamped with its due time, then the stream is paced. A streaming job that
    starts with it sees ``backdate_s`` of history at once (a creator's trending baseline is
    the half hour before), instead of scoring everyone against nothing for its first minutes.
    """
    if rate <= 0:
        raise ValueError("rate must be > 0")
    if backdate_s < 0:
        raise ValueError("backdate_s must be >= 0")
    started = clock()
    began = started - backdate_s
    sim_began: float | None = None
    for n, ev in enumerate(events):
        due = began + n / rate
        now = clock()
        if due > now:
            sleep(due - now)
            now = due
        elif due < started:
            now = due  # history sent in a burst keeps its place in time
        if sim_began is None:
            sim_began = ev.release
        yield ev, _stamped(ev, now, began, sim_began)


def scheduled(
    events: Iterable[SimEvent], rate: float, began: float
) -> Iterator[tuple[float, SimEvent, bytes]]:
    """:func:`live`'s stream planned ahead: (wall time due, event, payload stamped for then),
    for a load generator that encodes first and then only sends, on schedule, from ``began``."""
    if rate <= 0:
        raise ValueError("rate must be > 0")
    sim_began: float | None = None
    for n, ev in enumerate(events):
        due = began + n / rate
        if sim_began is None:
            sim_began = ev.release
        yield due, ev, _stamped(ev, due, began, sim_began)


def _stamped(ev: SimEvent, now: float, began: float, sim_began: float) -> bytes:
    speed = max(1.0, (ev.release - sim_began) / max(now - began, 1.0))
    return ev.encode(_wall_clock(now, ev.release, speed))


def _wall_clock(now: float, release: float, speed: float) -> Callable[[float], float]:
    """Maps a simulated time to wall time, ``release`` (the event's delivery) being now."""

    def to_wall(t: float) -> float:
        return now - (release - t) / speed

    return to_wall
