"""The generator and the importer against the real Kafka: everything sent is read back, the DLQ
holds exactly the malformed events, keys are platform:username."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition
from typer.testing import CliRunner

from ingestion.cli import app
from ingestion.contracts import DLQ_TOPIC, PROFILES_TOPIC, TOPICS
from ingestion.generator import GeneratorConfig, World, replay
from ingestion.producer import KafkaEventSink, bootstrap_servers, ensure_topics, make_admin
from ingestion.settings import IngestSettings, get_ingest_settings
from kol.settings import REPO_ROOT, Settings

pytestmark = pytest.mark.integration

ALL_TOPICS = (*TOPICS, DLQ_TOPIC)


@pytest.fixture
def ingest(settings: Settings, unique: str) -> Iterator[IngestSettings]:
    """Topics of this test run only, deleted afterwards."""
    ingest = IngestSettings(topic_prefix=f"it.{unique}.")
    yield ingest
    admin = make_admin(settings, ingest)
    try:
        mine = [t for t in admin.list_topics() if t.startswith(ingest.topic_prefix)]
        if mine:
            admin.delete_topics(mine)
    finally:
        admin.close()


def read_all(
    settings: Settings, ingest: IngestSettings, expected: int, timeout_s: float = 90.0
) -> list[tuple[str, bytes | None, bytes]]:
    """Every message of the run's topics, from the beginning: (logical topic, key, value)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_servers(settings),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    try:
        names = {f"{ingest.topic_prefix}{t}": t for t in ALL_TOPICS}
        partitions = [
            TopicPartition(name, p)
            for name in names
            for p in sorted(consumer.partitions_for_topic(name) or ())
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        out: list[tuple[str, bytes | None, bytes]] = []
        deadline = time.monotonic() + timeout_s
        while len(out) < expected and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=1000).items():
                out.extend((names[tp.topic], r.key, r.value) for r in records)
        # A little longer, to catch anything beyond what we expected.
        for tp, records in consumer.poll(timeout_ms=1000).items():
            out.extend((names[tp.topic], r.key, r.value) for r in records)
        return out
    finally:
        consumer.close()


def test_generated_world_round_trips_through_kafka(
    settings: Settings, ingest: IngestSettings
) -> None:
    ensure_topics(settings, ingest)
    config = GeneratorConfig(
        creators=25, days=2, seed=2024, malformed_rate=0.03, duplicate_rate=0.02, late_rate=0.05
    )
    sink = KafkaEventSink(settings, ingest, source="integration-test")
    valid: Counter[tuple[str, bytes, bytes]] = Counter()
    malformed: Counter[tuple[str, bytes]] = Counter()
    for ev, value in replay(World(config).events()):
        sink.send(ev.topic, value, ev.key)
        # The generator's own record of what it broke, independent of the contract check.
        if ev.malformed:
            malformed[(ev.topic, value)] += 1
        else:
            valid[(ev.topic, ev.key.encode(), value)] += 1
    summary = sink.close()
    assert not summary.failed
    assert summary.sent.total() == valid.total() and malformed.total() > 0

    messages = read_all(settings, ingest, valid.total() + malformed.total())

    got_valid = Counter((t, k, v) for t, k, v in messages if t != DLQ_TOPIC)
    assert got_valid == valid  # every event, once per send, keyed platform:username

    dlq = [orjson.loads(v) for t, _, v in messages if t == DLQ_TOPIC]
    got_malformed = Counter((d["topic"], d["payload"].encode()) for d in dlq)
    assert got_malformed == malformed
    assert all(d["reason"] and d["detail"] for d in dlq)


def test_import_of_the_real_creator_csvs_into_kafka(
    settings: Settings, ingest: IngestSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOL_INGEST_TOPIC_PREFIX", ingest.topic_prefix)
    get_ingest_settings.cache_clear()
    try:
        external = REPO_ROOT.parent / "shared" / "data" / "external"
        for folder in ("tiktok_top_creators", "instagram_top_influencers"):
            result = CliRunner().invoke(app, ["import", str(external / folder)])
            assert result.exit_code == 0, result.output
    finally:
        get_ingest_settings.cache_clear()

    messages = read_all(settings, ingest, expected=1200)
    profiles = [orjson.loads(v) for t, _, v in messages if t == PROFILES_TOPIC]
    dlq = [orjson.loads(v) for t, _, v in messages if t == DLQ_TOPIC]
    assert len(profiles) == 1000 + 199
    assert Counter(p["platform"] for p in profiles) == {"tiktok": 1000, "instagram": 199}
    assert [d["reason"] for d in dlq] == ["string_pattern_mismatch:username"]


def test_generate_command_with_two_producers_creates_topics_and_sends_everything(
    settings: Settings, ingest: IngestSettings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KOL_INGEST_TOPIC_PREFIX", ingest.topic_prefix)
    get_ingest_settings.cache_clear()
    try:
        args = ["generate", "--creators", "30", "--days", "2", "--producers", "2"]
        result = CliRunner().invoke(app, [*args, "--labels", str(tmp_path / "labels.jsonl")])
        assert result.exit_code == 0, result.output
    finally:
        get_ingest_settings.cache_clear()

    expected = [
        (ev.topic, ev.malformed) for ev in World(GeneratorConfig(creators=30, days=2)).events()
    ]
    messages = read_all(settings, ingest, expected=len(expected))
    assert Counter(t for t, _, _ in messages) == Counter(
        DLQ_TOPIC if bad else topic for topic, bad in expected
    )
    admin = make_admin(settings, ingest)
    try:
        described = admin.describe_topics([f"{ingest.topic_prefix}{t}" for t in ALL_TOPICS])
    finally:
        admin.close()
    assert {len(d["partitions"]) for d in described} == {settings.kafka_default_partitions}
