"""Redis: the hot path's live data, the API's response cache and its rate-limit counters.

Key layout read here (``P`` = ``KOL_STREAM_REDIS_PREFIX``, default ``kol:``), written by the
stream job (:mod:`streaming.sinks`) and by batch scoring::

    P trending:<platform>:<username>   hash   latest trending score, label, window metrics
    P trending:rank:<platform>|all     zset   creators (platform:username) by trending score
    P stream:stats                     hash   the stream job's counters, last_commit_at
    P alerts                           stream recent alerts, field "alert" = the alert's JSON
    P scores:<platform>:<username>     hash   batch trust / success scores (fields as in
                                              queries.KOL_SCORES_COLUMNS)

and written by the API itself::

    P api:cache:<version>:<schema>:<name>:<digest>   string  a cached Gold answer (TTL)
    P api:rl:<key id>:<window>                       string  a key's requests in a window

Redis being down must cost live routes a quick 503 and everything else nothing: after a failure
the store stays "open" for ``redis_retry_s`` (no connection attempts, live calls fail at once,
cache lookups are skipped) and then tries again, so the API recovers by itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

import orjson
import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from api.errors import ServiceUnavailable
from kol.redis_keys import RedisKeys
from kol.settings import ApiSettings
from streaming.score import LABELS as TREND_LABELS

log = logging.getLogger("kol.api")

R = TypeVar("R")

_REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError, OSError)

# Alert fields shown at the top level of an alert; the rest goes to `details`.
_ALERT_FIELDS = (
    "alert_id",
    "type",
    "platform",
    "username",
    "event_time",
    "window_start",
    "window_end",
    "value",
    "threshold",
)


# The top of a ranking with each creator's score hash, in one round trip (a pipeline of N
# HGETALLs costs N command round-trips through the client; this costs one).
# KEYS[1] ranking; ARGV: limit, hash key prefix, "all" | "range", min, max, count-above-from.
# Reads hashes by computed names: fine on one Redis, not on Redis Cluster.
TOP_SCRIPT = """
local total = redis.call('ZCARD', KEYS[1])
local above = 0
local members
if ARGV[3] == 'range' then
  members = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[5], ARGV[4], 'WITHSCORES',
                       'LIMIT', 0, tonumber(ARGV[1]))
  if ARGV[6] ~= '' then above = redis.call('ZCOUNT', KEYS[1], ARGV[6], '+inf') end
else
  members = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
end
local out = {total, above}
for i = 1, #members, 2 do
  out[#out + 1] = members[i]
  out[#out + 1] = members[i + 1]
  out[#out + 1] = redis.call('HGETALL', ARGV[2] .. members[i])
end
return out
"""


def decode_hash(raw: dict[bytes, bytes]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in raw.items()}


def label_bounds(label: str, s: ApiSettings) -> tuple[str, str]:
    """ZRANGEBYSCORE bounds (min, max) of a trending label, from the stream's thresholds."""
    st = s.stream
    edges = {
        "Viral": (str(st.viral_at), "+inf"),
        "Hot": (str(st.hot_at), f"({st.viral_at}"),
        "Stable": (str(st.stable_at), f"({st.hot_at}"),
        "Cooling": (str(st.cooling_at), f"({st.stable_at}"),
        "Cold": ("-inf", f"({st.cooling_at}"),
    }
    return edges[label]


def parse_alert(entry_id: str, payload: bytes) -> dict[str, Any] | None:
    try:
        raw = orjson.loads(payload)
    except orjson.JSONDecodeError:
        log.warning("alert %s in Redis is not JSON; skipped", entry_id)
        return None
    if not isinstance(raw, dict) or "key" not in raw:
        return None
    out = {f: raw.get(f) for f in _ALERT_FIELDS}
    out["kol_id"] = raw["key"]
    out["alert_id"] = out["alert_id"] or entry_id
    known = {*_ALERT_FIELDS, "key"}
    out["details"] = {k: v for k, v in raw.items() if k not in known}
    return out


class LiveStore:
    def __init__(self, settings: ApiSettings) -> None:
        self.s = settings
        core = settings.core
        self.keys = RedisKeys(settings.redis_prefix, alerts_key=settings.alerts_key)
        self.r = aioredis.Redis.from_url(
            core.redis_url,
            socket_timeout=settings.redis_timeout_s,
            socket_connect_timeout=settings.redis_timeout_s,
            # One retry: a pooled connection that died with a Redis restart reconnects once.
            retry=Retry(NoBackoff(), 1),
            max_connections=256,
        )
        self._open_until = 0.0
        self._reason = ""
        self._top = self.r.register_script(TOP_SCRIPT)
        self._recent: dict[Hashable, tuple[float, Any]] = {}

    async def recent(self, key: Hashable, compute: Callable[[], Awaitable[R]]) -> R:
        """``compute()``, reused for ``live_cache_ms`` in this process (see the setting)."""
        ttl = self.s.live_cache_ms / 1000
        if not ttl:
            return await compute()
        now = time.monotonic()
        hit = self._recent.get(key)
        if hit is not None and hit[0] > now:
            value: R = hit[1]
            return value
        result = await compute()
        if len(self._recent) > 1000:
            self._recent = {k: v for k, v in self._recent.items() if v[0] > now}
            if len(self._recent) > 1000:  # all fresh: start over rather than sweep every call
                self._recent.clear()
        self._recent[key] = (now + ttl, result)
        return result

    async def close(self) -> None:
        await self.r.aclose()

    # ---- failure handling ------------------------------------------------------------------
    @property
    def available(self) -> bool:
        return time.monotonic() >= self._open_until

    def _trip(self, exc: BaseException) -> ServiceUnavailable:
        core = self.s.core
        self._reason = "Redis does not answer"
        if self.available:
            log.warning(
                "redis at %s:%s unavailable: %s: %s",
                core.redis_host,
                core.redis_port,
                type(exc).__name__,
                str(exc)[:200],
            )
        self._open_until = time.monotonic() + self.s.redis_retry_s
        return ServiceUnavailable("redis", self._reason, retry_after=1)

    async def call(self, fn: Callable[[], Awaitable[R]]) -> R:
        """Run one Redis interaction; 503 (ServiceUnavailable) if Redis is down."""
        if not self.available:
            raise ServiceUnavailable("redis", self._reason, retry_after=1)
        try:
            return await fn()
        except _REDIS_DOWN as exc:
            raise self._trip(exc) from exc

    async def ping(self) -> str:
        info = await self.call(lambda: self.r.info("server"))
        return f"redis {info.get('redis_version')}"

    # ---- response cache (never fails a request) -------------------------------------------
    async def cache_get(self, key: str) -> bytes | None:
        if not self.available:
            return None
        try:
            value = await self.r.get(key)
            return value if isinstance(value, bytes) else None
        except _REDIS_DOWN as exc:
            self._trip(exc)
            return None

    async def cache_set(self, key: str, value: bytes, ttl_s: int) -> None:
        if not self.available:
            return
        try:
            await self.r.set(key, value, ex=ttl_s)
        except _REDIS_DOWN as exc:
            self._trip(exc)

    async def cache_claim(self, key: str, ttl_s: int) -> bool:
        """True for the one caller (across processes) that gets ``key`` for ``ttl_s``."""
        if not self.available:
            return False
        try:
            return bool(await self.r.set(key, b"1", nx=True, ex=ttl_s))
        except _REDIS_DOWN as exc:
            self._trip(exc)
            return False

    async def cache_clear(self) -> int:
        deleted = 0
        async for name in self.r.scan_iter(match=self.keys.cache("*"), count=1000):
            deleted += await self.r.delete(name)
        return deleted

    # ---- rate limits ----------------------------------------------------------------------
    async def incr_window(self, key: str, ttl_s: int, by: int = 1) -> int:
        async def run() -> int:
            async with self.r.pipeline(transaction=False) as pipe:
                pipe.incrby(key, by)
                pipe.expire(key, ttl_s)
                count, _ = await pipe.execute()
            return int(count)

        return await self.call(run)

    # ---- live reads -----------------------------------------------------------------------
    async def trending(
        self, platform: str | None, label: str | None, limit: int
    ) -> tuple[int, list[tuple[int, str, float, dict[str, str]]]]:
        """(creators in the ranking, [(rank, kol_id, score, score hash)]) best first."""
        if label is None:
            args: list[str | int] = [limit, self.keys.trending(""), "all", "", "", ""]
        else:
            lo, hi = label_bounds(label, self.s)
            # hi is "(x": every creator scoring x or more ranks above the label's first one.
            above_from = "" if hi == "+inf" else hi[1:]
            args = [limit, self.keys.trending(""), "range", lo, hi, above_from]

        async def run() -> list[Any]:
            res: list[Any] = await self._top(keys=[self.keys.rank(platform)], args=args)
            return res

        res = await self.call(run)
        total, above = int(res[0]), int(res[1])
        out = []
        for i in range(0, len(res) - 2, 3):
            member, score, flat = res[2 + i : 5 + i]
            if flat:  # a hash that expired before its ranking entry is skipped
                fields = {flat[j].decode(): flat[j + 1].decode() for j in range(0, len(flat), 2)}
                out.append((above + i // 3 + 1, member.decode(), float(score), fields))
        return total, out

    async def creator(self, kol_id: str) -> tuple[dict[str, str], dict[str, str]]:
        """(trending hash, batch score hash) of one creator; empty dicts when absent."""

        async def run() -> tuple[dict[str, str], dict[str, str]]:
            async with self.r.pipeline(transaction=False) as pipe:
                pipe.hgetall(self.keys.trending(kol_id))
                pipe.hgetall(self.keys.scores(kol_id))
                trending, scores = await pipe.execute()
            return decode_hash(trending), decode_hash(scores)

        return await self.recent(("creator", kol_id), lambda: self.call(run))

    async def trending_scores(self, kol_ids: list[str]) -> dict[str, float]:
        """Live trending score of each creator that has one."""
        if not kol_ids:
            return {}

        async def run() -> dict[str, float]:
            scores = await self.r.zmscore(self.keys.rank(), kol_ids)
            return {k: float(v) for k, v in zip(kol_ids, scores, strict=True) if v is not None}

        return await self.call(run)

    async def alerts(
        self,
        limit: int,
        platform: str | None = None,
        alert_type: str | None = None,
        kol_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """Most recent alerts first, filtered (over the newest ``alerts_scan_max`` entries)."""
        filtered = platform is not None or alert_type is not None or kol_id is not None
        count = self.s.alerts_scan_max if filtered else limit

        async def run() -> list[Any]:
            entries = await self.r.xrevrange(self.keys.alerts, count=count)
            return list(entries or [])

        entries = await self.call(run)
        out: list[dict[str, Any]] = []
        for entry_id, fields in entries:
            payload = fields.get(b"alert")
            if payload is None:
                continue
            alert = parse_alert(entry_id.decode(), payload)
            if alert is None:
                continue
            if platform is not None and alert["platform"] != platform:
                continue
            if alert_type is not None and alert["type"] != alert_type:
                continue
            if kol_id is not None and alert["kol_id"] != kol_id:
                continue
            out.append(alert)
            if len(out) >= limit:
                break
        return out

    async def summary(self) -> dict[str, Any]:
        """Live counts for /stats/summary: ranked creators by label, alerts, last commit."""
        rank = self.keys.rank()

        async def run() -> list[Any]:
            async with self.r.pipeline(transaction=False) as pipe:
                pipe.zcard(rank)
                for label in TREND_LABELS:
                    lo, hi = label_bounds(label, self.s)
                    pipe.zcount(rank, lo, hi)
                pipe.hget(self.keys.stats, "last_commit_at")
                pipe.xlen(self.keys.alerts)
                res: list[Any] = await pipe.execute()
            return res

        res = await self.call(run)
        return {
            "ranked_creators": int(res[0]),
            "by_label": {lab: int(n) for lab, n in zip(TREND_LABELS, res[1:6], strict=True)},
            "last_commit_at": res[6].decode() if res[6] else None,
            "recent_alerts": int(res[7]),
        }
