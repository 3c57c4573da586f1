"""How fast this machine runs right now, printed beside every benchmark's numbers.

Not a benchmark itself (`make bench` runs bench_*.py only). The machine is a shared virtual
one: the same code measured Bronze at 33.9k records/s on one day and 69.7k on another, and a
pure-Python loop ran about twice as long on the slow days as on the fast ones. A number
without the speed it was measured at cannot be compared with another day's.
"""

from __future__ import annotations

import os
import time


def python_loop_s(additions: int = 5_000_000, repeats: int = 3) -> float:
    """Best of ``repeats`` wall times of a pure-Python loop: one core's speed for interpreted
    code, which is what the streaming driver and the check are bound by."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        total = 0
        for i in range(additions):
            total += i
        best = min(best, time.perf_counter() - started)
    return best


def describe() -> dict[str, object]:
    """Speed and load now, for a benchmark's printout and its JSON."""
    return {
        "python_loop_5m_s": round(python_loop_s(), 3),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
