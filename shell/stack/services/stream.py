"""The trending job as a supervised service of the local stack (``kol stream``, ``kol stack``).

One foreground process (``python -m streaming.job``) with its pid file and log under the state
directory, like every other service. It is healthy when its process runs and its heartbeat, the
progress file the job rewrites every few seconds, is fresh and says the query is active.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import Any

from kol.redis_keys import RedisKeys
from kol.settings import REPO_ROOT, Settings, StreamSettings, get_stream_settings
from shell.stack.services.base import Health, Service
from streaming.heartbeat import describe, read_progress

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
        return read_progress(self.progress_file)

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
