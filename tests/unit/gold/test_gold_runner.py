"""Gold's dbt wrapper and the dbt project's hygiene, without Trino (dbt parse only)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from gold import runner
from kol.interval import days_of, interval_days
from kol.settings import GoldSettings, Settings


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2026-02-01", "2026-02-02", (date(2026, 2, 1), date(2026, 2, 2))),
        # A mid-day end still rebuilds that whole day; a zoned start is taken in UTC.
        ("2026-02-01T06:00:00", "2026-02-01T18:00:00", (date(2026, 2, 1), date(2026, 2, 2))),
        ("2026-02-02T01:00:00+07:00", "2026-02-03", (date(2026, 2, 1), date(2026, 2, 3))),
        (None, None, (None, None)),
        ("2026-02-03", None, (date(2026, 2, 3), None)),
    ],
)
def test_interval_days_covers_the_interval_with_whole_utc_days(
    start: str | None, end: str | None, expected: tuple[date | None, date | None]
) -> None:
    assert interval_days(start, end) == expected


def test_days_of_lists_each_utc_day_of_an_interval_in_order() -> None:
    start = datetime(2026, 2, 27, tzinfo=UTC)
    assert days_of(start, start + timedelta(days=3)) == [
        date(2026, 2, 27),
        date(2026, 2, 28),
        date(2026, 3, 1),
    ]
    assert days_of("2026-02-01T00:00:00+00:00", "2026-02-02T00:00:00+00:00") == [date(2026, 2, 1)]
    assert days_of(None, None) == [None]


def test_interval_days_rejects_an_empty_interval() -> None:
    with pytest.raises(ValueError, match="empty interval"):
        interval_days("2026-02-02", "2026-02-01")


def test_gold_vars_follow_the_ingest_topic_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    from kol.settings import get_ingest_settings

    monkeypatch.setenv("KOL_INGEST_TOPIC_PREFIX", "it42.")
    get_ingest_settings.cache_clear()
    try:
        assert runner.gold_vars(date(2026, 2, 1), date(2026, 2, 2)) == {
            "kol_topic_prefix": "it42.",
            "start": "2026-02-01",
            "end": "2026-02-02",
        }
        assert runner.gold_vars(topic_prefix="")["kol_topic_prefix"] == ""
    finally:
        monkeypatch.undo()
        get_ingest_settings.cache_clear()


def test_dbt_environment_carries_the_settings_profiles_yml_reads() -> None:
    settings = Settings(trino_host="trino.internal", trino_port=8443, trino_user="etl")
    gold = GoldSettings(schema_name="gold_x", dbt_threads=2)
    env = runner.dbt_environment(settings, gold)
    assert env["KOL_TRINO_HOST"] == "trino.internal"
    assert env["KOL_TRINO_PORT"] == "8443"
    assert env["KOL_GOLD_SCHEMA"] == "gold_x"
    # Trino requires a password: it reaches dbt through the environment, with HTTPS and the CA.
    assert settings.trino_password is not None
    assert env["KOL_TRINO_PASSWORD"] == settings.trino_password.get_secret_value() != ""
    assert env["KOL_TRINO_HTTP_SCHEME"] == "https"
    assert env["KOL_TRINO_CA_FILE"] == str(settings.trino_ca_file)
    profiles = (gold.dbt_project_dir / "profiles.yml").read_text()
    for name in env:
        assert f"env_var('{name}'" in profiles, name


def test_dbt_environment_without_a_trino_password_is_plain_http() -> None:
    env = runner.dbt_environment(Settings(trino_password=SecretStr("")), GoldSettings())
    assert env["KOL_TRINO_PASSWORD"] == ""
    assert env["KOL_TRINO_HTTP_SCHEME"] == "http"


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    target = tmp_path_factory.mktemp("dbt-target")
    run = runner.run_dbt(["parse"], target_path=target)
    assert run.success, run.error
    return json.loads((Path(target) / "manifest.json").read_text())


def _models(manifest: dict) -> list[dict]:
    return [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]


def test_every_model_and_column_is_described(manifest: dict) -> None:
    undocumented = [m["name"] for m in _models(manifest) if not m["description"].strip()]
    undocumented += [
        f"{m['name']}.{c}"
        for m in _models(manifest)
        for c, col in m["columns"].items()
        if not col["description"].strip()
    ]
    assert not undocumented
    assert all(m["columns"] for m in _models(manifest))


def test_marts_enforce_contracts_and_only_staging_reads_sources(manifest: dict) -> None:
    for m in _models(manifest):
        is_mart = m["fqn"][1] == "marts"
        assert m["config"]["contract"]["enforced"] == is_mart, m["name"]
        reads_source = any(d.startswith("source.") for d in m["depends_on"]["nodes"])
        assert reads_source == m["name"].startswith("stg_"), m["name"]


def test_every_mart_key_is_tested_for_uniqueness_and_nulls(manifest: dict) -> None:
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    unique: dict[str, set[str]] = {}
    not_null: dict[str, set[str]] = {}
    for t in tests:
        meta = t.get("test_metadata") or {}
        model = t.get("attached_node") or ""
        kwargs = meta.get("kwargs", {})
        if meta.get("name") == "unique":
            unique.setdefault(model, set()).add(kwargs["column_name"])
        elif meta.get("name") == "unique_combination_of_columns":
            unique.setdefault(model, set()).update(kwargs["combination_of_columns"])
        elif meta.get("name") == "not_null":
            not_null.setdefault(model, set()).add(kwargs["column_name"])
    for m in _models(manifest):
        if m["fqn"][1] != "marts":
            continue
        keys = unique.get(m["unique_id"])
        assert keys, f"{m['name']} has no unique test"
        assert keys <= not_null.get(m["unique_id"], set()), m["name"]


def _fake_runs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    seen: list[list[str]] = []

    def fake_run_dbt(args: list[str], **kwargs: Any) -> runner.DbtRun:
        seen.append(list(args))
        return runner.DbtRun(args, success=True, seconds=0.0, nodes=[])

    monkeypatch.setattr(runner, "run_dbt", fake_run_dbt)
    monkeypatch.setattr(runner, "oldest_arrived_day", lambda *a, **k: None)
    return seen


def test_interval_builds_leave_out_the_guaranteed_tests_full_refreshes_do_not(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen = _fake_runs(monkeypatch)
    settings = Settings(home=tmp_path)
    gold = GoldSettings(schema_name="gold_unit")
    day = date(2026, 2, 1)
    runner.build(day, day + timedelta(days=1), settings=settings, gold=gold)
    runner.build(day, day + timedelta(days=1), full_refresh=True, settings=settings, gold=gold)
    runner.build(
        day, day + timedelta(days=1), select=["fct_kol_daily"], settings=settings, gold=gold
    )
    # No state of an earlier build of this schema: the static nodes are built too.
    assert seen[0][:3] == ["build", "--selector", runner.INTERVAL_SELECTOR]
    assert "--selector" not in seen[1] and "--exclude" not in seen[1]
    assert seen[2][:5] == [
        "build",
        "--select",
        "fct_kol_daily",
        "--exclude",
        "tag:upstream_guaranteed",
    ]


def _static_manifest(path: Path) -> Path:
    nodes = {
        "seed.kol.platforms": {
            "resource_type": "seed", "name": "platforms", "alias": "platforms",
            "schema": "gold_unit_staging", "tags": ["static"],
        },
        "model.kol.dim_dates": {
            "resource_type": "model", "name": "dim_dates", "alias": "dim_dates",
            "schema": "gold_unit", "tags": ["static"],
        },
        "model.kol.fct_kol_daily": {
            "resource_type": "model", "name": "fct_kol_daily", "alias": "fct_kol_daily",
            "schema": "gold_unit", "tags": [],
        },
    }  # fmt: skip
    path.mkdir(parents=True, exist_ok=True)
    (path / "manifest.json").write_text(json.dumps({"nodes": nodes}))
    return path / "manifest.json"


def test_static_nodes_are_left_alone_only_while_the_schema_holds_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import kol.trino

    settings = Settings(home=tmp_path)
    gold = GoldSettings(schema_name="gold_unit")
    tables = [("gold_unit_staging", "platforms"), ("gold_unit", "dim_dates")]
    monkeypatch.setattr(kol.trino, "query", lambda *a, **k: list(tables))
    assert runner.built_state(settings, gold) is None  # never built
    runner.save_built_state(_static_manifest(tmp_path / "target"), settings, gold)
    assert runner.built_state(settings, gold) == runner.state_dir(settings, gold)
    # Vars a caller adds (dim_dates' range, ...) are not in dbt's state comparison.
    assert runner.built_state(settings, gold, {"dim_dates_end": "2040-12-31"}) is None
    # Another schema has its own state.
    assert runner.built_state(settings, GoldSettings(schema_name="gold_other")) is None
    tables.pop()  # dim_dates dropped, or the whole schema
    assert runner.built_state(settings, gold) is None

    seen = _fake_runs(monkeypatch)
    tables.append(("gold_unit", "dim_dates"))
    day = date(2026, 2, 1)
    runner.build(day, day + timedelta(days=1), settings=settings, gold=gold)
    assert seen[-1][:5] == [
        "build",
        "--selector",
        runner.STATIC_BUILT_SELECTOR,
        "--state",
        str(runner.state_dir(settings, gold)),
    ]
