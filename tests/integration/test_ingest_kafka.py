"""The generator and the importer against the real Kafka: everything sent is read back, the DLQ
holds exactly the malformed events, keys are platform:username."""

from __future__ import annotations

import socket
import stat
import struct
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, SaslAuthenticationFailedError
from typer.testing import CliRunner

from ingestion.cli import app
from ingestion.contracts import TOPICS
from ingestion.generator import GeneratorConfig, World, replay
from ingestion.producer import KafkaEventSink, ensure_topics, make_admin
from kol.settings import REPO_ROOT, IngestSettings, Settings, get_ingest_settings
from kol.topics import DLQ_TOPIC, PROFILES_TOPIC
from shell.stack.services import all_services

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
        **settings.kafka_client_config(),
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


def test_records_the_broker_refuses_are_counted_as_failed_not_sent(
    settings: Settings, ingest: IngestSettings
) -> None:
    # A topic that, like Kafka 4's default, refuses records stamped over an hour ahead: the
    # broker fails the whole batch such a record is in, and every event of it must be reported.
    name = f"{ingest.topic_prefix}{PROFILES_TOPIC}"
    admin = make_admin(settings, ingest)
    try:
        admin.create_topics(
            [
                NewTopic(
                    name,
                    num_partitions=1,
                    replication_factor=1,
                    topic_configs={"message.timestamp.after.max.ms": "3600000"},
                )
            ]
        )
    finally:
        admin.close()
    sink = KafkaEventSink(settings, ingest, source="integration-test")
    now_ms = int(time.time() * 1000)
    stamps = [now_ms - 1000] * 9 + [now_ms + 2 * 3600 * 1000]
    for i, stamp in enumerate(stamps):
        sink.produce(PROFILES_TOPIC, PROFILES_TOPIC, "tiktok:a", b'{"n": %d}' % i, None, stamp)
    summary = sink.close()
    assert summary.failed.total() >= 1, summary
    assert summary.sent.total() + summary.failed.total() == len(stamps)
    in_kafka = read_all(settings, ingest, summary.sent.total(), timeout_s=20)
    assert len(in_kafka) == summary.sent.total()


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


# ---- authentication ----------------------------------------------------------------------

# Fail fast: a client the broker refuses only times out bootstrapping.
QUICK = {"bootstrap_timeout_ms": 5000, "request_timeout_ms": 5000}


def test_the_broker_refuses_clients_without_the_password(
    settings: Settings, ingest: IngestSettings
) -> None:
    assert settings.kafka_auth, "the stack's Kafka runs with a password (KOL_KAFKA_PASSWORD)"
    topic = f"{ingest.topic_prefix}{PROFILES_TOPIC}"
    strangers = {
        "no credentials": {
            "bootstrap_servers": settings.kafka_client_config()["bootstrap_servers"]
        },
        "wrong password": {**settings.kafka_client_config(), "sasl_plain_password": "not-it"},
    }
    for why, config in strangers.items():
        with pytest.raises(KafkaError):
            admin = KafkaAdminClient(**config, **QUICK)
            try:
                admin.list_topics()
            finally:
                admin.close()
            pytest.fail(f"{why}: listed topics")
        with pytest.raises(KafkaError):
            producer = KafkaProducer(**config, **QUICK, max_block_ms=5000)
            try:
                producer.send(topic, b"intruder").get(timeout=10)
            finally:
                producer.close(timeout=1)
            pytest.fail(f"{why}: produced")

    # The settings' credentials: topics created and listed, a record sent and acknowledged.
    ensure_topics(settings, ingest, [PROFILES_TOPIC])
    admin = KafkaAdminClient(**settings.kafka_client_config(), **QUICK)
    try:
        assert topic in admin.list_topics()
    finally:
        admin.close()
    producer = KafkaProducer(**settings.kafka_client_config(), **QUICK)
    try:
        assert producer.send(topic, b"member").get(timeout=30).offset == 0
    finally:
        producer.close()


def controller_describe(settings: Settings, password: str | None) -> Any:
    """DescribeCluster on the controller listener (what `kafka-metadata-quorum
    --bootstrap-controller` asks first), after a SASL/PLAIN login unless ``password`` is None."""
    from kafka.protocol.admin.cluster import DescribeClusterRequest, DescribeClusterResponse
    from kafka.protocol.sasl import (
        SaslAuthenticateRequest,
        SaslAuthenticateResponse,
        SaslHandshakeRequest,
        SaslHandshakeResponse,
    )

    def call(sock: socket.socket, request: Any, response: Any, version: int) -> Any:
        request.with_header(correlation_id=version, client_id="kol-test")
        sock.sendall(request.encode(version=version, header=True, framed=True))
        head = sock.recv(4, socket.MSG_WAITALL)
        if len(head) < 4:
            raise ConnectionError("the controller closed the connection")
        body = sock.recv(struct.unpack(">i", head)[0], socket.MSG_WAITALL)
        return response.decode(body, version=version, header=True)

    address = (settings.bind_host, settings.kafka_controller_port)
    with socket.create_connection(address, timeout=10) as sock:
        if password is not None:
            shake = call(sock, SaslHandshakeRequest(mechanism="PLAIN"), SaslHandshakeResponse, 1)
            assert shake.error_code == 0, shake
            login = f"\0{settings.kafka_user}\0{password}".encode()
            auth = call(
                sock, SaslAuthenticateRequest(auth_bytes=login), SaslAuthenticateResponse, 1
            )
            if auth.error_code:
                return auth
        request = DescribeClusterRequest(
            endpoint_type=2, include_cluster_authorized_operations=False
        )
        return call(sock, request, DescribeClusterResponse, 1)


def test_the_controller_listener_requires_the_password_too(settings: Settings) -> None:
    assert settings.kafka_password is not None and settings.kafka_auth
    with pytest.raises(ConnectionError):
        controller_describe(settings, None)
    refused = controller_describe(settings, "not-it")
    assert refused.error_code == SaslAuthenticationFailedError.errno, refused
    described = controller_describe(settings, settings.kafka_password.get_secret_value())
    assert described.error_code == 0 and described.controller_id >= 0, described

    # The broker's configuration holds the password: its owner's only.
    config = all_services(settings)["kafka"].config_file  # type: ignore[attr-defined]
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
