"""Integration tests run against the real local stack that `make test` starts (`kol stack up`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from kol.settings import Settings
from shell.stack import manager


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session", autouse=True)
def stack_is_up(settings: Settings) -> None:
    down = manager.faults(manager.status(settings))
    if down:
        detail = "; ".join(f"{r.service}: {r.detail} (log {r.log})" for r in down)
        pytest.fail(f"the local stack is not healthy, run `kol stack up` first: {detail}")


@pytest.fixture(scope="session")
def spark(settings: Settings) -> Iterator[object]:
    from kol.spark import spark_session

    session = spark_session("kol-integration-tests", settings)
    yield session
    session.stop()


@pytest.fixture
def unique() -> str:
    """A suffix that keeps names of tables and topics apart between runs."""
    return uuid.uuid4().hex[:8]
