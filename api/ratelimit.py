"""Per-key rate limits: a fixed window counted in Redis (shared by every worker and host).

Each process claims a key's requests from Redis in small batches (``INCRBY``: 1 % of the limit,
at most 100) and spends them locally, so a busy key costs one Redis round trip per batch rather
than per request. Nothing beyond the limit is ever admitted; a batch claimed by one worker and not
used within the window can make another worker refuse early, by at most (workers - 1) batches.
Once the window's limit is exhausted a process refuses locally until the window ends.

While Redis is down each process counts in memory instead: limits then hold per process rather
than in total, which beats both refusing every request and not limiting at all.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from prometheus_client import Counter

from api.errors import ServiceUnavailable
from api.live import LiveStore
from kol.settings import ApiSettings

FALLBACKS = Counter(
    "kol_api_rate_limit_local_total", "Rate-limit decisions taken in memory (Redis down)"
)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    retry_after: int  # seconds until the window resets


def decide(count: int, limit: int, now: float, window_s: int) -> Decision:
    reset = math.ceil((math.floor(now / window_s) + 1) * window_s - now)
    return Decision(count <= limit, limit, max(0, limit - count), max(1, reset))


def claim_size(limit: int, share: float) -> int:
    return max(1, min(100, int(limit * share)))


@dataclass
class _Claim:
    window: int
    tokens: int = 0  # claimed in Redis, not spent yet
    total: int = 0  # the window's count in Redis after this process's last claim
    exhausted: bool = False


class RateLimiter:
    def __init__(self, settings: ApiSettings, live: LiveStore) -> None:
        self.s = settings
        self.live = live
        self._claims: dict[str, _Claim] = {}
        self._local: dict[tuple[str, int], int] = {}

    async def hit(self, key_id: str, limit: int | None = None) -> Decision:
        limit = limit or self.s.rate_limit_requests
        window_s = self.s.rate_limit_window_s
        now = time.time()
        window = int(now // window_s)
        refused = decide(limit + 1, limit, now, window_s)
        claim = self._claims.get(key_id)
        if claim is None or claim.window != window:
            if len(self._claims) > 10_000:
                self._claims = {k: c for k, c in self._claims.items() if c.window == window}
            claim = self._claims[key_id] = _Claim(window)
        if claim.exhausted:
            return refused
        if claim.tokens == 0:
            size = claim_size(limit, self.s.rate_limit_claim_share)
            try:
                total = await self.live.incr_window(
                    self.live.keys.rate(key_id, window), window_s + 1, size
                )
            except ServiceUnavailable:
                FALLBACKS.inc()
                return decide(self._local_hit(key_id, window), limit, now, window_s)
            claim.tokens = max(0, min(size, limit - (total - size)))
            claim.total = total
            if claim.tokens == 0:
                claim.exhausted = True
                return refused
        claim.tokens -= 1
        remaining = max(0, limit - claim.total + claim.tokens)
        return decide(limit - remaining, limit, now, window_s)

    def _local_hit(self, key_id: str, window: int) -> int:
        if len(self._local) > 10_000 or any(w != window for _, w in list(self._local)[:1]):
            self._local = {k: v for k, v in self._local.items() if k[1] == window}
        count = self._local.get((key_id, window), 0) + 1
        self._local[(key_id, window)] = count
        return count
