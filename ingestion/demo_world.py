"""The demo's world: which creators, seed and days `kol demo` generated, kept for later runs.

A second demo and the live producer (``kol stack up producer``) read it back, so that they use the
same creators and continue the same days rather than starting another world.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from kol.settings import IngestSettings, Settings, get_ingest_settings


@dataclass(frozen=True)
class DemoWorld:
    """The demo's generated world: its history ends the day before the live producer starts."""

    start: date
    days: int
    creators: int
    seed: int

    @property
    def last_day(self) -> date:
        return self.start + timedelta(days=self.days - 1)


def world_file(settings: Settings) -> Path:
    return settings.home / "demo" / "world.json"


def load_world(
    settings: Settings, ingest: IngestSettings | None = None, today: date | None = None
) -> DemoWorld:
    """The world of an earlier demo, else a new one ending yesterday (kept for the next run,
    so that a second demo and the live producer use the same creators and days)."""
    path = world_file(settings)
    if path.exists():
        w = json.loads(path.read_text())
        return DemoWorld(date.fromisoformat(w["start"]), w["days"], w["creators"], w["seed"])
    i = ingest or get_ingest_settings()
    today = today or datetime.now(UTC).date()
    world = DemoWorld(
        today - timedelta(days=i.demo_days), i.demo_days, i.demo_creators, i.demo_seed
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**asdict(world), "start": world.start.isoformat()}, indent=2))
    return world
