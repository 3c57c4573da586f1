"""`kol airflow ARGS...` against a fake `airflow` binary: arguments, environment, exit code."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shell import airflow_cli
from shell.cli import app

FAKE_AIRFLOW = """#!/bin/sh
printf '%s\\n' "$@" > "$OUT/args"
printf '%s|%s' "$AIRFLOW_HOME" "$KOL_TEST_KEEP" > "$OUT/env"
echo "airflow says hi"
case "$1" in
  die) kill -TERM $$ ;;
esac
exit 3
"""


@pytest.fixture
def fake_airflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    binary = tmp_path / "airflow"
    binary.write_text(FAKE_AIRFLOW)
    binary.chmod(0o755)
    monkeypatch.setattr(airflow_cli, "airflow_binary", lambda: str(binary))
    home = str(tmp_path / "airflow-home")
    monkeypatch.setattr(airflow_cli, "airflow_env", lambda settings: {"AIRFLOW_HOME": home})
    monkeypatch.setenv("OUT", str(tmp_path))
    monkeypatch.setenv("KOL_TEST_KEEP", "from the shell")
    monkeypatch.setenv("AIRFLOW_HOME", "/somewhere/else")  # the stack's wins
    return tmp_path


def test_every_argument_and_the_stack_env_reach_airflow(fake_airflow: Path) -> None:
    args = ["tasks", "test", "kol_daily_pipeline", "kafka_to_bronze", "2026-05-01"]
    extra = ["--map-index", "-1", "-o", "json", "--help"]  # unknown to kol, and airflow's help
    before = signal.getsignal(signal.SIGINT)
    result = CliRunner().invoke(app, ["airflow", *args, *extra])
    assert result.exit_code == 3, result.output
    assert (fake_airflow / "args").read_text().splitlines() == [*args, *extra]
    home, keep = (fake_airflow / "env").read_text().split("|")
    assert home == str(fake_airflow / "airflow-home")
    assert keep == "from the shell"
    assert signal.getsignal(signal.SIGINT) is before


def test_output_kept_in_a_log_and_signals_reported_as_a_shell_does(fake_airflow: Path) -> None:
    log = fake_airflow / "logs" / "run.log"
    assert airflow_cli.airflow("dags", "list", log_file=log) == 3
    assert log.read_text() == "airflow says hi\n"
    assert airflow_cli.airflow("die") == 128 + signal.SIGTERM
