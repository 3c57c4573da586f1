"""Waiting on real services in tests: poll a check until it gives something truthy."""

from __future__ import annotations

import time
from typing import Any


def wait_for(check: Any, timeout_s: float = 60.0) -> Any:
    """``check()`` every half second until it is truthy or ``timeout_s`` passed; its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.5)
