"""The one display-count rule: the shared case table, the real creator CSVs, round trips."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ingestion.counts import (
    COUNT_CASES_PATH,
    CountParseError,
    format_count,
    parse_count,
    parse_percent,
)
from kol.settings import REPO_ROOT

EXTERNAL = REPO_ROOT.parent / "shared" / "data" / "external"
TIKTOK_CSV = EXTERNAL / "tiktok_top_creators" / "top_tiktok_influencers.csv"
INSTAGRAM_CSV = EXTERNAL / "instagram_top_influencers" / "top_insta_influencers_data.csv"


def _cases() -> list[dict[str, str]]:
    with COUNT_CASES_PATH.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


CASES = _cases()


def test_case_table_is_well_formed() -> None:
    assert len(CASES) >= 50
    assert {c["kind"] for c in CASES} == {"count", "percent"}
    assert {c["error"] for c in CASES} == {"0", "1"}
    for c in CASES:
        assert not (c["error"] == "1" and c["expected"]), c


@pytest.mark.parametrize("case", CASES, ids=[f"{c['kind']}:{c['raw']!r}" for c in CASES])
def test_case_table(case: dict[str, str]) -> None:
    parse = parse_count if case["kind"] == "count" else parse_percent
    if case["error"] == "1":
        with pytest.raises(CountParseError) as info:
            parse(case["raw"])
        assert repr(case["raw"]) in str(info.value)  # the message names the offending string
        return
    got = parse(case["raw"])
    if case["expected"] == "":
        assert got is None  # missing, never 0
    elif case["kind"] == "count":
        assert got == int(case["expected"])
    else:
        assert got == pytest.approx(float(case["expected"]), abs=1e-12)


def test_parse_error_is_a_value_error_with_the_value() -> None:
    with pytest.raises(ValueError, match=r"12\.\.5K"):
        parse_count("12..5K")


@pytest.mark.parametrize("value", [True, -1, 1.5, [1], {"a": 1}])
def test_non_string_inputs_are_rejected(value: object) -> None:
    with pytest.raises(CountParseError):
        parse_count(value)  # type: ignore[arg-type]


def test_numbers_pass_through() -> None:
    assert parse_count(0) == 0
    assert parse_count(1234) == 1234
    assert parse_count(12.0) == 12
    assert parse_count(None) is None


def _csv_rows(path: Path) -> list[dict[str, str]]:
    # The files keep their BOM / CRLF; utf-8-sig and newline="" cope without cleaning them.
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


TIKTOK_COUNT_COLUMNS = ["Subscribers", "Views avg", "Likes avg", "Comments avg", "Shares avg"]
INSTAGRAM_COUNT_COLUMNS = ["posts", "followers", "avg_likes", "new_post_avg_like", "total_likes"]


def test_every_tiktok_top_creator_count_parses() -> None:
    rows = _csv_rows(TIKTOK_CSV)
    assert len(rows) == 1000
    values = [row[col] for row in rows for col in TIKTOK_COUNT_COLUMNS]
    parsed = [parse_count(v) for v in values]
    assert all(isinstance(p, int) and p >= 0 for p in parsed)
    first = rows[0]
    assert parse_count(first["Subscribers"]) == 13_800_000  # 13.8M
    assert parse_count(first["Comments avg"]) == 50_200  # 50.2K


def test_every_instagram_top_influencer_count_and_rate_parses() -> None:
    rows = _csv_rows(INSTAGRAM_CSV)
    assert len(rows) == 200
    assert "rank" in rows[0]  # the BOM did not stick to the first column name
    counts = [parse_count(row[col]) for row in rows for col in INSTAGRAM_COUNT_COLUMNS]
    assert all(isinstance(c, int) and c >= 0 for c in counts)
    rates = [parse_percent(row["60d_eng_rate"]) for row in rows]
    assert sum(r is None for r in rates) == 1  # one "NaN%": missing, not zero
    assert all(r is None or 0 <= r < 1 for r in rates)
    cristiano = rows[0]
    assert parse_count(cristiano["followers"]) == 475_800_000
    assert parse_count(cristiano["total_likes"]) == 29_000_000_000
    assert parse_percent(cristiano["60d_eng_rate"]) == pytest.approx(0.0139)


@pytest.mark.parametrize("style", ["short", "short3", "lower", "full"])
@pytest.mark.parametrize("locale", ["en", "vi"])
@pytest.mark.parametrize("n", [0, 7, 999, 1_000, 1_234, 11_350, 123_456, 1_300_000, 2_000_000_000])
def test_formatted_counts_parse_back_within_display_precision(
    n: int, style: str, locale: str
) -> None:
    shown = format_count(n, style, locale)
    back = parse_count(shown)
    assert back is not None
    assert back <= n  # displays truncate, never round up
    assert n - back < max(1, n) * 0.1
    if style == "full":
        assert back == n
