"""The real stack's supervision: idempotent `up`, a killed service is seen and restarted."""

from __future__ import annotations

import json
import os
import signal
import time

from typer.testing import CliRunner

from kol import process
from kol.settings import Settings
from shell.cli import app
from shell.stack import manager


def test_status_json_reports_every_service_healthy(settings: Settings) -> None:
    result = CliRunner().invoke(app, ["stack", "status", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {r["service"] for r in rows} == {
        "postgres",
        "redis",
        "kafka",
        "trino",
        "mlflow",
        "spark-connect",
        "airflow-api",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "api",
        "dashboard",
        "stream",
        "producer",
    }
    assert all(r["healthy"] and r["pid"] for r in rows if not r["optional"])
    assert {r["service"] for r in rows if r["optional"]} == {"stream", "producer"}


def test_second_up_is_a_no_op(settings: Settings) -> None:
    before = {r.service: r.pid for r in manager.status(settings)}
    assert manager.up(settings) == []
    assert {r.service: r.pid for r in manager.status(settings)} == before


def test_a_killed_service_is_reported_and_up_restarts_it(settings: Settings) -> None:
    svc = manager.select(settings, ["redis"])[0]
    record = process.read_pid(svc.pid_file)
    assert record is not None
    os.kill(record.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while record.process() is not None and time.monotonic() < deadline:
        time.sleep(0.1)

    result = CliRunner().invoke(app, ["stack", "status", "--json"])
    assert result.exit_code == 1
    redis_row = next(r for r in json.loads(result.output) if r["service"] == "redis")
    assert redis_row["healthy"] is False

    assert manager.up(settings) == ["redis"]
    assert manager.faults(manager.status(settings)) == []
