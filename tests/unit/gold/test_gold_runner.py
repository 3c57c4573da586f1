"""Gold's dbt wrapper and the dbt project's hygiene, without Trino (dbt parse only)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

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
