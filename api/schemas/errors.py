"""The error body every route may answer with, and the responses the OpenAPI schema lists."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from api.schemas.common import Out


class FieldError(Out):
    field: str = Field(description="The offending field, e.g. `limit` or `features.followers`.")
    location: str = Field(description="query, path, body or header.")
    message: str
    type: str


class ErrorBody(Out):
    detail: str = Field(description="What went wrong, in a sentence.")
    service: str | None = Field(
        default=None, description="For 503: the backing service that is unavailable."
    )
    errors: list[FieldError] | None = Field(default=None, description="For 422: each field.")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or unknown API key"},
    422: {"model": ErrorBody, "description": "Invalid request"},
    429: {"model": ErrorBody, "description": "Rate limit exceeded (see Retry-After)"},
    503: {"model": ErrorBody, "description": "A backing service is unavailable"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "Unknown creator"}
}
