"""`kol demo`'s own logic: its world file, its steps' skip rule, and a failing step's message."""

from __future__ import annotations

from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from ingestion.demo_world import load_world, world_file
from kol.settings import IngestSettings, Settings
from shell.demo import DemoError, Step, run_kol, run_steps


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path)


def test_world_ends_yesterday_and_is_reused(settings: Settings) -> None:
    ingest = IngestSettings(demo_creators=50, demo_days=10, demo_seed=3)
    world = load_world(settings, ingest, today=date(2026, 12, 5))
    assert (world.start, world.last_day, world.creators, world.seed) == (
        date(2026, 11, 25),
        date(2026, 12, 4),
        50,
        3,
    )
    # A later run, on another day and with other defaults, keeps the world it made.
    again = load_world(settings, IngestSettings(), today=date(2027, 1, 1))
    assert again == world
    assert world_file(settings).exists()


def test_steps_skip_what_is_there_and_run_the_rest() -> None:
    ran: list[str] = []
    out = StringIO()
    run_steps(
        Console(file=out, width=200),
        [
            Step("a", "first", lambda: ran.append("a") or None, lambda: "already in Gold"),
            Step("b", "second", lambda: ran.append("b") or "3 rows"),
        ],
    )
    assert ran == ["b"]
    lines = out.getvalue().splitlines()
    assert "first" in lines[0] and "skipped: already in Gold" in lines[0]
    assert "second" in lines[1] and "3 rows" in lines[1]


def test_a_failing_step_names_its_command_and_log(settings: Settings) -> None:
    with pytest.raises(DemoError) as caught:
        run_kol(settings, "bad", "ingest", "generate", "--creators", "0")
    message = str(caught.value)
    log = settings.log_dir / "demo" / "bad.log"
    assert "kol ingest generate --creators 0" in message and str(log) in message
    assert "--creators" in log.read_text()
