"""Importers: seed-format JSON / JSON Lines and creator-statistics CSVs, every record checked."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from ingestion.importers import (
    ImportFormatError,
    infer_topic,
    iter_records,
    plan_import,
)
from ingestion.producer import DryRunSink, SendSummary
from kol.settings import REPO_ROOT
from kol.topics import COMMENTS_TOPIC, PROFILES_TOPIC, VIDEOS_TOPIC

EXTERNAL = REPO_ROOT.parent / "shared" / "data" / "external"

VIDEO = {
    "event_id": "v-1",
    "event_time": "2025-03-01T08:00:00+07:00",
    "event_type": "video_snapshot",
    "platform": "tiktok",
    "username": "chef_tom",
    "video_id": "7312345678901234567",
    "video_url": "https://www.tiktok.com/@chef_tom/video/7312345678901234567",
    "caption": "Phở 🍜",
    "view_count_raw": "1,2K",
    "like_count_raw": "98",
    "comment_count_raw": "—",
    "share_count_raw": "3",
}
COMMENT = {
    "event_id": "c-1",
    "event_time": "2025-03-01T08:05:00Z",
    "event_type": "comment",
    "platform": "tiktok",
    "username": "chef_tom",
    "video_id": "7312345678901234567",
    "video_url": None,
    "comment_text": "Nhìn ngon quá trời",
}


def run(path: Path, topic: str | None = None, **kw: Any) -> SendSummary:
    sink = DryRunSink()
    for rec in iter_records(plan_import(path, topic), **kw):
        sink.send(rec.topic, rec.payload)
    return sink.close()


@pytest.mark.parametrize(
    ("name", "topic"),
    [
        ("kol.videos.raw.jsonl", VIDEOS_TOPIC),
        ("tiktok_videos.json", VIDEOS_TOPIC),
        ("profiles-2025-03-01.jsonl", PROFILES_TOPIC),
        ("Comments.NDJSON", COMMENTS_TOPIC),
        ("discovery.json", "kol.discovery.raw"),
        ("shop_products.jsonl", "kol.products.raw"),
    ],
)
def test_topic_is_inferred_from_the_file_name(name: str, topic: str) -> None:
    assert infer_topic(Path(name)) == topic


@pytest.mark.parametrize("name", ["export.json", "videos_and_comments.json", "videography.json"])
def test_unclear_names_need_a_topic(name: str) -> None:
    with pytest.raises(ImportFormatError, match="--topic"):
        infer_topic(Path(name))


def test_json_array(tmp_path: Path) -> None:
    path = tmp_path / "videos.json"
    path.write_bytes(orjson.dumps([VIDEO, {**VIDEO, "event_id": "v-2", "view_count_raw": "9"}]))
    summary = run(path)
    assert summary.sent == {VIDEOS_TOPIC: 2} and not summary.rejected


def test_pretty_printed_single_object(tmp_path: Path) -> None:
    path = tmp_path / "one_video.json"
    path.write_bytes(orjson.dumps(VIDEO, option=orjson.OPT_INDENT_2))
    assert run(path).sent == {VIDEOS_TOPIC: 1}


def test_json_lines_with_bom_crlf_and_a_broken_line(tmp_path: Path) -> None:
    path = tmp_path / "comments.jsonl"
    lines = [orjson.dumps(COMMENT), b'{"event_id": "c-2", "broken', orjson.dumps(COMMENT), b""]
    path.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(lines))
    summary = run(path)
    assert summary.sent == {COMMENTS_TOPIC: 2}
    assert summary.rejected == {"json_invalid": 1}  # passed on and rejected, not skipped


def test_records_failing_the_contract_are_counted_by_reason(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    bad = [
        {**VIDEO, "view_count_raw": "lots"},
        {**VIDEO, "platform": "facebook"},
        {k: v for k, v in VIDEO.items() if k != "username"},
    ]
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in [VIDEO, *bad]))
    summary = run(path, topic=VIDEOS_TOPIC)
    assert summary.sent == {VIDEOS_TOPIC: 1}
    assert summary.rejected == {
        "count_parse:view_count_raw": 1,
        "literal_error:platform": 1,
        "missing:username": 1,
    }
    assert summary.total_in == 4


def test_folder_import_skips_and_lists_what_it_cannot_place(tmp_path: Path) -> None:
    (tmp_path / "kol.videos.raw.jsonl").write_bytes(orjson.dumps(VIDEO))
    (tmp_path / "kol.comments.raw.jsonl").write_bytes(orjson.dumps(COMMENT))
    (tmp_path / "labels.jsonl").write_bytes(b"{}")
    (tmp_path / "notes.txt").write_text("x")
    plan = plan_import(tmp_path)
    assert [f.name for f, _ in plan.files] == ["kol.comments.raw.jsonl", "kol.videos.raw.jsonl"]
    assert sorted(f.name for f, _ in plan.skipped) == ["labels.jsonl", "notes.txt"]
    assert run(tmp_path).sent == {VIDEOS_TOPIC: 1, COMMENTS_TOPIC: 1}


def test_unknown_topic_and_missing_path() -> None:
    with pytest.raises(ImportFormatError):
        plan_import(Path("/nonexistent/videos.json"))
    with pytest.raises(ImportFormatError):
        plan_import(EXTERNAL, topic="kol.nope")


def test_tiktok_top_creators_csv() -> None:
    path = EXTERNAL / "tiktok_top_creators" / "top_tiktok_influencers.csv"
    when = datetime(2025, 2, 1, tzinfo=UTC)
    records = list(iter_records(plan_import(path), event_time=when))
    assert len(records) == 1000
    first = orjson.loads(records[0].payload)
    assert first["platform"] == "tiktok" and first["username"] == "jypestraykids"
    assert first["followers_raw"] == "13.8M" and first["avg_views_raw"] == "6.4M"
    assert first["event_time"] == "2025-02-01T00:00:00Z"
    assert run(path, event_time=when).sent == {PROFILES_TOPIC: 1000}


def test_instagram_top_influencers_csv_keeps_its_one_bad_handle_visible() -> None:
    path = EXTERNAL / "instagram_top_influencers" / "top_insta_influencers_data.csv"
    summary = run(path)
    assert summary.sent == {PROFILES_TOPIC: 199}
    # One row's "handle" is a display name with spaces: rejected with its reason.
    assert summary.rejected == {"string_pattern_mismatch:username": 1}
    first = orjson.loads(next(iter_records(plan_import(path))).payload)
    assert first["username"] == "cristiano"
    assert first["engagement_rate_raw"] == "1.39%" and first["country"] == "Spain"


def test_csv_import_is_repeatable() -> None:
    path = EXTERNAL / "tiktok_top_creators" / "top_tiktok_influencers.csv"
    a = [r.payload for r in iter_records(plan_import(path))]
    b = [r.payload for r in iter_records(plan_import(path))]
    assert a == b
    assert len({orjson.loads(p)["event_id"] for p in a}) == 1000


def test_generic_profile_csv(tmp_path: Path) -> None:
    path = tmp_path / "creators.csv"
    path.write_text(
        "platform,username,followers_raw,verified\r\n"
        'youtube,an.review,"1,2K",true\r\n'
        "instagram,bad handle,5,false\r\n",
        encoding="utf-8-sig",
    )
    summary = run(path)
    assert summary.sent == {PROFILES_TOPIC: 1}
    assert sum(summary.rejected.values()) == 1


def test_unrecognised_csv_is_an_error() -> None:
    with pytest.raises(ImportFormatError, match="unrecognised CSV header"):
        list(iter_records(plan_import(EXTERNAL / "instagram_fake_spammer" / "train.csv")))
