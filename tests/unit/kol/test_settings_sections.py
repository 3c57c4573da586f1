"""One Settings, a section per layer: each shared value is read from the one section that
declares it, and a section always reads its core from the Settings it belongs to."""

from __future__ import annotations

import pytest

from kol.settings import (
    ApiSettings,
    DashboardSettings,
    GoldSettings,
    MlSettings,
    Settings,
    StreamSettings,
)


def test_shared_values_come_from_the_section_that_declares_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KOL_GOLD_SCHEMA", "gold_x")
    monkeypatch.setenv("KOL_ML_ACCOUNT_MODEL_NAME", "acct_x")
    monkeypatch.setenv("KOL_ML_ALIAS", "prod")
    monkeypatch.setenv("KOL_STREAM_REDIS_PREFIX", "p:")
    s = Settings()
    assert s.api.gold_schema == s.ml.gold_schema == s.gold.schema_name == "gold_x"
    assert s.stream.trust_model_name == s.api.account_model_name == "acct_x"
    assert s.stream.trust_model_alias == s.api.model_alias == "prod"
    assert s.api.redis_prefix == s.ml.score_key_prefix == "p:"
    assert s.api.gold_table_prefix == "iceberg.gold_x"


def test_sections_given_to_settings_are_linked_to_it() -> None:
    s = Settings(
        redis_port=7000,
        gold=GoldSettings(schema_name="g1"),
        ml=MlSettings(trust_model_name="t1"),
        api=ApiSettings(port=9001),
    )
    assert s.api.core is s and s.ml.core is s and s.stream.core is s
    assert (s.api.gold_schema, s.api.trust_model_name, s.api.port) == ("g1", "t1", 9001)
    assert s.dashboard.api_url == "http://127.0.0.1:9001"  # unset: the api section's address


def test_copies_read_their_own_core() -> None:
    s = Settings(stream=StreamSettings(redis_prefix="a:"))
    c = s.model_copy(update={"redis_port": 7001})
    assert c.api.core is c and c.api.core.redis_port == 7001
    assert s.api.core is s and s.redis_port != 7001
    d = s.with_changes(stream=StreamSettings(redis_prefix="b:"))
    assert (d.api.redis_prefix, s.api.redis_prefix) == ("b:", "a:")


def test_a_section_made_alone_gets_a_core_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KOL_API_PORT", "8123")
    monkeypatch.setenv("KOL_BIND_HOST", "10.0.0.7")
    api = ApiSettings()
    assert api.core.api is api and api.base_url == "http://10.0.0.7:8123"
    dash = DashboardSettings(port=8599)
    assert (dash.api_url, dash.host) == ("http://10.0.0.7:8123", "10.0.0.7")
    assert DashboardSettings(api_url="http://api.test").api_url == "http://api.test"


def test_a_schema_that_is_not_an_identifier_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOL_GOLD_SCHEMA", "gold; drop table x")
    with pytest.raises(ValueError, match="not a plain SQL identifier"):
        Settings()


def test_another_world_changes_the_gold_schema_and_topic_prefix_everywhere() -> None:
    s = Settings()
    w = s.for_world(topic_prefix="replay.", gold_schema="gold_replay")
    assert (w.ingest.topic_prefix, w.gold.schema_name) == ("replay.", "gold_replay")
    # The sections that read Gold read the run's schema; the original is untouched.
    assert w.api.gold_schema == "gold_replay" and w.ml.core is w
    assert (s.ingest.topic_prefix, s.gold.schema_name) == ("", "gold")
    assert s.for_world() is s and s.for_world(None, "gold") is s
    with pytest.raises(ValueError, match="not a plain SQL identifier"):
        s.for_world(gold_schema="gold; drop table x")
