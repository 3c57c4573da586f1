"""Reading the job's heartbeat: the progress file it rewrites every few seconds.

The job (:mod:`streaming.job`) writes it; the stack's health check and ``kol stream status`` read
it, so a running query, its counters and its pace show without asking Spark.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_progress(path: Path) -> dict[str, Any] | None:
    """The last heartbeat, or None before the first one (or if the file is unreadable)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def describe(data: dict[str, Any]) -> str:
    rate = data.get("processed_rows_per_second")
    parts = [
        f"batch {data.get('last_batch', '-')}",
        f"{data.get('events', 0):,} events",
        f"{data.get('rejected', 0):,} rejected",
    ]
    if rate:
        parts.append(f"{rate:,.0f} ev/s")
    if data.get("watermark"):
        parts.append(f"watermark {data['watermark']}")
    parts.append(f"trust {data.get('trust')}")
    return ", ".join(parts)
