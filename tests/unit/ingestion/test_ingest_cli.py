"""`kol ingest` commands that need no broker: generate to files, import --dry-run, schemas."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ingestion.cli import app
from ingestion.contracts import TOPICS, json_schema
from ingestion.generator import GeneratorConfig
from ingestion.pipeline import run_world
from ingestion.producer import DryRunSink

runner = CliRunner()


def test_generate_to_files_then_import_dry_run(tmp_path: Path) -> None:
    out = tmp_path / "world"
    args = ["generate", "--creators", "15", "--days", "2", "--seed", "3", "--out", str(out)]
    result = runner.invoke(app, [*args, "--malformed-rate", "0.05"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {f"{t}.jsonl" for t in TOPICS} | {"labels.jsonl"}
    labels = (out / "labels.jsonl").read_text().splitlines()
    assert len(labels) == 15

    result = runner.invoke(app, ["import", str(out), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "skipped labels.jsonl" in result.output
    assert "rejected per reason" in result.output


def test_generate_is_reproducible_on_disk(tmp_path: Path) -> None:
    for name in ("a", "b"):
        args = ["generate", "--creators", "8", "--days", "2", "--out", str(tmp_path / name)]
        assert runner.invoke(app, args).exit_code == 0
    for topic in TOPICS:
        a = (tmp_path / "a" / f"{topic}.jsonl").read_bytes()
        assert a == (tmp_path / "b" / f"{topic}.jsonl").read_bytes()


def test_import_of_an_unplaceable_file_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text("[]")
    result = runner.invoke(app, ["import", str(path), "--dry-run"])
    assert result.exit_code == 2
    assert "--topic" in result.output


def test_schemas_command(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schemas", "--directory", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for topic in TOPICS:
        written = json.loads((tmp_path / f"{topic}.schema.json").read_text())
        assert written == json_schema(topic)


def test_counts_in_equal_sent_plus_rejected_and_rejected_equal_malformed() -> None:
    sink = DryRunSink()
    stats = run_world(GeneratorConfig(creators=20, days=2, malformed_rate=0.03), sink)
    summary = sink.close()
    assert summary.total_in == stats.total
    assert sum(summary.rejected.values()) == stats.malformed > 0
    assert summary.sent.total() == stats.total - stats.malformed
