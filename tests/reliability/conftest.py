"""Fault injection against the real local stack: services are killed with SIGKILL and brought
back with `kol stack up`, as an operator would. Run by `make test` after the integration tests
(pytest collects tests/integration first), so no other test sees a service go down."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator

import psutil
import pytest

from kol import process
from kol.settings import Settings
from shell.stack import manager


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/reliability/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def spark(settings: Settings) -> Iterator[object]:
    from kol.spark import spark_session

    session = spark_session("kol-reliability-tests", settings)
    yield session
    session.stop()


def kill_service(settings: Settings, name: str) -> float:
    """SIGKILL the service's whole process tree (no clean shutdown); returns when it is gone,
    with the time of the kill (monotonic)."""
    (svc,) = manager.select(settings, [name])
    record = process.read_pid(svc.pid_file)
    proc = record.process() if record else None
    assert proc is not None, f"{name} is not running"
    tree = [proc, *proc.children(recursive=True)]
    killed_at = time.monotonic()
    for p in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.send_signal(signal.SIGKILL)
    psutil.wait_procs(tree, timeout=30)
    return killed_at


def restart(settings: Settings, name: str) -> float:
    """`kol stack up`, as an operator would run it: ``name`` and whatever else the outage took
    down (Airflow's components exit when PostgreSQL goes); the seconds until all are healthy."""
    t0 = time.monotonic()
    with pytest.MonkeyPatch.context() as mp:
        # The services start with this process's environment: the stack's, not the topic
        # prefix of a test's world (Airflow's tasks would read that world's topics after).
        mp.delenv("KOL_INGEST_TOPIC_PREFIX", raising=False)
        manager.up(settings)
    assert not manager.faults(manager.status(settings)), f"the stack did not recover from {name}"
    return time.monotonic() - t0
