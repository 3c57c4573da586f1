"""The trending job as a supervised service of the local stack (``kol stream``, ``kol stack``).

One foreground process (``python -m streaming.job``) with its pid file and log under the state
directory, like every other service. It is healthy when its process runs and its heartbeat, the
progress file the job rewrites every few seconds, is fresh and says the query is active.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from kol.redis_keys import RedisKeys
from kol.settings import REPO_ROOT, Settings, StreamSettings, get_stream_settings
from shell.stack.services import Health, Service

# The heartbeat is written every 5 s; a job stuck in one micro-batch for longer than this is
# reported unhealthy (a healthy batch takes well under a second).
STALE_AFTER_S = 60.0


class StreamService(Service):
    name = "stream"
    requires = ("kafka", "redis")
    # SIGINT, not SIGTERM: the stop signal goes to the whole process group, and PySpark starts
    # its JVM ignoring SIGINT. The job stops its query between batches and shuts the JVM down
    # itself; a SIGTERM would kill the JVM under a running batch (safe, but a needless replay).
    stop_signal = signal.SIGINT

    def __init__(self, settings: Settings, stream: StreamSettings | None = None) -> None:
        super().__init__(settings)
        self.ss = stream or get_stream_settings()

    @property
    def address(self) -> str:
        return f"redis {RedisKeys(self.ss.redis_prefix).rank()}"

    def ports(self) -> list[int]:
        return []

    def command(self) -> list[str]:
        return [sys.executable, "-m", "streaming.job"]

    def cwd(self) -> Path | None:
        return REPO_ROOT

    @property
    def progress_file(self) -> Path:
        return self.ss.progress_file(self.s)

    def progress(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.progress_file.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def health(self) -> Health:
        data = self.progress()
        if data is None:
            return Health(False, "no heartbeat yet")
        age = time.time() - self.progress_file.stat().st_mtime
        if data.get("state") != "running" or not data.get("active"):
            return Health(False, f"query {data.get('state')} (see {self.log_file})")
        if age > STALE_AFTER_S:
            return Health(False, f"heartbeat {age:.0f}s old")
        return Health(True, describe(data))


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
