"""Stats: per-platform KPIs of a day, and a summary of the whole platform (Gold + live)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import ApiKeyDep, GoldDep, LiveDep, PlatformQuery
from api.errors import InvalidRequest, ServiceUnavailable
from api.gold import MAX_DAY, MIN_DAY
from api.routes.kols import cache_header
from api.schemas import ERROR_RESPONSES, PlatformStatsList, Summary

router = APIRouter(prefix="/stats", tags=["stats"], responses=ERROR_RESPONSES)


@router.get("/platform", response_model=PlatformStatsList, summary="KPIs per platform for one day")
async def platform_stats(
    _: ApiKeyDep,
    gold: GoldDep,
    response: Response,
    platform: PlatformQuery = None,
    day: Annotated[date | None, Query(description="UTC day; default: the latest in Gold")] = None,
) -> PlatformStatsList:
    if day is not None and not MIN_DAY <= day <= MAX_DAY:
        raise InvalidRequest("day", f"must be between {MIN_DAY} and {MAX_DAY}")
    raw, hit = await gold.platform_stats(platform, day)
    cache_header(response, hit)
    return PlatformStatsList.model_validate_json(raw)


@router.get("/summary", response_model=Summary, summary="Totals from Gold and the live state")
async def summary(_: ApiKeyDep, gold: GoldDep, live: LiveDep) -> Summary:
    body = await gold.summary()
    try:
        body["live"] = await live.summary()
    except ServiceUnavailable as exc:
        body["live"], body["live_unavailable_reason"] = None, exc.reason
    return Summary.model_validate(body)
