"""The Spark implementation of the count rule against the one shared case table."""

from __future__ import annotations

import csv

import pytest
from pyspark.sql import SparkSession

from ingestion.counts import COUNT_CASES_PATH, MISSING_TOKENS, CountParseError, format_count
from ingestion.counts import parse_count as py_parse_count
from ingestion.counts import parse_percent as py_parse_percent
from spark_jobs.counts import with_count, with_percent

CASES = list(csv.DictReader(COUNT_CASES_PATH.open(encoding="utf-8")))


def _spark_results(spark: SparkSession, kind: str, fn):  # type: ignore[no-untyped-def]
    rows = [(i, c["raw"]) for i, c in enumerate(CASES) if c["kind"] == kind]
    df = fn(spark.createDataFrame(rows, "i INT, raw STRING"), "raw", "p")
    return {r.i: (r.p.value, r.p.error) for r in df.collect()}


@pytest.mark.parametrize("kind", ["count", "percent"])
def test_spark_agrees_with_the_case_table(spark: SparkSession, kind: str) -> None:
    fn = with_count if kind == "count" else with_percent
    got = _spark_results(spark, kind, fn)
    assert got, f"no {kind} cases in {COUNT_CASES_PATH}"
    mismatches = []
    for i, (value, error) in got.items():
        case = CASES[i]
        if case["error"] == "1":
            ok = value is None and error
        elif case["expected"] == "":
            ok = value is None and error is None
        elif kind == "count":
            ok = value == int(case["expected"]) and error is None
        else:
            ok = value == pytest.approx(float(case["expected"])) and error is None
        if not ok:
            mismatches.append((case["raw"], case["expected"], case["error"], value, error))
    assert not mismatches, mismatches


def test_spark_agrees_with_python_on_every_case(spark: SparkSession) -> None:
    """Same inputs, same answers, including which strings are errors."""
    got = _spark_results(spark, "count", with_count)
    for i, (value, error) in got.items():
        raw = CASES[i]["raw"]
        try:
            expected, expected_error = py_parse_count(raw), False
        except CountParseError:
            expected, expected_error = None, True
        assert (value, bool(error)) == (expected, expected_error), raw
    got_pct = _spark_results(spark, "percent", with_percent)
    for i, (value, _) in got_pct.items():
        raw = CASES[i]["raw"]
        try:
            expected_pct = py_parse_percent(raw)
        except CountParseError:
            expected_pct = None
        assert value == pytest.approx(expected_pct) if expected_pct is not None else value is None


def _real_and_generated_displays() -> list[str]:
    """Every count in the real creator CSVs, plus the generator's displays in every style."""
    from tests.unit.ingestion.test_ingest_counts import (
        INSTAGRAM_COUNT_COLUMNS,
        INSTAGRAM_CSV,
        TIKTOK_COUNT_COLUMNS,
        TIKTOK_CSV,
        _csv_rows,
    )

    values = [r[c] for r in _csv_rows(TIKTOK_CSV) for c in TIKTOK_COUNT_COLUMNS]
    values += [r[c] for r in _csv_rows(INSTAGRAM_CSV) for c in INSTAGRAM_COUNT_COLUMNS]
    for n in (0, 9, 999, 1_000, 1_049, 12_345, 99_999, 987_654, 1_250_000, 3_000_000_000):
        for style in ("short", "short3", "lower", "full"):
            values += [format_count(n, style, locale) for locale in ("en", "vi")]
    return values


def test_spark_agrees_with_python_on_real_and_generated_counts(spark: SparkSession) -> None:
    values = _real_and_generated_displays()
    df = with_count(spark.createDataFrame(list(enumerate(values)), "i INT, raw STRING"), "raw", "p")
    got = {r.i: (r.p.value, r.p.error) for r in df.collect()}
    assert len(got) == len(values) > 6_000
    wrong = [(v, got[i]) for i, v in enumerate(values) if got[i] != (py_parse_count(v), None)]
    assert not wrong, wrong[:10]


def test_spark_treats_every_missing_token_as_missing(spark: SparkSession) -> None:
    """The Java function keeps its own copy of MISSING_TOKENS; not every token is in the table."""
    tokens = sorted(MISSING_TOKENS)
    raws = tokens + [t.upper() for t in tokens] + [f" {t}\u00a0" for t in tokens]
    rows = list(enumerate(raws))
    counts = with_count(spark.createDataFrame(rows, "i INT, raw STRING"), "raw", "p")
    percents = with_percent(counts, "raw", "q")
    for r in percents.collect():
        assert (r.p.value, r.p.error, r.q.value, r.q.error) == (None,) * 4, raws[r.i]
