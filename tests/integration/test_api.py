"""The REST API against the real stack: Trino (an isolated Gold-shaped schema written here),
Redis (live data under an isolated prefix), PostgreSQL (API keys) and MLflow (a registered
LightGBM champion). Nothing shared is stopped: the Redis outage is played by a redis-server this
test starts on a free port.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
import redis
from fastapi.testclient import TestClient

from api.keys import KeyStore
from api.main import create_app
from kol.settings import ApiSettings, GoldSettings, MlSettings, Settings, StreamSettings, secret
from kol.trino import query
from tests.polling import wait_for

TS = "TIMESTAMP '2026-02-0{d} 10:00:00.000000 UTC'"
KOL_A, KOL_B = "tiktok:minh.anh", "youtube:long_tech"

# Gold-shaped tables (the columns the API reads, with the marts' types), a few rows each.
TABLES: dict[str, str] = {
    "dim_platforms": "SELECT * FROM (VALUES 'tiktok', 'youtube', 'instagram') AS t(platform)",
    "dim_kols": f"""SELECT * FROM (VALUES
        ('v1', '{KOL_A}', 'tiktok', 'minh.anh', 'Minh Anh', 'food and travel', 'https://a/1.jpg',
         'https://tiktok.com/@minh.anh', true, 'VN', 1.0e0, {TS.format(d=1)}, true, 1, false,
         {TS.format(d=1)}, {TS.format(d=5)}, 'food'),
        ('v2', '{KOL_B}', 'youtube', 'long_tech', 'Long Tech', 'tech reviews', NULL, NULL,
         false, NULL, 0.5e0, {TS.format(d=2)}, true, 1, false, {TS.format(d=2)},
         {TS.format(d=5)}, 'tech')
        ) AS t(kol_version_id, kol_id, platform, username, nickname, bio, avatar_url,
               profile_url, is_verified, country, profile_completeness, valid_from, is_current,
               version_number, is_inferred, first_seen_at, last_seen_at, niche)""",
    "fct_kol_daily": f"""SELECT kol_id, date_day, platform, followers, following, total_likes,
            posts, followers_delta, engagement_rate, engagement_rate_by_followers,
            views_per_follower, videos_published, videos_observed, views, likes, comments, shares,
            views_gained, likes_gained, comments_gained, shares_gained, is_follower_jump
        FROM (VALUES
        ('{KOL_A}', DATE '2026-02-04', 'tiktok', BIGINT '120000', BIGINT '10', BIGINT '900000',
         BIGINT '80', BIGINT '500', 0.08e0, 0.02e0, 1.5e0, BIGINT '1', BIGINT '3', BIGINT '50000',
         BIGINT '4000', BIGINT '200', BIGINT '100', BIGINT '9000', BIGINT '700', BIGINT '20',
         BIGINT '10', false),
        ('{KOL_A}', DATE '2026-02-05', 'tiktok', BIGINT '121000', BIGINT '10', BIGINT '910000',
         BIGINT '81', BIGINT '1000', 0.09e0, 0.02e0, 1.6e0, BIGINT '1', BIGINT '3',
         BIGINT '60000', BIGINT '5000', BIGINT '250', BIGINT '120', BIGINT '10000',
         BIGINT '1000', BIGINT '50', BIGINT '20', false),
        ('{KOL_B}', DATE '2026-02-05', 'youtube', BIGINT '4000', BIGINT '5', NULL, BIGINT '12',
         NULL, 0.03e0, 0.01e0, 0.5e0, BIGINT '0', BIGINT '1', BIGINT '2000', BIGINT '60',
         BIGINT '2', BIGINT '1', BIGINT '100', BIGINT '3', BIGINT '0', BIGINT '0', false)
        ) AS t(kol_id, date_day, platform, followers, following, total_likes, posts,
               followers_delta, engagement_rate, engagement_rate_by_followers, views_per_follower,
               videos_published, videos_observed, views, likes, comments, shares, views_gained,
               likes_gained, comments_gained, shares_gained, is_follower_jump)""",
    "kol_rankings_daily": f"""SELECT * FROM (VALUES
        ('{KOL_A}', DATE '2026-02-05', 'tiktok', BIGINT '1', BIGINT '2', BIGINT '1', BIGINT '1',
         BIGINT '3000', BIGINT '19000')
        ) AS t(kol_id, date_day, platform, followers_rank, growth_rank, views_rank,
               engagement_rank, followers_gained_7d, views_gained_7d)""",
    "dim_videos": f"""SELECT * FROM (VALUES
        ('vid1', '{KOL_A}', 'tiktok', 'https://tiktok.com/v/1', 'pho #food', {TS.format(d=3)},
         false, {TS.format(d=3)}, {TS.format(d=5)}),
        ('vid2', '{KOL_A}', 'tiktok', 'https://tiktok.com/v/2', 'banh mi', {TS.format(d=4)},
         false, {TS.format(d=4)}, {TS.format(d=5)})
        ) AS t(video_id, kol_id, platform, video_url, caption, published_at, is_inferred,
               first_seen_at, last_seen_at)""",
    "fct_video_daily": f"""SELECT * FROM (VALUES
        ('vid1', DATE '2026-02-05', '{KOL_A}', 'tiktok', BIGINT '30000', BIGINT '2000',
         BIGINT '100', BIGINT '50', 0.07e0),
        ('vid2', DATE '2026-02-05', '{KOL_A}', 'tiktok', BIGINT '30000', BIGINT '3000',
         BIGINT '150', BIGINT '70', 0.1e0)
        ) AS t(video_id, date_day, kol_id, platform, view_count, like_count, comment_count,
               share_count, engagement_rate)""",
    "dim_products": f"""SELECT * FROM (VALUES
        ('p1', 'Nồi chiên không dầu', 's1', 'food', 'VND', CAST(990000 AS decimal(18,2)),
         BIGINT '1', {TS.format(d=5)}),
        ('p2', 'Tai nghe Anker', 's2', 'tech', 'USD', CAST(25.5 AS decimal(18,2)), BIGINT '1',
         {TS.format(d=5)})
        ) AS t(product_id, product_title, seller_id, category, currency, current_price,
               featuring_kols, last_seen_at)""",
    "fct_product_sales_daily": f"""SELECT * FROM (VALUES
        ('p1', '{KOL_A}', DATE '2026-02-04', 'tiktok', 'vid1', BIGINT '100', CAST(NULL AS bigint),
         CAST(990000 AS decimal(18,2)), 'VND', CAST(NULL AS decimal(38,2))),
        ('p1', '{KOL_A}', DATE '2026-02-05', 'tiktok', 'vid1', BIGINT '130', BIGINT '30',
         CAST(990000 AS decimal(18,2)), 'VND', CAST(1170.00 AS decimal(38,2)))
        ) AS t(product_id, kol_id, date_day, platform, video_id, sold_count, units_sold, price,
               currency, gmv_usd)""",
    "platform_kpi_daily": """SELECT * FROM (VALUES
        ('tiktok', DATE '2026-02-05', BIGINT '1', BIGINT '121000', BIGINT '1000', BIGINT '0',
         BIGINT '1', BIGINT '3', BIGINT '10000', BIGINT '1000', BIGINT '50', BIGINT '20', 0.09e0,
         BIGINT '10', BIGINT '0', 0.0e0, BIGINT '1', BIGINT '30', CAST(1170.00 AS decimal(38,2))),
        ('youtube', DATE '2026-02-05', BIGINT '1', BIGINT '4000', BIGINT '0', BIGINT '0',
         BIGINT '0', BIGINT '1', BIGINT '100', BIGINT '3', BIGINT '0', BIGINT '0', 0.03e0,
         BIGINT '0', BIGINT '0', 0.0e0, BIGINT '0', BIGINT '0', CAST(0 AS decimal(38,2)))
        ) AS t(platform, date_day, creators_observed, total_followers, followers_gained,
               creators_with_follower_jump, videos_published, videos_observed, views_gained,
               likes_gained, comments_gained, shares_gained, engagement_rate, comments_sampled,
               near_duplicate_comments, near_duplicate_share, selling_creators, units_sold,
               gmv_usd)""",
    "kol_scores": f"""SELECT * FROM (VALUES
        ('{KOL_B}', {TS.format(d=5)}, 35.0e0, 'low', '4',
         '[{{"factor": "near_duplicate_share_7d", "value": 0.4, "effect": -1.2, "text": "bots"}}]',
         61.0e0, 'medium', '2', CAST(NULL AS varchar))
        ) AS t(kol_id, scored_at, trust_score, trust_label, trust_model_version, trust_reasons,
               success_score, success_label, success_model_version, success_reasons)""",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def tag() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def gold_schema(settings: Settings, tag: str) -> Iterator[str]:
    schema = f"api_test_{tag}"
    cat = settings.trino_catalog
    query(settings, f"CREATE SCHEMA {cat}.{schema}")
    try:
        for table, select in TABLES.items():
            query(settings, f"CREATE TABLE {cat}.{schema}.{table} AS {select}")
        yield schema
    finally:
        query(settings, f"DROP SCHEMA IF EXISTS {cat}.{schema} CASCADE")


def write_live(r: redis.Redis, prefix: str) -> None:
    """What the stream job writes (streaming.sinks), for two creators, and two alerts."""
    for kid, score, label in ((KOL_A, 84.5, "Viral"), (KOL_B, 55.0, "Stable")):
        platform, _, username = kid.partition(":")
        r.hset(
            f"{prefix}trending:{kid}",
            mapping={
                "platform": platform,
                "username": username,
                "score": score,
                "label": label,
                "velocity": 1.9,
                "momentum": 0.4,
                "damping": 0.8,
                "events": 14,
                "engagement": 9000,
                "baseline": 1200,
                "views": 8000,
                "follower_delta": 300,
                "window_start": "2026-02-05T10:00:00.000+00:00",
                "window_end": "2026-02-05T10:05:00.000+00:00",
                "trust_score": 72.0,
                "updated_at": "2026-02-05T10:05:02.000+00:00",
            },
        )
        r.zadd(f"{prefix}trending:rank:{platform}", {kid: score})
        r.zadd(f"{prefix}trending:rank:all", {kid: score})
    for i, (kind, kid) in enumerate((("follower_jump", KOL_B), ("engagement_spike", KOL_A))):
        platform, _, username = kid.partition(":")
        alert = {
            "alert_id": f"{kind}:{kid}:{i}",
            "type": kind,
            "key": kid,
            "platform": platform,
            "username": username,
            "event_time": "2026-02-05T10:04:00.000Z",
            "value": 5000.0,
            "threshold": 900.0,
            "ratio": 5.5,
        }
        r.xadd(f"{prefix}alerts", {"alert": orjson.dumps(alert)}, maxlen=1000)


@pytest.fixture(scope="module")
def redis_client(settings: Settings) -> redis.Redis:
    return redis.Redis.from_url(settings.redis_url)


@pytest.fixture(scope="module")
def live_prefix(redis_client: redis.Redis, tag: str) -> Iterator[str]:
    prefix = f"apitest:{tag}:"
    write_live(redis_client, prefix)
    yield prefix
    names = list(redis_client.scan_iter(match=f"{prefix}*", count=1000))
    if names:
        redis_client.delete(*names)


def api_settings(settings: Settings, schema: str, prefix: str, tag: str, **kw: Any) -> ApiSettings:
    models = MlSettings(
        trust_model_name=f"kol_trust_apitest_{tag}",
        # No account component: trust rests on the audience model this test registers.
        account_model_name=f"kol_trust_account_apitest_{tag}",
        success_model_name=f"kol_success_apitest_{tag}",
    )
    api = ApiSettings(
        keys_db="kol_api_test",
        keys_refresh_s=0.5,
        model_poll_s=1.0,
        redis_retry_s=0.2,
        live_cache_ms=0,  # each request reads Redis: outages show at once
        access_log=False,
        **kw,
    )
    return settings.with_changes(
        stream=StreamSettings(redis_prefix=prefix),
        gold=GoldSettings(schema_name=schema),
        ml=models,
        api=api,
    ).api


@pytest.fixture(scope="module")
def api_cfg(settings: Settings, gold_schema: str, live_prefix: str, tag: str) -> ApiSettings:
    return api_settings(settings, gold_schema, live_prefix, tag)


@pytest.fixture(scope="module")
def key(api_cfg: ApiSettings) -> Iterator[str]:
    store = KeyStore(api_cfg)
    record, key = store.create("integration-test")
    yield key
    store.revoke(record.key_id)


@pytest.fixture(scope="module")
def client(api_cfg: ApiSettings, key: str) -> Iterator[TestClient]:
    with TestClient(create_app(api_cfg), headers={"X-API-Key": key}) as c:
        yield c


def test_every_route_returns_real_data(client: TestClient) -> None:
    def get(path: str, **params: Any) -> Any:
        r = client.get(f"/api/v1{path}", params=params)
        assert r.status_code == 200, (path, r.text)
        return r.json()

    page = get("/kols", sort="followers")
    assert page["total"] == 2
    assert [k["kol_id"] for k in page["items"]] == [KOL_A, KOL_B]
    assert page["items"][0]["followers"] == 121000
    assert page["items"][0]["trending_score"] == 84.5
    assert page["items"][1]["trust_label"] == "low"
    assert [k["kol_id"] for k in get("/kols", niche="TECH")["items"]] == [KOL_B]
    assert [k["kol_id"] for k in get("/kols", min_followers=5000, platform="tiktok")["items"]] == [
        KOL_A
    ]
    assert [k["kol_id"] for k in get("/kols", trust_label="low")["items"]] == [KOL_B]
    assert [k["kol_id"] for k in get("/kols", sort="trust")["items"]] == [KOL_B, KOL_A]
    assert [k["kol_id"] for k in get("/kols", sort="trending", limit=1)["items"]] == [KOL_A]
    assert get("/kols", offset=5)["total"] == 2  # past the end: still the true total

    profile = get("/kols/tiktok/minh.anh")
    assert (profile["nickname"], profile["niche"], profile["videos"], profile["products"]) == (
        "Minh Anh",
        "food",
        2,
        1,
    )
    assert profile["metrics"]["followers"] == 121000
    assert profile["metrics"]["as_of"] == "2026-02-05"
    assert profile["ranks"]["followers_rank"] == 1
    assert profile["scores"]["trending"]["label"] == "Viral"

    videos = get("/kols/tiktok/minh.anh/videos")
    assert [v["video_id"] for v in videos["items"]] == ["vid2", "vid1"]
    assert videos["items"][0]["like_count"] == 3000
    products = get("/kols/tiktok/minh.anh/products")
    assert products["items"][0] == {
        **products["items"][0],
        "product_id": "p1",
        "sold_count": 130,
        "units_sold": 30,
        "gmv_usd": 1170.0,
        "price": 990000.0,
        "first_seen_day": "2026-02-04",
    }
    ts = get("/kols/tiktok/minh.anh/timeseries")
    assert (ts["start"], ts["end"]) == ("2026-01-07", "2026-02-05")
    assert [p["followers"] for p in ts["points"]] == [120000, 121000]
    ts = get("/kols/tiktok/minh.anh/timeseries", start="2026-02-05", end="2026-02-05")
    assert len(ts["points"]) == 1

    scores = get("/scores/youtube/long_tech")
    assert (scores["trust"]["source"], scores["trust"]["score"]) == ("gold", 35.0)
    assert scores["trust"]["reasons"][0]["factor"] == "near_duplicate_share_7d"
    assert (scores["success"]["score"], scores["success"]["model_version"]) == (61.0, "2")
    assert scores["trending"]["score"] == 55.0
    scores = get("/scores/tiktok/minh.anh")
    assert (scores["trust"]["source"], scores["trust"]["score"]) == ("stream", 72.0)

    trending = get("/trending")
    assert [(i["rank"], i["kol_id"]) for i in trending["items"]] == [(1, KOL_A), (2, KOL_B)]
    assert trending["items"][0]["velocity"] == 1.9
    assert [i["kol_id"] for i in get("/trending", platform="youtube")["items"]] == [KOL_B]
    stable = get("/trending", label="Stable")["items"]
    assert [(i["rank"], i["kol_id"]) for i in stable] == [(2, KOL_B)]

    assert [h["kol_id"] for h in get("/search/kols", q="long")["items"]] == [KOL_B]
    assert [h["kol_id"] for h in get("/search/kols", q="Minh")["items"]] == [KOL_A]
    assert [h["kol_id"] for h in get("/search/kols", q="food")["items"]] == [KOL_A]  # niche
    assert get("/search/kols", q="a_%")["items"] == []  # wildcards are literal
    assert [p["product_id"] for p in get("/search/products", q="anker")["items"]] == ["p2"]

    stats = get("/stats/platform")
    assert stats["date_day"] == "2026-02-05"
    assert [s["platform"] for s in stats["items"]] == ["tiktok", "youtube"]
    assert get("/stats/platform", platform="tiktok")["items"][0]["gmv_usd"] == 1170.0
    summary = get("/stats/summary")
    assert (summary["creators"], summary["platforms"], summary["videos"]) == (2, 3, 2)
    assert summary["total_followers"] == 125000
    assert summary["live"]["ranked_creators"] == 2
    assert summary["live"]["by_label"]["Viral"] == 1

    alerts = get("/alerts")["items"]
    assert [a["type"] for a in alerts] == ["engagement_spike", "follower_jump"]
    assert alerts[0]["details"] == {"ratio": 5.5}
    only = get("/alerts", platform="youtube", username="long_tech")["items"]
    assert [a["kol_id"] for a in only] == [KOL_B]

    assert client.get("/api/v1/kols/tiktok/nobody").status_code == 404
    assert client.get("/api/v1/scores/tiktok/nobody").status_code == 404


def test_gold_answers_are_cached_in_redis(
    client: TestClient, api_cfg: ApiSettings, redis_client: redis.Redis, live_prefix: str
) -> None:
    path = "/api/v1/kols/youtube/long_tech/videos"
    first = client.get(path, params={"limit": 7})
    second = client.get(path, params={"limit": 7})
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("miss", "hit")
    assert first.json() == second.json()
    cached = list(redis_client.scan_iter(match=f"{live_prefix}api:cache:*:videos:*"))
    assert cached
    # Kept past its freshness for the stale-while-revalidate grace; fresh-until is in the value.
    assert 0 < redis_client.ttl(cached[0]) <= api_cfg.cache_ttl_s + api_cfg.cache_stale_s
    fresh_until = float(redis_client.get(cached[0]).partition(b"|")[0])
    assert time.time() < fresh_until <= time.time() + api_cfg.cache_ttl_s


def test_keys_are_required_revocable_and_rate_limited(
    client: TestClient, api_cfg: ApiSettings
) -> None:
    assert client.get("/api/v1/trending", headers={"X-API-Key": ""}).status_code == 401
    assert client.get("/healthz", headers={"X-API-Key": ""}).status_code == 200
    store = KeyStore(api_cfg)
    record, limited = store.create("integration-limited", rate_limit=3)
    try:
        codes = [
            client.get("/api/v1/trending", headers={"X-API-Key": limited}).status_code
            for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        r = client.get("/api/v1/trending", headers={"X-API-Key": limited})
        assert 1 <= int(r.headers["Retry-After"]) <= api_cfg.rate_limit_window_s
    finally:
        assert store.revoke(record.key_id)
    time.sleep(api_cfg.keys_refresh_s + 0.5)
    r = client.get("/api/v1/trending", headers={"X-API-Key": limited})
    assert r.status_code == 401
    # Only the hash is stored.
    with store.connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT key_hash FROM api.api_keys WHERE key_id = %s", (record.key_id,))
        (stored,) = cur.fetchone()
    assert limited not in stored and len(stored) == 64


def register_lightgbm(name: str, settings: Settings, flip: bool = False) -> str:
    import lightgbm
    import mlflow
    import numpy as np
    import pandas as pd
    from mlflow.models import infer_signature

    mlflow.set_tracking_uri(settings.mlflow_login())
    mlflow.set_experiment(f"api-test-{name}")
    rng = np.random.default_rng(1)
    x = pd.DataFrame(
        {
            "followers": rng.integers(100, 10**6, 300).astype("float64"),
            "near_duplicate_share_7d": rng.random(300),
        }
    )
    y = (x["near_duplicate_share_7d"] < 0.5).astype(int)
    if flip:
        y = 1 - y
    clf = lightgbm.LGBMClassifier(n_estimators=10, verbose=-1).fit(x, y)
    with mlflow.start_run():
        info = mlflow.lightgbm.log_model(
            clf,
            name="model",
            registered_model_name=name,
            pyfunc_predict_fn="predict_proba",
            signature=infer_signature(x, clf.predict_proba(x)[:, 1]),
        )
    version = str(info.registered_model_version)
    mlflow.MlflowClient().set_registered_model_alias(name, "champion", version)
    return version


def test_models_load_from_mlflow_and_follow_the_alias(
    client: TestClient, api_cfg: ApiSettings, settings: Settings
) -> None:
    import mlflow

    name = api_cfg.trust_model_name
    body = {"features": {"followers": 5000, "near_duplicate_share_7d": 0.9}}
    r = client.post("/api/v1/predict/trust", json=body)
    assert r.status_code == 503
    assert f"{name}@champion" in r.json()["detail"]

    def trust_version() -> str | None:
        models = client.get("/readyz").json()["models"]
        return next(m["version"] for m in models if m["kind"] == "trust")

    try:
        v1 = register_lightgbm(name, settings)
        assert wait_for(lambda: trust_version() == v1)
        r = client.post("/api/v1/predict/trust", json=body)
        assert r.status_code == 200, r.text
        first = r.json()
        assert first["model_version"] == v1 and first["score"] < 50
        assert first["reasons"][0]["factor"] == "near_duplicate_share_7d"
        r = client.post("/api/v1/predict/batch", json={"items": [body], "models": ["trust"]})
        assert r.json()["items"][0]["trust"]["score"] == first["score"]
        assert client.post("/api/v1/predict/success", json=body).status_code == 503

        v2 = register_lightgbm(name, settings, flip=True)
        assert wait_for(lambda: trust_version() == v2)
        second = client.post("/api/v1/predict/trust", json=body).json()
        assert second["model_version"] == v2 and second["score"] > 50
    finally:
        mlflow.MlflowClient().delete_registered_model(name)


@pytest.fixture
def own_redis(settings: Settings) -> Iterator[tuple[Settings, Any]]:
    """A redis-server of this test's own (so stopping it disturbs nobody), with the stack's
    password, and settings that point at it."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = free_port()
    core = settings.model_copy(update={"redis_port": port})
    password = secret(core.redis_password)
    cmd = [
        binary,
        "-",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        # The password through stdin (a config file), not the command line.
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        assert proc.stdin is not None
        proc.stdin.write(f'requirepass "{password}"\n'.encode())
        proc.stdin.close()
        procs.append(proc)
        client = redis.Redis.from_url(core.redis_url)
        assert wait_for(lambda: _pings(client), 10)

    start()
    try:
        yield core, start
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def test_redis_outage_live_503_gold_answers_then_recovers(
    gold_schema: str, tag: str, key: str, own_redis: tuple[Settings, Any]
) -> None:
    core, start = own_redis
    port = core.redis_port
    prefix = f"apitest:{tag}:"
    cfg = api_settings(core, gold_schema, prefix, tag)
    write_live(redis.Redis.from_url(core.redis_url), prefix)
    with TestClient(create_app(cfg), headers={"X-API-Key": key}) as c:
        assert wait_for(lambda: c.get("/api/v1/trending").status_code == 200, 10)
        assert len(c.get("/api/v1/trending").json()["items"]) == 2

        redis.Redis.from_url(core.redis_url).shutdown(nosave=True)
        r = c.get("/api/v1/trending")
        assert r.status_code == 503
        # Which dependency is down, not where it lives.
        assert r.json()["service"] == "redis" and "Redis does not answer" in r.json()["detail"]
        assert f":{port}" not in r.text and "127.0.0.1" not in r.text
        assert c.get("/api/v1/alerts").status_code == 503
        assert c.get("/api/v1/kols/tiktok/minh.anh").status_code == 200  # Gold via Trino
        assert c.get("/api/v1/stats/summary").json()["live"] is None
        ready = c.get("/readyz")
        assert ready.status_code == 503 and not ready.json()["checks"]["redis"]["ok"]

        start()  # Redis back (empty): the same app recovers without a restart
        write_live(redis.Redis.from_url(core.redis_url), prefix)
        assert wait_for(lambda: c.get("/api/v1/trending").status_code == 200, 10)
        assert len(c.get("/api/v1/trending").json()["items"]) == 2
        # /readyz answers from checks up to readyz_cache_s old.
        assert wait_for(lambda: c.get("/readyz").json()["checks"]["redis"]["ok"], 10)


def test_gold_not_built_is_a_503_while_live_routes_work(
    settings: Settings, live_prefix: str, tag: str, key: str
) -> None:
    cfg = api_settings(settings, f"api_missing_{tag}", live_prefix, tag)
    with TestClient(create_app(cfg), headers={"X-API-Key": key}) as c:
        r = c.get("/api/v1/kols")
        assert r.status_code == 503
        assert r.json()["service"] == "gold" and "not built" in r.json()["detail"]
        assert c.get("/api/v1/trending").status_code == 200
        assert c.get("/readyz").json()["status"] == "degraded"


@pytest.fixture(scope="module")
def running_api(api_cfg: ApiSettings, tag: str) -> Iterator[str]:
    """The API as `kol api` runs it (uvicorn, one worker) on a free port of its own."""
    port = free_port()
    env = {
        **os.environ,
        "KOL_GOLD_SCHEMA": api_cfg.gold_schema,
        "KOL_STREAM_REDIS_PREFIX": api_cfg.redis_prefix,
        "KOL_API_KEYS_DB": api_cfg.keys_db,
        "KOL_ML_TRUST_MODEL_NAME": api_cfg.trust_model_name,
        "KOL_ML_SUCCESS_MODEL_NAME": api_cfg.success_model_name,
        "KOL_API_ACCESS_LOG": "false",
        "KOL_API_LIVE_CACHE_MS": "0",
    }
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "api.main:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(lambda: _answers(f"{base}/healthz"), 60), "uvicorn did not start"
        yield base
    finally:
        proc.terminate()
        proc.wait(15)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_schemathesis_finds_no_server_errors(running_api: str, key: str) -> None:
    """Requests generated from the live OpenAPI schema, against the real services: no 5xx, except
    the predict routes' documented 503 while no champion model is registered."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_url(f"{running_api}/openapi.json")
    failures: list[str] = []

    def explore(op: Any) -> None:
        @given(case=op.as_strategy())
        @settings(
            max_examples=8,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            r = case.call(base_url=running_api, headers={"X-API-Key": key}, timeout=60)
            no_model = (
                r.status_code == 503
                and op.path.startswith("/api/v1/predict")
                and r.json().get("service") == "models"
            )
            if r.status_code >= 500 and not no_model:
                failures.append(f"{case.method} {case.formatted_path} -> {r.status_code} {r.text}")

        run()

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 20
    for op in operations:
        explore(op)
    assert not failures, "\n".join(failures[:10])
