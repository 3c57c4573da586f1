"""Errors the API answers with, and their handlers.

Every error body has the same shape (:class:`api.schemas.ErrorBody`): ``detail`` says what went
wrong in a sentence; 503s also name the backing ``service``; 422s list each invalid field.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.observability import UNAVAILABLE

log = logging.getLogger("kol.api")


class ServiceUnavailable(Exception):
    """A backing service (redis, trino, gold, models, key_store) cannot answer right now.

    ``reason`` is what clients read: which dependency and what to do, never where it lives.
    ``internal`` (hosts, URLs, the upstream error's text) goes to the log only."""

    def __init__(
        self, service: str, reason: str, retry_after: int | None = 5, internal: str | None = None
    ) -> None:
        super().__init__(f"{service}: {reason}" + (f" ({internal})" if internal else ""))
        self.service = service
        self.reason = reason
        self.retry_after = retry_after
        self.internal = internal


class NotFound(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidRequest(Exception):
    """A request that passed type validation but asks for something impossible (422)."""

    def __init__(self, field: str, message: str, location: str = "query") -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.location = location


class RateLimited(Exception):
    def __init__(self, limit: int, window_s: int, retry_after: int) -> None:
        super().__init__(f"rate limit of {limit} requests per {window_s}s exceeded")
        self.limit = limit
        self.window_s = window_s
        self.retry_after = retry_after


class Unauthorized(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    # ("query", "limit") -> "limit"; ("body", "features", "followers") -> "features.followers"
    parts = [str(p) for p in loc[1:]] if len(loc) > 1 else [str(p) for p in loc]
    return ".".join(parts) or "request"


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        out.append(
            {
                "field": _field_name(loc),
                "location": str(loc[0]) if loc else "request",
                "message": err.get("msg", "invalid"),
                "type": err.get("type", "value_error"),
            }
        )
    return out


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=body, headers=headers)


async def _service_unavailable(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceUnavailable)
    UNAVAILABLE.labels(exc.service).inc()
    if exc.internal:
        log.warning("%s unavailable on %s: %s", exc.service, request.url.path, exc.internal)
    request.state.unavailable = exc.service
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return _json(
        503,
        {"detail": f"{exc.service} unavailable: {exc.reason}", "service": exc.service},
        headers,
    )


async def _not_found(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NotFound)
    return _json(404, {"detail": exc.detail})


async def _invalid(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidRequest)
    return _json(
        422,
        {
            "detail": f"{exc.field}: {exc.message}",
            "errors": [
                {
                    "field": exc.field,
                    "location": exc.location,
                    "message": exc.message,
                    "type": "value_error",
                }
            ],
        },
    )


async def _rate_limited(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimited)
    return _json(
        429,
        {"detail": f"{exc}; retry in {exc.retry_after}s"},
        {"Retry-After": str(exc.retry_after)},
    )


async def _unauthorized(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Unauthorized)
    return _json(401, {"detail": exc.detail}, {"WWW-Authenticate": "ApiKey"})


async def _request_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = validation_errors(exc)
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    if len(errors) > 5:
        summary += f"; and {len(errors) - 5} more"
    return _json(422, {"detail": f"invalid request: {summary}", "errors": errors})


async def _http_exception(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers) if exc.headers else None
    return _json(exc.status_code, {"detail": str(exc.detail)}, headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _json(500, {"detail": f"internal error ({type(exc).__name__})"})


def install(app: FastAPI) -> None:
    app.add_exception_handler(ServiceUnavailable, _service_unavailable)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(InvalidRequest, _invalid)
    app.add_exception_handler(RateLimited, _rate_limited)
    app.add_exception_handler(Unauthorized, _unauthorized)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(Exception, _unexpected)
