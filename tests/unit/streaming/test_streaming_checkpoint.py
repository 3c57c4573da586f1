"""Reading a micro-batch's Kafka offset range from Spark's checkpoint files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streaming.checkpoint import EARLIEST, batch_range, last_finished_batch

META = '{"batchWatermarkMs":0,"batchTimestampMs":1796249727370,"conf":{}}'


def _checkpoint(tmp_path: Path) -> Path:
    cp = tmp_path / "cp"
    (cp / "offsets").mkdir(parents=True)
    (cp / "sources" / "0").mkdir(parents=True)
    (cp / "commits").mkdir()
    # As Spark writes it: a byte before the version line, for readers of Spark 2.1.
    (cp / "sources" / "0" / "0").write_bytes(
        b"\x00v1\n" + json.dumps({"v": {"0": 0, "1": 5}}).encode()
    )
    offsets = [{"v": {"0": 10, "1": 5}}, {"v": {"0": 25, "1": 9}, "c": {"0": 4}}]
    for n, end in enumerate(offsets):
        (cp / "offsets" / str(n)).write_text(f"v1\n{META}\n{json.dumps(end)}")
    return cp


def test_the_first_batch_starts_where_the_query_did(tmp_path: Path) -> None:
    start, end = batch_range(_checkpoint(tmp_path), 0)
    assert start == {"v": {"0": 0, "1": 5}}
    assert end == {"v": {"0": 10, "1": 5}}


def test_a_batch_starts_where_its_predecessor_ended(tmp_path: Path) -> None:
    start, end = batch_range(_checkpoint(tmp_path), 1)
    assert start == {"v": {"0": 10, "1": 5}, "c": {"0": EARLIEST}}
    assert end == {"v": {"0": 25, "1": 9}, "c": {"0": 4}}


def test_a_batch_missing_from_the_log_names_its_file(tmp_path: Path) -> None:
    cp = _checkpoint(tmp_path)
    with pytest.raises(FileNotFoundError, match=str(cp / "offsets" / "7")):
        batch_range(cp, 7)


def test_the_last_finished_batch_ignores_spark_temporary_files(tmp_path: Path) -> None:
    cp = _checkpoint(tmp_path)
    assert last_finished_batch(cp) is None
    assert last_finished_batch(tmp_path / "nowhere") is None
    for name in ("0", "1", ".2.crc", ".3.e5f1.tmp", "10"):
        (cp / "commits" / name).write_text("v1\n{}")
    assert last_finished_batch(cp) == 10
