"""The FastAPI application factory.

``uvicorn --factory api.main:create_app`` (what ``kol api`` and the stack service run) builds one
app per worker from the ``KOL_*`` / ``KOL_API_*`` environment. Nothing connects at import or
build time: the lifespan creates the clients, and the key ring and the model registry refresh in
background tasks, so the API starts (and answers /healthz) whatever state its services are in.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse, Response
from fastapi_offline import FastAPIOffline

from api import errors
from api.bodylimit import BodyLimitMiddleware
from api.cache import GoldCache
from api.gold import GoldReader
from api.keys import KeyRing
from api.live import LiveStore
from api.models import ModelRegistry
from api.observability import ObservabilityMiddleware, configure_logging
from api.ratelimit import RateLimiter
from api.routes import alerts, health, kols, predict, scores, search, stats, trending
from api.routes import models as models_route
from kol.settings import ApiSettings, get_api_settings

API_VERSION = "1.0.0"
DOCS_ASSETS = "/static-docs"
REDOC_JS = f"{DOCS_ASSETS}/redoc/redoc.standalone.js"
# ReDoc's sidebar footer draws Redocly's logo from their CDN, the one request the docs would
# still send elsewhere; our copy of the script points it at the API's own favicon instead.
_REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"

DESCRIPTION = """
Creators, their live trending score and their trust and success scores.

* **Authentication**: every route under `/api/v1` needs an API key in the `X-API-Key` header
  (`kol api keys create NAME`). Health routes (`/healthz`, `/readyz`, `/metrics`) do not.
* **Rate limits**: per key and window; beyond it `429` with `Retry-After` (seconds).
* **Errors**: `{"detail": ...}`; `422` lists each invalid field; `503` names the backing
  service that is down (`redis`, `trino`, `gold`, `models`, `key_store`) while other routes
  keep answering.
* **Freshness**: Gold answers (daily) are cached in Redis (`X-Cache: hit|miss`); trending,
  alerts and live scores are read from Redis on every request.
"""


def attach_services(app: FastAPI, settings: ApiSettings) -> list[asyncio.Task[None]]:
    """Create the long-lived clients on app.state; returns the background tasks started."""
    live = LiveStore(settings)
    app.state.live = live
    app.state.gold = GoldReader(settings, GoldCache(settings, live))
    app.state.keyring = KeyRing(settings)
    app.state.models = ModelRegistry(settings)
    app.state.limiter = RateLimiter(settings, live)
    return [
        asyncio.create_task(app.state.keyring.run(), name="api-keys"),
        asyncio.create_task(app.state.models.run(), name="api-models"),
    ]


def apply_limits(schema: dict[str, Any], s: ApiSettings) -> dict[str, Any]:
    """Publish the configured bounds in the OpenAPI schema.

    Routers declare static ceilings (they are built at import); the configured maxima, checked in
    the routes, are what clients must see, so schema-valid requests are never refused.
    """
    bounds = {"limit": s.max_page_size, "offset": s.max_offset}
    for path, ops in schema.get("paths", {}).items():
        for op in ops.values():
            for param in op.get("parameters", []):
                name = param.get("name")
                if (
                    name in bounds
                    and param.get("in") == "query"
                    and path.startswith("/api/v1/kols")
                ):
                    _set_maximum(param.get("schema", {}), bounds[name])
    components = schema.get("components", {}).get("schemas", {})
    batch = components.get("BatchRequest")
    if batch:
        batch["properties"]["items"]["maxItems"] = s.max_batch_size
    trend = components.get("TrendRequest")
    if trend:
        trend["properties"]["baseline"]["maxItems"] = s.stream.baseline_windows
        trend["properties"]["recent"]["maxItems"] = s.stream.momentum_windows - 1
    return schema


def _set_maximum(prop: dict[str, Any], value: int) -> None:
    for option in prop.get("anyOf", [prop]):
        if option.get("type") == "integer":
            option["maximum"] = min(option.get("maximum", value), value)


def create_app(settings: ApiSettings | None = None, *, connect: bool = True) -> FastAPI:
    """The app; ``connect=False`` leaves app.state empty for tests that override every dep."""
    settings = settings or get_api_settings()
    configure_logging(settings.log_level)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not connect:
            yield
            return
        tasks = attach_services(app, settings)
        # The imports (pandas, LightGBM, FastAPI's models) leave ~1M long-lived objects that
        # every full collection scanned again: 70-100 ms pauses that set the p99. Frozen, they
        # are skipped; only objects made while serving are collected.
        gc.freeze()
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await app.state.live.close()

    # /docs and /redoc load Swagger UI and ReDoc from the fastapi-offline package's copies
    # (under /static-docs), not from a CDN: the docs work where the API has no internet.
    app = FastAPIOffline(
        static_url=DOCS_ASSETS,
        redoc_url=None,
        title="KOL Analytics API",
        version=API_VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    errors.install(app)
    app.add_middleware(ObservabilityMiddleware, log_requests=settings.access_log)
    # Added last, so it runs first: an oversized body is refused before anything reads it.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)

    add_redoc(app)
    app.include_router(health.router)
    v1 = APIRouter(prefix="/api/v1")
    for module in (kols, scores, trending, predict, search, stats, alerts, models_route):
        v1.include_router(module.router)
    app.include_router(v1)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = apply_limits(get_openapi_schema(app), settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


@functools.cache
def redoc_script() -> bytes:
    static = Path(fastapi_offline.__file__).parent / "static" / "redoc.standalone.js"
    text = static.read_text(encoding="utf-8")
    if _REDOC_LOGO not in text:
        raise RuntimeError(f"{static}: ReDoc no longer loads {_REDOC_LOGO}; review add_redoc")
    return text.replace(_REDOC_LOGO, f"{DOCS_ASSETS}/favicon.png").encode()


def add_redoc(app: FastAPI) -> None:
    """/redoc, as fastapi-offline serves it but with a script that loads nothing from a CDN."""

    # Registered before the static mount matches it: routes are tried in order.
    @app.get(REDOC_JS, include_in_schema=False)
    async def redoc_js() -> Response:
        return Response(redoc_script(), media_type="text/javascript")

    app.router.routes.insert(0, app.router.routes.pop())

    @app.get("/redoc", include_in_schema=False)
    async def redoc_html(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{REDOC_JS}",
            with_google_fonts=False,
            redoc_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
        )


def get_openapi_schema(app: FastAPI) -> dict[str, Any]:
    from fastapi.openapi.utils import get_openapi

    return get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
