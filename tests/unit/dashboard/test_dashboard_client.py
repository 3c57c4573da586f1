"""The typed clients: answers parsed into the API's models, every failure a message naming
the service and route that failed."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr

from dashboard.client import (
    AirflowClient,
    AirflowError,
    ApiError,
    DashboardError,
    KolClient,
    NotFoundError,
)
from kol.settings import DashboardSettings
from tests.unit.dashboard.conftest import KEY, READY_REDIS_DOWN, FakeAirflow, FakeApi, down


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> KolClient:
    settings = DashboardSettings(api_url="http://api.test", api_key=SecretStr(KEY))
    return KolClient(settings, transport=httpx.MockTransport(handler))


def test_answers_are_parsed_and_the_key_is_sent(fake_api: FakeApi) -> None:
    client = fake_api.client()
    ranking = client.trending(platform="tiktok", limit=5)
    assert [i.username for i in ranking.items] == ["chef.lan", "minh.anh", "quiet.one"]
    sent = fake_api.asked("/api/v1/trending")[0]
    assert sent.headers["X-API-Key"] == KEY
    assert dict(sent.url.params) == {"platform": "tiktok", "limit": "5"}  # no empty label
    assert client.kol("tiktok", "minh.anh").scores.trust.score == 82.5
    assert client.peers("tiktok", "minh.anh").percentile == 78.0


def test_a_503_names_the_backing_service_and_the_route(fake_api: FakeApi) -> None:
    fake_api.fail["/api/v1/trending"] = down("redis", "Connection refused")
    with pytest.raises(ApiError) as caught:
        fake_api.client().trending()
    err = caught.value
    assert (err.service, err.status, err.route) == ("redis", 503, "GET /api/v1/trending")
    assert str(err) == (
        "Redis (live scores and alerts from the streaming job) is unavailable, so the API "
        "cannot answer GET /api/v1/trending (503): Connection refused"
    )


def test_readyz_503_still_gives_the_checks(fake_api: FakeApi) -> None:
    fake_api.fail["/readyz"] = (503, READY_REDIS_DOWN)
    ready = fake_api.client().readiness()
    assert ready.status == "unavailable" and not ready.checks["redis"].ok


def test_a_refused_connection_names_the_api_and_its_address() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    with pytest.raises(ApiError) as caught:
        _client(refuse).summary()
    assert caught.value.service == "api"
    assert str(caught.value) == (
        "The KOL API at http://api.test is not reachable (GET /api/v1/stats/summary): "
        "ConnectError: [Errno 111] Connection refused"
    )


def test_a_bad_key_says_which_setting_to_fix(fake_api: FakeApi) -> None:
    settings = DashboardSettings(api_url="http://api.test", api_key=SecretStr("kol_wrong_key"))
    client = KolClient(settings, transport=httpx.MockTransport(fake_api.handle))
    with pytest.raises(ApiError, match=r"refused the dashboard's API key.*KOL_DASHBOARD_API_KEY"):
        client.alerts()


def test_unknown_creator_and_unknown_route_are_told_apart(fake_api: FakeApi) -> None:
    client = fake_api.client()
    with pytest.raises(NotFoundError, match="unknown creator"):
        client.kol("tiktok", "nobody")
    del fake_api.routes["/api/v1/models"]
    with pytest.raises(NotFoundError, match="does not serve GET /api/v1/models"):
        client.models()


def test_an_answer_of_the_wrong_shape_is_an_error_not_a_crash() -> None:
    client = _client(lambda r: httpx.Response(200, json={"items": [{"rank": "first"}]}))
    with pytest.raises(ApiError, match=r"GET /api/v1/trending in an unexpected shape"):
        client.trending()


def test_handles_are_escaped_in_paths(fake_api: FakeApi) -> None:
    with pytest.raises(NotFoundError):
        fake_api.client().kol("tiktok", "a/b c")
    assert fake_api.requests[-1].url.raw_path == b"/api/v1/kols/tiktok/a%2Fb%20c"


def test_airflow_logs_in_once_and_again_when_the_token_expires(fake_airflow: FakeAirflow) -> None:
    client = fake_airflow.client()
    runs = client.dag_runs("kol_daily_pipeline", limit=10)
    assert [r.state for r in runs.dag_runs] == ["failed", "success"]
    client.dag_runs()
    assert fake_airflow.logins == 1
    client._token = "expired"
    client.dag_runs()
    assert fake_airflow.logins == 2


def test_airflow_failures_name_airflow(fake_airflow: FakeAirflow) -> None:
    with pytest.raises(AirflowError, match="does not know the DAG 'nope'"):
        fake_airflow.client().dag_runs("nope")
    refused = AirflowClient(
        DashboardSettings(airflow_url="http://airflow.test", airflow_password=SecretStr("pw")),
        transport=httpx.MockTransport(
            lambda r: httpx.Response(401, json={"detail": "Invalid credentials"})
        ),
    )
    with pytest.raises(DashboardError) as caught:
        refused.dag_runs()
    assert caught.value.service == "airflow"
    assert "refused the login of 'admin'" in str(caught.value)
    assert "Invalid credentials" in str(caught.value)
