"""Cache-first reads of Gold answers: Redis first, Trino on a miss, one Trino query per key.

Values are stored as JSON (orjson) with a TTL from settings. A miss is computed once per key and
process even when many requests miss together (single flight), so a cold cache under load sends
Trino one query per answer, not one per request. Redis being down only disables the cache.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from prometheus_client import Counter

from api.live import LiveStore
from api.settings import ApiSettings

# Bump when the shape of a cached value changes, so a deploy never reads old shapes.
CACHE_VERSION = "v1"

CACHE_LOOKUPS = Counter("kol_api_cache_lookups_total", "Gold cache lookups", ["name", "result"])

# Stored for "no such row" answers (e.g. an unknown creator), cached for a shorter time.
MISSING = b"null"


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(value)
    raise TypeError(f"cannot cache {type(value).__name__}")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default)


class GoldCache:
    def __init__(self, settings: ApiSettings, live: LiveStore) -> None:
        self.s = settings
        self.live = live
        self._inflight: dict[str, asyncio.Future[bytes]] = {}

    def key(self, name: str, params: Any) -> str:
        digest = hashlib.sha1(dumps(params), usedforsecurity=False).hexdigest()
        return self.live.keys.cache(f"{CACHE_VERSION}:{self.s.gold_schema}:{name}:{digest}")

    async def get_or_compute(
        self, name: str, params: Any, compute: Callable[[], Awaitable[Any]]
    ) -> tuple[bytes, bool]:
        """(the JSON of the answer, whether it came from the cache).

        ``compute`` returns a JSON-able value, or None for "not found" (cached for
        ``negative_cache_ttl_s``).
        """
        if not self.s.cache_enabled:
            return dumps(await compute()), False
        key = self.key(name, params)
        hit = await self.live.cache_get(key)
        if hit is not None:
            CACHE_LOOKUPS.labels(name, "hit").inc()
            return hit, True
        CACHE_LOOKUPS.labels(name, "miss").inc()
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending), False
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await compute()
            raw = dumps(value)
            ttl = self.s.negative_cache_ttl_s if value is None else self.s.cache_ttl_s
            await self.live.cache_set(key, raw, ttl)
            future.set_result(raw)
            return raw, False
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            # The waiters (if any) get the exception; without waiters it must not be "unread".
            future.exception()
            raise
        finally:
            del self._inflight[key]
