"""`kol ingest` commands that need no broker: generate to files, import --dry-run, schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
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


class FailingSink(DryRunSink):
    """Validates like the Kafka sink; every third valid event 'fails to deliver'."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(source="test")
        self.n = 0

    def close(self):  # type: ignore[no-untyped-def]
        summary = super().close()
        for topic in list(summary.sent):
            lost = summary.sent[topic] // 3
            summary.sent[topic] -= lost
            summary.failed["KafkaTimeoutError"] += lost
        return summary


def test_generate_and_import_fail_when_deliveries_to_kafka_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ingestion.cli as cli

    monkeypatch.setattr(cli, "ensure_topics", lambda *a, **k: None)
    monkeypatch.setattr(cli, "ProcessKafkaSink", FailingSink)
    monkeypatch.setattr(cli, "KafkaEventSink", FailingSink)
    result = runner.invoke(app, ["generate", "--creators", "5", "--days", "1", "--labels",
                                 str(tmp_path / "labels.jsonl")])  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "were not delivered to Kafka" in result.output
    assert "KafkaTimeoutError x" in result.output
    out = tmp_path / "world"
    runner.invoke(app, ["generate", "--creators", "5", "--days", "1", "--out", str(out)])
    result = runner.invoke(app, ["import", str(out / "kol.videos.raw.jsonl")])
    assert result.exit_code == 1, result.output
    assert "were not delivered to Kafka" in result.output
