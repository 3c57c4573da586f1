"""Liveness and readiness: the backing services' checks and the served models' state."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from api.schemas.common import Out, ServedKind


class Liveness(Out):
    status: Literal["ok"] = "ok"


class Check(Out):
    ok: bool
    detail: str
    latency_ms: float | None = None


class ModelStatus(Out):
    kind: ServedKind
    name: str
    alias: str
    available: bool
    version: str | None = None
    loaded_at: datetime | None = None
    detail: str


class Readiness(Out):
    status: Literal["ok", "degraded", "unavailable"] = Field(
        description="ok: everything answers; degraded: some routes answer 503 (see checks); "
        "unavailable: Redis, Trino or the key store is down."
    )
    checks: dict[str, Check]
    models: list[ModelStatus]
