"""A fake KOL API and a fake Airflow for the dashboard's page tests (no services).

Canned bodies are built through the API's own response models (``api.schemas``) and dumped to
JSON, so a field the API renames or retypes breaks these tests instead of the dashboard. The
fakes are ``httpx.MockTransport`` handlers behind the dashboard's real clients; pages get the
clients through ``st.session_state`` (see ``dashboard.ui``).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, SecretStr
from streamlit.testing.v1 import AppTest

from api.schemas import (
    AlertList,
    KolHit,
    KolProduct,
    KolProfile,
    KolSummary,
    ModelList,
    Page,
    PeerBenchmark,
    PlatformStatsList,
    Readiness,
    SearchResult,
    Summary,
    Timeseries,
    TrendingList,
    Video,
)
from dashboard import ui
from dashboard.client import AirflowClient, KolClient
from kol.settings import DashboardSettings

APP = Path(__file__).resolve().parents[3] / "dashboard" / "app.py"
KEY = "kol_dashtest01_secret"


def body(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as the API would send it: validated by the response model, dumped as JSON."""
    return model.model_validate(data).model_dump(mode="json")


def _score(score: float | None, label: str | None, reasons: list[str], **extra: Any) -> Any:
    return {
        "score": score,
        "label": label,
        "reasons": [{"factor": f"f{i}", "text": t} for i, t in enumerate(reasons)],
        **extra,
    }


def profile(platform: str, username: str, trust: float, success: float, trending: float) -> Any:
    kid = f"{platform}:{username}"
    return body(
        KolProfile,
        {
            "kol_id": kid,
            "platform": platform,
            "username": username,
            "nickname": username.replace(".", " ").title(),
            "niche": "food",
            "country": "VN",
            "is_verified": True,
            "metrics": {
                "as_of": "2026-02-10",
                "followers": 120_000,
                "following": 310,
                "total_likes": 2_400_000,
                "followers_delta": 1_500,
                "engagement_rate": 0.0642,
            },
            "ranks": {"as_of": "2026-02-10", "followers_gained_7d": 9_000},
            "videos": 42,
            "products": 3,
            "scores": {
                "kol_id": kid,
                "platform": platform,
                "username": username,
                "trust": _score(
                    trust,
                    "Highly Trusted",
                    [
                        "Followers grow steadily, without bought bursts",
                        "Comments come from many distinct accounts",
                    ],
                    model_version="3",
                    source="gold",
                    basis="audience+account",
                    components={
                        "audience": {"score": trust, "label": "Highly Trusted", "reasons": []},
                        "account": {
                            "score": 97.0,
                            "label": "Genuine account",
                            "reasons": [{"factor": "bio_length", "text": "A bio of 80 characters"}],
                        },
                    },
                ),
                "success": _score(
                    success,
                    "medium",
                    ["Sold 1,200 units over the last 7 days"],
                    model_version="5",
                    source="gold",
                    basis="naive:creator_mean",
                ),
                "trending": _score(
                    trending, "Hot", ["Engagement 2.4x its own baseline"], source="redis"
                ),
            },
        },
    )


TRENDING = body(
    TrendingList,
    {
        "platform": None,
        "label": None,
        "total_ranked": 57,
        "items": [
            {
                "rank": 1,
                "kol_id": "youtube:chef.lan",
                "platform": "youtube",
                "username": "chef.lan",
                "score": 88.5,
                "label": "Viral",
                "velocity": 2.1,
                "momentum": 0.4,
                "events": 340,
                "updated_at": "2026-02-10T11:59:58Z",
                "event_time": "2026-02-10T11:59:50Z",
            },
            {
                "rank": 2,
                "kol_id": "tiktok:minh.anh",
                "platform": "tiktok",
                "username": "minh.anh",
                "score": 71.2,
                "label": "Hot",
            },
            {
                "rank": 3,
                "kol_id": "instagram:quiet.one",
                "platform": "instagram",
                "username": "quiet.one",
                "score": 31.0,
                "label": "Cooling",
            },
        ],
    },
)
ALERTS = body(
    AlertList,
    {
        "items": [
            {
                "alert_id": "follower_jump:tiktok:minh.anh:1",
                "type": "follower_jump",
                "kol_id": "tiktok:minh.anh",
                "platform": "tiktok",
                "username": "minh.anh",
                "event_time": "2026-02-10T11:58:00Z",
                "value": 5200,
                "threshold": 800,
                "details": {"zscore": 6.1},
            }
        ]
    },
)
READY = body(
    Readiness,
    {
        "status": "ok",
        "checks": {
            "redis": {"ok": True, "detail": "redis 7.0.15"},
            "trino": {"ok": True, "detail": "trino 476"},
            "gold": {"ok": True, "detail": "9 marts"},
            "key_store": {"ok": True, "detail": "2 active keys"},
        },
        "models": [
            {
                "kind": "trust",
                "name": "kol_trust",
                "alias": "champion",
                "available": True,
                "version": "3",
                "detail": "loaded",
            },
            {
                "kind": "success",
                "name": "kol_success",
                "alias": "champion",
                "available": False,
                "detail": "no model kol_success@champion in MLflow",
            },
        ],
    },
)
READY_REDIS_DOWN = body(
    Readiness,
    {
        "status": "unavailable",
        "checks": {
            "redis": {"ok": False, "detail": "ConnectionError: Connection refused"},
            "trino": {"ok": True, "detail": "trino 476"},
            "gold": {"ok": True, "detail": "9 marts"},
            "key_store": {"ok": True, "detail": "2 active keys"},
        },
        "models": [],
    },
)
SUMMARY = body(
    Summary,
    {
        "as_of": "2026-02-10",
        "creators": 200,
        "platforms": 3,
        "videos": 4000,
        "products": 300,
        "live": {
            "ranked_creators": 57,
            "by_label": {"Viral": 1, "Hot": 5, "Stable": 40, "Cooling": 8, "Cold": 3},
            "last_commit_at": "2026-02-10T11:59:59Z",
            "recent_alerts": 12,
        },
    },
)
TIMESERIES = body(
    Timeseries,
    {
        "kol_id": "tiktok:minh.anh",
        "start": "2026-02-01",
        "end": "2026-02-10",
        "points": [
            {
                "date_day": f"2026-02-{d:02d}",
                "followers": 100_000 + d * 500 + (12_000 if d >= 7 else 0),
                "followers_delta": 12_500 if d == 7 else 500,
                "following": 300 + d,
                "is_follower_jump": d == 7,
            }
            for d in range(1, 11)
        ],
    },
)
PEERS = body(
    PeerBenchmark,
    {
        "kol_id": "tiktok:minh.anh",
        "platform": "tiktok",
        "date_day": "2026-02-10",
        "followers": 120_000,
        "engagement_rate": 0.0642,
        "band_low": 60_000,
        "band_high": 240_000,
        "peers": 312,
        "p25": 0.021,
        "median": 0.034,
        "p75": 0.051,
        "percentile": 78.0,
    },
)
VIDEOS = body(
    Page[Video],
    {
        "items": [
            {
                "video_id": "v1",
                "caption": "Bún chả in 60 seconds",
                "published_at": "2026-02-09T08:00:00Z",
                "view_count": 1_200_000,
                "like_count": 90_000,
                "comment_count": 1_200,
                "share_count": 3_000,
                "engagement_rate": 0.078,
                "video_url": "https://www.tiktok.com/@minh.anh/video/1",
            }
        ],
        "total": 42,
        "limit": 50,
        "offset": 0,
    },
)
PRODUCTS = body(
    Page[KolProduct],
    {
        "items": [
            {
                "product_id": "p1",
                "product_title": "Chili crisp 200g",
                "category": "food",
                "currency": "VND",
                "price": 89_000,
                "units_sold": 1_200,
                "gmv_usd": 4_300.5,
            }
        ],
        "total": 3,
        "limit": 50,
        "offset": 0,
    },
)
KOLS = body(
    Page[KolSummary],
    {
        "items": [
            {
                "kol_id": "tiktok:minh.anh",
                "platform": "tiktok",
                "username": "minh.anh",
                "followers": 120_000,
                "engagement_rate": 0.064,
                "trust_score": 82.5,
                "trust_label": "Highly Trusted",
            },
            {
                "kol_id": "youtube:chef.lan",
                "platform": "youtube",
                "username": "chef.lan",
                "followers": 80_000,
                "engagement_rate": 0.031,
                "trust_score": 55.0,
                "trust_label": "Moderate",
            },
        ],
        "total": 2,
        "limit": 50,
        "offset": 0,
    },
)
SEARCH = body(
    SearchResult[KolHit],
    {
        "query": "minh",
        "items": [
            {
                "kol_id": "tiktok:minh.anh",
                "platform": "tiktok",
                "username": "minh.anh",
                "followers": 120_000,
            }
        ],
    },
)
PLATFORM = body(
    PlatformStatsList,
    {
        "date_day": "2026-02-10",
        "items": [
            {
                "platform": "tiktok",
                "date_day": "2026-02-10",
                "creators_observed": 120,
                "total_followers": 48_000_000,
                "followers_gained": 310_000,
                "engagement_rate": 0.052,
                "units_sold": 9_000,
                "gmv_usd": 52_000.0,
            },
            {
                "platform": "youtube",
                "date_day": "2026-02-10",
                "creators_observed": 80,
                "total_followers": 30_000_000,
                "followers_gained": 120_000,
                "engagement_rate": 0.031,
            },
        ],
    },
)
MODELS = body(
    ModelList,
    {
        "items": [
            {
                "kind": "trust",
                "name": "kol_trust",
                "available": True,
                "version": "7",
                "alias": "champion",
                "trained_at": "2026-02-08T03:00:00Z",
                "run_id": "a1b2c3d4e5f6a7b8",
                "metrics": {"holdout_roc_auc": 0.93, "holdout_accuracy": 0.88},
            },
            {
                "kind": "success",
                "name": "kol_success",
                "available": True,
                "version": "4",
                "alias": "champion",
                "trained_at": "2026-02-08T03:10:00Z",
                "run_id": "0f9e8d7c6b5a",
                "metrics": {"all_model_mae": 0.41, "holdout_mae_log": 0.38},
                "baselines": {"all_last_week_mae": 0.62, "all_creator_mean_mae": 0.57},
            },
        ]
    },
)


def _dag_run(run_id: str, day: str, state: str) -> dict[str, Any]:
    """A run as Airflow 3.3's DAGRunResponse serialises it (every field)."""
    return {
        "dag_run_id": run_id,
        "dag_id": "kol_daily_pipeline",
        "logical_date": f"{day}T00:00:00Z",
        "queued_at": f"{day}T00:00:01Z",
        "start_date": f"{day}T00:00:05Z",
        "end_date": None if state == "running" else f"{day}T00:21:05Z",
        "duration": None if state == "running" else 1260.0,
        "data_interval_start": f"{day}T00:00:00Z",
        "data_interval_end": f"{day}T23:59:59Z",
        "run_after": f"{day}T00:00:00Z",
        "last_scheduling_decision": None,
        "run_type": "scheduled",
        "state": state,
        "triggered_by": "timetable",
        "triggering_user_name": None,
        "conf": {},
        "note": None,
        "dag_versions": [],
        "bundle_version": None,
        "dag_display_name": "kol_daily_pipeline",
        "partition_key": None,
        "partition_date": None,
    }


DAG_RUNS = {
    "dag_runs": [
        _dag_run("scheduled__2026-02-10", "2026-02-10", "failed"),
        _dag_run("scheduled__2026-02-09", "2026-02-09", "success"),
    ],
    "total_entries": 2,
    "total_entries_limit": None,
    "next_cursor": None,
    "previous_cursor": None,
}


def down(service: str, reason: str) -> tuple[int, dict[str, Any]]:
    """The API's 503 answer for a backing service (api.errors)."""
    return 503, {"detail": f"{service} unavailable: {reason}", "service": service}


class FakeApi:
    """The KOL API's routes over canned bodies; ``fail`` makes routes answer an error."""

    def __init__(self) -> None:
        kol = "/api/v1/kols/tiktok/minh.anh"
        chef = "/api/v1/kols/youtube/chef.lan"
        self.routes: dict[str, Any] = {
            "/readyz": READY,
            "/api/v1/trending": TRENDING,
            "/api/v1/alerts": ALERTS,
            "/api/v1/stats/summary": SUMMARY,
            "/api/v1/stats/platform": PLATFORM,
            "/api/v1/models": MODELS,
            "/api/v1/kols": KOLS,
            "/api/v1/search/kols": SEARCH,
            kol: profile("tiktok", "minh.anh", 82.5, 64.0, 71.2),
            f"{kol}/timeseries": TIMESERIES,
            f"{kol}/peers": PEERS,
            f"{kol}/videos": VIDEOS,
            f"{kol}/products": PRODUCTS,
            chef: profile("youtube", "chef.lan", 55.0, 47.5, 88.5),
            f"{chef}/timeseries": TIMESERIES | {"kol_id": "youtube:chef.lan"},
        }
        # path (or "*" for every route) -> (status, JSON body)
        self.fail: dict[str, tuple[int, Any]] = {}
        self.requests: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("X-API-Key") != KEY and request.url.path != "/readyz":
            return httpx.Response(401, json={"detail": "unknown or revoked API key"})
        path = request.url.path
        failure = self.fail.get(path) or self.fail.get("*")
        if failure is not None:
            return httpx.Response(failure[0], json=failure[1])
        if path not in self.routes:
            if path.startswith("/api/v1/kols/"):
                return httpx.Response(404, json={"detail": f"unknown creator {path}"})
            return httpx.Response(404, json={"detail": "Not Found"})
        return httpx.Response(200, json=self.routes[path])

    def asked(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]

    def client(self) -> KolClient:
        settings = DashboardSettings(api_url="http://api.test", api_key=SecretStr(KEY))
        return KolClient(settings, transport=httpx.MockTransport(self.handle))


class FakeAirflow:
    def __init__(self) -> None:
        self.runs: dict[str, Any] = DAG_RUNS
        self.logins = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/token":
            self.logins += 1
            return httpx.Response(201, json={"access_token": "jwt-token"})
        if request.headers.get("Authorization") != "Bearer jwt-token":
            return httpx.Response(401, json={"detail": "Not authenticated"})
        if request.url.path == "/api/v2/dags/kol_daily_pipeline/dagRuns":
            return httpx.Response(200, json=self.runs)
        return httpx.Response(404, json={"detail": "The Dag with ID was not found"})

    def client(self) -> AirflowClient:
        settings = DashboardSettings(
            airflow_url="http://airflow.test",
            airflow_user="admin",
            airflow_password=SecretStr("pw"),
        )
        return AirflowClient(settings, transport=httpx.MockTransport(self.handle))


def closed_port() -> int:
    """A local port nobody listens on (connections to it are refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def fake_api() -> FakeApi:
    return FakeApi()


@pytest.fixture
def fake_airflow() -> FakeAirflow:
    return FakeAirflow()


@pytest.fixture
def refused() -> Iterator[DashboardSettings]:
    """Settings pointing the API and Airflow at a port that refuses connections."""
    url = f"http://127.0.0.1:{closed_port()}"
    yield DashboardSettings(
        api_url=url, api_key=SecretStr(KEY), airflow_url=url, airflow_password=SecretStr("pw")
    )


Runner = Callable[..., AppTest]


@pytest.fixture(scope="session")
def components() -> Any:
    """Streamlit's registry of installed custom components, scanned once for all tests.

    Every AppTest scans the metadata of each installed distribution for components (1-3 s
    here); the app uses none, so one scan serves every test. AppTest keeps the scan on this
    attribute; should a Streamlit release rename it, tests only get slower.
    """
    from streamlit.components.v2.component_manager import BidiComponentManager

    manager = BidiComponentManager()
    manager.discover_and_register_components(start_file_watching=False)
    return manager


@pytest.fixture
def open_page(fake_api: FakeApi, fake_airflow: FakeAirflow, components: Any) -> Runner:
    """Run the app (dashboard/app.py, as `streamlit run` does) and open one of its pages."""

    def run(
        page: str,
        query: dict[str, str] | None = None,
        api: KolClient | None = None,
        airflow: AirflowClient | None = None,
    ) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=30)
        at._bidi_component_manager = components
        at.session_state[ui.CLIENT_KEY] = api or fake_api.client()
        at.session_state[ui.AIRFLOW_KEY] = airflow or fake_airflow.client()
        at.run()  # the default page (Live); navigation is registered by this first run
        if page != "live" or query:
            at.switch_page(f"views/{page}.py")
            at.query_params.update(query or {})
            at.run()
        return at

    return run


def texts(at: AppTest) -> str:
    """Everything written on the page (markdown, captions, headers, metrics, alerts)."""
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [f"{m.label}: {m.value}" for m in at.metric]
    return "\n".join(parts)


def metrics(at: AppTest) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for m in at.metric:
        out.setdefault(m.label, []).append(m.value)
    return out


def no_crash(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
