"""Search: creators by username, nickname or niche; products by title, category or id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import NOT_BLANK, ApiKeyDep, GoldDep
from api.routes.kols import cache_header
from api.schemas import ERROR_RESPONSES, KolHit, ProductHit, SearchResult

router = APIRouter(prefix="/search", tags=["search"], responses=ERROR_RESPONSES)

# At least two non-blank characters (the pattern is searched, not anchored): one letter matches
# half the catalogue.
Q = Annotated[
    str,
    Query(
        min_length=2,
        max_length=100,
        pattern=rf"{NOT_BLANK}[\s\S]*{NOT_BLANK}",
        description="Text to look for (two or more non-blank characters)",
    ),
]
Limit = Annotated[int, Query(ge=1, le=100)]


def clean_query(q: str) -> str:
    """Blanks collapsed, so "minh   anh" finds "minh anh"."""
    return " ".join(q.split())


@router.get("/kols", response_model=SearchResult[KolHit], summary="Find creators")
async def search_kols(
    _: ApiKeyDep, gold: GoldDep, response: Response, q: Q, limit: Limit = 20
) -> SearchResult[KolHit]:
    raw, hit = await gold.search_kols(clean_query(q), limit)
    cache_header(response, hit)
    return SearchResult[KolHit].model_validate_json(raw)


@router.get("/products", response_model=SearchResult[ProductHit], summary="Find products")
async def search_products(
    _: ApiKeyDep, gold: GoldDep, response: Response, q: Q, limit: Limit = 20
) -> SearchResult[ProductHit]:
    raw, hit = await gold.search_products(clean_query(q), limit)
    cache_header(response, hit)
    return SearchResult[ProductHit].model_validate_json(raw)
