"""Service health, driver-side count parsing, dead letters and trust scoring, without services."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import pytest

from kol.redis_keys import RedisKeys
from kol.settings import Settings, StreamSettings
from kol.topics import VIDEOS_TOPIC
from shell.stack.services.stream import StreamService
from streaming.sinks import dead_letter
from streaming.trust import TrustScorer, to_trust_score


@pytest.fixture
def service(tmp_path: Path) -> StreamService:
    settings = Settings(_env_file=None, home=tmp_path)
    ss = StreamSettings(_env_file=None, progress_path=tmp_path / "progress.json")
    return StreamService(settings, ss)


def write_progress(svc: StreamService, age_s: float = 0.0, **fields: object) -> None:
    data = {"state": "running", "active": True, "last_batch": 7, "events": 1234, **fields}
    svc.progress_file.write_text(json.dumps(data))
    then = time.time() - age_s
    os.utime(svc.progress_file, (then, then))


def test_the_service_runs_the_job_module(service: StreamService) -> None:
    assert service.name == "stream"
    assert service.command()[1:] == ["-m", "streaming.job"]
    assert service.ports() == [] and set(service.requires) == {"kafka", "redis"}
    assert service.pid_file.name == "stream.pid" and service.log_file.name == "stream.log"


def test_health_follows_the_heartbeat(service: StreamService) -> None:
    assert not service.health().ok  # no heartbeat yet
    write_progress(service, processed_rows_per_second=5000.0, trust="on: kol_trust@champion")
    health = service.health()
    assert health.ok and "batch 7" in health.detail and "5,000 ev/s" in health.detail
    write_progress(service, age_s=600)
    assert not service.health().ok and "old" in service.health().detail
    write_progress(service, state="failed", active=False)
    assert not service.health().ok


def test_dead_letters_carry_the_contract_code_and_the_source_offset() -> None:
    payload = b'{"event_id": "x", "platform": "TikTok"}'
    key, value, code = dead_letter(VIDEOS_TOPIC, payload, "platform: unknown platform", 2, 41)
    record = orjson.loads(value)
    assert code.startswith("missing") or code.startswith("literal_error")
    assert record["topic"] == VIDEOS_TOPIC and record["payload"] == payload.decode()
    assert record["source"] == "kol-stream" and record["stream_reason"]
    assert (record["source_partition"], record["source_offset"]) == (2, 41)
    # A payload the contract accepts but the stream does not: the stream's own reason.
    ok = orjson.dumps(
        {
            "event_id": "e",
            "event_time": "2025-01-01T00:00:00Z",
            "event_type": "video_snapshot",
            "platform": "tiktok",
            "username": "ann",
            "video_id": "v",
        }
    )
    key, value, code = dead_letter(VIDEOS_TOPIC, ok, "event_time: too far ahead", 0, 1)
    assert code == "stream_check" and key == "tiktok:ann"
    assert orjson.loads(value)["detail"] == "event_time: too far ahead"


def test_redis_key_layout() -> None:
    keys = RedisKeys("kol:", "q1")
    assert keys.trending("tiktok:ann") == "kol:trending:tiktok:ann"
    assert keys.rank("youtube") == "kol:trending:rank:youtube"
    assert keys.rank() == "kol:trending:rank:all"
    assert keys.commit == "kol:stream:q1:commit"


def test_trust_scores_from_model_outputs() -> None:
    assert to_trust_score(np.array([0.2, 0.9]), 100.0).tolist() == [20.0, 90.0]
    assert to_trust_score(np.array([[0.8, 0.2], [0.1, 0.9]]), 100.0).tolist() == [20.0, 90.0]
    assert to_trust_score(np.array([120.0, -3.0]), 1.0).tolist() == [100.0, 0.0]


class FakeModel:
    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return (frame["followers"] > 1000).to_numpy(dtype="float64")


def test_the_scorer_feeds_the_models_inputs_and_says_once_when_it_cannot(
    caplog: pytest.LogCaptureFixture,
) -> None:
    scorer = TrustScorer(Settings(_env_file=None), StreamSettings(_env_file=None))
    assert scorer(pd.DataFrame({"followers": [5.0]})) is None  # no model: no scores
    scorer.model, scorer.inputs = FakeModel(), ["followers"]
    features = pd.DataFrame({"followers": [10.0, 50_000.0], "posts": [1.0, 2.0]})
    assert scorer(features).tolist() == [0.0, 100.0]
    scorer.inputs = ["followers", "audience_country"]
    assert scorer(features) is None and scorer(features) is None
    assert sum("audience_country" in r.message for r in caplog.records) == 1
    assert scorer.model is None and scorer.status.startswith("off:")
