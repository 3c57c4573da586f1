"""Health (no API key): liveness, readiness of each backing service, Prometheus metrics."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from api import queries as Q
from api.deps import GoldDep, KeyRingDep, LiveDep, ModelsDep, SettingsDep
from api.errors import ServiceUnavailable
from api.observability import METRICS_CONTENT_TYPE, metrics_payload
from api.schemas import Check, Liveness, Readiness

log = logging.getLogger("kol.api")
router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Liveness, summary="The process is up")
async def healthz() -> Liveness:
    return Liveness()


async def _check(probe: Awaitable[str], timeout_s: float) -> Check:
    start = time.perf_counter()
    try:
        detail = await asyncio.wait_for(probe, timeout_s)
        ok = True
    except ServiceUnavailable as exc:
        detail, ok = exc.reason, False
    except TimeoutError:
        detail, ok = f"no answer within {timeout_s:g}s", False
    except Exception as exc:  # its text may name hosts; the log has it
        log.warning("readiness probe failed: %s: %s", type(exc).__name__, exc)
        detail, ok = f"failed ({type(exc).__name__})", False
    return Check(ok=ok, detail=detail, latency_ms=round((time.perf_counter() - start) * 1000, 2))


async def _gold_detail(gold: GoldDep) -> str:
    cat = await gold.catalog(fresh=True)
    missing = cat.missing(*Q.CORE_TABLES)
    if missing:
        raise ServiceUnavailable("gold", f"not built in {gold.g}: {', '.join(missing)}")
    extras = [
        name
        for name, present in (("kol_scores", cat.has_scores), ("dim_kols.niche", cat.has_niche))
        if not present
    ]
    detail = f"{len(Q.CORE_TABLES)} marts in {gold.g}"
    return detail + (f" (not yet: {', '.join(extras)})" if extras else "")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Each backing service, checked now",
    responses={503: {"model": Readiness, "description": "Redis, Trino or the key store is down"}},
)
async def readyz(
    request: Request,
    settings: SettingsDep,
    live: LiveDep,
    gold: GoldDep,
    models: ModelsDep,
    keyring: KeyRingDep,
) -> Response:
    cached: tuple[float, Readiness] | None = getattr(request.app.state, "readiness", None)
    if cached is None or time.monotonic() - cached[0] >= settings.readyz_cache_s:
        cached = (time.monotonic(), await _readiness(settings, live, gold, models, keyring))
        request.app.state.readiness = cached
    body = cached[1]
    return JSONResponse(
        body.model_dump(mode="json"), status_code=503 if body.status == "unavailable" else 200
    )


async def _readiness(
    settings: SettingsDep, live: LiveDep, gold: GoldDep, models: ModelsDep, keyring: KeyRingDep
) -> Readiness:
    redis_check, trino_check = await asyncio.gather(
        _check(live.ping(), settings.redis_timeout_s * 4),
        _check(gold.ping(), settings.trino_timeout_s),
    )
    gold_check = (
        await _check(_gold_detail(gold), settings.trino_timeout_s)
        if trino_check.ok
        else Check(ok=False, detail="Trino is down")
    )
    keys_ok, keys_detail = keyring.status
    checks = {
        "redis": redis_check,
        "trino": trino_check,
        "gold": gold_check,
        "key_store": Check(ok=keys_ok, detail=keys_detail),
    }
    statuses = models.statuses()
    if not (redis_check.ok and trino_check.ok and keys_ok):
        status = "unavailable"
    elif gold_check.ok and all(m["available"] for m in statuses):
        status = "ok"
    else:
        status = "degraded"
    return Readiness(status=status, checks=checks, models=statuses)  # type: ignore[arg-type]


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(metrics_payload(), media_type=METRICS_CONTENT_TYPE)
