"""Typed clients of the two HTTP APIs the dashboard reads: the KOL REST API and Airflow's.

Every answer is parsed into the API's own response models (:mod:`api.schemas`), so the dashboard
and the API cannot drift apart silently. Every failure, whatever its cause (connection refused,
timeout, a 503 naming the backing service, a 401, an answer of the wrong shape), becomes a
:class:`DashboardError` whose message says which service and route failed and why; the pages
show that message and nothing else.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

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
from kol.settings import DashboardSettings

M = TypeVar("M", bound=BaseModel)

# What each backing service named in the API's 503 answers is, for a marketer reading the page.
SERVICES: dict[str, str] = {
    "redis": "Redis (live scores and alerts from the streaming job)",
    "trino": "Trino (the query engine over the lakehouse)",
    "gold": "Gold (the daily pipeline's tables)",
    "models": "the MLflow champion model",
    "key_store": "the API key store (PostgreSQL)",
    "api": "the KOL API",
    "airflow": "Airflow",
}


class DashboardError(Exception):
    """A request failed; ``str()`` says which service and route, and why."""

    def __init__(
        self,
        message: str,
        *,
        service: str,
        route: str,
        status: int | None = None,
        detail: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.service = service
        self.route = route
        self.status = status
        self.detail = detail

    def __str__(self) -> str:
        return self.message


class ApiError(DashboardError):
    """The KOL API could not answer (or was not reached)."""


class NotFoundError(ApiError):
    """404: an unknown creator, or a route this API version does not serve."""


class AirflowError(DashboardError):
    """Airflow's REST API could not answer (or was not reached)."""


# ---- Airflow's answers (the fields the dashboard shows) ------------------------------------
class Out(BaseModel):
    model_config = ConfigDict(extra="ignore")


class DagRun(Out):
    """The fields of Airflow's ``DAGRunResponse`` the dashboard shows."""

    dag_run_id: str
    dag_id: str
    logical_date: datetime | None = None
    run_after: datetime | None = None
    data_interval_start: datetime | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    duration: float | None = None
    state: str
    run_type: str | None = None


class DagRunList(Out):
    dag_runs: list[DagRun]
    total_entries: int | None = None


# ---- helpers --------------------------------------------------------------------------------
def _body_detail(response: httpx.Response) -> tuple[str, str | None]:
    """(detail, service) from an error answer; the raw text when it is not the API's shape."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase, None
    if isinstance(body, dict):
        detail = body.get("detail")
        service = body.get("service")
        text = detail if isinstance(detail, str) else str(detail)[:300]
        return text, service if isinstance(service, str) else None
    return str(body)[:300], None


def _validation_summary(exc: ValidationError) -> str:
    errors = exc.errors()
    parts = [
        f"{'.'.join(str(p) for p in e.get('loc', ())) or 'body'}: {e.get('msg')}"
        for e in errors[:3]
    ]
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(parts) + more


def _transport_reason(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer in time ({type(exc).__name__})"
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None and v != ""}


# ---- the KOL API ----------------------------------------------------------------------------
class KolClient:
    """The KOL REST API, sending the ``X-API-Key`` header.

    ``transport`` replaces the network (tests pass an ``httpx.MockTransport``).
    """

    def __init__(
        self, settings: DashboardSettings, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.base_url = settings.api_url.rstrip("/")
        headers = {"Accept": "application/json", "User-Agent": "kol-dashboard"}
        if settings.api_key is not None:
            headers["X-API-Key"] = settings.api_key.get_secret_value()
        self.http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=settings.timeout_s,
            transport=transport,
        )

    def close(self) -> None:
        self.http.close()

    # ---- plumbing ----------------------------------------------------------------------
    def _send(self, route: str, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        try:
            return self.http.get(path, params=_clean(params or {}))
        except httpx.HTTPError as exc:
            raise ApiError(
                f"The KOL API at {self.base_url} is not reachable ({route}): "
                f"{_transport_reason(exc)}",
                service="api",
                route=route,
            ) from exc

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        route = f"GET {path}"
        response = self._send(route, path, params)
        if response.status_code != 200:
            raise self._error(route, response)
        try:
            return response.json()
        except ValueError as exc:
            raise ApiError(
                f"The KOL API answered {route} with something that is not JSON: "
                f"{response.text[:200]!r}",
                service="api",
                route=route,
                status=response.status_code,
            ) from exc

    def _error(self, route: str, response: httpx.Response) -> ApiError:
        status = response.status_code
        detail, service = _body_detail(response)
        if status == 503:
            name = service or "api"
            reason = detail.removeprefix(f"{name} unavailable: ")
            what = SERVICES.get(name, name)
            return ApiError(
                f"{what} is unavailable, so the API cannot answer {route} (503): {reason}",
                service=name,
                route=route,
                status=status,
                detail=detail,
            )
        if status == 404:
            if detail in ("", "Not Found"):
                message = (
                    f"This KOL API ({self.base_url}) does not serve {route} (404): "
                    "it may be an older version of the API"
                )
            else:
                message = f"Not found ({route}): {detail}"
            return NotFoundError(message, service="api", route=route, status=status, detail=detail)
        if status == 401:
            hint = (
                "no key is configured: set KOL_DASHBOARD_API_KEY (kol api keys create dashboard)"
                if "X-API-Key" not in self.http.headers
                else "set KOL_DASHBOARD_API_KEY to an active key (kol api keys create dashboard)"
            )
            return ApiError(
                f"The KOL API refused the dashboard's API key on {route} (401): {detail}; {hint}",
                service="api",
                route=route,
                status=status,
                detail=detail,
            )
        if status == 429:
            return ApiError(
                f"The KOL API's rate limit for the dashboard's key was reached ({route}): {detail}",
                service="api",
                route=route,
                status=status,
                detail=detail,
            )
        return ApiError(
            f"The KOL API could not answer {route} ({status}): {detail}",
            service="api",
            route=route,
            status=status,
            detail=detail,
        )

    @staticmethod
    def _parse_error(route: str, exc: ValidationError) -> ApiError:
        return ApiError(
            f"The KOL API answered {route} in an unexpected shape: {_validation_summary(exc)}",
            service="api",
            route=route,
        )

    def _parse(self, model: type[M], path: str, body: Any) -> M:
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            raise self._parse_error(f"GET {path}", exc) from exc

    def _fetch(self, model: type[M], path: str, params: dict[str, Any] | None = None) -> M:
        return self._parse(model, path, self._get(path, params))

    @staticmethod
    def _kol_path(platform: str, username: str) -> str:
        return f"/api/v1/kols/{quote(platform, safe='')}/{quote(username, safe='')}"

    # ---- health ------------------------------------------------------------------------
    def readiness(self) -> Readiness:
        """``/readyz``: each backing service and model (503 still carries the checks)."""
        route = "GET /readyz"
        response = self._send(route, "/readyz")
        if response.status_code not in (200, 503):
            raise self._error(route, response)
        try:
            return Readiness.model_validate_json(response.content)
        except ValidationError as exc:
            if response.status_code == 503:  # not the API's own answer (a proxy, a restart)
                raise self._error(route, response) from exc
            raise self._parse_error(route, exc) from exc

    # ---- live ----------------------------------------------------------------------------
    def trending(
        self, platform: str | None = None, limit: int = 20, label: str | None = None
    ) -> TrendingList:
        return self._fetch(
            TrendingList,
            "/api/v1/trending",
            {"platform": platform, "limit": limit, "label": label},
        )

    def alerts(
        self,
        platform: str | None = None,
        username: str | None = None,
        type: str | None = None,
        limit: int = 50,
    ) -> AlertList:
        params = {"platform": platform, "username": username, "type": type, "limit": limit}
        return self._fetch(AlertList, "/api/v1/alerts", params)

    def summary(self) -> Summary:
        return self._fetch(Summary, "/api/v1/stats/summary")

    # ---- creators ------------------------------------------------------------------------
    def kols(
        self,
        platform: str | None = None,
        niche: str | None = None,
        min_followers: int | None = None,
        max_followers: int | None = None,
        trust_label: str | None = None,
        sort: str = "followers",
        limit: int = 50,
        offset: int = 0,
    ) -> Page[KolSummary]:
        params = {
            "platform": platform,
            "niche": niche,
            "min_followers": min_followers,
            "max_followers": max_followers,
            "trust_label": trust_label,
            "sort": sort,
            "limit": limit,
            "offset": offset,
        }
        return self._fetch(Page[KolSummary], "/api/v1/kols", params)

    def search_kols(self, q: str, limit: int = 20) -> SearchResult[KolHit]:
        return self._fetch(SearchResult[KolHit], "/api/v1/search/kols", {"q": q, "limit": limit})

    def kol(self, platform: str, username: str) -> KolProfile:
        return self._fetch(KolProfile, self._kol_path(platform, username))

    def timeseries(
        self, platform: str, username: str, start: date | None = None, end: date | None = None
    ) -> Timeseries:
        path = f"{self._kol_path(platform, username)}/timeseries"
        return self._fetch(Timeseries, path, {"start": start, "end": end})

    def peers(self, platform: str, username: str, band: float | None = None) -> PeerBenchmark:
        path = f"{self._kol_path(platform, username)}/peers"
        return self._fetch(PeerBenchmark, path, {"band": band})

    def videos(self, platform: str, username: str, limit: int = 20) -> Page[Video]:
        path = f"{self._kol_path(platform, username)}/videos"
        return self._fetch(Page[Video], path, {"limit": limit})

    def products(self, platform: str, username: str, limit: int = 20) -> Page[KolProduct]:
        path = f"{self._kol_path(platform, username)}/products"
        return self._fetch(Page[KolProduct], path, {"limit": limit})

    # ---- platform ------------------------------------------------------------------------
    def platform_stats(
        self, platform: str | None = None, day: date | None = None
    ) -> PlatformStatsList:
        return self._fetch(
            PlatformStatsList, "/api/v1/stats/platform", {"platform": platform, "day": day}
        )

    def models(self) -> ModelList:
        return self._fetch(ModelList, "/api/v1/models")


# ---- Airflow ----------------------------------------------------------------------------------
class AirflowClient:
    """Airflow 3's REST API (v2): a JWT from ``/auth/token``, then the DAG's runs."""

    def __init__(
        self, settings: DashboardSettings, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.base_url = settings.airflow_url.rstrip("/")
        self.http = httpx.Client(
            base_url=self.base_url, timeout=settings.timeout_s, transport=transport
        )
        self._token: str | None = None

    def close(self) -> None:
        self.http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        route = f"{method} {path}"
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise AirflowError(
                f"Airflow at {self.base_url} is not reachable ({route}): {_transport_reason(exc)}",
                service="airflow",
                route=route,
            ) from exc

    def _fail(self, route: str, response: httpx.Response, what: str) -> AirflowError:
        detail, _ = _body_detail(response)
        return AirflowError(
            f"Airflow {what} ({route} answered {response.status_code}): {detail}",
            service="airflow",
            route=route,
            status=response.status_code,
            detail=detail,
        )

    def token(self) -> str:
        if self._token is not None:
            return self._token
        s = self.settings
        route = "POST /auth/token"
        if s.airflow_password is None:
            raise AirflowError(
                "Airflow's credentials are not configured: set KOL_DASHBOARD_AIRFLOW_USER and "
                "KOL_DASHBOARD_AIRFLOW_PASSWORD (`kol stack up` passes the local stack's)",
                service="airflow",
                route=route,
            )
        response = self._request(
            "POST",
            "/auth/token",
            json={"username": s.airflow_user, "password": s.airflow_password.get_secret_value()},
        )
        if response.status_code not in (200, 201):
            raise self._fail(route, response, f"refused the login of {s.airflow_user!r}")
        try:
            token = response.json()["access_token"]
        except (ValueError, KeyError, TypeError) as exc:
            raise AirflowError(
                f"Airflow answered {route} without an access token",
                service="airflow",
                route=route,
            ) from exc
        self._token = str(token)
        return self._token

    def dag_runs(self, dag_id: str | None = None, limit: int = 10) -> DagRunList:
        """The DAG's latest runs, newest logical date first."""
        dag = dag_id or self.settings.dag_id
        path = f"/api/v2/dags/{dag}/dagRuns"
        route = f"GET {path}"
        params = {"order_by": "-logical_date", "limit": limit}
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self.token()}"}
            response = self._request("GET", path, params=params, headers=headers)
            if response.status_code == 401 and attempt == 1:
                self._token = None  # expired: log in again once
                continue
            break
        if response.status_code == 404:
            raise self._fail(route, response, f"does not know the DAG {dag!r}")
        if response.status_code != 200:
            raise self._fail(route, response, "could not list the DAG's runs")
        try:
            return DagRunList.model_validate(response.json())
        except (ValueError, ValidationError) as exc:
            raise AirflowError(
                f"Airflow answered {route} in an unexpected shape: {exc}",
                service="airflow",
                route=route,
            ) from exc
