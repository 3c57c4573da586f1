"""Creators: the list, a profile with its latest scores, videos, products, daily metrics and
how its engagement compares with creators of its size."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Response

from api.deps import (
    ApiKeyDep,
    GoldDep,
    Limit,
    LiveDep,
    Offset,
    PlatformPath,
    PlatformQuery,
    SettingsDep,
    UsernamePath,
    kol_id,
)
from api.errors import InvalidRequest, NotFound, ServiceUnavailable
from api.gold import GoldReader
from api.queries import KolFilter
from api.schemas import (
    ERROR_RESPONSES,
    JSON,
    NOT_FOUND,
    KolProduct,
    KolProfile,
    KolSummary,
    Page,
    PeerBenchmark,
    Timeseries,
    Video,
)
from api.scoring import read_scores
from kol.settings import ApiSettings

router = APIRouter(prefix="/kols", tags=["creators"], responses=ERROR_RESPONSES)

Sort = Literal["followers", "engagement", "trust", "trending"]


def page_bounds(limit: int | None, offset: int, s: ApiSettings) -> int:
    """The page size to use; 422 beyond the configured maxima."""
    if limit is not None and limit > s.max_page_size:
        raise InvalidRequest("limit", f"at most {s.max_page_size} items per page")
    if offset > s.max_offset:
        raise InvalidRequest("offset", f"at most {s.max_offset}")
    return limit or s.default_page_size


def cache_header(response: Response, hit: bool) -> None:
    response.headers["X-Cache"] = "hit" if hit else "miss"


def sort_by_trending(items: list[dict[str, Any]], scores: dict[str, float]) -> list[dict[str, Any]]:
    """Highest live score first; creators without one after, in kol_id order."""
    ranked = sorted(
        (i for i in items if i["kol_id"] in scores),
        key=lambda i: (-scores[i["kol_id"]], i["kol_id"]),
    )
    rest = sorted((i for i in items if i["kol_id"] not in scores), key=lambda i: i["kol_id"])
    return ranked + rest


@router.get("", response_model=Page[KolSummary], summary="Creators, filtered and sorted")
async def list_kols(
    _: ApiKeyDep,
    settings: SettingsDep,
    gold: GoldDep,
    live: LiveDep,
    response: Response,
    platform: PlatformQuery = None,
    niche: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    min_followers: Annotated[int | None, Query(ge=0, le=10**13)] = None,
    max_followers: Annotated[int | None, Query(ge=0, le=10**13)] = None,
    trust_label: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    sort: Annotated[Sort, Query(description="Descending; trending = live score")] = "followers",
    limit: Limit = None,
    offset: Offset = 0,
) -> Page[KolSummary]:
    size = page_bounds(limit, offset, settings)
    if min_followers is not None and max_followers is not None and min_followers > max_followers:
        raise InvalidRequest("min_followers", "must not be greater than max_followers")
    f = KolFilter(platform, niche, min_followers, max_followers, trust_label)
    raw, hit = await gold.kols(f, sort, size, offset)
    cache_header(response, hit)
    data = orjson.loads(raw)
    items: list[dict[str, Any]] = data["items"]
    if sort == "trending":
        # Ordering needs Redis: here its absence is a 503 (raised by trending_scores).
        scores = await live.trending_scores([i["kol_id"] for i in items])
        items = sort_by_trending(items, scores)[offset : offset + size]
    else:
        try:
            scores = await live.trending_scores([i["kol_id"] for i in items])
        except ServiceUnavailable:
            scores = {}  # decoration only: the Gold answer stands without it
    for item in items:
        item["trending_score"] = scores.get(item["kol_id"])
    return Page[KolSummary].model_validate(
        {"items": items, "total": data["total"], "limit": size, "offset": offset}
    )


async def gold_profile(gold: GoldReader, kid: str) -> dict[str, Any]:
    row = await gold.profile(kid)
    if row is None:
        raise NotFound(f"unknown creator {kid}")
    return row


def profile_body(row: dict[str, Any], scores: dict[str, Any]) -> dict[str, Any]:
    metrics = {
        k: row.get(k)
        for k in (
            "followers",
            "following",
            "total_likes",
            "posts",
            "followers_delta",
            "engagement_rate",
            "engagement_rate_by_followers",
            "views_per_follower",
        )
    }
    metrics["as_of"] = row.get("metrics_as_of")
    ranks = {
        k: row.get(k)
        for k in (
            "followers_rank",
            "growth_rank",
            "views_rank",
            "engagement_rank",
            "followers_gained_7d",
            "views_gained_7d",
        )
    }
    ranks["as_of"] = row.get("ranks_as_of")
    return {**row, "metrics": metrics, "ranks": ranks, "scores": scores}


@router.get(
    "/{platform}/{username}",
    response_model=KolProfile,
    responses=NOT_FOUND,
    summary="A creator's profile, latest metrics and scores",
)
async def get_kol(
    _: ApiKeyDep,
    settings: SettingsDep,
    gold: GoldDep,
    live: LiveDep,
    platform: PlatformPath,
    username: UsernamePath,
) -> Response:
    kid = kol_id(platform, username)
    # Independent reads (three Redis round trips when cached): side by side, not one by one.
    row, scores = await asyncio.gather(
        gold_profile(gold, kid), read_scores(kid, live, gold, settings)
    )
    # Validated here once; returned as a Response, FastAPI would otherwise validate it again.
    body = KolProfile.model_validate(profile_body(row, scores))
    return Response(body.model_dump_json(), media_type=JSON)


@router.get(
    "/{platform}/{username}/videos",
    response_model=Page[Video],
    responses=NOT_FOUND,
    summary="A creator's videos, newest first, with their latest counters",
)
async def kol_videos(
    _: ApiKeyDep,
    settings: SettingsDep,
    gold: GoldDep,
    response: Response,
    platform: PlatformPath,
    username: UsernamePath,
    limit: Limit = None,
    offset: Offset = 0,
) -> Page[Video]:
    size = page_bounds(limit, offset, settings)
    kid = kol_id(platform, username)
    await gold_profile(gold, kid)
    raw, hit = await gold.videos(kid, size, offset)
    cache_header(response, hit)
    return Page[Video].model_validate_json(raw)


@router.get(
    "/{platform}/{username}/products",
    response_model=Page[KolProduct],
    responses=NOT_FOUND,
    summary="Products a creator featured, by sales value",
)
async def kol_products(
    _: ApiKeyDep,
    settings: SettingsDep,
    gold: GoldDep,
    response: Response,
    platform: PlatformPath,
    username: UsernamePath,
    limit: Limit = None,
    offset: Offset = 0,
) -> Page[KolProduct]:
    size = page_bounds(limit, offset, settings)
    kid = kol_id(platform, username)
    await gold_profile(gold, kid)
    raw, hit = await gold.products(kid, size, offset)
    cache_header(response, hit)
    return Page[KolProduct].model_validate_json(raw)


@router.get(
    "/{platform}/{username}/timeseries",
    response_model=Timeseries,
    responses=NOT_FOUND,
    summary="A creator's daily metrics over a date range (default: the last 30 days)",
)
async def kol_timeseries(
    _: ApiKeyDep,
    gold: GoldDep,
    response: Response,
    platform: PlatformPath,
    username: UsernamePath,
    start: Annotated[date | None, Query(description="First day (UTC), inclusive")] = None,
    end: Annotated[date | None, Query(description="Last day (UTC), inclusive")] = None,
) -> Timeseries:
    kid = kol_id(platform, username)
    await gold_profile(gold, kid)
    raw, hit = await gold.timeseries(kid, start, end)
    cache_header(response, hit)
    return Timeseries.model_validate_json(raw)


@router.get(
    "/{platform}/{username}/peers",
    response_model=PeerBenchmark,
    responses=NOT_FOUND,
    summary="A creator's engagement rate against creators of similar size on its platform",
)
async def kol_peers(
    _: ApiKeyDep,
    gold: GoldDep,
    response: Response,
    platform: PlatformPath,
    username: UsernamePath,
    band: Annotated[
        float,
        Query(
            gt=1,
            le=10,
            description="Peers have between followers / band and followers x band followers",
        ),
    ] = 2.0,
) -> PeerBenchmark:
    kid = kol_id(platform, username)
    await gold_profile(gold, kid)
    raw, hit = await gold.peers(kid, platform, band)
    cache_header(response, hit)
    return PeerBenchmark.model_validate_json(raw)
