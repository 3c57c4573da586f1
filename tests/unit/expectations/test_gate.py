"""The GX gate on inline DataFrames: good data passes, planted violations fail by name."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml
from pyspark.sql import SparkSession

from expectations.gate import (
    DOCS_INDEX_RESULTS,
    GateResult,
    expectations_for,
    gate_gold,
    layer_frames,
    load_suite,
    run_gate,
    verdict,
)
from kol.interval import Interval
from kol.settings import QualitySettings, Settings

DAY = Interval.parse("2026-11-01", "2026-11-02")
PROFILE_SCHEMA = (
    "event_id STRING, event_time TIMESTAMP, platform STRING, username STRING, "
    "followers BIGINT, following BIGINT, likes BIGINT"
)


def profiles(spark: SparkSession, rows: list[tuple]):  # type: ignore[no-untyped-def]
    return spark.createDataFrame(rows, PROFILE_SCHEMA)


def good_rows() -> list[tuple]:
    t = datetime(2026, 11, 1, 10)
    return [
        ("e1", t, "tiktok", "alice", 1200, 35, 1_300_000),
        ("e2", t, "youtube", "bob", 5_000_000, 10, 9),
    ]


def summary(spark: SparkSession, ratio: float, lag: float):  # type: ignore[no-untyped-def]
    return spark.createDataFrame(
        [("kol.profiles.raw", 100, int(ratio * 100), ratio, lag)],
        "topic STRING, bronze BIGINT, rejects BIGINT, reject_ratio DOUBLE, lag_hours DOUBLE",
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path)


def test_suites_are_files_with_shared_and_per_table_expectations() -> None:
    silver = load_suite("silver")
    profile_checks = [e["type"] for e in expectations_for(silver, "profiles")]
    assert "expect_column_values_to_be_unique" in profile_checks
    assert profile_checks.count("expect_column_values_to_be_between") == 3
    assert all(
        e["kwargs"].get("column") != "event_id" for e in expectations_for(silver, "_summary")
    )


def test_good_silver_passes_and_writes_data_docs(spark: SparkSession, settings: Settings) -> None:
    result = run_gate(
        spark,
        settings,
        "silver",
        DAY,
        frames={"profiles": profiles(spark, good_rows()), "_summary": summary(spark, 0.01, 1.0)},
    )
    assert result.ok, result.failures
    assert result.checked > 5
    assert result.docs is not None and result.docs.exists()
    # The project's GX configuration, as the gate left it: no progress bars in task logs, and
    # an index page that reads a bounded number of results however many runs are stored.
    config = yaml.safe_load((settings.home / "gx" / "great_expectations.yml").read_text())
    assert config["progress_bars"]["globally"] is False
    index = config["data_docs_sites"]["local_site"]["site_index_builder"]
    assert index["validation_results_limit"] == DOCS_INDEX_RESULTS


def test_planted_violations_fail_and_are_named(spark: SparkSession, settings: Settings) -> None:
    t = datetime(2026, 11, 1, 10)
    bad = [
        *good_rows(),
        ("e1", t, "tiktok", "alice", 1200, 35, 1),  # duplicate event_id
        ("e3", t, "myspace", "carol", 10, 1, 1),  # unknown platform
        ("e4", t, "tiktok", "dave", -5, 1, 1),  # negative followers
        ("e5", t, "tiktok", "erin", 9_000_000_000, 1, 1),  # implausible followers
    ]
    result = run_gate(
        spark,
        settings,
        "silver",
        DAY,
        QualitySettings(max_reject_ratio=0.05),
        frames={"profiles": profiles(spark, bad), "_summary": summary(spark, 0.2, 1.0)},
    )
    assert not result.ok
    text = "\n".join(result.failures)
    assert "expect_column_values_to_be_unique" in text and "event_id" in text
    assert "expect_column_values_to_be_in_set" in text
    assert "'column': 'followers'" in text
    assert "reject_ratio" in text
    # Failed tables are validated again in full: each failure says what GX observed.
    assert "(observed None)" not in text, text
    assert len(result.failures) == 4


def test_verdict_names_each_failure_the_count_and_the_docs(tmp_path: Path) -> None:
    docs = tmp_path / "index.html"
    failed = GateResult("silver", DAY, ["expect_x on profiles", "expect_y on comments"], 9, docs)
    lines = verdict(failed)
    assert lines[:2] == ["FAILED expect_x on profiles", "FAILED expect_y on comments"]
    assert lines[2] == f"silver gate failed for {DAY} (2 of 9 expectations)"
    assert lines[3] == f"Data Docs: {docs}"
    passed = verdict(GateResult("bronze", DAY, [], 4, docs))
    assert passed[0] == f"bronze gate for {DAY}: 4 checks passed"


def test_gold_suite_catches_a_repeated_creator_day_and_an_empty_table(settings: Settings) -> None:
    """Gold is gated on pandas frames (read with pyiceberg), without Spark."""
    import pandas as pd

    day = DAY.start.date()
    rows = [
        ("tiktok:alice", day, "tiktok", 1200, 0.05),
        ("tiktok:alice", day, "tiktok", 1250, 0.05),  # the day merged twice
        ("youtube:bob", day, "youtube", 5_000_000, 1.7),  # engagement above 100 %
    ]
    columns = ["kol_id", "date_day", "platform", "followers", "engagement_rate"]
    daily = pd.DataFrame(rows, columns=columns)
    empty = pd.DataFrame([], columns=[*columns, "followers_rank"])
    result = gate_gold(settings, DAY, frames={"fct_kol_daily": daily, "kol_rankings_daily": empty})
    text = "\n".join(result.failures)
    assert "expect_compound_columns_to_be_unique" in text
    assert "'column': 'engagement_rate'" in text
    assert "gold.kol_rankings_daily: expect_table_row_count_to_be_between" in text
    assert len(result.failures) == 3

    good = pd.DataFrame([rows[0]], columns=columns)
    assert gate_gold(settings, DAY, frames={"fct_kol_daily": good}).ok


def test_gold_is_not_gated_in_spark(spark: SparkSession, settings: Settings) -> None:
    with pytest.raises(ValueError, match="gate_gold"):
        layer_frames(spark, settings, "gold", DAY)
