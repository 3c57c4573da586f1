"""Services killed while the platform works: what fails says why, nothing is lost, and once
`kol stack up` has brought the service back, a rerun gives what an uninterrupted run gives.

The combinations, and why these:
- Trino during a dbt build: Gold is rebuilt from Silver by a run that can die halfway through
  (some models replaced, others not); the rerun must converge to the same tables.
- Redis while the API serves: the API must answer 503 naming Redis (not where it lives) and
  come back by itself, without a restart of its own.
- MLflow while the API serves: the models it loaded keep serving; the registry is only needed
  to learn about new versions.
- PostgreSQL during the Silver job: every Iceberg commit goes through its catalog.
- Kafka while a world is produced and the streaming job reads it: the producer must report
  what it could not deliver, the stream must go on (or resume from its checkpoint), and
  Bronze must end up with every record, whatever had to be sent twice.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.keys import KeyStore
from gold import runner
from ingestion.generator import GeneratorConfig
from ingestion.pipeline import run_world
from ingestion.producer import KafkaEventSink, ensure_topics
from kol import process
from kol.interval import Interval
from kol.settings import (
    REPO_ROOT,
    GoldSettings,
    Settings,
    get_gold_settings,
    get_ingest_settings,
)
from kol.spark import spark_session
from kol.trino import query
from shell.stack import manager
from spark_jobs import bronze_to_silver, kafka_to_bronze
from tests.polling import wait_for
from tests.reliability.conftest import kill_service, restart

START = datetime(2026, 5, 4, tzinfo=UTC)
DAYS = 2
LANDED = Interval(START, START + timedelta(days=DAYS + 1))


@pytest.fixture(scope="module")
def world_config() -> GeneratorConfig:
    return GeneratorConfig(
        creators=20,
        days=DAYS,
        seed=int(datetime.now(UTC).timestamp() * 1000) % 1_000_000_007 + 11,
        start=START,
    )


@contextlib.contextmanager
def topic_prefix(settings: Settings, name: str) -> Iterator[str]:
    """Topics of their own for a world (the jobs and producers read the prefix from settings)."""
    mp = pytest.MonkeyPatch()
    prefix = f"{name}{datetime.now(UTC):%H%M%S%f}."
    mp.setenv("KOL_INGEST_TOPIC_PREFIX", prefix)
    get_ingest_settings.cache_clear()
    ensure_topics(settings, get_ingest_settings())
    try:
        yield prefix
    finally:
        mp.undo()
        get_ingest_settings.cache_clear()


@pytest.fixture(scope="module")
def world(settings: Settings, spark: Any, world_config: GeneratorConfig) -> Iterator[str]:
    """A small world landed in Bronze and Silver under a topic prefix of its own."""
    with topic_prefix(settings, "fault") as prefix:
        sink = KafkaEventSink(settings, get_ingest_settings())
        run_world(world_config, sink)
        assert not sink.close().failed
        kafka_to_bronze.run(LANDED)
        bronze_to_silver.run(LANDED)
        yield prefix


def gold_hashes(settings: Settings, schema: str) -> dict[str, str]:
    """Each table of ``schema``: a content hash of all its rows (order-independent)."""
    tables = [r[0] for r in query(settings, f"SHOW TABLES FROM {schema}")]
    out = {}
    for t in tables:
        cols = [r[0] for r in query(settings, f"DESCRIBE {schema}.{t}")]
        row = ", ".join(f"coalesce(cast(\"{c}\" AS varchar), '<null>')" for c in cols)
        (h,) = query(
            settings,
            f"SELECT coalesce(to_hex(checksum(xxhash64(to_utf8(concat_ws('|', {row}))))), '') "
            f"FROM {schema}.{t}",
        )[0]
        out[t] = h
    return out


def drop_gold(settings: Settings, schema: str) -> None:
    for suffix in ("", "_staging", "_intermediate"):
        query(settings, f"DROP SCHEMA IF EXISTS {settings.trino_catalog}.{schema}{suffix} CASCADE")


@pytest.fixture(scope="module")
def gold_schemas(settings: Settings, world: str) -> Iterator[tuple[GoldSettings, GoldSettings]]:
    tag = uuid.uuid4().hex[:6]
    a, b = (
        get_gold_settings().model_copy(update={"schema_name": f"gold_fault_{n}_{tag}"})
        for n in ("ref", "hit")
    )
    yield a, b
    for g in (a, b):
        drop_gold(settings, g.schema_name)


def test_trino_killed_during_a_gold_build_then_rerun_equals_an_uninterrupted_build(
    settings: Settings, world: str, gold_schemas: tuple[GoldSettings, GoldSettings], tmp_path: Any
) -> None:
    reference, hit = gold_schemas
    end = (START + timedelta(days=DAYS + 1)).date()

    # Seeds and models without the data tests for the reference and the rerun: the tests add
    # nothing to the comparison, and take half the time.
    def run(gold: GoldSettings) -> runner.DbtRun:
        return runner.run_dbt(
            ["build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"],
            settings=settings,
            gold=gold,
            dbt_vars=runner.gold_vars(None, end, world),
        )

    ref = run(reference)
    assert ref.success, [(n.name, n.message) for n in ref.failed] or ref.error

    env = {**os.environ, "KOL_INGEST_TOPIC_PREFIX": world}
    build = subprocess.Popen(
        [str(Path(sys.executable).with_name("kol")), "gold", "build", "--end", end.isoformat(),
         "--schema", hit.schema_name],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert build.stdout is not None
    started = 0
    output: list[str] = []
    for line in build.stdout:  # dbt's progress: kill Trino once models are being built
        output.append(line)
        started += "START sql" in line
        if started >= 5:
            break
    assert started >= 5, "".join(output[-20:])
    kill_service(settings, "trino")
    rest, _ = build.communicate(timeout=600)
    output.append(rest)
    assert build.returncode != 0, "the build went on without Trino"
    assert "trino" in "".join(output).lower()  # the failure names what is down

    recovered_s = restart(settings, "trino")
    rerun = run(hit)
    assert rerun.success, [(n.name, n.message) for n in rerun.failed] or rerun.error
    assert gold_hashes(settings, hit.schema_name) == gold_hashes(settings, reference.schema_name)
    print(f"trino back in {recovered_s:.0f}s")


def silver_hashes(spark: Any, settings: Settings, prefix: str) -> dict[str, tuple[int, int]]:
    """Per Silver table (and the rejects), the world's rows: (count, order-independent hash
    of every column but the write time)."""
    from pyspark.sql import functions as F

    from kol.lakehouse import REJECTS, SILVER, TOPIC_TABLES

    cat = settings.iceberg_catalog_name
    out = {}
    for table, topic_col in [
        *((t.silver, "kafka_topic") for t in TOPIC_TABLES.values()),
        (REJECTS, "topic"),
    ]:
        df = spark.table(f"{cat}.{SILVER}.{table}").where(F.col(topic_col).startswith(prefix))
        cols = [c for c in df.columns if c not in ("processed_at", "rejected_at")]
        # Reduced first: a plain sum of 64-bit hashes overflows (ANSI mode refuses that).
        h = F.pmod(F.xxhash64(*cols), F.lit(2_147_483_647)).alias("h")
        row = df.select(h).agg(F.count("h"), F.sum("h")).first()
        out[table] = (row[0], row[1])
    return out


def delete_silver(spark: Any, settings: Settings, prefix: str) -> None:
    from kol.lakehouse import REJECTS, SILVER, TOPIC_TABLES

    cat = settings.iceberg_catalog_name
    for t in TOPIC_TABLES.values():
        spark.sql(f"DELETE FROM {cat}.{SILVER}.{t.silver} WHERE kafka_topic LIKE '{prefix}%'")
    spark.sql(f"DELETE FROM {cat}.{SILVER}.{REJECTS} WHERE topic LIKE '{prefix}%'")


def test_postgres_killed_during_the_silver_job_then_rerun_gives_the_same_silver(
    settings: Settings, world: str, spark: Any
) -> None:
    """PostgreSQL holds the Iceberg catalog: every commit of the job goes through it."""
    reference = silver_hashes(spark, settings, world)
    assert all(n for n, _ in (reference[t] for t in ("profiles", "comments")))
    delete_silver(spark, settings, world)

    env = {**os.environ, "KOL_INGEST_TOPIC_PREFIX": world}
    job = subprocess.Popen(
        [str(Path(sys.executable).with_name("kol")), "jobs", "silver",
         "--start", LANDED.start.isoformat(), "--end", LANDED.end.isoformat(), "--no-gate"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert job.stdout is not None
    output: list[str] = []
    for line in job.stdout:  # a topic written, the others still to come: kill the catalog
        output.append(line)
        if "kol.jobs.silver" in line and "bronze=" in line:
            break
    kill_service(settings, "postgres")
    rest, _ = job.communicate(timeout=600)
    output.append(rest)
    recovered_s = restart(settings, "postgres")
    # Usually the job dies with its catalog; on a fast machine it may have committed its last
    # topic first. Either way the rerun must land exactly what an uninterrupted run landed.
    print(f"silver job exit code {job.returncode} after the kill")

    # The rerun in a new Spark session, as a new spark-submit would run it: a session that
    # outlives a catalog restart keeps Iceberg's dead JDBC connections and fails its next query.
    spark.stop()
    fresh = spark_session("kol-reliability-after-postgres", settings)
    try:
        accounts = bronze_to_silver.run(LANDED)
        assert all(a.balanced for a in accounts)
        assert silver_hashes(fresh, settings, world) == reference
    finally:
        fresh.stop()
    print(f"postgres back in {recovered_s:.0f}s")


# ---- Kafka -------------------------------------------------------------------------------------
def stream_offsets(progress: Path) -> dict[str, dict[str, int]] | None:
    """The offsets the streaming job has processed up to, per topic and partition."""
    import ast
    import json

    try:
        sources = json.loads(progress.read_text())["last_progress"]["sources"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    out: dict[str, dict[str, int]] = {}
    for s in sources:
        out.update(ast.literal_eval(s["endOffset"]))  # Spark prints it as a Python-ish dict
    return out


def kafka_end_offsets(settings: Settings, topics: list[str]) -> dict[str, dict[str, int]]:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**settings.kafka_client_config())
    try:
        parts = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t)]
        ends = consumer.end_offsets(parts)
    finally:
        consumer.close()
    out: dict[str, dict[str, int]] = {}
    for tp, end in ends.items():
        out.setdefault(tp.topic, {})[str(tp.partition)] = end
    return out


def start_stream(prefix: str, workdir: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "KOL_INGEST_TOPIC_PREFIX": prefix,
        "KOL_STREAM_REDIS_PREFIX": f"{prefix}kol:",
        "KOL_STREAM_CHECKPOINT_DIR": str(workdir / "checkpoint"),
        "KOL_STREAM_PROGRESS_PATH": str(workdir / "progress.json"),
    }
    log = (workdir / "stream.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "streaming.job"], cwd=REPO_ROOT, env=env, stdout=log, stderr=log
    )


def test_kafka_killed_while_producing_and_streaming_loses_nothing(
    settings: Settings, world: str, world_config: GeneratorConfig, tmp_path: Path
) -> None:
    """The broker dies a third of the way through producing a world the streaming job is
    reading, and comes back while the producer still sends. What the producer could not deliver
    it reports (and `kol ingest generate` exits non-zero); sending the world again, as an
    operator would, lands it whole: Bronze holds every record Kafka has (`kol jobs reconcile`
    finds no gap) and the same records as the same world produced without a fault, and the
    stream has read every record Kafka holds."""
    import threading

    from ingestion.producer import DryRunSink
    from spark_jobs.reconcile import bronze_gaps
    from streaming.source import input_topics

    with topic_prefix(settings, "kfault") as prefix:
        ingest = get_ingest_settings()
        topics = sorted(input_topics(ingest))
        progress = tmp_path / "progress.json"
        stream = start_stream(prefix, tmp_path)
        try:
            assert wait_for(lambda: stream_offsets(progress) is not None, 180), (
                "stream did not start"
            )

            events = sum(run_world(world_config, DryRunSink()).events.values())
            back: list[float] = []
            restarter: list[threading.Thread] = []

            def kill_a_third_through(sent: int, state: dict[str, int] = {"n": 0}) -> None:  # noqa: B006
                state["n"] += sent
                if not restarter and state["n"] >= events // 3:
                    kill_service(settings, "kafka")
                    restarter.append(
                        threading.Thread(target=lambda: back.append(restart(settings, "kafka")))
                    )
                    restarter[0].start()

            sink = KafkaEventSink(settings, ingest)
            run_world(world_config, sink, on_tick=kill_a_third_through)
            first = sink.close()
            restarter[0].join(300)
            assert back, "kafka did not come back"
            failed = sum(first.failed.values())
            if failed:  # the operator's rerun: everything again; Silver keeps one of each
                sink = KafkaEventSink(settings, ingest)
                run_world(world_config, sink)
                assert not sink.close().failed
            print(f"kafka back in {back[0]:.0f}s; {failed} of {events} deliveries failed at first")

            if stream.poll() is not None:  # died with its broker: restart from its checkpoint
                print(f"stream exited {stream.returncode} during the outage; restarted")
                stream = start_stream(prefix, tmp_path)
            ends = kafka_end_offsets(settings, topics)
            assert wait_for(lambda: stream_offsets(progress) == ends, 300), (
                stream_offsets(progress),
                ends,
            )
            assert stream.poll() is None
        finally:
            stream.send_signal(signal.SIGINT)
            stream.wait(120)

        kafka_to_bronze.run(LANDED)
        # A session of its own: the module's may have been stopped by the PostgreSQL case.
        spark = spark_session("kol-reliability-after-kafka", settings)
        try:
            assert not bronze_gaps(spark, settings, ingest), "offsets in Kafka that Bronze lacks"
            got = bronze_content(spark, settings, prefix)
            # Silver cannot be compared: it keeps each event_id once across all topics, and
            # this is the same world (same ids) as the reference, which landed first.
            assert got == bronze_content(spark, settings, world)
        finally:
            spark.stop()
        dead_letters = dlq_content(settings, prefix)
    # The producer's dead letters are the world's invalid events, none added by the outage.
    # Some may be there twice: a batch whose acknowledgement died with the broker is sent
    # again, and the idempotent producer does not always recognise it across a broker crash
    # (seen here even with 0 failed deliveries). Silver counts such repeats as duplicates.
    reference = dlq_content(settings, world)
    assert set(dead_letters) == set(reference)
    print(f"dead letters sent twice across the outage: {sum((dead_letters - reference).values())}")


def dlq_content(settings: Settings, prefix: str) -> Counter[tuple[str, str, str]]:
    """The dead-letter records of the topics under ``prefix``: (topic, reason, payload) with
    how often each is there (their rejected_at is the time of sending, so left out)."""
    import orjson
    from kafka import KafkaConsumer, TopicPartition

    from kol.topics import DLQ_TOPIC

    consumer = KafkaConsumer(**settings.kafka_client_config(), consumer_timeout_ms=5000)
    try:
        topic = f"{prefix}{DLQ_TOPIC}"
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        out: Counter[tuple[str, str, str]] = Counter()
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            for records in consumer.poll(timeout_ms=2000).values():
                for r in records:
                    d = orjson.loads(r.value)
                    out[(d["topic"], d["reason"], d["payload"])] += 1
        return out
    finally:
        consumer.close()


def bronze_content(spark: Any, settings: Settings, prefix: str) -> dict[str, tuple[int, int]]:
    """Per Bronze table, the distinct records (key, payload, timestamp) of the topics under
    ``prefix``: (count, order-independent hash). Distinct, since a resent record is a second
    Kafka record of the same event (Silver counts it as a duplicate)."""
    from pyspark.sql import functions as F

    from kol.lakehouse import BRONZE, TOPIC_TABLES

    out = {}
    for t in TOPIC_TABLES.values():
        df = (
            spark.table(f"{settings.iceberg_catalog_name}.{BRONZE}.{t.bronze}")
            .where(F.col("topic").startswith(prefix))
            .select("key", "value", "kafka_timestamp")
            .distinct()
        )
        h = F.pmod(F.xxhash64("key", "value", "kafka_timestamp"), F.lit(2_147_483_647)).alias("h")
        row = df.select(h).agg(F.count("h"), F.sum("h")).first()
        out[t.bronze] = (row[0], row[1])
    return out


# ---- the API ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def api(settings: Settings) -> Iterator[tuple[httpx.Client, int]]:
    """The stack's own API service (as `kol stack up` runs it), a key for it, and its pid."""
    cfg = settings.api
    store = KeyStore(cfg)
    record, key = store.create("fault-injection")
    (svc,) = manager.select(settings, ["api"])
    pid = process.read_pid(svc.pid_file)
    assert pid is not None
    with httpx.Client(base_url=cfg.base_url, headers={"X-API-Key": key}, timeout=10) as c:
        # The key ring picks the new key up on its first miss.
        deadline = time.monotonic() + 30
        while c.get("/api/v1/models").status_code == 401 and time.monotonic() < deadline:
            time.sleep(0.5)
        yield c, pid.pid
    store.revoke(record.key_id)


def test_redis_killed_api_answers_503_naming_it_then_recovers_by_itself(
    settings: Settings, api: tuple[httpx.Client, int]
) -> None:
    client, pid = api
    assert client.get("/api/v1/trending").status_code == 200
    killed_at = kill_service(settings, "redis")
    r = wait_for(lambda: (x := client.get("/api/v1/trending")).status_code == 503 and x, 10)
    assert r, "the API did not notice Redis was gone"
    assert r.json()["service"] == "redis"
    assert str(settings.redis_port) not in r.text and settings.redis_host not in r.text
    restart(settings, "redis")
    assert wait_for(lambda: client.get("/api/v1/trending").status_code == 200, 30)
    print(f"redis: API answering again {time.monotonic() - killed_at:.1f}s after the kill")
    (svc,) = manager.select(settings, ["api"])
    record = process.read_pid(svc.pid_file)
    assert record is not None and record.pid == pid  # no restart of its own


def test_mlflow_killed_api_keeps_serving_the_models_it_loaded(
    settings: Settings, api: tuple[httpx.Client, int]
) -> None:
    client, pid = api
    before = {m["kind"]: m["available"] for m in client.get("/readyz").json()["models"]}
    kill_service(settings, "mlflow")
    time.sleep(settings.api.readyz_cache_s + 1)
    during = client.get("/readyz").json()
    assert {m["kind"]: m["available"] for m in during["models"]} == before
    assert settings.mlflow_tracking_uri not in str(during)
    restart(settings, "mlflow")
    (svc,) = manager.select(settings, ["api"])
    record = process.read_pid(svc.pid_file)
    assert record is not None and record.pid == pid
