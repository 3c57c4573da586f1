"""Cache-first reads of Gold answers: Redis first, Trino on a miss, one Trino query per key.

Values are stored as JSON (orjson) behind the time they stay fresh until. A miss is computed once
per key and process even when many requests miss together (single flight), so a cold cache under
load sends Trino one query per answer, not one per request.

An answer past its freshness is still served for ``cache_stale_s`` more (stale while
revalidate) while one background task per key asks Trino again (one across all processes: the
refresh is claimed in Redis first). A hot key that expires must not park every request for it
behind a Trino query (~100 ms-1 s), which is what set the API's p99 before. Redis being down
only disables the cache.

In front of Redis each process keeps fresh answers for ``cache_local_s`` (seconds, against a
Gold that changes daily): the hottest answers then cost no round trip at all.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
from prometheus_client import Counter

from api.live import LiveStore
from kol.settings import ApiSettings

# Bump when the shape of a cached value changes, so a deploy never reads old shapes.
CACHE_VERSION = "v2"

CACHE_LOOKUPS = Counter(
    "kol_api_cache_lookups_total", "Gold cache lookups by result", ["name", "result"]
)
log = logging.getLogger("kol.api")
REFRESH_CLAIM_S = 30


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


def pack(raw: bytes, fresh_until: float) -> bytes:
    return b"%.3f|%b" % (fresh_until, raw)


def unpack(stored: bytes) -> tuple[bytes, float]:
    """(the JSON, the epoch second it is fresh until)."""
    head, _, raw = stored.partition(b"|")
    return raw, float(head)


class GoldCache:
    def __init__(self, settings: ApiSettings, live: LiveStore) -> None:
        self.s = settings
        self.live = live
        self._inflight: dict[str, asyncio.Future[bytes]] = {}
        self._refreshes: dict[str, asyncio.Task[None]] = {}  # key -> its running refresh
        self._local: dict[str, tuple[float, bytes]] = {}  # key -> (monotonic expiry, JSON)

    def _remember(self, key: str, raw: bytes, fresh_until: float) -> None:
        if not self.s.cache_local_s:
            return
        now = time.monotonic()
        if len(self._local) >= self.s.cache_local_max:
            self._local = {k: v for k, v in self._local.items() if v[0] > now}
            if len(self._local) >= self.s.cache_local_max:
                self._local.clear()
        # Never past the answer's freshness in Redis, so the local copy cannot outlive it.
        ttl = min(self.s.cache_local_s, fresh_until - time.time())
        self._local[key] = (now + ttl, raw)

    def key(self, name: str, params: Any) -> str:
        digest = hashlib.sha1(dumps(params), usedforsecurity=False).hexdigest()
        return self.live.keys.cache(f"{CACHE_VERSION}:{self.s.gold_schema}:{name}:{digest}")

    async def get_or_compute(
        self,
        name: str,
        params: Any,
        compute: Callable[[], Awaitable[Any]],
        negative_ttl_s: int | None = None,
    ) -> tuple[bytes, bool]:
        """(the JSON of the answer, whether it came from the cache).

        ``compute`` returns a JSON-able value, or None for "not found", which stays fresh for
        ``negative_ttl_s`` (default ``negative_cache_ttl_s``).
        """
        negative = self.s.negative_cache_ttl_s if negative_ttl_s is None else negative_ttl_s
        if not self.s.cache_enabled:
            return dumps(await compute()), False
        key = self.key(name, params)
        local = self._local.get(key)
        if local is not None and local[0] > time.monotonic():
            CACHE_LOOKUPS.labels(name, "local").inc()
            return local[1], True
        stored = await self.live.cache_get(key)
        if stored is not None:
            raw, fresh_until = unpack(stored)
            if time.time() < fresh_until:
                CACHE_LOOKUPS.labels(name, "hit").inc()
                self._remember(key, raw, fresh_until)
            else:
                CACHE_LOOKUPS.labels(name, "stale").inc()
                if key not in self._inflight and key not in self._refreshes:
                    task = asyncio.get_running_loop().create_task(
                        self._refresh(name, key, compute, negative)
                    )
                    self._refreshes[key] = task
                    task.add_done_callback(lambda _: self._refreshes.pop(key, None))
            return raw, True
        CACHE_LOOKUPS.labels(name, "miss").inc()
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending), False
        return await self._compute(key, compute, negative), False

    async def _compute(
        self, key: str, compute: Callable[[], Awaitable[Any]], negative_ttl_s: int
    ) -> bytes:
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await compute()
            raw = dumps(value)
            fresh = negative_ttl_s if value is None else self.s.cache_ttl_s
            fresh_until = time.time() + fresh
            await self.live.cache_set(key, pack(raw, fresh_until), fresh + self.s.cache_stale_s)
            self._remember(key, raw, fresh_until)
            future.set_result(raw)
            return raw
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

    async def _refresh(
        self, name: str, key: str, compute: Callable[[], Awaitable[Any]], negative_ttl_s: int
    ) -> None:
        try:
            # The claim outlives a normal refresh; if its holder dies, the next try is this late.
            if await self.live.cache_claim(f"{key}:refresh", REFRESH_CLAIM_S):
                await self._compute(key, compute, negative_ttl_s)
        except Exception as exc:  # the stale answer stays; the next stale read tries again
            log.warning("refreshing cached %s failed: %s", name, exc)
