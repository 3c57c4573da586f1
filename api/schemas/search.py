"""Search by name: creators and products."""

from __future__ import annotations

from datetime import datetime
from typing import Generic

from api.schemas.common import Out, T


class KolHit(Out):
    kol_id: str
    platform: str
    username: str
    nickname: str | None = None
    niche: str | None = None
    followers: int | None = None


class ProductHit(Out):
    product_id: str
    product_title: str | None = None
    category: str | None = None
    seller_id: str | None = None
    currency: str | None = None
    current_price: float | None = None
    featuring_kols: int | None = None
    last_seen_at: datetime | None = None


class SearchResult(Out, Generic[T]):
    query: str
    items: list[T]
