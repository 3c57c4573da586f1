"""Route tests without services: the app's dependencies are replaced by in-memory fakes.

``api`` (the fixture) bundles the app, a TestClient sending a valid key, and the fakes, whose
state tests arrange (rows Gold returns, hashes in "Redis", a loaded model) and whose ``down``
flags play a stopped service.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api import deps
from api.cache import dumps
from api.errors import ServiceUnavailable
from api.keys import ApiKey
from api.main import create_app
from api.models import ModelOutput, ModelRegistry, features_matrix
from api.ratelimit import Decision, decide
from api.schemas import KolFeatures
from kol.redis_keys import RedisKeys
from kol.settings import ApiSettings, Settings

KEY = "kol_testkey0001_secret"
KOL = "tiktok:minh.anh"

PROFILE_ROW: dict[str, Any] = {
    "kol_id": KOL,
    "platform": "tiktok",
    "username": "minh.anh",
    "nickname": "Minh Anh",
    "bio": "food",
    "is_verified": True,
    "profile_completeness": 1.0,
    "is_inferred": False,
    "profile_version": 2,
    "first_seen_at": "2026-02-01T00:00:00Z",
    "metrics_as_of": "2026-02-05",
    "followers": 12_000,
    "engagement_rate": 0.08,
    "ranks_as_of": "2026-02-05",
    "followers_rank": 3,
    "videos": 4,
    "products": 1,
}


def _down(service: str = "redis") -> ServiceUnavailable:
    return ServiceUnavailable(service, f"{service} is stopped (test)")


@dataclass
class FakeLive:
    """LiveStore's interface over dicts."""

    down: bool = False
    trending_hashes: dict[str, dict[str, str]] = field(default_factory=dict)
    score_hashes: dict[str, dict[str, str]] = field(default_factory=dict)
    alerts_list: list[dict[str, Any]] = field(default_factory=list)
    cache: dict[str, bytes] = field(default_factory=dict)
    keys: RedisKeys = field(default_factory=lambda: RedisKeys("kol:"))

    def _check(self) -> None:
        if self.down:
            raise _down()

    @property
    def available(self) -> bool:
        return not self.down

    async def ping(self) -> str:
        self._check()
        return "redis fake"

    async def recent(self, key: Any, compute: Any) -> Any:
        return await compute()

    async def cache_get(self, key: str) -> bytes | None:
        return None if self.down else self.cache.get(key)

    async def cache_set(self, key: str, value: bytes, ttl_s: int) -> None:
        if not self.down:
            self.cache[key] = value

    async def trending(
        self, platform: str | None, label: str | None, limit: int
    ) -> tuple[int, list[tuple[int, str, float, dict[str, str]]]]:
        self._check()
        ranked = sorted(
            (
                (k, float(h["score"]))
                for k, h in self.trending_hashes.items()
                if platform is None or h["platform"] == platform
            ),
            key=lambda kv: -kv[1],
        )
        out = [
            (i + 1, k, s, self.trending_hashes[k])
            for i, (k, s) in enumerate(ranked)
            if label is None or self.trending_hashes[k].get("label") == label
        ]
        return len(ranked), out[:limit]

    async def creator(self, kol_id: str) -> tuple[dict[str, str], dict[str, str]]:
        self._check()
        return self.trending_hashes.get(kol_id, {}), self.score_hashes.get(kol_id, {})

    async def trending_scores(self, kol_ids: list[str]) -> dict[str, float]:
        self._check()
        return {
            k: float(self.trending_hashes[k]["score"]) for k in kol_ids if k in self.trending_hashes
        }

    async def alerts(
        self,
        limit: int,
        platform: str | None = None,
        alert_type: str | None = None,
        kol_id: str | None = None,
    ) -> list[dict[str, Any]]:
        self._check()
        out = [
            a
            for a in self.alerts_list
            if (platform is None or a["platform"] == platform)
            and (alert_type is None or a["type"] == alert_type)
            and (kol_id is None or a["kol_id"] == kol_id)
        ]
        return out[:limit]

    async def summary(self) -> dict[str, Any]:
        self._check()
        return {
            "ranked_creators": len(self.trending_hashes),
            "by_label": {"Viral": 0, "Hot": len(self.trending_hashes)},
            "last_commit_at": "2026-02-05T10:00:00+00:00",
            "recent_alerts": len(self.alerts_list),
        }


@dataclass
class FakeGold:
    """GoldReader's interface: profiles by kol_id, canned pages, and a ``down`` switch."""

    down: str | None = None  # "trino" or "gold" to play that failure
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    kol_rows: list[dict[str, Any]] = field(default_factory=list)
    scores_row: dict[str, Any] | None = None
    peer_row: dict[str, Any] | None = None
    calls: list[tuple[str, Any]] = field(default_factory=list)
    g: str = "iceberg.gold"

    def _check(self) -> None:
        if self.down:
            raise _down(self.down)

    async def ping(self) -> str:
        self._check()
        return "trino fake"

    async def catalog(self, fresh: bool = False) -> Any:
        from api.queries import CORE_TABLES, GoldCatalog

        self._check()
        return GoldCatalog({t: frozenset() for t in CORE_TABLES})

    async def kols(self, f: Any, sort: str, limit: int, offset: int) -> tuple[bytes, bool]:
        self._check()
        self.calls.append(("kols", (f, sort, limit, offset)))
        rows = self.kol_rows if sort == "trending" else self.kol_rows[offset : offset + limit]
        return dumps({"items": rows, "total": len(self.kol_rows)}), False

    async def profile(self, kol_id: str) -> dict[str, Any] | None:
        self._check()
        return self.profiles.get(kol_id)

    async def exists(self, kol_id: str) -> bool:
        return await self.profile(kol_id) is not None

    async def videos(self, kol_id: str, limit: int, offset: int) -> tuple[bytes, bool]:
        self._check()
        items = [{"video_id": "v1", "view_count": 10, "total": 1}]
        return dumps({"items": items, "total": 1, "limit": limit, "offset": offset}), True

    async def products(self, kol_id: str, limit: int, offset: int) -> tuple[bytes, bool]:
        self._check()
        items = [{"product_id": "p1", "gmv_usd": 12.5, "total": 1}]
        return dumps({"items": items, "total": 1, "limit": limit, "offset": offset}), False

    async def timeseries(
        self, kol_id: str, start: date | None, end: date | None
    ) -> tuple[bytes, bool]:
        self._check()
        self.calls.append(("timeseries", (start, end)))
        points = [{"date_day": "2026-02-05", "followers": 12_000}]
        body = {"kol_id": kol_id, "start": "2026-01-07", "end": "2026-02-05", "points": points}
        return dumps(body), False

    async def peers(self, kol_id: str, platform: str, band: float) -> tuple[bytes, bool]:
        self._check()
        self.calls.append(("peers", (kol_id, platform, band)))
        row = self.peer_row or {"kol_id": kol_id, "platform": platform, "peers": 0}
        return dumps(row), False

    async def kol_scores(self, kol_id: str) -> tuple[dict[str, Any] | None, str | None]:
        self._check()
        if self.scores_row is None:
            return None, "gold.kol_scores is not built yet"
        return self.scores_row, None

    async def search_kols(self, q: str, limit: int) -> tuple[bytes, bool]:
        self._check()
        self.calls.append(("search_kols", q))
        return dumps(
            {"query": q, "items": [{"kol_id": KOL, "platform": "tiktok", "username": "minh.anh"}]}
        ), False

    async def search_products(self, q: str, limit: int) -> tuple[bytes, bool]:
        self._check()
        return dumps({"query": q, "items": [{"product_id": "p1"}]}), False

    async def platform_stats(self, platform: str | None, day: date | None) -> tuple[bytes, bool]:
        self._check()
        items = [{"platform": "tiktok", "date_day": "2026-02-05", "gmv_usd": 10.0}]
        return dumps({"date_day": "2026-02-05", "items": items}), False

    async def summary(self) -> dict[str, Any]:
        self._check()
        return {
            "as_of": "2026-02-05",
            "creators": 100,
            "platforms": 3,
            "videos": 1000,
            "products": 139,
        }


@dataclass
class FakeKeyRing:
    keys: dict[str, ApiKey] = field(default_factory=lambda: {KEY: ApiKey("testkey0001", "t")})
    down: bool = False

    @property
    def status(self) -> tuple[bool, str]:
        return (False, "key store unavailable (test)") if self.down else (True, "fake keys")

    async def lookup(self, key: str) -> ApiKey | None:
        if self.down:
            raise _down("key_store")
        return self.keys.get(key)


@dataclass
class FakeLimiter:
    limit: int = 1000
    window_s: int = 60
    counts: dict[str, int] = field(default_factory=dict)

    async def hit(self, key_id: str, limit: int | None = None) -> Decision:
        self.counts[key_id] = self.counts.get(key_id, 0) + 1
        return decide(self.counts[key_id], limit or self.limit, 30.0, self.window_s)


class FakeModel:
    """Score = followers_log10 * 10 (NaN -> 50); one reason."""

    def __init__(self, name: str = "kol_trust", version: str = "7") -> None:
        self.name = name
        self.version = version
        self.calls = 0

    def predict(self, rows: list[KolFeatures]) -> list[ModelOutput]:
        self.calls += 1
        out = []
        for v in features_matrix(rows, ["followers"])[:, 0]:
            score = 50.0 if math.isnan(v) else min(100.0, float(np.log10(v + 1) * 10))
            reason = {"factor": "followers", "value": v, "effect": 0.3, "text": "followers"}
            out.append(ModelOutput(round(score, 2), [reason]))
        return out


@dataclass
class ApiFixture:
    app: FastAPI
    client: TestClient
    settings: ApiSettings
    live: FakeLive
    gold: FakeGold
    keyring: FakeKeyRing
    limiter: FakeLimiter
    models: ModelRegistry

    def load_model(self, kind: str, model: Any | None = None) -> Any:
        slot = self.models.slots[kind]
        slot.model = model or FakeModel(slot.name)
        slot.version = slot.model.version
        slot.detail = "loaded (test)"
        return slot.model


@pytest.fixture
def api_settings(tmp_path: Any) -> ApiSettings:
    api = ApiSettings(
        access_log=False,
        max_batch_size=3,
        max_page_size=50,
        readyz_cache_s=0,  # each test's /readyz sees the fakes as they are now
    )
    return Settings(home=tmp_path, api=api).api


@pytest.fixture
def api(api_settings: ApiSettings) -> Iterator[ApiFixture]:
    app = create_app(api_settings, connect=False)
    live, gold = FakeLive(), FakeGold(profiles={KOL: dict(PROFILE_ROW)})
    keyring, limiter = FakeKeyRing(), FakeLimiter()

    def no_mlflow(name: str, alias: str) -> str:
        raise LookupError(f"no model {name}@{alias} (test)")

    models = ModelRegistry(api_settings, resolver=no_mlflow, loader=None)
    models.refresh()
    app.dependency_overrides.update(
        {
            deps.get_live: lambda: live,
            deps.get_gold: lambda: gold,
            deps.get_keyring: lambda: keyring,
            deps.get_limiter: lambda: limiter,
            deps.get_models: lambda: models,
        }
    )
    with TestClient(app, headers={"X-API-Key": KEY}) as client:
        yield ApiFixture(app, client, api_settings, live, gold, keyring, limiter, models)
