"""`kol gold build` passes the interval's days and schema to dbt and exits 1 when dbt fails."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from typer.testing import CliRunner

from gold import cli, runner


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def fake_build(start: date | None, end: date | None, **kwargs: Any) -> runner.DbtRun:
        seen.append({"start": start, "end": end, **kwargs})
        failed = kwargs["gold"].schema_name == "broken"
        node = runner.NodeResult(
            "test.kol.x", "unique_x", "test", "fail" if failed else "pass", "1 row", 1, 0.1
        )
        return runner.DbtRun(["build"], success=not failed, seconds=1.0, nodes=[node])

    monkeypatch.setattr(runner, "build", fake_build)
    return seen


def test_build_passes_whole_days_and_the_schema(calls: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(
        cli.app,
        ["build", "--start", "2026-02-01", "--end", "2026-02-01T12:00", "--schema", "gold_x"],
    )
    assert result.exit_code == 0, result.output
    assert calls[0]["start"] == date(2026, 2, 1)
    assert calls[0]["end"] == date(2026, 2, 2)
    assert calls[0]["gold"].schema_name == "gold_x"
    assert calls[0]["full_refresh"] is False
    assert "passed" in result.output


def test_build_exits_1_and_names_the_failing_test(calls: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(cli.app, ["build", "--schema", "broken", "--full-refresh"])
    assert result.exit_code == 1
    assert calls[0]["full_refresh"] is True
    assert "unique_x" in result.output


def test_build_rejects_an_empty_interval(calls: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(cli.app, ["build", "--start", "2026-02-02", "--end", "2026-02-01"])
    assert result.exit_code == 2
    assert not calls


def test_unit_tests_are_left_to_the_setting_unless_asked(calls: list[dict[str, Any]]) -> None:
    assert CliRunner().invoke(cli.app, ["build"]).exit_code == 0
    assert CliRunner().invoke(cli.app, ["build", "--unit-tests"]).exit_code == 0
    assert [c["unit_tests"] for c in calls] == [None, True]


def test_daily_builds_leave_dbt_unit_tests_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from kol.settings import GoldSettings

    seen: list[list[str]] = []

    def fake_run_dbt(args: list[str], **kwargs: Any) -> runner.DbtRun:
        seen.append(args)
        return runner.DbtRun(args, success=True, seconds=0.0, nodes=[])

    monkeypatch.setattr(runner, "run_dbt", fake_run_dbt)
    runner.build(gold=GoldSettings())
    runner.build(gold=GoldSettings(unit_tests_in_builds=True))
    runner.build(gold=GoldSettings(), unit_tests=True)
    assert seen[0] == ["build", "--exclude-resource-type", "unit_test"]
    assert seen[1] == seen[2] == ["build"]
