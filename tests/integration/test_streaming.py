"""The hot path against the real Kafka, Spark, Redis and MLflow.

A small generated world with one planted viral breakout and one planted follower purchase is
streamed (unchecked, dirt included) into topics of this run; the job runs as its own process,
bounded (``--available-now``) and in several micro-batches. Then:

* the breakout tops the ranking, the purchase is in ``kol.alerts.stream``, every malformed
  event is in ``kol.dlq``, creators with profile updates carry a live trust score;
* a second run is killed with SIGKILL mid-stream, restarted, and must leave Redis exactly as
  the uninterrupted run did.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import orjson
import pytest
import redis
from kafka import KafkaConsumer, TopicPartition

from bench.support.feed import RawSink
from ingestion.generator import HOUR, GeneratorConfig, World
from ingestion.producer import ensure_topics, make_admin
from kol.redis_keys import RedisKeys
from kol.settings import REPO_ROOT, IngestSettings, Settings, StreamSettings
from kol.topics import ALERTS_TOPIC, DLQ_TOPIC, SCORES_TOPIC, VIDEOS_TOPIC, topic_name
from streaming.checkpoint import last_finished_batch
from streaming.engine import BatchResult
from streaming.events import STREAM_TOPICS
from streaming.handler import query_id
from streaming.job import run
from streaming.sinks import RedisStore, redis_client
from streaming.state import CreatorDelta, StateDelta

pytestmark = pytest.mark.integration

# 30 creators over 3 days: exactly one breakout and one purchase, both on day 1. The seed is
# one where the purchase shows in a profile snapshot before the stream is cut (see `fed`).
WORLD = GeneratorConfig(
    creators=30, days=3, seed=57, viral_share=0.01, bought_followers_share=0.01, pod_share=0.0
)
JOB_TIMEOUT_S = 300


@dataclass
class Fed:
    ingest: IngestSettings
    run: str
    viral: str
    bought: str
    sent: int
    dead: int  # malformed events the stream must send to the DLQ


def _labelled(world: World, behaviour: str) -> dict[str, Any]:
    [row] = [r for r in world.labels() if behaviour in r["behaviours"]]
    return row


@pytest.fixture(scope="module")
def fed(settings: Settings) -> Iterator[Fed]:
    """The world, cut 6 simulated hours after the breakout video was posted, in fresh topics."""
    run = uuid.uuid4().hex[:8]
    ingest = IngestSettings(topic_prefix=f"it.stream.{run}.")
    ensure_topics(settings, ingest, (*STREAM_TOPICS, DLQ_TOPIC, SCORES_TOPIC, ALERTS_TOPIC))
    world = World(WORLD)
    events = list(world.events())
    viral = _labelled(world, "viral_breakout")["key"]
    bought = _labelled(world, "bought_followers")
    breakout_video = max(
        (e for e in events if e.key == viral and e.topic == VIDEOS_TOPIC and not e.malformed),
        key=lambda e: e.record["view_count"],
    )
    cut = breakout_video.published + 6 * HOUR
    assert bought["bought_followers_steps"], "the world must plant a purchase"

    sink = RawSink(settings, ingest)
    sent = dead = 0
    for ev in events:
        if ev.topic in STREAM_TOPICS and ev.release <= cut:
            sink.send(ev.topic, ev.encode(), ev.key)
            sent += 1
            dead += ev.malformed
    summary = sink.close()
    assert not summary.failed and dead > 0
    yield Fed(ingest, run, viral, bought["key"], sent, dead)

    admin = make_admin(settings, ingest)
    try:
        admin.delete_topics([t for t in admin.list_topics() if t.startswith(ingest.topic_prefix)])
    finally:
        admin.close()
    r = redis_client(settings)
    for name in r.scan_iter(match=f"it:{run}:*", count=1000):
        r.unlink(name)


@pytest.fixture(scope="module")
def champion(settings: Settings, fed: Fed) -> Iterator[str]:
    """A toy trust model registered as champion under a name of this run only."""
    import mlflow
    import pandas as pd
    from mlflow import MlflowClient
    from mlflow.models import infer_signature
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    name = f"kol_trust_it_{fed.run}"
    mlflow.set_tracking_uri(settings.mlflow_login())
    x = pd.DataFrame({"followers": [1e3, 5e4, 2e6, 8e4], "following": [900.0, 300, 50, 2000]})
    # YouTube shows no "following": the stream passes NaN, so the model must take it.
    model = make_pipeline(SimpleImputer(), LogisticRegression()).fit(x, [0, 1, 1, 0])
    mlflow.set_experiment(f"it-stream-{fed.run}")
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(x, model.predict_proba(x)),
            registered_model_name=name,
            pyfunc_predict_fn="predict_proba",
            skops_trusted_types=["numpy.dtype"],
        )
    client = MlflowClient()
    client.set_registered_model_alias(name, "champion", info.registered_model_version)
    yield name
    client.delete_registered_model(name)
    exp = client.get_experiment_by_name(f"it-stream-{fed.run}")
    if exp is not None:
        client.delete_experiment(exp.experiment_id)


def job_env(fed: Fed, label: str, tmp: Path, champion: str) -> dict[str, str]:
    return {
        **os.environ,
        "KOL_INGEST_TOPIC_PREFIX": fed.ingest.topic_prefix,
        "KOL_STREAM_REDIS_PREFIX": f"it:{fed.run}:{label}:",
        "KOL_STREAM_CHECKPOINT_DIR": str(tmp / f"checkpoint-{label}"),
        "KOL_STREAM_PROGRESS_PATH": str(tmp / f"progress-{label}.json"),
        # Several micro-batches, so state crosses batch boundaries and a kill lands mid-run.
        "KOL_STREAM_MAX_OFFSETS_PER_TRIGGER": "400",
        # Every batch written behind, as large ones are: the kill and the failed write below
        # can land while Spark is a batch ahead of Redis.
        "KOL_STREAM_WRITE_BEHIND_MIN_EVENTS": "0",
        # The world is in simulated time (days): hour buckets, 6-hour windows, a day of baseline.
        "KOL_STREAM_WINDOW_S": str(6 * 3600),
        "KOL_STREAM_SLIDE_S": "3600",
        "KOL_STREAM_BASELINE_WINDOWS": "4",
        # The generator delivers comments up to days late (scrapers sample them at the next
        # visit); a watermark beyond the world keeps them all, so two runs can be compared.
        "KOL_STREAM_WATERMARK_S": str(30 * 86400),
        "KOL_ML_ACCOUNT_MODEL_NAME": champion,
    }


def start_job(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "streaming.job", "--available-now"],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGKILL reaches the JVM too
        )


def run_job(env: dict[str, str], log: Path) -> None:
    proc = start_job(env, log)
    try:
        code = proc.wait(timeout=JOB_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    assert code == 0, log.read_text()[-4000:]


@pytest.fixture(scope="module")
def uninterrupted(
    settings: Settings,
    spark: Any,
    fed: Fed,
    champion: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    """The reference run, in this process with the tests' Spark session (saves a JVM start)."""
    tmp = tmp_path_factory.mktemp("stream")
    ss = stream_settings(job_env(fed, "a", tmp, champion))
    assert run(settings, ss, fed.ingest, available_now=True, spark=spark) == 0
    return ss.redis_prefix


def stream_settings(env: dict[str, str]) -> StreamSettings:
    """The settings a job started with ``env`` reads, for a run in this process (its stream
    section, linked to the rest: the live trust model is the ml section's)."""
    with mock.patch.dict(os.environ, env, clear=True):
        return Settings().stream


def read_topic(settings: Settings, name: str, timeout_s: float = 20.0) -> list[dict[str, Any]]:
    consumer = KafkaConsumer(
        **settings.kafka_client_config(),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    try:
        parts = [TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or ())]
        consumer.assign(parts)
        end = consumer.end_offsets(parts)
        consumer.seek_to_beginning(*parts)
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(p) < end[p] for p in parts) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                out.extend(orjson.loads(r.value) for r in records)
        return out
    finally:
        consumer.close()


def stats(r: redis.Redis, prefix: str) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in r.hgetall(f"{prefix}stream:stats").items()}


def test_breakout_tops_the_ranking_and_the_purchase_is_alerted(
    settings: Settings, fed: Fed, uninterrupted: str
) -> None:
    r = redis_client(settings)
    prefix = uninterrupted
    top = [m.decode() for m in r.zrevrange(f"{prefix}trending:rank:all", 0, 2)]
    assert top[0] == fed.viral, top
    platform = fed.viral.split(":")[0]
    assert r.zrevrange(f"{prefix}trending:rank:{platform}", 0, 0) == [fed.viral.encode()]
    card = {k.decode(): v.decode() for k, v in r.hgetall(f"{prefix}trending:{fed.viral}").items()}
    assert card["label"] == "Viral" and float(card["score"]) >= 80
    assert float(card["velocity"]) > 1.0 and int(float(card["events"])) > 5
    assert r.ttl(f"{prefix}trending:{fed.viral}") > 0

    alerts = read_topic(settings, topic_name(ALERTS_TOPIC, fed.ingest))
    jumps = [a for a in alerts if a["type"] == "follower_jump" and a["key"] == fed.bought]
    assert jumps, Counter((a["type"], a["key"]) for a in alerts)
    assert jumps[0]["value"] > jumps[0]["threshold"] > 0
    # The same alerts are kept in Redis for the API (GET /api/v1/alerts).
    kept = [orjson.loads(f[b"alert"]) for _, f in r.xrange(f"{prefix}alerts")]
    assert {a["alert_id"] for a in kept} <= {a["alert_id"] for a in alerts}
    assert jumps[0]["alert_id"] in {a["alert_id"] for a in kept}

    scores = read_topic(settings, topic_name(SCORES_TOPIC, fed.ingest))
    assert {s["key"] for s in scores} == {
        m.decode() for m in r.zrange(f"{prefix}trending:rank:all", 0, -1)
    }
    assert all(0 <= s["score"] <= 100 and s["score_id"] for s in scores)

    # Nothing dropped silently: what went in is valid or in the DLQ, with a reason.
    dead = read_topic(settings, topic_name(DLQ_TOPIC, fed.ingest))
    assert len(dead) == fed.dead
    assert all(
        d["reason"] and d["detail"] and d["payload"] and d["source"] == "kol-stream" for d in dead
    )
    counters = stats(r, prefix)
    valid = sum(int(v) for k, v in counters.items() if k.startswith("valid:"))
    assert valid + int(counters["rejected"]) == fed.sent
    assert int(counters["rejected"]) == fed.dead

    # Live trust scoring with the registered champion.
    assert 0.0 <= float(card["trust_score"]) <= 100.0


def snapshot(r: redis.Redis, prefix: str) -> dict[str, Any]:
    """Every score hash and ranking under ``prefix``, minus wall-clock fields."""
    out: dict[str, Any] = {}
    for name in r.scan_iter(match=f"{prefix}trending:*", count=1000):
        key = name.decode()[len(prefix) :]
        if r.type(name) == b"hash":
            out[key] = {k: v for k, v in r.hgetall(name).items() if k != b"updated_at"}
        else:
            out[key] = r.zrange(name, 0, -1, withscores=True)
    # A replayed batch must not add its alerts twice (entry ids carry wall time: payloads only).
    out["alerts"] = [fields[b"alert"] for _, fields in r.xrange(f"{prefix}alerts")]
    return out


def committed(r: redis.Redis, prefix: str, checkpoint: Path) -> int:
    """The job's commit marker, read by its name: a SCAN for it, polled while the job runs,
    took longer than the whole run once Redis held a few hundred thousand other keys."""
    if not (checkpoint / "metadata").exists():
        return -1  # the query has not started yet
    raw = r.get(RedisKeys(prefix, query_id(checkpoint)).commit)
    return -1 if raw is None else int(raw)


def test_kill_9_and_restart_leave_redis_as_an_uninterrupted_run(
    settings: Settings,
    fed: Fed,
    champion: str,
    uninterrupted: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    r = redis_client(settings)
    tmp = tmp_path_factory.mktemp("stream-kill")
    env = job_env(fed, "b", tmp, champion)
    prefix = env["KOL_STREAM_REDIS_PREFIX"]
    checkpoint = Path(env["KOL_STREAM_CHECKPOINT_DIR"])
    log = tmp / "b.log"
    proc = start_job(env, log)
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while committed(r, prefix, checkpoint) < 2:
        assert proc.poll() is None, log.read_text()[-4000:]
        assert time.monotonic() < deadline, "no batch committed in time"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    at_kill = committed(r, prefix, checkpoint)
    total = int(stats(r, uninterrupted)["last_batch"])
    assert at_kill < total, "the kill must land mid-stream"

    run_job(env, log)
    assert committed(r, prefix, checkpoint) == total
    a, b = snapshot(r, uninterrupted), snapshot(r, prefix)
    assert a.keys() == b.keys() and len(a) > 10
    assert a == b
    assert_same_counters(r, uninterrupted, prefix)


def assert_same_counters(r: redis.Redis, prefix_a: str, prefix_b: str) -> None:
    counters_a, counters_b = stats(r, prefix_a), stats(r, prefix_b)
    for name in (
        "rejected",
        "late",
        "duplicates",
        *[k for k in counters_a if k.startswith("valid:")],
    ):
        assert counters_a.get(name) == counters_b.get(name), name


def test_a_batch_spark_finished_but_redis_lacks_is_replayed_on_the_next_start(
    settings: Settings,
    spark: Any,
    fed: Fed,
    champion: str,
    uninterrupted: str,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch's Redis writes run while Spark reads the next batch: when they fail (or the job
    dies), Spark's commit log holds a batch Redis does not, and the next start applies it."""
    r = redis_client(settings)
    ss = stream_settings(job_env(fed, "c", tmp_path_factory.mktemp("stream-fail"), champion))
    prefix = ss.redis_prefix
    checkpoint = ss.checkpoint(settings)
    commit = RedisStore.commit

    def failing(self: RedisStore, result: BatchResult, *args: Any, **kwargs: Any) -> bool:
        if result.batch_id == 2:
            raise redis.ConnectionError("planted: Redis went away during batch 2's commit")
        return commit(self, result, *args, **kwargs)

    monkeypatch.setattr(RedisStore, "commit", failing)
    assert run(settings, ss, fed.ingest, available_now=True, spark=spark) == 1
    assert committed(r, prefix, checkpoint) == 1
    assert last_finished_batch(checkpoint) == 2
    monkeypatch.undo()

    assert run(settings, ss, fed.ingest, available_now=True, spark=spark) == 0
    assert json.loads(ss.progress_file(settings).read_text())["replayed"] == 1
    assert committed(r, prefix, checkpoint) == int(stats(r, uninterrupted)["last_batch"])
    a, b = snapshot(r, uninterrupted), snapshot(r, prefix)
    assert a.keys() == b.keys() and len(a) > 10
    assert a == b
    assert_same_counters(r, uninterrupted, prefix)


def test_a_commit_writes_each_score_hash_as_its_update_says(settings: Settings) -> None:
    """The score hashes are written by a Redis script: what it stores, field by field."""
    prefix = f"it:{uuid.uuid4().hex[:8]}:"
    ss = StreamSettings(redis_prefix=prefix)
    r = redis_client(settings)
    update = {
        "key": "tiktok:one",
        "platform": "tiktok",
        "username": "one",
        "score": 57.38291062,
        "label": "Stable",
        "events": 2.0,
        "dup_comments": 3,
        "followers": 12_345_678_901,
        "trust_score": None,
        "window_start": "2026-01-01T00:00:00.000Z",
    }
    others = [{**update, "key": f"tiktok:u{i}", "username": f"u{i}"} for i in range(2500)]
    result = BatchResult(
        batch_id=7,
        updates=[update, *others],
        alerts=[],
        unranked=[],
        counters=Counter(),
        state=StateDelta(),
        watermark_ms=None,
        kafka_ms=np.zeros(0),
    )
    try:
        assert RedisStore(r, ss, "q").commit(result, Counter())
        raw = r.hgetall(f"{prefix}trending:tiktok:one")
        card = {k.decode(): v.decode() for k, v in raw.items()}
        assert card.pop("updated_at")
        assert card == {
            "platform": "tiktok",
            "username": "one",
            "score": "57.382911",
            "label": "Stable",
            "events": "2",
            "dup_comments": "3",
            "followers": "12345678901",
            "window_start": "2026-01-01T00:00:00.000Z",
        }
        assert 0 < r.ttl(f"{prefix}trending:tiktok:one") <= ss.hash_ttl_wall_s
        # More creators than one script call takes: every one of them is written.
        assert r.exists(*[f"{prefix}trending:{u['key']}" for u in others]) == len(others)
        assert r.zcard(f"{prefix}trending:rank:all") == len(others) + 1
        # A replay of the same batch changes nothing.
        assert not RedisStore(r, ss, "q").commit(result, Counter())
    finally:
        for name in r.scan_iter(match=f"{prefix}*", count=5000):
            r.delete(name)


def _state_batch(batch_id: int, delta: StateDelta) -> BatchResult:
    return BatchResult(
        batch_id=batch_id,
        updates=[],
        alerts=[],
        unranked=[],
        counters=Counter(),
        state=delta,
        watermark_ms=None,
        kafka_ms=np.zeros(0),
    )


def test_a_commit_writes_and_trims_the_engine_state_hashes(settings: Settings) -> None:
    """The state hashes are written by a Redis script too: fields set and deleted per creator,
    across more creators than one call takes and more fields than one Lua unpack holds."""
    prefix = f"it:{uuid.uuid4().hex[:8]}:"
    ss = StreamSettings(redis_prefix=prefix)
    r = redis_client(settings)
    store = RedisStore(r, ss, "q")
    videos = {f"vid-{i}": orjson.dumps([i, 1.5, None, 0, 1e12 + i]) for i in range(4500)}
    big = CreatorDelta(b'{"m":1}', {29_000_001: b"[[1.0],[]]"}, [], videos, [])
    many = {
        f"tiktok:u{i}": CreatorDelta(None, {29_000_001: b"[[2.0],[]]"}, [], {}, [])
        for i in range(1500)
    }
    name = f"{prefix}stream:q:c:tiktok:big"
    try:
        assert store.commit(_state_batch(1, StateDelta({"tiktok:big": big, **many})), Counter())
        held = r.hgetall(name)
        assert held[b"meta"] == b'{"m":1}' and held[b"b:29000001"] == b"[[1.0],[]]"
        assert {k.decode()[2:]: v for k, v in held.items() if k.startswith(b"v:")} == videos
        assert 0 < r.ttl(name) <= ss.state_ttl_wall_s
        assert r.exists(*[f"{prefix}stream:q:c:{key}" for key in many]) == len(many)
        assert r.hget(f"{prefix}stream:q:c:tiktok:u1499", "b:29000001") == b"[[2.0],[]]"

        gone = [f"vid-{i}" for i in range(4200)]
        trim = CreatorDelta(None, {29_000_002: b"[[3.0],[]]"}, [29_000_001], {}, gone)
        assert store.commit(_state_batch(2, StateDelta({"tiktok:big": trim})), Counter())
        assert sorted(f.decode() for f in r.hkeys(name)) == sorted(
            ["meta", "b:29000002", *[f"v:vid-{i}" for i in range(4200, 4500)]]
        )
    finally:
        for key in r.scan_iter(match=f"{prefix}*", count=5000):
            r.delete(key)
