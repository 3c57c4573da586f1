"""Trending: the live ranking the stream job keeps in Redis."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from api.deps import ApiKeyDep, LiveDep, PlatformQuery
from api.schemas import ERROR_RESPONSES, JSON, TrendingItem, TrendingList, TrendLabel

router = APIRouter(prefix="/trending", tags=["trending"], responses=ERROR_RESPONSES)

_TEXT_FIELDS = (
    "platform",
    "username",
    "label",
    "window_start",
    "window_end",
    "event_time",
    "updated_at",
)


def trending_item(rank: int, kid: str, score: float, h: dict[str, str]) -> dict[str, Any]:
    """One ranking entry from the creator's score hash (strings) -> typed fields."""
    item: dict[str, Any] = {"rank": rank, "kol_id": kid, "score": round(score, 2)}
    platform, _, username = kid.partition(":")
    item["platform"], item["username"] = platform, username
    for name in TrendingItem.model_fields:
        if name in item or name not in h or h[name] == "":
            continue
        if name in _TEXT_FIELDS:
            item[name] = h[name]
        else:
            try:
                item[name] = float(h[name])
            except ValueError:
                continue
    return item


@router.get("", response_model=TrendingList, summary="Creators by live trending score")
async def get_trending(
    _: ApiKeyDep,
    live: LiveDep,
    platform: PlatformQuery = None,
    label: Annotated[TrendLabel | None, Query(description="Only creators with this label")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    async def read() -> bytes:
        total, entries = await live.trending(platform, label, limit)
        items = [trending_item(*e) for e in entries]
        body = TrendingList.model_validate(
            {"platform": platform, "label": label, "total_ranked": total, "items": items}
        )
        return body.model_dump_json().encode()

    # The JSON itself is what is reused (see live_cache_ms): a reuse costs no serialisation.
    return Response(await live.recent(("trending", platform, label, limit), read), media_type=JSON)
