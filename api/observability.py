"""Prometheus metrics, structured (JSON) logs and the access-log middleware.

The middleware is plain ASGI rather than Starlette's BaseHTTPMiddleware: it sits on every request,
and the latter costs a task and a stream per request. Metrics are labelled by route template
(``/api/v1/kols/{platform}/{username}``), never by raw path, so their cardinality stays bounded.
With several uvicorn workers, set ``PROMETHEUS_MULTIPROC_DIR`` (the stack service does) and
/metrics aggregates all of them.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "kol_api_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "kol_api_request_duration_seconds",
    "Time to answer, by route",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
UNAVAILABLE = Counter(
    "kol_api_backend_unavailable_total", "Requests answered 503, by backing service", ["service"]
)

access_log = logging.getLogger("kol.api.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(out, default=str).decode()


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for the API's loggers (idempotent)."""
    logger = logging.getLogger("kol.api")
    if any(getattr(h, "_kol_api", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._kol_api = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False


def metrics_payload() -> bytes:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST


class ObservabilityMiddleware:
    """Request id, rate-limit headers, metrics and one JSON access-log line per request."""

    def __init__(self, app: ASGIApp, log_requests: bool = True) -> None:
        self.app = app
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                request_id = value.decode("latin-1")[:64]
                break
        request_id = request_id or uuid.uuid4().hex[:16]
        status = 500
        state: dict[str, Any] = scope.setdefault("state", {})

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                decision = state.get("rate_limit")
                if decision is not None:
                    headers["X-RateLimit-Limit"] = str(decision.limit)
                    headers["X-RateLimit-Remaining"] = str(decision.remaining)
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            REQUESTS.labels(method, template, str(status)).inc()
            LATENCY.labels(method, template).observe(elapsed)
            if self.log_requests:
                client = scope.get("client")
                access_log.info(
                    "request",
                    extra={
                        "fields": {
                            "request_id": request_id,
                            "method": method,
                            "path": scope.get("path"),
                            "route": template,
                            "status": status,
                            "duration_ms": round(elapsed * 1000, 3),
                            "key_id": state.get("key_id"),
                            "client": client[0] if client else None,
                            "service": state.get("unavailable"),
                        }
                    },
                )
