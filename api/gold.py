"""Gold reads through Trino: parameterised queries (api.queries) in worker threads, cached.

Trino's Python client is synchronous, so every query runs in a thread, at most
``trino_concurrency`` at a time. Failures become 503s with a reason: ``trino`` when Trino does
not answer, ``gold`` when it answers but the marts are not built (yet) as the API expects.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import anyio
import orjson
import requests
import trino
from trino.exceptions import HttpError, TrinoConnectionError, TrinoQueryError, TrinoUserError

from api import queries as Q
from api.cache import GoldCache
from api.errors import InvalidRequest, ServiceUnavailable
from kol.settings import ApiSettings
from kol.trino import trino_connection

log = logging.getLogger("kol.api")

# Days the API accepts (keeps date arithmetic on defaults far from date.min / date.max).
MIN_DAY = date(2000, 1, 1)
MAX_DAY = date(2100, 12, 31)

_NOT_BUILT = {"TABLE_NOT_FOUND", "SCHEMA_NOT_FOUND", "COLUMN_NOT_FOUND", "CATALOG_NOT_FOUND"}
_UNREACHABLE = (
    TrinoConnectionError,
    HttpError,
    requests.exceptions.RequestException,
    OSError,
    TimeoutError,
)


def _row(names: list[str], values: Any) -> dict[str, Any]:
    return {
        n: float(v) if isinstance(v, Decimal) else v for n, v in zip(names, values, strict=True)
    }


def map_trino_error(exc: Exception, s: ApiSettings) -> ServiceUnavailable | None:
    """The 503 a Trino failure deserves, or None for a genuine bug (answered 500)."""
    if isinstance(exc, TrinoUserError) and exc.error_name in _NOT_BUILT:
        return ServiceUnavailable(
            "gold",
            "Gold is not built as the API expects (run the daily pipeline or `dbt build`)",
            retry_after=60,
            internal=f"{s.gold_table_prefix}: {exc.message}",
        )
    if isinstance(exc, TrinoQueryError) and exc.error_type in (
        "INSUFFICIENT_RESOURCES",
        "EXTERNAL",
        "INTERNAL_ERROR",
    ):
        return ServiceUnavailable(
            "trino", f"Trino could not run the query ({exc.error_name})", internal=exc.message
        )
    if isinstance(exc, _UNREACHABLE):
        return ServiceUnavailable(
            "trino",
            "Trino does not answer",
            internal=f"{s.core.trino_url}: {type(exc).__name__}: {str(exc)[:200]}",
        )
    return None


class GoldReader:
    def __init__(self, settings: ApiSettings, cache: GoldCache) -> None:
        self.s = settings
        self.cache = cache
        self.g = settings.gold_table_prefix
        self._limiter: anyio.CapacityLimiter | None = None
        self._catalog: Q.GoldCatalog | None = None
        self._catalog_at = 0.0
        self._open_until = 0.0
        self._reason = ""
        self._probing = False
        self._tasks: set[asyncio.Task[None]] = set()

    # ---- execution ------------------------------------------------------------------------
    def _connect(self) -> trino.dbapi.Connection:
        # Address, scheme and credentials as every client of the platform (kol.trino).
        return trino_connection(
            self.s.core,
            request_timeout=self.s.trino_timeout_s,
            # Fail fast (the caller answers 503); and never probe for EXECUTE IMMEDIATE, whose
            # failed probe while Trino is down would stick for an hour.
            max_attempts=1,
            legacy_prepared_statements=False,
        )

    def execute(self, query: Q.Query) -> list[dict[str, Any]]:
        """Run one statement in this thread; rows as dicts (decimals as floats)."""
        sql, params = query
        conn = self._connect()
        try:
            cur = conn.cursor()
            cur.execute(sql, params or None)
            rows = cur.fetchall()
            names = [d[0] for d in cur.description or []]
        finally:
            conn.close()
        return [_row(names, r) for r in rows]

    async def rows(self, query: Q.Query) -> list[dict[str, Any]]:
        if time.monotonic() < self._open_until:
            raise ServiceUnavailable("trino", self._reason)
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.s.trino_concurrency)
        try:
            return await anyio.to_thread.run_sync(self.execute, query, limiter=self._limiter)
        except Exception as exc:
            mapped = map_trino_error(exc, self.s)
            if mapped is None:
                raise
            if mapped.service == "trino":
                # Skip Trino for a moment instead of paying a timeout on every request.
                self._reason = mapped.reason
                self._open_until = time.monotonic() + 2.0
                log.warning("trino unavailable: %s (%s)", mapped.reason, mapped.internal)
            raise mapped from exc

    async def ping(self) -> str:
        await self.rows(Q.ping())
        return "trino answers"

    async def catalog(self, fresh: bool = False) -> Q.GoldCatalog:
        """Gold's tables and columns.

        Looked up once, then refreshed in the background when older than ``gold_probe_ttl_s``
        (a request never waits for the lookup after the first), or at once with ``fresh``.
        """
        if fresh or self._catalog is None:
            return await self._load_catalog()
        if time.monotonic() - self._catalog_at > self.s.gold_probe_ttl_s and not self._probing:
            self._probing = True
            task = asyncio.get_running_loop().create_task(self._load_catalog_quietly())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return self._catalog

    async def _load_catalog(self) -> Q.GoldCatalog:
        catalog, schema = self.s.core.trino_catalog, self.s.gold_schema
        # Trino takes seconds to list the columns of a schema that does not exist: ask first.
        exists = await self.rows(Q.schema_exists(catalog, schema))
        rows = await self.rows(Q.catalog_columns(catalog, schema)) if exists else []
        tables: dict[str, set[str]] = {}
        for r in rows:
            tables.setdefault(r["table_name"], set()).add(r["column_name"])
        self._catalog = Q.GoldCatalog({t: frozenset(c) for t, c in tables.items()})
        self._catalog_at = time.monotonic()
        return self._catalog

    async def _load_catalog_quietly(self) -> None:
        try:
            await self._load_catalog()
        except Exception as exc:  # the next request tries again; the old view stays
            log.warning("Gold catalog refresh failed: %s", exc)
            self._catalog_at = time.monotonic()
        finally:
            self._probing = False

    async def require(self, *tables: str) -> Q.GoldCatalog:
        cat = await self.catalog()
        missing = cat.missing(*tables)
        if missing and time.monotonic() - self._catalog_at > 5.0:
            # A table may have appeared since the last look: ask again before saying no (at
            # most every few seconds, so requests for a missing mart do not each query Trino).
            cat = await self.catalog(fresh=True)
            missing = cat.missing(*tables)
        if missing:
            raise ServiceUnavailable(
                "gold",
                f"Gold table(s) {', '.join(missing)} not built yet in {self.g} "
                "(run the daily pipeline or `dbt build`)",
                retry_after=60,
            )
        return cat

    # ---- creators -------------------------------------------------------------------------
    async def kols(self, f: Q.KolFilter, sort: str, limit: int, offset: int) -> tuple[bytes, bool]:
        """JSON of {"items": [...], "total": n} (creators without live scores)."""
        # sort=trending fetches every match whatever the page: one cache entry for all pages.
        page = (None, None) if sort == "trending" else (limit, offset)
        params = {"f": f.__dict__, "sort": sort, "page": page}

        async def compute() -> dict[str, Any]:
            cat = await self.require(Q.DIM_KOLS, Q.FCT_KOL_DAILY)
            self._check_kol_filter(cat, f, sort)
            if sort == "trending":
                # Gold filters, Redis orders: every match (capped), the route sorts and pages.
                rows = await self.rows(
                    Q.kols_list(self.g, cat, f, "followers", self.s.trending_sort_max, 0)
                )
            else:
                rows = await self.rows(Q.kols_list(self.g, cat, f, sort, limit, offset))
            if rows:
                total = int(rows[0]["total"])
            elif offset:
                total = int((await self.rows(Q.kols_count(self.g, cat, f)))[0]["total"])
            else:
                total = 0
            return {"items": rows, "total": total}

        return await self.cache.get_or_compute("kols", params, compute)

    def _check_kol_filter(self, cat: Q.GoldCatalog, f: Q.KolFilter, sort: str) -> None:
        if f.niche is not None and not cat.has_niche:
            raise ServiceUnavailable(
                "gold",
                f"the niche filter needs column {Q.NICHE_COLUMN} in {self.g}.{Q.DIM_KOLS}, "
                "which Gold does not have yet",
                retry_after=60,
            )
        if (f.trust_label is not None or sort == "trust") and not cat.has_scores:
            raise ServiceUnavailable(
                "gold",
                f"trust filters and sorting need {self.g}.{Q.KOL_SCORES} (batch scores), "
                "which is not built yet",
                retry_after=60,
            )

    async def profile(self, kol_id: str) -> dict[str, Any] | None:
        """The Gold part of a creator's profile, or None for an unknown creator."""
        raw, _ = await self.cache.get_or_compute("profile", kol_id, lambda: self._profile(kol_id))
        value: dict[str, Any] | None = orjson.loads(raw)
        return value

    async def _profile(self, kol_id: str) -> dict[str, Any] | None:
        cat = await self.require(
            Q.DIM_KOLS,
            Q.FCT_KOL_DAILY,
            Q.KOL_RANKINGS_DAILY,
            Q.DIM_VIDEOS,
            Q.FCT_PRODUCT_SALES_DAILY,
        )
        rows = await self.rows(Q.kol_profile(self.g, cat, kol_id))
        return rows[0] if rows else None

    async def exists(self, kol_id: str) -> bool:
        return await self.profile(kol_id) is not None

    async def videos(self, kol_id: str, limit: int, offset: int) -> tuple[bytes, bool]:
        async def compute() -> dict[str, Any]:
            await self.require(Q.DIM_VIDEOS, Q.FCT_VIDEO_DAILY)
            rows = await self.rows(Q.kol_videos(self.g, kol_id, limit, offset))
            return await self._page(rows, limit, offset, Q.kol_videos_count(self.g, kol_id))

        return await self.cache.get_or_compute("videos", [kol_id, limit, offset], compute)

    async def products(self, kol_id: str, limit: int, offset: int) -> tuple[bytes, bool]:
        async def compute() -> dict[str, Any]:
            await self.require(Q.FCT_PRODUCT_SALES_DAILY, Q.DIM_PRODUCTS)
            rows = await self.rows(Q.kol_products(self.g, kol_id, limit, offset))
            return await self._page(rows, limit, offset, Q.kol_products_count(self.g, kol_id))

        return await self.cache.get_or_compute("products", [kol_id, limit, offset], compute)

    async def timeseries(
        self, kol_id: str, start: date | None, end: date | None
    ) -> tuple[bytes, bool]:
        for name, day in (("start", start), ("end", end)):
            if day is not None and not MIN_DAY <= day <= MAX_DAY:
                raise InvalidRequest(name, f"must be between {MIN_DAY} and {MAX_DAY}")
        if start is not None and end is not None:
            check_range(start, end, self.s.max_timeseries_days)

        async def compute() -> dict[str, Any]:
            await self.require(Q.FCT_KOL_DAILY)
            first, last = await self._default_range(kol_id, start, end)
            check_range(first, last, self.s.max_timeseries_days)
            rows = await self.rows(Q.kol_timeseries(self.g, kol_id, first, last))
            return {"kol_id": kol_id, "start": first, "end": last, "points": rows}

        return await self.cache.get_or_compute("timeseries", [kol_id, start, end], compute)

    async def _default_range(
        self, kol_id: str, start: date | None, end: date | None
    ) -> tuple[date, date]:
        """Missing ends: the last default_timeseries_days up to the creator's latest day."""
        span = timedelta(days=self.s.default_timeseries_days - 1)
        if end is None and start is not None:
            end = start + span
        if end is None:
            found = await self.rows(Q.kol_last_day(self.g, kol_id))
            end = found[0]["last_day"] if found and found[0]["last_day"] else date.today()
        return start or end - span, end

    async def peers(self, kol_id: str, platform: str, band: float) -> tuple[bytes, bool]:
        """JSON of :class:`api.schemas.PeerBenchmark` (numbers null without daily rows)."""

        async def compute() -> dict[str, Any]:
            await self.require(Q.FCT_KOL_DAILY)
            q = Q.kol_peers(self.g, kol_id, platform, band, self.s.peer_window_days)
            rows = await self.rows(q)
            return rows[0] if rows else {"kol_id": kol_id, "platform": platform, "peers": 0}

        return await self.cache.get_or_compute("peers", [kol_id, band], compute)

    async def kol_scores(self, kol_id: str) -> tuple[dict[str, Any] | None, str | None]:
        """(latest batch scores row, None) or (None, why there is none)."""
        cat = await self.catalog()
        if not cat.has_scores:
            return None, f"{self.g}.{Q.KOL_SCORES} (batch scores) is not built yet"
        # No scores row is not "no such creator": it changes with batch scoring, not sooner.
        raw, _ = await self.cache.get_or_compute(
            "kol_scores", kol_id, lambda: self._kol_scores(kol_id), self.s.cache_ttl_s
        )
        row: dict[str, Any] | None = orjson.loads(raw)
        return row, None if row else "no batch scores for this creator yet"

    async def _kol_scores(self, kol_id: str) -> dict[str, Any] | None:
        rows = await self.rows(Q.kol_scores(self.g, kol_id))
        return rows[0] if rows else None

    async def _page(
        self, rows: list[dict[str, Any]], limit: int, offset: int, count: Q.Query
    ) -> dict[str, Any]:
        if rows:
            total = int(rows[0]["total"])
        elif offset:  # a page past the end cannot tell the total: count
            total = int((await self.rows(count))[0]["total"])
        else:
            total = 0
        return {"items": rows, "total": total, "limit": limit, "offset": offset}

    # ---- search, stats --------------------------------------------------------------------
    async def search_kols(self, q: str, limit: int) -> tuple[bytes, bool]:
        async def compute() -> dict[str, Any]:
            cat = await self.require(Q.DIM_KOLS, Q.FCT_KOL_DAILY)
            return {"query": q, "items": await self.rows(Q.search_kols(self.g, cat, q, limit))}

        return await self.cache.get_or_compute("search_kols", [q, limit], compute)

    async def search_products(self, q: str, limit: int) -> tuple[bytes, bool]:
        async def compute() -> dict[str, Any]:
            await self.require(Q.DIM_PRODUCTS)
            return {"query": q, "items": await self.rows(Q.search_products(self.g, q, limit))}

        return await self.cache.get_or_compute("search_products", [q, limit], compute)

    async def platform_stats(self, platform: str | None, day: date | None) -> tuple[bytes, bool]:
        async def compute() -> dict[str, Any]:
            await self.require(Q.PLATFORM_KPI_DAILY)
            rows = await self.rows(Q.platform_stats(self.g, platform, day))
            shown = day or (rows[0]["date_day"] if rows else None)
            return {"date_day": shown, "items": rows}

        return await self.cache.get_or_compute("platform_stats", [platform, day], compute)

    async def summary(self) -> dict[str, Any]:
        async def compute() -> dict[str, Any]:
            await self.require(
                Q.DIM_KOLS,
                Q.DIM_PLATFORMS,
                Q.DIM_VIDEOS,
                Q.DIM_PRODUCTS,
                Q.FCT_KOL_DAILY,
                Q.PLATFORM_KPI_DAILY,
            )
            return (await self.rows(Q.summary(self.g)))[0]

        raw, _ = await self.cache.get_or_compute("summary", None, compute)
        value: dict[str, Any] = orjson.loads(raw)
        return value


def check_range(start: date, end: date, max_days: int) -> None:
    if end < start:
        raise InvalidRequest("end", f"end ({end}) is before start ({start})")
    if (end - start).days + 1 > max_days:
        raise InvalidRequest("start", f"at most {max_days} days per request")
