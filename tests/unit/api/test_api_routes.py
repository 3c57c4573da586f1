"""Every route through TestClient, with the backing services replaced by fakes (conftest)."""

from __future__ import annotations

import math
import re
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from api import deps
from api.models import ModelOutput, ModelRegistry, RunInfo, split_metrics
from streaming.score import history_buckets, trend_scores
from tests.unit.api.conftest import FakeModel

KOL_PATH = "/api/v1/kols/tiktok/minh.anh"


def trending_hash(platform: str, username: str, score: float, label: str) -> dict[str, str]:
    return {
        "platform": platform,
        "username": username,
        "score": str(score),
        "label": label,
        "velocity": "1.2",
        "momentum": "0.3",
        "damping": "0.9",
        "events": "12",
        "engagement": "5000",
        "baseline": "900",
        "follower_delta": "250",
        "window_start": "2026-02-05T10:00:00.000+00:00",
        "window_end": "2026-02-05T10:05:00.000+00:00",
        "updated_at": "2026-02-05T10:05:01.000+00:00",
    }


# ---- health, auth, limits -------------------------------------------------------------------
def test_health_routes_need_no_key(api: Any) -> None:
    r = api.client.get("/healthz", headers={"X-API-Key": ""})
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert r.headers["X-Request-ID"]


def test_readyz_reports_each_service_and_models(api: Any) -> None:
    r = api.client.get("/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "degraded"  # no models loaded
    assert {k for k, c in body["checks"].items() if c["ok"]} == {
        "redis",
        "trino",
        "gold",
        "key_store",
    }
    kinds = {m["kind"]: m for m in body["models"]}
    assert not kinds["trust"]["available"]
    assert "kol_trust@champion" in kinds["trust"]["detail"]

    api.load_model("trust")
    api.load_model("success")
    assert api.client.get("/readyz").json()["status"] == "degraded"  # no account component
    api.load_model("account", FakeModel("kol_trust_account", "1"))
    assert api.client.get("/readyz").json()["status"] == "ok"

    api.live.down = True
    r = api.client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["status"] == "unavailable"
    assert "stopped" in r.json()["checks"]["redis"]["detail"]


def test_api_routes_need_a_valid_key(api: Any) -> None:
    r = api.client.get("/api/v1/trending", headers={"X-API-Key": ""})
    assert r.status_code == 401
    assert "X-API-Key" in r.json()["detail"]
    r = api.client.get("/api/v1/trending", headers={"X-API-Key": "kol_nope"})
    assert r.status_code == 401
    assert r.json()["detail"] == "unknown or revoked API key"


def test_key_store_down_is_a_503_with_reason(api: Any) -> None:
    api.keyring.down = True
    r = api.client.get("/api/v1/trending")
    assert r.status_code == 503
    assert r.json()["service"] == "key_store"


def test_rate_limit_answers_429_with_retry_after(api: Any) -> None:
    api.limiter.limit = 2
    first = api.client.get("/api/v1/trending")
    assert first.status_code == 200
    assert first.headers["X-RateLimit-Limit"] == "2"
    assert first.headers["X-RateLimit-Remaining"] == "1"
    assert api.client.get("/api/v1/trending").status_code == 200
    r = api.client.get("/api/v1/trending")
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert "rate limit of 2 requests per 60s" in r.json()["detail"]


# ---- creators -------------------------------------------------------------------------------
def kol_row(kol_id: str, followers: int) -> dict[str, Any]:
    platform, _, username = kol_id.partition(":")
    return {
        "kol_id": kol_id,
        "platform": platform,
        "username": username,
        "followers": followers,
        "total": 3,
    }


@pytest.fixture
def three_kols(api: Any) -> Any:
    api.gold.kol_rows = [
        kol_row("tiktok:a", 300),
        kol_row("tiktok:b", 200),
        kol_row("tiktok:c", 100),
    ]
    api.live.trending_hashes = {
        "tiktok:b": trending_hash("tiktok", "b", 90.0, "Viral"),
        "tiktok:c": trending_hash("tiktok", "c", 70.0, "Hot"),
    }
    return api


def test_list_kols_pages_with_total_and_live_scores(three_kols: Any) -> None:
    r = three_kols.client.get(
        "/api/v1/kols", params={"limit": 2, "platform": "tiktok", "min_followers": 10}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 3
    assert [i["kol_id"] for i in body["items"]] == ["tiktok:a", "tiktok:b"]
    assert [i["trending_score"] for i in body["items"]] == [None, 90.0]
    f, sort, limit, offset = three_kols.gold.calls[-1][1]
    assert (f.platform, f.min_followers, sort, limit, offset) == ("tiktok", 10, "followers", 2, 0)


def test_list_kols_sorted_by_trending_uses_redis(three_kols: Any) -> None:
    r = three_kols.client.get("/api/v1/kols", params={"sort": "trending", "limit": 2})
    assert [i["kol_id"] for i in r.json()["items"]] == ["tiktok:b", "tiktok:c"]
    r = three_kols.client.get("/api/v1/kols", params={"sort": "trending", "offset": 2})
    assert [i["kol_id"] for i in r.json()["items"]] == ["tiktok:a"]


def test_list_kols_without_redis_still_answers_unless_sorted_by_trending(three_kols: Any) -> None:
    three_kols.live.down = True
    r = three_kols.client.get("/api/v1/kols")
    assert r.status_code == 200
    assert all(i["trending_score"] is None for i in r.json()["items"])
    r = three_kols.client.get("/api/v1/kols", params={"sort": "trending"})
    assert r.status_code == 503
    assert r.json()["service"] == "redis"


@pytest.mark.parametrize(
    ("params", "field", "text"),
    [
        ({"limit": 51}, "limit", "at most 50 items per page"),
        ({"limit": 0}, "limit", "greater than or equal to 1"),
        ({"sort": "likes"}, "sort", "'followers', 'engagement', 'trust' or 'trending'"),
        ({"platform": "myspace"}, "platform", "'tiktok', 'youtube' or 'instagram'"),
        ({"min_followers": 10, "max_followers": 5}, "min_followers", "greater than max"),
        ({"min_followers": "many"}, "min_followers", "valid integer"),
    ],
)
def test_list_kols_validation_names_the_field(
    api: Any, params: dict[str, Any], field: str, text: str
) -> None:
    r = api.client.get("/api/v1/kols", params=params)
    assert r.status_code == 422
    body = r.json()
    assert body["errors"][0]["field"] == field
    assert text in body["errors"][0]["message"]
    assert field in body["detail"]


def test_profile_has_metrics_ranks_and_scores(api: Any) -> None:
    api.live.trending_hashes["tiktok:minh.anh"] = trending_hash("tiktok", "minh.anh", 72.5, "Hot")
    r = api.client.get(KOL_PATH)
    assert r.status_code == 200
    body = r.json()
    assert body["nickname"] == "Minh Anh"
    assert body["metrics"] == {**body["metrics"], "as_of": "2026-02-05", "followers": 12000}
    assert body["ranks"]["followers_rank"] == 3
    assert body["scores"]["trending"]["score"] == 72.5
    assert body["scores"]["trending"]["label"] == "Hot"
    assert body["scores"]["trust"]["score"] is None
    assert "not built yet" in body["scores"]["trust"]["unavailable_reason"]


def test_unknown_creator_is_404_on_every_creator_route(api: Any) -> None:
    for suffix in ("", "/videos", "/products", "/timeseries"):
        r = api.client.get(f"/api/v1/kols/tiktok/nobody{suffix}")
        assert r.status_code == 404, suffix
        assert r.json()["detail"] == "unknown creator tiktok:nobody"
    assert api.client.get("/api/v1/scores/tiktok/nobody").status_code == 404


def test_profile_without_redis_keeps_gold_and_says_why(api: Any) -> None:
    api.live.down = True
    r = api.client.get(KOL_PATH)
    assert r.status_code == 200
    trending = r.json()["scores"]["trending"]
    assert trending["score"] is None
    assert "stopped" in trending["unavailable_reason"]


def test_gold_routes_answer_503_with_reason_when_trino_is_down(api: Any) -> None:
    api.gold.down = "trino"
    for path in (KOL_PATH, "/api/v1/kols", "/api/v1/stats/platform", "/api/v1/search/kols?q=ab"):
        r = api.client.get(path)
        assert r.status_code == 503, path
        assert r.json()["service"] == "trino"
        assert r.headers["Retry-After"]
    # Live routes do not need Trino.
    assert api.client.get("/api/v1/trending").status_code == 200
    assert api.client.get("/api/v1/alerts").status_code == 200


def test_videos_products_timeseries(api: Any) -> None:
    r = api.client.get(f"{KOL_PATH}/videos", params={"limit": 5})
    assert r.status_code == 200
    assert r.json()["items"][0]["video_id"] == "v1"
    assert r.json()["limit"] == 5
    assert r.headers["X-Cache"] == "hit"
    r = api.client.get(f"{KOL_PATH}/products")
    assert r.json()["items"][0]["gmv_usd"] == 12.5
    assert r.headers["X-Cache"] == "miss"
    r = api.client.get(
        f"{KOL_PATH}/timeseries", params={"start": "2026-01-01", "end": "2026-02-05"}
    )
    assert r.status_code == 200
    assert r.json()["points"][0]["followers"] == 12000
    assert api.gold.calls[-1][1][0].isoformat() == "2026-01-01"
    r = api.client.get(f"{KOL_PATH}/timeseries", params={"start": "yesterday"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "start"


# ---- scores, trending -----------------------------------------------------------------------
def test_scores_prefer_redis_then_gold_then_stream(api: Any) -> None:
    kid = "tiktok:minh.anh"
    h = trending_hash("tiktok", "minh.anh", 85.0, "Viral")
    h["trust_score"] = "64.5"
    api.live.trending_hashes[kid] = h
    body = api.client.get("/api/v1/scores/tiktok/minh.anh").json()
    assert body["trust"]["source"] == "stream"
    assert body["trust"]["score"] == 64.5
    assert (body["trust"]["label"], body["trust"]["basis"]) == ("Genuine account", "account")
    assert body["trending"]["label"] == "Viral"
    assert {r["factor"] for r in body["trending"]["reasons"]} >= {"velocity", "momentum"}
    assert body["success"]["score"] is None

    api.gold.scores_row = {
        "trust_score": 80.0,
        "trust_label": "high",
        "trust_model_version": "3",
        "trust_reasons": '[{"factor": "near_duplicate_share_7d", "effect": 0.4, "text": "ok"}]',
        "success_score": 55.0,
        "success_model_version": "2",
        "scored_at": "2026-02-05T02:00:00Z",
    }
    body = api.client.get("/api/v1/scores/tiktok/minh.anh").json()
    assert (body["trust"]["source"], body["trust"]["score"]) == ("gold", 80.0)
    assert body["trust"]["reasons"][0]["factor"] == "near_duplicate_share_7d"
    assert (body["success"]["label"], body["success"]["model_version"]) == ("Average", "2")

    api.live.score_hashes[kid] = {"trust_score": "91", "trust_model_version": "4"}
    body = api.client.get("/api/v1/scores/tiktok/minh.anh").json()
    assert (body["trust"]["source"], body["trust"]["score"]) == ("redis", 91.0)
    assert body["success"]["source"] == "gold"
    assert (body["trust"]["basis"], body["trust"]["components"]) == (None, {})

    api.live.score_hashes[kid].update(
        trust_basis="audience+account",
        trust_components='{"audience": {"score": 91.0, "label": "Highly Trusted", "model_version":'
        ' "4", "reasons": []}, "account": {"score": 97.5, "label": "Genuine account",'
        ' "model_version": "1", "reasons": [{"factor": "bio_length", "value": 80, "effect": 0.2,'
        ' "text": "bio_length = 80 raises the score"}]}, "bogus": {"score": "x"}}',
    )
    trust = api.client.get("/api/v1/scores/tiktok/minh.anh").json()["trust"]
    assert trust["basis"] == "audience+account" and set(trust["components"]) == {
        "audience",
        "account",
    }
    account = trust["components"]["account"]
    assert (account["score"], account["label"], account["model_version"]) == (
        97.5,
        "Genuine account",
        "1",
    )
    assert account["reasons"][0]["factor"] == "bio_length"


def test_trending_ranks_from_redis(api: Any) -> None:
    api.live.trending_hashes = {
        "tiktok:a": trending_hash("tiktok", "a", 91.234, "Viral"),
        "youtube:b": trending_hash("youtube", "b", 65.0, "Hot"),
    }
    body = api.client.get("/api/v1/trending").json()
    assert body["total_ranked"] == 2
    first = body["items"][0]
    assert (first["rank"], first["kol_id"], first["score"], first["label"]) == (
        1,
        "tiktok:a",
        91.23,
        "Viral",
    )
    assert first["velocity"] == 1.2
    assert first["window_end"].startswith("2026-02-05T10:05")
    body = api.client.get("/api/v1/trending", params={"platform": "youtube"}).json()
    assert [i["kol_id"] for i in body["items"]] == ["youtube:b"]
    body = api.client.get("/api/v1/trending", params={"label": "Hot"}).json()
    assert [i["kol_id"] for i in body["items"]] == ["youtube:b"]


def test_trending_validation_and_redis_down(api: Any) -> None:
    r = api.client.get("/api/v1/trending", params={"label": "Warm"})
    assert r.status_code == 422
    assert "'Viral', 'Hot', 'Stable', 'Cooling' or 'Cold'" in r.json()["detail"]
    assert api.client.get("/api/v1/trending", params={"limit": 101}).status_code == 422
    api.live.down = True
    r = api.client.get("/api/v1/trending")
    assert r.status_code == 503
    assert r.json() == {"detail": "redis unavailable: redis is stopped (test)", "service": "redis"}


# ---- predictions ----------------------------------------------------------------------------
FEATURES = {"followers": 99_999, "engagement_rate": 0.05, "has_shop": True}


class AccountModel:
    """An account component that keeps the rows it was given; a fixed score."""

    def __init__(self, score: float = 75.0) -> None:
        self.name, self.version, self.score, self.rows = "kol_trust_account", "1", score, []

    def predict(self, rows: list[dict[str, Any]]) -> list[ModelOutput]:
        self.rows += rows
        label = "Genuine account" if self.score >= 60 else "Likely fake account"
        why = {"factor": "bio_length", "value": 2.0, "effect": -0.5, "text": "short bio"}
        return [ModelOutput(self.score, [why], label) for _ in rows]


def test_predict_without_a_champion_is_503_with_reason(api: Any) -> None:
    r = api.client.post("/api/v1/predict/trust", json={"features": FEATURES})
    assert r.status_code == 503
    assert r.json()["service"] == "models"
    assert "kol_trust@champion" in r.json()["detail"]


def test_profile_only_trust_rests_on_the_account_component(api: Any) -> None:
    profile_only = {"followers": 99_999, "following": 12, "posts": 40, "is_verified": False}
    api.load_model("trust")
    r = api.client.post("/api/v1/predict/trust", json={"features": profile_only})
    assert r.status_code == 503  # the audience model is loaded but is not asked
    assert "needs behaviour features" in r.json()["detail"]
    assert "account component is unavailable" in r.json()["detail"]
    account = api.load_model("account", AccountModel())
    body = {"features": profile_only, "profile": {"username": "mia99", "bio": "hi"}}
    r = api.client.post("/api/v1/predict/trust", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["basis"], list(out["components"])) == ("account", ["account"])
    assert out["label"] == "Genuine account" and out["model_name"] == "kol_trust_account"
    assert account.rows[-1]["bio_length"] == 2.0 and account.rows[-1]["following"] == 12
    assert account.rows[-1]["username_digit_share"] == 0.4


def test_trust_with_behaviour_is_the_weaker_component(api: Any) -> None:
    api.load_model("trust")  # followers 99,999 -> 50.0
    api.load_model("account", AccountModel(score=30.0))
    r = api.client.post("/api/v1/predict/trust", json={"features": FEATURES})
    out = r.json()
    assert out["basis"] == "audience+account"
    assert out["score"] == 30.0 and out["label"] == "Low Trust"
    assert out["components"]["audience"]["score"] == 50.0
    assert out["reasons"] == out["components"]["account"]["reasons"]
    api.load_model("account", AccountModel(score=90.0))
    out = api.client.post("/api/v1/predict/trust", json={"features": FEATURES}).json()
    assert (out["score"], out["model_name"], out["label"]) == (50.0, "kol_trust", "medium")
    r = api.client.post(
        "/api/v1/predict/batch",
        json={
            "items": [{"features": FEATURES}, {"features": {"followers": 5}}],
            "models": ["trust"],
        },
    )
    items = r.json()["items"]
    assert [i["trust"]["basis"] for i in items] == ["audience+account", "account"]


def test_predict_trust_and_success_with_a_model(api: Any) -> None:
    api.load_model("trust")
    api.load_model("success")
    r = api.client.post("/api/v1/predict/trust", json={"features": FEATURES})
    assert r.status_code == 200
    body = r.json()
    assert body == {
        **body,
        "model": "trust",
        "score": 50.0,
        "label": "medium",
        "model_name": "kol_trust",
        "model_version": "7",
    }
    assert body["reasons"][0]["factor"] == "followers"
    r = api.client.post("/api/v1/predict/success", json={"features": {"followers": 10**10}})
    assert (r.json()["model"], r.json()["score"], r.json()["label"]) == ("success", 100.0, "high")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"features": {"followers": -1}}, "features.followers"),
        ({"features": {"followers": 1, "folowers": 2}}, "features.folowers"),
        ({"features": {"followers": 1, "engagement_rate": 1.5}}, "features.engagement_rate"),
        ({"features": {}}, "features.followers"),
        ({}, "features"),
    ],
)
def test_predict_validation_names_the_field(api: Any, body: dict[str, Any], field: str) -> None:
    api.load_model("trust")
    r = api.client.post("/api/v1/predict/trust", json=body)
    assert r.status_code == 422
    assert field in [e["field"] for e in r.json()["errors"]]


def test_predict_rejects_nan(api: Any) -> None:
    api.load_model("trust")
    r = api.client.post(
        "/api/v1/predict/trust",
        content=b'{"features": {"followers": 1, "engagement_rate": NaN}}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422


def test_predict_batch(api: Any) -> None:
    trust, success = api.load_model("trust"), api.load_model("success")
    items = [
        {"id": "a", "features": {"followers": 9, "engagement_rate": 0.1}},
        {"features": {"followers": 99, "engagement_rate": 0.1}},
    ]
    r = api.client.post("/api/v1/predict/batch", json={"items": items})
    assert r.status_code == 200
    out = r.json()["items"]
    assert [o["id"] for o in out] == ["a", None]
    assert [o["trust"]["score"] for o in out] == [10.0, 20.0]
    assert out[1]["success"]["model"] == "success"
    assert trust.calls == success.calls == 1  # one model call per batch, not per item
    r = api.client.post("/api/v1/predict/batch", json={"items": items, "models": ["success"]})
    assert r.json()["items"][0]["trust"] is None
    r = api.client.post("/api/v1/predict/batch", json={"items": items * 2})
    assert r.status_code == 422
    assert r.json()["detail"] == "items: at most 3 items per request"
    assert api.client.post("/api/v1/predict/batch", json={"items": []}).status_code == 422


# ---- search, stats, alerts ------------------------------------------------------------------
def test_search(api: Any) -> None:
    r = api.client.get("/api/v1/search/kols", params={"q": "  minh   anh "})
    assert r.status_code == 200
    assert r.json()["items"][0]["kol_id"] == "tiktok:minh.anh"
    assert api.gold.calls[-1] == ("search_kols", "minh anh")
    r = api.client.get("/api/v1/search/kols", params={"q": " a "})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "q"
    r = api.client.get("/api/v1/search/products", params={"q": "anker"})
    assert r.json()["items"][0]["product_id"] == "p1"


def test_stats(api: Any) -> None:
    r = api.client.get("/api/v1/stats/platform")
    assert r.json()["items"][0]["platform"] == "tiktok"
    body = api.client.get("/api/v1/stats/summary").json()
    assert body["creators"] == 100
    assert body["live"]["recent_alerts"] == 0
    api.live.down = True
    body = api.client.get("/api/v1/stats/summary").json()
    assert body["live"] is None
    assert "stopped" in body["live_unavailable_reason"]


def test_alerts(api: Any) -> None:
    api.live.alerts_list = [
        {
            "alert_id": "1",
            "type": "comment_burst",
            "kol_id": "tiktok:a",
            "platform": "tiktok",
            "username": "a",
            "value": 12,
            "details": {"comment_volume": 40},
        },
        {
            "alert_id": "2",
            "type": "follower_jump",
            "kol_id": "youtube:b",
            "platform": "youtube",
            "username": "b",
        },
    ]
    body = api.client.get("/api/v1/alerts").json()
    assert [a["alert_id"] for a in body["items"]] == ["1", "2"]
    assert body["items"][0]["details"] == {"comment_volume": 40}
    body = api.client.get("/api/v1/alerts", params={"type": "follower_jump"}).json()
    assert [a["alert_id"] for a in body["items"]] == ["2"]
    r = api.client.get("/api/v1/alerts", params={"username": "a"})
    assert r.status_code == 422
    assert "needs platform" in r.json()["detail"]
    api.live.down = True
    assert api.client.get("/api/v1/alerts").status_code == 503


# ---- schema, metrics ------------------------------------------------------------------------
def test_openapi_documents_every_route_with_a_response_model(api: Any) -> None:
    assert api.client.get("/docs").status_code == 200
    schema = api.client.get("/openapi.json").json()
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            ok = op["responses"]["200"]["content"]["application/json"]["schema"]
            assert ok, (method, path)
            if path.startswith("/api/v1"):
                assert {"401", "422", "429", "503"} <= set(op["responses"]), path
                assert op["security"] == [{"APIKeyHeader": []}], path


def test_metrics_count_requests_by_route_template(api: Any) -> None:
    api.client.get(KOL_PATH)
    text = api.client.get("/metrics").text
    assert 'route="/api/v1/kols/{platform}/{username}"' in text
    assert "kol_api_request_duration_seconds_bucket" in text


# ---- trending score of window totals --------------------------------------------------------
TREND = "/api/v1/predict/trending"


@pytest.mark.parametrize("size", [10.0, 5_000.0, 10**9])
def test_trending_of_a_flat_creator_is_50_whatever_its_size(api: Any, size: float) -> None:
    r = api.client.post(TREND, json={"current": size, "baseline": [size] * 6, "events": 40})
    assert r.status_code == 200
    body = r.json()
    assert (body["score"], body["label"]) == (50.0, "Stable")
    assert (body["velocity"], body["momentum"], body["coverage"]) == (0.0, 0.0, 1.0)
    assert body["damping"] == round(40 / 45, 4)


@pytest.mark.parametrize(
    ("ratio", "score", "label"), [(8.0, 80.0, "Viral"), (2.0, 61.0, "Hot"), (0.5, 39.0, "Cooling")]
)
def test_trending_of_a_spike_matches_the_readme(
    api: Any, ratio: float, score: float, label: str
) -> None:
    # Much evidence (events, full baseline, large volumes beside the prior): the README's
    # "8x the baseline is about 80, 2x about 61, 0.5x about 39".
    base = 1_000_000.0
    body = {"current": base * ratio, "baseline": [base] * 6, "events": 100_000}
    r = api.client.post(TREND, json=body)
    assert r.status_code == 200
    got = r.json()
    assert got["score"] == pytest.approx(score, abs=0.5)
    assert got["label"] == label
    assert got["velocity"] == pytest.approx(math.log(ratio), abs=1e-3)
    assert (got["engagement"], got["baseline"], got["events"]) == (base * ratio, base, 100_000)


def windows_of(eng: list[float], events: list[float], seen: int, p: Any) -> dict[str, Any]:
    """The request a client holding the stream's per-bucket history would send: window sums
    over buckets (latest last), the windows the stream could observe."""
    n, h = p.window_buckets, len(eng)

    def window(back: int) -> float:
        return float(sum(eng[h - back - n : h - back]))

    baseline = [window(k * n) for k in range(1, p.baseline_windows + 1) if seen >= (k + 1) * n - 1]
    slides = min(max(seen - n + 2, 0), p.momentum_windows)
    body: dict[str, Any] = {
        "current": window(0),
        "baseline": baseline or [window(0)],
        "recent": [window(j) for j in range(slides - 1, 0, -1)],
        "events": int(sum(events[h - n :])),
    }
    if not baseline:  # the stream scores a creator without baseline against itself, c = 0
        body["coverage"] = 0.0
    return body


@pytest.mark.parametrize("seen", [3, 9, 16, 27, 40, 10_000])
def test_trending_equals_the_stream_score_of_the_same_windows(api: Any, seen: int) -> None:
    p = api.settings.stream
    rng = np.random.default_rng(seen)
    h = history_buckets(p)
    eng = rng.integers(0, 5_000, h).astype(float)
    eng[-3:] *= 6  # a breakout in the last buckets
    events = rng.integers(0, 4, h).astype(float)
    (expected,) = trend_scores(eng[None, :], events[None, :], np.array([seen]), p)

    body = windows_of(eng.tolist(), events.tolist(), seen, p)
    r = api.client.post(TREND, json=body)
    assert r.status_code == 200, r.text
    assert r.json() == asdict(expected)


@pytest.mark.parametrize(
    ("body", "field", "text"),
    [
        ({"current": -1, "baseline": [1], "events": 1}, "current", "greater than or equal to 0"),
        ({"current": 1, "baseline": [], "events": 1}, "baseline", "at least 1 item"),
        ({"current": 1, "baseline": [1, -2], "events": 1}, "baseline.1", "greater than or equal"),
        ({"current": 1, "baseline": [1] * 7, "events": 1}, "baseline", "at most 6 windows"),
        ({"current": 1, "baseline": [1], "recent": [1] * 5, "events": 1}, "recent", "at most 4"),
        ({"current": 1, "baseline": [1], "events": -3}, "events", "greater than or equal to 0"),
        ({"current": 1, "baseline": [1], "events": 1, "coverage": 1.5}, "coverage", "less than"),
        ({"current": 1, "baseline": [1], "events": 1, "velocity": 2}, "velocity", "not permitted"),
        ({"baseline": [1], "events": 1}, "current", "required"),
    ],
)
def test_trending_validation_names_the_field(
    api: Any, body: dict[str, Any], field: str, text: str
) -> None:
    r = api.client.post(TREND, json=body)
    assert r.status_code == 422
    errors = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert text in errors[field], errors
    assert field in r.json()["detail"]


def test_trending_prediction_needs_a_key_and_finite_numbers(api: Any) -> None:
    body = {"current": 1, "baseline": [1], "events": 1}
    assert api.client.post(TREND, json=body, headers={"X-API-Key": ""}).status_code == 401
    r = api.client.post(
        TREND,
        content=b'{"current": NaN, "baseline": [1], "events": 1}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422


# ---- models ---------------------------------------------------------------------------------
def test_models_without_champions_are_listed_as_unavailable(api: Any) -> None:
    r = api.client.get("/api/v1/models")
    assert r.status_code == 200
    items = {m["kind"]: m for m in r.json()["items"]}
    assert set(items) == {"trust", "success", "account"}
    assert items["account"]["name"] == "kol_trust_account" and not items["account"]["available"]
    trust = items["trust"]
    assert (trust["name"], trust["available"], trust["version"]) == ("kol_trust", False, None)
    assert "no model kol_trust@champion" in trust["reason"]
    assert trust["metrics"] == trust["baselines"] == {}


def test_models_show_the_champions_run_metrics(api: Any) -> None:
    trained = datetime(2026, 2, 1, 3, 0, tzinfo=UTC)
    logged = {
        "holdout_mae_log": 0.41,
        "all_model_mae": 12.0,
        "all_last_week_mae": 15.0,
        "all_creator_mean_mae": 14.0,
        "cv_mae_log": 0.39,
        "champion_mae_log": 0.45,
        "all_rows": 300.0,
    }
    described: list[tuple[str, str]] = []

    def describe(name: str, version: str) -> RunInfo:
        described.append((name, version))
        if name == "kol_trust":
            raise ConnectionError("MLflow went away")
        return RunInfo("run-9", trained, *split_metrics(logged))

    registry = ModelRegistry(
        api.settings,
        resolver=lambda name, alias: "4",
        loader=lambda name, version: FakeModel(name, version),
        describer=describe,
    )
    registry.refresh()
    api.app.dependency_overrides[deps.get_models] = lambda: registry
    items = {m["kind"]: m for m in api.client.get("/api/v1/models").json()["items"]}
    success = items["success"]
    assert success == {
        "kind": "success",
        "name": "kol_success",
        "available": True,
        "version": "4",
        "alias": "champion",
        "trained_at": "2026-02-01T03:00:00Z",
        "run_id": "run-9",
        "metrics": {"all_model_mae": 12.0, "holdout_mae_log": 0.41},
        "baselines": {"all_creator_mean_mae": 14.0, "all_last_week_mae": 15.0},
        "reason": None,
    }
    # The run could not be read: the model serves all the same, the metrics come later.
    trust = items["trust"]
    assert (trust["available"], trust["version"], trust["metrics"]) == (True, "4", {})
    registry.refresh()
    assert described.count(("kol_success", "4")) == 1  # read once per version, not per poll
    assert described.count(("kol_trust", "4")) == 2


# ---- peers ----------------------------------------------------------------------------------
def test_peers_benchmark(api: Any) -> None:
    api.gold.peer_row = {
        "kol_id": "tiktok:minh.anh",
        "platform": "tiktok",
        "date_day": "2026-02-05",
        "followers": 12_000,
        "engagement_rate": 0.08,
        "band_low": 6_000,
        "band_high": 24_000,
        "peers": 41,
        "p25": 0.03,
        "median": 0.05,
        "p75": 0.07,
        "percentile": 85.37,
    }
    r = api.client.get(f"{KOL_PATH}/peers", params={"band": 2})
    assert r.status_code == 200
    assert r.json() == api.gold.peer_row
    assert api.gold.calls[-1] == ("peers", ("tiktok:minh.anh", "tiktok", 2.0))
    assert r.headers["X-Cache"] == "miss"


def test_peers_of_a_creator_without_daily_rows_and_bad_bands(api: Any) -> None:
    body = api.client.get(f"{KOL_PATH}/peers").json()
    assert body["peers"] == 0
    assert body["median"] is None
    assert api.gold.calls[-1][1][2] == 2.0  # the default band: half to twice the followers
    assert api.client.get("/api/v1/kols/tiktok/nobody/peers").status_code == 404
    for band in (1, 10.5, "wide"):
        r = api.client.get(f"{KOL_PATH}/peers", params={"band": band})
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "band"
    api.gold.down = "trino"
    assert api.client.get(f"{KOL_PATH}/peers").status_code == 503


# ---- docs -----------------------------------------------------------------------------------
@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_load_their_assets_from_the_api_itself(api: Any, page: str) -> None:
    r = api.client.get(page, headers={"X-API-Key": ""})
    assert r.status_code == 200
    html = r.text
    assert "http://" not in html and "https://" not in html  # no CDN, no web fonts
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith(".js") for a in assets), assets
    for url in assets:
        assert url.startswith("/static-docs/"), url
        got = api.client.get(url, headers={"X-API-Key": ""})
        assert got.status_code == 200, url
        assert len(got.content) > 4000, url
        assert b"cdn.redoc.ly" not in got.content, url  # ReDoc's footer logo, served locally
    assert "/openapi.json" in html


# ---- exposure -------------------------------------------------------------------------------
def test_readyz_answers_from_its_last_checks_for_a_few_seconds(api: Any) -> None:
    api.app.state.settings = api.settings.model_copy(update={"readyz_cache_s": 60.0})
    assert api.client.get("/readyz").status_code == 200
    api.live.down = True
    assert api.client.get("/readyz").status_code == 200  # cached: Redis not asked again
    api.app.state.readiness = None  # the cache expired
    r = api.client.get("/readyz")
    assert r.status_code == 503 and r.json()["status"] == "unavailable"


def test_request_bodies_above_the_limit_are_refused_unread(api: Any) -> None:
    limit = api.settings.max_body_bytes
    big = {"features": {"followers": 5}, "pad": "x" * (limit + 1)}
    r = api.client.post("/api/v1/predict/trust", json=big)
    assert r.status_code == 413
    assert "KOL_API_MAX_BODY_BYTES" in r.json()["detail"]

    def chunks() -> Any:  # no Content-Length: counted as it arrives
        yield b'{"features": {"followers": 5}, "pad": "'
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    r = api.client.post(
        "/api/v1/predict/trust", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413
    small = api.client.post("/api/v1/predict/trust", json={"features": {"followers": 5}})
    assert small.status_code != 413
