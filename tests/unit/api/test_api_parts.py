"""The API's parts on their own: SQL builders, Redis key layout, cache, limits, keys, models."""

from __future__ import annotations

import asyncio
import io
import logging
import time
from datetime import date
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from trino.exceptions import TrinoConnectionError, TrinoUserError

from api import queries as Q
from api.cache import GoldCache, pack, unpack
from api.errors import ServiceUnavailable
from api.gold import GoldReader, map_trino_error
from api.keys import KEY_PREFIX, ApiKey, KeyRing, hash_key, new_key
from api.live import TREND_LABELS, label_bounds, parse_alert
from api.models import (
    FEATURES,
    ModelOutput,
    ModelRegistry,
    band_label,
    features_frame,
    split_metrics,
    to_scores,
    top_reasons,
)
from api.observability import JsonFormatter
from api.ratelimit import RateLimiter, decide
from api.routes.trending import trending_item
from api.schemas import KolFeatures
from api.scoring import parse_reasons
from kol.champion import check_artifact_uri
from kol.redis_keys import RedisKeys
from kol.settings import ApiSettings

G = "iceberg.gold"
FULL = Q.GoldCatalog(
    {
        **{t: frozenset() for t in Q.CORE_TABLES},
        Q.DIM_KOLS: frozenset({"kol_id", "niche"}),
        Q.KOL_SCORES: frozenset(Q.KOL_SCORES_COLUMNS),
    }
)
BARE = Q.GoldCatalog({t: frozenset() for t in Q.CORE_TABLES})


# ---- SQL ------------------------------------------------------------------------------------
def placeholders(sql: str) -> int:
    return sql.count("?")


FILTERS = [
    Q.KolFilter(),
    Q.KolFilter(platform="tiktok", min_followers=1, max_followers=9),
    Q.KolFilter(niche="food", trust_label="high"),
]


@pytest.mark.parametrize("f", FILTERS)
@pytest.mark.parametrize("sort", ["followers", "engagement", "trust"])
def test_kol_list_binds_every_value(f: Q.KolFilter, sort: str) -> None:
    sql, params = Q.kols_list(G, FULL, f, sort, 20, 40)
    assert placeholders(sql) == len(params)
    assert params[-2:] == [40, 20]
    for value in (f.platform, f.niche, f.trust_label):
        assert value is None or (value in params and value not in sql)
    count_sql, count_params = Q.kols_count(G, FULL, f)
    assert placeholders(count_sql) == len(count_params) == len(params) - 2


def test_optional_gold_parts_switch_on_with_the_catalog() -> None:
    sql, _ = Q.kols_list(G, BARE, Q.KolFilter(), "followers", 1, 0)
    assert "kol_scores" not in sql and "k.niche" not in sql
    sql, _ = Q.kols_list(G, FULL, Q.KolFilter(), "followers", 1, 0)
    assert f"{G}.kol_scores" in sql and "k.niche" in sql
    assert FULL.has_scores and FULL.has_niche and not BARE.has_scores
    assert BARE.missing(Q.DIM_KOLS, Q.KOL_SCORES) == [Q.KOL_SCORES]


@pytest.mark.parametrize(
    "query",
    [
        Q.kol_profile(G, FULL, "tiktok:a"),
        Q.kol_videos(G, "tiktok:a", 10, 0),
        Q.kol_products(G, "tiktok:a", 10, 0),
        Q.kol_videos_count(G, "tiktok:a"),
        Q.kol_products_count(G, "tiktok:a"),
        Q.kol_timeseries(G, "tiktok:a", date(2026, 1, 1), date(2026, 1, 31)),
        Q.kol_scores(G, "tiktok:a"),
        Q.search_kols(G, FULL, "an'; drop", 5),
        Q.search_products(G, "anker", 5),
        Q.platform_stats(G, "tiktok", date(2026, 2, 1)),
        Q.platform_stats(G, None, None),
        Q.summary(G),
        Q.catalog_columns("iceberg", "gold"),
        Q.schema_exists("iceberg", "gold"),
    ],
)
def test_every_query_binds_its_values(query: Q.Query) -> None:
    sql, params = query
    assert placeholders(sql) == len(params)
    assert "drop" not in sql and "tiktok:a" not in sql


def test_like_pattern_escapes_wildcards() -> None:
    assert Q.like_pattern("An_1%") == "%an\\_1\\%%"
    assert Q.like_pattern("a\\b") == "%a\\\\b%"


# ---- Redis layout ---------------------------------------------------------------------------
def test_trend_labels_match_the_stream_job() -> None:
    from kol.settings import StreamSettings
    from streaming.score import LABELS, label_for

    assert TREND_LABELS == LABELS
    s = ApiSettings()
    for score in (0.0, 19.99, 20.0, 39.9, 40.0, 59.99, 60.0, 79.99, 80.0, 100.0):
        label = label_for(score, StreamSettings())
        lo, hi = label_bounds(label, s)
        assert lo == "-inf" or score >= float(lo)
        assert hi == "+inf" or score < float(hi.lstrip("("))


def test_parse_alert_keeps_known_fields_and_details() -> None:
    payload = (
        b'{"alert_id": "comment_burst:tiktok:a:1", "type": "comment_burst", "key": "tiktok:a",'
        b' "platform": "tiktok", "username": "a", "value": 12, "threshold": 10,'
        b' "comment_volume": 40, "batch_id": 3}'
    )
    alert = parse_alert("1-0", payload)
    assert alert is not None
    assert (alert["kol_id"], alert["value"], alert["threshold"]) == ("tiktok:a", 12, 10)
    assert alert["details"] == {"comment_volume": 40, "batch_id": 3}
    assert parse_alert("1-0", b"not json") is None
    assert parse_alert("1-0", b'{"no": "key"}') is None


def test_trending_item_types_the_hash() -> None:
    item = trending_item(
        3, "tiktok:a.b", 71.239, {"label": "Hot", "velocity": "0.5", "events": "x", "score": "1"}
    )
    assert item == {
        "rank": 3,
        "kol_id": "tiktok:a.b",
        "score": 71.24,
        "platform": "tiktok",
        "username": "a.b",
        "label": "Hot",
        "velocity": 0.5,
    }


# ---- cache ----------------------------------------------------------------------------------
class DictLive:
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.ttls: dict[str, int] = {}
        self.keys = RedisKeys("kol:")
        self.down = False

    async def cache_get(self, key: str) -> bytes | None:
        return None if self.down else self.data.get(key)

    async def cache_set(self, key: str, value: bytes, ttl_s: int) -> None:
        if not self.down:
            self.data[key], self.ttls[key] = value, ttl_s

    async def cache_claim(self, key: str, ttl_s: int) -> bool:
        if self.down or key in self.data:
            return False
        await self.cache_set(key, b"1", ttl_s)
        return True


def test_cache_first_single_flight_and_negative_ttl() -> None:
    s = ApiSettings(cache_ttl_s=300, negative_cache_ttl_s=30, cache_local_s=0)
    live = DictLive()
    cache = GoldCache(s, live)  # type: ignore[arg-type]
    calls = []

    async def compute() -> Any:
        calls.append(1)
        await asyncio.sleep(0.01)
        return {"when": date(2026, 2, 5), "n": 1}

    async def scenario() -> list[tuple[bytes, bool]]:
        first = await asyncio.gather(*(cache.get_or_compute("x", [1], compute) for _ in range(5)))
        again = await cache.get_or_compute("x", [1], compute)
        missing = await cache.get_or_compute("y", [2], lambda: asyncio.sleep(0, None))
        return [*first, again, missing]

    results = asyncio.run(scenario())
    assert len(calls) == 1  # five concurrent misses, one computation
    assert results[0] == (b'{"when":"2026-02-05","n":1}', False)
    assert results[5][1] is True
    assert results[6] == (b"null", False)
    assert sorted(live.ttls.values()) == [30 + 3600, 300 + 3600]  # fresh + stale grace
    assert all(":v2:gold:" in k for k in live.data)

    live.down = True
    asyncio.run(cache.get_or_compute("x", [1], compute))
    assert len(calls) == 2  # Redis down: straight to Trino


def test_an_expired_answer_is_served_while_one_refresh_runs() -> None:
    s = ApiSettings(cache_ttl_s=300, cache_stale_s=600, cache_local_s=0)
    live = DictLive()
    cache = GoldCache(s, live)  # type: ignore[arg-type]
    key = cache.key("x", [1])
    live.data[key] = pack(b'{"n":"old"}', time.time() - 1)
    calls = []
    release = asyncio.Event()

    async def compute() -> Any:
        calls.append(1)
        await release.wait()
        return {"n": "new"}

    async def scenario() -> tuple[list[tuple[bytes, bool]], tuple[bytes, bool]]:
        stale = [await cache.get_or_compute("x", [1], compute) for _ in range(3)]
        release.set()
        while cache._refreshes:
            await asyncio.sleep(0)
        return stale, await cache.get_or_compute("x", [1], compute)

    stale, fresh = asyncio.run(scenario())
    assert stale == [(b'{"n":"old"}', True)] * 3  # nobody waits for Trino
    assert len(calls) == 1  # one refresh for three stale reads
    assert fresh == (b'{"n":"new"}', True)
    raw, fresh_until = unpack(live.data[key])
    assert raw == b'{"n":"new"}' and fresh_until > time.time() + 250
    assert live.ttls[key] == 900

    # Another process already claimed the next refresh: this one keeps serving the stale answer.
    live.data[key] = pack(b'{"n":"old"}', time.time() - 1)
    live.data[f"{key}:refresh"] = b"1"
    stale, _ = asyncio.run(scenario())
    assert stale[0] == (b'{"n":"old"}', True) and len(calls) == 1


def test_fresh_answers_are_reused_in_process_within_their_freshness() -> None:
    s = ApiSettings(cache_local_s=60, cache_local_max=2)
    live = DictLive()
    cache = GoldCache(s, live)  # type: ignore[arg-type]
    live.data[cache.key("a", 1)] = pack(b'"a"', time.time() + 300)
    live.data[cache.key("b", 1)] = pack(b'"b"', time.time() + 0.2)  # fresh for 0.2 s only

    async def compute() -> Any:
        raise AssertionError("a cached answer must not be computed")

    async def read(name: str) -> bytes:
        return (await cache.get_or_compute(name, 1, compute))[0]

    async def scenario() -> list[bytes]:
        first = [await read("a"), await read("b")]
        live.down = True  # from here on only the process's copies answer
        second = [await read("a"), await read("b")]
        await asyncio.sleep(0.3)
        try:
            await read("b")  # its local copy expired with its freshness
        except AssertionError:
            second.append(b"recomputed")
        return first + second

    assert asyncio.run(scenario()) == [b'"a"', b'"b"', b'"a"', b'"b"', b"recomputed"]
    cache._remember("c", b"1", time.time() + 60)  # over cache_local_max: expired ones go first
    assert set(cache._local) == {cache.key("a", 1), "c"}


def test_a_failed_refresh_keeps_the_stale_answer() -> None:
    cache = GoldCache(ApiSettings(), DictLive())  # type: ignore[arg-type]
    key = cache.key("x", [1])
    cache.live.data[key] = pack(b"1", time.time() - 1)  # type: ignore[attr-defined]

    async def broken() -> Any:
        raise TrinoConnectionError("refused")

    async def scenario() -> tuple[bytes, bool]:
        out = await cache.get_or_compute("x", [1], broken)
        while cache._refreshes:
            await asyncio.sleep(0)
        return out

    assert asyncio.run(scenario()) == (b"1", True)
    assert unpack(cache.live.data[key])[0] == b"1"  # type: ignore[attr-defined]


# ---- Gold reader ----------------------------------------------------------------------------
def user_error(name: str, message: str = "m") -> TrinoUserError:
    return TrinoUserError({"errorName": name, "errorType": "USER_ERROR", "message": message}, "q1")


def test_trino_errors_map_to_503_reasons() -> None:
    s = ApiSettings()
    mapped = map_trino_error(user_error("TABLE_NOT_FOUND"), s)
    assert mapped is not None and mapped.service == "gold" and "dbt build" in mapped.reason
    mapped = map_trino_error(
        TrinoConnectionError("HTTPConnectionPool(host='10.9.8.7', port=8080): refused"), s
    )
    assert mapped is not None and mapped.service == "trino"
    # Clients learn which dependency is down, not where it lives; the log gets the rest.
    assert "10.9.8.7" not in mapped.reason and s.core.trino_url not in mapped.reason
    assert "10.9.8.7" in (mapped.internal or "") and s.core.trino_url in (mapped.internal or "")
    text = "line 1:15: Table 'iceberg.gold.x' does not exist"
    mapped = map_trino_error(user_error("TABLE_NOT_FOUND", text), s)
    assert mapped is not None and text not in mapped.reason  # Trino's own words stay in the log
    assert map_trino_error(user_error("SYNTAX_ERROR"), s) is None  # a bug: 500, not 503


class ScriptedGold(GoldReader):
    def __init__(self, s: ApiSettings, tables: dict[str, list[str]]) -> None:
        super().__init__(s, GoldCache(s, DictLive()))  # type: ignore[arg-type]
        self.tables = tables
        self.sql: list[str] = []

    def execute(self, query: Q.Query) -> list[dict[str, Any]]:
        sql, _ = query
        self.sql.append(sql)
        if "information_schema.schemata" in sql:
            return [{"schema_name": "gold"}]
        if "information_schema" in sql:
            return [
                {"table_name": t, "column_name": c} for t, cs in self.tables.items() for c in cs
            ]
        if sql.startswith("SELECT 1"):
            return [{"_col0": 1}]
        raise TrinoConnectionError("connection refused")


def test_missing_gold_tables_are_a_503_naming_them() -> None:
    gold = ScriptedGold(ApiSettings(), {"dim_kols": ["kol_id"]})

    async def scenario() -> ServiceUnavailable:
        with pytest.raises(ServiceUnavailable) as info:
            await gold.require(Q.DIM_KOLS, Q.FCT_KOL_DAILY)
        return info.value

    err = asyncio.run(scenario())
    assert err.service == "gold"
    assert "fct_kol_daily" in err.reason and "iceberg.gold" in err.reason


def test_trino_down_opens_the_breaker() -> None:
    gold = ScriptedGold(ApiSettings(), {})

    async def scenario() -> tuple[ServiceUnavailable, ServiceUnavailable]:
        with pytest.raises(ServiceUnavailable) as first:
            await gold.rows(("SELECT x FROM t", []))
        with pytest.raises(ServiceUnavailable) as second:
            await gold.rows(("SELECT x FROM t", []))
        return first.value, second.value

    first, second = asyncio.run(scenario())
    assert first.service == second.service == "trino"
    assert len(gold.sql) == 1  # the second request did not wait on a dead Trino


# ---- rate limits ----------------------------------------------------------------------------
def test_fixed_window_decision() -> None:
    d = decide(count=3, limit=3, now=125.0, window_s=60)
    assert (d.allowed, d.remaining, d.retry_after) == (True, 0, 55)
    assert not decide(count=4, limit=3, now=179.5, window_s=60).allowed
    assert decide(count=4, limit=3, now=179.5, window_s=60).retry_after == 1


class DownLive:
    keys = RedisKeys("kol:")

    async def incr_window(self, key: str, ttl_s: int, by: int = 1) -> int:
        raise ServiceUnavailable("redis", "down")


class CountingLive:
    keys = RedisKeys("kol:")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.calls = 0

    async def incr_window(self, key: str, ttl_s: int, by: int = 1) -> int:
        self.calls += 1
        self.counts[key] = self.counts.get(key, 0) + by
        return self.counts[key]


def test_rate_limit_claims_batches_and_never_admits_beyond_the_limit() -> None:
    s = ApiSettings(rate_limit_requests=10, rate_limit_claim_share=0.3)  # batches of 3
    live = CountingLive()
    workers = [RateLimiter(s, live), RateLimiter(s, live)]  # type: ignore[arg-type]

    async def scenario() -> list[bool]:
        return [(await workers[i % 2].hit("k1")).allowed for i in range(14)]

    allowed = asyncio.run(scenario())
    # Two workers share 10: at most 10 admitted; each worker may strand part of a batch.
    assert 10 - 2 * 3 < sum(allowed) <= 10
    assert allowed[:6] == [True] * 6
    assert live.calls <= 8  # not one Redis call per request
    calls = live.calls
    asyncio.run(scenario())
    assert live.calls == calls  # exhausted for this window: refused locally


def test_rate_limit_counts_in_memory_while_redis_is_down() -> None:
    limiter = RateLimiter(ApiSettings(rate_limit_requests=2), DownLive())  # type: ignore[arg-type]

    async def scenario() -> list[bool]:
        return [(await limiter.hit("k1")).allowed for _ in range(3)]

    assert asyncio.run(scenario()) == [True, True, False]


# ---- keys -----------------------------------------------------------------------------------
class MemoryStore:
    def __init__(self) -> None:
        self.keys: dict[str, ApiKey] = {}
        self.fail = False
        self.loads = 0

    def active(self) -> dict[str, ApiKey]:
        self.loads += 1
        if self.fail:
            raise ConnectionError("postgres is down")
        return dict(self.keys)


def test_new_keys_are_random_and_only_hashes_are_compared() -> None:
    key_id, key = new_key()
    assert key.startswith(f"{KEY_PREFIX}{key_id}_") and len(key) > 50
    assert new_key()[1] != key
    assert hash_key(key) == hash_key(key) != key and len(hash_key(key)) == 64


def test_key_ring_snapshot_refresh_and_outage() -> None:
    store = MemoryStore()
    ring = KeyRing(ApiSettings(), store)  # type: ignore[arg-type]
    _, key = new_key()

    async def scenario() -> None:
        store.fail = True
        with pytest.raises(ServiceUnavailable):  # never loaded: cannot tell keys apart
            await ring.lookup(key)
        store.fail = False
        await ring.refresh()
        assert await ring.lookup(key) is None
        # A key created after the snapshot: found through the early refresh on a miss.
        store.keys[hash_key(key)] = ApiKey("id1", "new")
        ring._miss_refresh_at = 0.0
        assert await ring.lookup(key) == ApiKey("id1", "new")
        # PostgreSQL down later: the last snapshot keeps serving.
        store.fail = True
        await ring.refresh()
        assert await ring.lookup(key) == ApiKey("id1", "new")
        assert "last refresh failed" in ring.status[1]
        assert await ring.lookup("not-a-kol-key") is None

    asyncio.run(scenario())


# ---- models ---------------------------------------------------------------------------------
class Versioned:
    def __init__(self, version: str) -> None:
        self.name, self.version = "kol_trust", version

    def predict(self, rows: list[KolFeatures]) -> list[ModelOutput]:
        return [ModelOutput(1.0) for _ in rows]


def test_registry_follows_the_alias_and_keeps_serving_on_errors() -> None:
    alias = {"kol_trust": "1"}
    loads: list[str] = []
    broken: set[str] = set()

    def resolve(name: str, a: str) -> str:
        if name not in alias:
            raise LookupError("not registered")
        return alias[name]

    def load(name: str, version: str) -> Any:
        loads.append(version)
        if version in broken:
            raise OSError("artifact missing")
        return Versioned(version)

    reg = ModelRegistry(ApiSettings(), resolve, load)
    reg.refresh()
    assert reg.get("trust").version == "1"
    with pytest.raises(ServiceUnavailable) as info:
        reg.get("success")
    assert "kol_success@champion" in info.value.reason
    reg.refresh()
    assert loads == ["1"]  # unchanged alias: no reload
    alias["kol_trust"] = "2"
    reg.refresh()
    assert reg.get("trust").version == "2"
    alias["kol_trust"] = "3"
    broken.add("3")
    reg.refresh()
    assert reg.get("trust").version == "2"
    detail = reg.slots["trust"].detail
    # The error's kind, not its text (which may name hosts or paths): that goes to the log.
    assert "serving v2" in detail and "OSError" in detail and "artifact missing" not in detail
    status = {m["kind"]: m for m in reg.statuses()}
    assert status["trust"]["available"] and not status["success"]["available"]


def test_score_helpers() -> None:
    assert to_scores(np.array([0.2, 1.7]), 100).tolist() == [20.0, 100.0]
    assert to_scores(np.array([[0.9, 0.1], [0.3, 0.7]]), 100).tolist() == [10.0, 70.0]
    bands = [("high", 70.0), ("medium", 40.0), ("low", 0.0)]
    assert [band_label(x, bands) for x in (95, 70, 40, 3, None)] == [
        "high",
        "high",
        "medium",
        "low",
        None,
    ]
    reasons = top_reasons(["a", "b", "c"], np.array([1.0, np.nan, 3.0]), np.array([0.1, -2, 0]), 2)
    assert [(r["factor"], r["value"]) for r in reasons] == [("b", None), ("a", 1.0)]
    assert "lowers" in reasons[0]["text"]
    frame = features_frame([KolFeatures(followers=5, has_shop=True)])
    assert list(frame.columns) == list(FEATURES)
    assert frame.loc[0, "has_shop"] == 1.0 and np.isnan(frame.loc[0, "posts"])
    assert parse_reasons("oops")[0]["factor"] == "model"
    assert parse_reasons('[{"feature": "x", "effect": "0.5"}, 3]') == [
        {"factor": "x", "value": None, "effect": 0.5, "text": "x"}
    ]


def test_mlflow_lightgbm_model_scores_with_reasons(tmp_path: Any) -> None:
    """A real MLflow LightGBM model from a local path: signature, probabilities, SHAP reasons."""
    import lightgbm
    import mlflow
    from mlflow.models import infer_signature

    from api.models import MlflowModel

    rng = np.random.default_rng(0)
    x = pd.DataFrame(
        {
            "followers": rng.integers(100, 10**6, 400).astype("float64"),
            "near_duplicate_share_7d": rng.random(400),
            "engagement_rate": rng.random(400) * 0.2,
        }
    )
    y = (x["near_duplicate_share_7d"] < 0.5).astype(int)
    clf = lightgbm.LGBMClassifier(n_estimators=20, verbose=-1).fit(x, y)
    path = str(tmp_path / "model")
    mlflow.lightgbm.save_model(
        clf,
        path,
        signature=infer_signature(x, clf.predict_proba(x)[:, 1]),
        pyfunc_predict_fn="predict_proba",
    )
    pyfunc = mlflow.pyfunc.load_model(path)
    native = mlflow.lightgbm.load_model(path)
    model = MlflowModel("kol_trust", "1", pyfunc, native, ApiSettings(reasons_top_n=2))
    rows = [
        KolFeatures(followers=5000, near_duplicate_share_7d=0.9, engagement_rate=0.05),
        KolFeatures(followers=5000, near_duplicate_share_7d=0.05, engagement_rate=0.05),
    ]
    bot, real = model.predict(rows)
    # Probabilities (not the pyfunc flavor's class labels), from the booster.
    assert 0 < bot.score < 50 < real.score < 100
    expected = clf.predict_proba(features_frame(rows)[model.inputs])[:, 1] * 100
    assert [bot.score, real.score] == pytest.approx(expected.tolist(), abs=0.01)
    assert model.inputs == list(x.columns) and model.inline
    assert bot.reasons[0]["factor"] == "near_duplicate_share_7d"
    assert bot.reasons[0]["effect"] < 0 < real.reasons[0]["effect"]


@pytest.mark.filterwarnings("ignore:Hint. Inferred schema contains integer")
def test_non_lightgbm_models_go_through_pyfunc() -> None:
    from mlflow.models import infer_signature

    from api.models import MlflowModel

    class Meta:
        def get_input_schema(self) -> Any:
            x = pd.DataFrame({"followers": [1], "has_shop": [True]})
            return infer_signature(x).inputs

    class PyFunc:
        metadata = Meta()
        seen: ClassVar[list[pd.DataFrame]] = []

        def predict(self, frame: pd.DataFrame) -> np.ndarray:
            self.seen.append(frame)
            return np.array([[0.3, 0.7]] * len(frame))

    model = MlflowModel("m", "2", PyFunc(), None, ApiSettings())
    (out,) = model.predict([KolFeatures(followers=10, has_shop=True)])
    assert (out.score, out.reasons, model.inline) == (70.0, [], False)
    frame = PyFunc.seen[-1]
    assert list(frame.columns) == ["followers", "has_shop"]
    assert (frame["followers"].dtype, frame["has_shop"].dtype) == ("int64", "bool")
    with pytest.raises(Exception, match="required by model m v2"):
        model.predict([KolFeatures(followers=10)])


# ---- logs, settings -------------------------------------------------------------------------
def test_access_log_lines_are_json(api: Any) -> None:
    import orjson

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("kol.api.access")
    logger.addHandler(handler)
    (observability,) = [m for m in api.app.user_middleware if "log_requests" in m.kwargs]
    observability.kwargs["log_requests"] = True
    api.app.middleware_stack = api.app.build_middleware_stack()
    try:
        api.client.get("/api/v1/trending", headers={"X-Request-ID": "req-1"})
    finally:
        logger.removeHandler(handler)
    line = orjson.loads(stream.getvalue().splitlines()[-1])
    assert line == {
        **line,
        "msg": "request",
        "request_id": "req-1",
        "route": "/api/v1/trending",
        "status": 200,
        "key_id": "testkey0001",
        "method": "GET",
    }
    assert line["duration_ms"] > 0


def test_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOL_GOLD_SCHEMA", "gold_test")
    monkeypatch.setenv("KOL_API_PORT", "8111")
    monkeypatch.setenv("KOL_STREAM_REDIS_PREFIX", "t1:")
    s = ApiSettings()
    assert (s.gold_schema, s.port, s.redis_prefix) == ("gold_test", 8111, "t1:")
    assert s.gold_table_prefix == "iceberg.gold_test"
    monkeypatch.setenv("KOL_GOLD_SCHEMA", "gold; drop")
    with pytest.raises(ValueError, match="identifier"):
        ApiSettings().gold_schema  # noqa: B018


def test_live_answers_are_reused_briefly() -> None:
    from api.live import LiveStore

    async def scenario() -> list[int]:
        live = LiveStore(ApiSettings(live_cache_ms=50))
        calls: list[int] = []

        async def compute() -> int:
            calls.append(1)
            return len(calls)

        seen = [await live.recent("k", compute), await live.recent("k", compute)]
        await asyncio.sleep(0.06)
        seen.append(await live.recent("k", compute))
        seen.append(await live.recent("other", compute))
        await live.close()
        return seen

    assert asyncio.run(scenario()) == [1, 1, 2, 3]


# ---- peers, model metrics -------------------------------------------------------------------
def test_peers_sql_binds_every_value() -> None:
    sql, params = Q.kol_peers(G, "tiktok:a'b", "tiktok", 2.0, 30)
    assert placeholders(sql) == len(params)
    assert "a'b" not in sql and f"{G}.{Q.FCT_KOL_DAILY}" in sql
    assert params == ["tiktok", 2.0, 2.0, "tiktok:a'b", 30, "tiktok"]


def test_model_metrics_split_into_holdout_and_naive_baselines() -> None:
    from ml import success

    rng = np.random.default_rng(0)
    test = pd.DataFrame(
        {
            "target_kind": ["shop", "engagement"] * 5,
            "target": rng.uniform(1, 100, 10),
            "baseline_last": rng.uniform(1, 100, 10),
            "baseline_mean": rng.uniform(1, 100, 10),
        }
    )
    logged = success.success_metrics(test, rng.uniform(1, 100, 10))
    logged |= {"holdout_mae_log": 0.4, "cv_mae_log": 0.3, "champion_mae_log": 0.5}
    logged |= {"holdout_roc_auc": 0.9, "holdout_latest_brier": 0.1, "cv_roc_auc": 0.8}
    logged |= {"holdout_ece": float("nan"), "naive_mae": 3.0}
    metrics, baselines = split_metrics(logged)
    assert "all_model_mae" in metrics and "shop_model_smape" in metrics
    assert {"holdout_mae_log", "holdout_roc_auc", "holdout_latest_brier"} <= set(metrics)
    assert all(k.startswith("holdout_") or "_model_" in k for k in metrics)
    # Every naive forecast ml.success scores the model against is a baseline.
    assert {"all_last_week_mae", "engagement_creator_mean_smape", "naive_mae"} <= set(baselines)
    assert not any("_model_" in k for k in baselines)
    for left_out in ("cv_mae_log", "champion_mae_log", "cv_roc_auc", "all_rows", "holdout_ece"):
        assert left_out not in metrics and left_out not in baselines


def test_models_load_only_from_the_registrys_artifact_store() -> None:
    uri = "mlflow-artifacts:/10/models/m-1/artifacts"
    assert check_artifact_uri("kol_trust", "3", uri) == uri
    for elsewhere in ("file:///tmp/evil", "/tmp/evil", "s3://other/m", "https://x.example/m"):
        with pytest.raises(ValueError, match="outside the registry"):
            check_artifact_uri("kol_trust", "3", elsewhere)
