"""Alerts: the most recent alerts of the hot path (follower jumps, engagement spikes, bursts)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import HANDLE, ApiKeyDep, LiveDep, PlatformQuery
from api.errors import InvalidRequest
from api.schemas import ERROR_RESPONSES, AlertList

router = APIRouter(prefix="/alerts", tags=["alerts"], responses=ERROR_RESPONSES)

AlertType = Literal["follower_jump", "engagement_spike", "comment_burst"]


@router.get("", response_model=AlertList, summary="Recent alerts, newest first")
async def get_alerts(
    _: ApiKeyDep,
    live: LiveDep,
    platform: PlatformQuery = None,
    type: Annotated[AlertType | None, Query(description="Only this kind")] = None,
    username: Annotated[
        str | None, Query(min_length=1, max_length=100, pattern=HANDLE, description="Handle")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AlertList:
    if username is not None and platform is None:
        raise InvalidRequest("username", "needs platform too (a handle is unique per platform)")
    kid = f"{platform}:{username}" if username is not None else None
    items = await live.alerts(limit, platform, type, kid)
    return AlertList.model_validate({"items": items})
