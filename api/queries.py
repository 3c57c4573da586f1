"""Every SQL statement the API sends to Trino, in one place: a Gold rename is a one-file change.

Values are always bound (``?``); only identifiers from settings (catalog, schema) and from the
whitelists below (sort columns) are formatted in. Each builder returns ``(sql, params)``.

Tables and columns are those of the dbt marts in ``dbt_kol/models/marts`` (contracts enforced).
Two parts are optional and switch on once Gold has them (see :class:`GoldCatalog`):

* ``dim_kols.niche``: the creator's niche (filter and search);
* ``kol_scores``: batch trust / success scores, one row per creator and scoring run, with
  :data:`KOL_SCORES_COLUMNS` (reasons as JSON text: ``[{"factor", "value", "effect", "text"}]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

DIM_KOLS: Final = "dim_kols"
DIM_VIDEOS: Final = "dim_videos"
DIM_PRODUCTS: Final = "dim_products"
DIM_PLATFORMS: Final = "dim_platforms"
FCT_KOL_DAILY: Final = "fct_kol_daily"
FCT_VIDEO_DAILY: Final = "fct_video_daily"
FCT_PRODUCT_SALES_DAILY: Final = "fct_product_sales_daily"
KOL_RANKINGS_DAILY: Final = "kol_rankings_daily"
PLATFORM_KPI_DAILY: Final = "platform_kpi_daily"
KOL_SCORES: Final = "kol_scores"

NICHE_COLUMN: Final = "niche"
KOL_SCORES_COLUMNS: Final = (
    "kol_id",
    "scored_at",
    "trust_score",
    "trust_label",
    "trust_model_version",
    "trust_reasons",
    "success_score",
    "success_label",
    "success_model_version",
    "success_reasons",
)

# What each route needs (a missing one answers 503 "not built yet").
CORE_TABLES: Final = (
    DIM_KOLS,
    DIM_VIDEOS,
    DIM_PRODUCTS,
    DIM_PLATFORMS,
    FCT_KOL_DAILY,
    FCT_VIDEO_DAILY,
    FCT_PRODUCT_SALES_DAILY,
    KOL_RANKINGS_DAILY,
    PLATFORM_KPI_DAILY,
)

Query = tuple[str, list[object]]


@dataclass(frozen=True)
class GoldCatalog:
    """Which Gold tables exist (with their columns), as Trino's information_schema says."""

    tables: dict[str, frozenset[str]]

    def has(self, table: str) -> bool:
        return table in self.tables

    def has_column(self, table: str, column: str) -> bool:
        return column in self.tables.get(table, frozenset())

    def missing(self, *tables: str) -> list[str]:
        return [t for t in tables if t not in self.tables]

    @property
    def has_niche(self) -> bool:
        return self.has_column(DIM_KOLS, NICHE_COLUMN)

    @property
    def has_scores(self) -> bool:
        cols = self.tables.get(KOL_SCORES)
        return cols is not None and all(c in cols for c in KOL_SCORES_COLUMNS)


@dataclass(frozen=True)
class KolFilter:
    platform: str | None = None
    niche: str | None = None
    min_followers: int | None = None
    max_followers: int | None = None
    trust_label: str | None = None


# Sort keys of the creator list -> expression (whitelist: formatted into ORDER BY).
KOL_SORTS: Final = {
    "followers": "l.followers",
    "engagement": "l.engagement_rate",
    "trust": "s.trust_score",
}


def schema_exists(catalog: str, schema: str) -> Query:
    return (
        f"SELECT schema_name FROM {catalog}.information_schema.schemata WHERE schema_name = ?",
        [schema],
    )


def catalog_columns(catalog: str, schema: str) -> Query:
    return (
        f"SELECT table_name, column_name FROM {catalog}.information_schema.columns "
        "WHERE table_schema = ?",
        [schema],
    )


def ping() -> Query:
    return "SELECT 1", []


def _latest_kol_metrics(g: str) -> str:
    # A day without a profile snapshot has null followers: take the latest non-null reading.
    return f"""latest AS (
    SELECT kol_id,
        max_by(followers, date_day) FILTER (WHERE followers IS NOT NULL) AS followers,
        max_by(engagement_rate, date_day) FILTER (WHERE engagement_rate IS NOT NULL)
            AS engagement_rate,
        max(date_day) AS last_active_day
    FROM {g}.{FCT_KOL_DAILY}
    GROUP BY kol_id
)"""


def _latest_scores(g: str) -> str:
    return f"""scores AS (
    SELECT kol_id,
        max_by(trust_score, scored_at) AS trust_score,
        max_by(trust_label, scored_at) AS trust_label
    FROM {g}.{KOL_SCORES}
    GROUP BY kol_id
)"""


@dataclass(frozen=True)
class _KolsBase:
    ctes: str
    columns: str
    body: str  # FROM ... WHERE ...
    params: list[object]


def _kols_base(g: str, cat: GoldCatalog, f: KolFilter) -> _KolsBase:
    ctes = [_latest_kol_metrics(g)]
    joins = [f"FROM {g}.{DIM_KOLS} k", "LEFT JOIN latest l ON l.kol_id = k.kol_id"]
    if cat.has_scores:
        ctes.append(_latest_scores(g))
        joins.append("LEFT JOIN scores s ON s.kol_id = k.kol_id")
        trust = "s.trust_score, s.trust_label"
    else:
        trust = "CAST(NULL AS double) AS trust_score, CAST(NULL AS varchar) AS trust_label"
    niche = "k.niche" if cat.has_niche else "CAST(NULL AS varchar) AS niche"
    where: list[str] = ["k.is_current"]
    params: list[object] = []
    if f.platform is not None:
        where.append("k.platform = ?")
        params.append(f.platform)
    if f.niche is not None:
        where.append("lower(k.niche) = lower(?)")
        params.append(f.niche)
    if f.min_followers is not None:
        where.append("l.followers >= ?")
        params.append(f.min_followers)
    if f.max_followers is not None:
        where.append("l.followers <= ?")
        params.append(f.max_followers)
    if f.trust_label is not None:
        where.append("lower(s.trust_label) = lower(?)")
        params.append(f.trust_label)
    columns = f"""k.kol_id, k.platform, k.username, k.nickname, k.avatar_url, k.profile_url,
    k.is_verified, k.country, {niche}, l.followers, l.engagement_rate, l.last_active_day, {trust}"""
    body = " ".join(joins) + "\nWHERE " + " AND ".join(where)
    return _KolsBase("WITH " + ",\n".join(ctes), columns, body, params)


def kols_list(g: str, cat: GoldCatalog, f: KolFilter, sort: str, limit: int, offset: int) -> Query:
    """Current creators with their latest followers and engagement, filtered, one page.

    The caller checks that ``cat`` has what the filter and sort need (niche, kol_scores).
    """
    b = _kols_base(g, cat, f)
    sql = f"""{b.ctes}
SELECT {b.columns}, count(*) OVER () AS total
{b.body}
ORDER BY {KOL_SORTS[sort]} DESC NULLS LAST, k.kol_id
OFFSET ? LIMIT ?"""
    return sql, [*b.params, offset, limit]


def kols_count(g: str, cat: GoldCatalog, f: KolFilter) -> Query:
    """The total of :func:`kols_list` (asked only when a page past the end comes back empty)."""
    b = _kols_base(g, cat, f)
    return f"{b.ctes}\nSELECT count(*) AS total\n{b.body}", b.params


def kol_profile(g: str, cat: GoldCatalog, kol_id: str) -> Query:
    niche = "k.niche" if cat.has_niche else "CAST(NULL AS varchar) AS niche"
    sql = f"""WITH k AS (
    SELECT * FROM {g}.{DIM_KOLS} WHERE kol_id = ? AND is_current
),
m AS (
    SELECT date_day, followers, following, total_likes, posts, followers_delta,
        engagement_rate, engagement_rate_by_followers, views_per_follower
    FROM {g}.{FCT_KOL_DAILY}
    WHERE kol_id = ? AND followers IS NOT NULL
    ORDER BY date_day DESC
    LIMIT 1
),
r AS (
    SELECT date_day, followers_rank, growth_rank, views_rank, engagement_rank,
        followers_gained_7d, views_gained_7d
    FROM {g}.{KOL_RANKINGS_DAILY}
    WHERE kol_id = ?
    ORDER BY date_day DESC
    LIMIT 1
)
SELECT k.kol_id, k.platform, k.username, k.nickname, k.bio, k.avatar_url, k.profile_url,
    k.is_verified, k.country, {niche}, k.profile_completeness, k.is_inferred,
    k.version_number AS profile_version, k.first_seen_at, k.last_seen_at,
    m.date_day AS metrics_as_of, m.followers, m.following, m.total_likes, m.posts,
    m.followers_delta, m.engagement_rate, m.engagement_rate_by_followers, m.views_per_follower,
    r.date_day AS ranks_as_of, r.followers_rank, r.growth_rank, r.views_rank, r.engagement_rank,
    r.followers_gained_7d, r.views_gained_7d,
    (SELECT count(*) FROM {g}.{DIM_VIDEOS} v WHERE v.kol_id = ?) AS videos,
    (SELECT count(DISTINCT p.product_id) FROM {g}.{FCT_PRODUCT_SALES_DAILY} p
        WHERE p.kol_id = ?) AS products
FROM k
LEFT JOIN m ON true
LEFT JOIN r ON true"""
    return sql, [kol_id] * 5


def kol_videos(g: str, kol_id: str, limit: int, offset: int) -> Query:
    sql = f"""WITH latest AS (
    SELECT video_id,
        max(date_day) AS as_of,
        max_by(view_count, date_day) AS view_count,
        max_by(like_count, date_day) AS like_count,
        max_by(comment_count, date_day) AS comment_count,
        max_by(share_count, date_day) AS share_count,
        max_by(engagement_rate, date_day) AS engagement_rate
    FROM {g}.{FCT_VIDEO_DAILY}
    WHERE kol_id = ?
    GROUP BY video_id
)
SELECT v.video_id, v.video_url, v.caption, v.published_at, v.is_inferred, v.first_seen_at,
    v.last_seen_at, l.as_of, l.view_count, l.like_count, l.comment_count, l.share_count,
    l.engagement_rate, count(*) OVER () AS total
FROM {g}.{DIM_VIDEOS} v
LEFT JOIN latest l ON l.video_id = v.video_id
WHERE v.kol_id = ?
ORDER BY coalesce(v.published_at, v.first_seen_at) DESC NULLS LAST, v.video_id
OFFSET ? LIMIT ?"""
    return sql, [kol_id, kol_id, offset, limit]


def kol_products(g: str, kol_id: str, limit: int, offset: int) -> Query:
    sql = f"""WITH sales AS (
    SELECT product_id,
        min(date_day) AS first_seen_day,
        max(date_day) AS last_seen_day,
        max_by(sold_count, date_day) AS sold_count,
        sum(units_sold) AS units_sold,
        sum(gmv_usd) AS gmv_usd,
        max_by(price, date_day) AS price,
        max_by(currency, date_day) AS currency,
        max_by(video_id, date_day) FILTER (WHERE video_id IS NOT NULL) AS video_id
    FROM {g}.{FCT_PRODUCT_SALES_DAILY}
    WHERE kol_id = ?
    GROUP BY product_id
)
SELECT s.product_id, p.product_title, p.category, p.seller_id, s.currency, s.price,
    s.sold_count, s.units_sold, s.gmv_usd, s.first_seen_day, s.last_seen_day, s.video_id,
    count(*) OVER () AS total
FROM sales s
LEFT JOIN {g}.{DIM_PRODUCTS} p ON p.product_id = s.product_id
ORDER BY s.gmv_usd DESC NULLS LAST, s.units_sold DESC NULLS LAST, s.product_id
OFFSET ? LIMIT ?"""
    return sql, [kol_id, offset, limit]


def kol_videos_count(g: str, kol_id: str) -> Query:
    return f"SELECT count(*) AS total FROM {g}.{DIM_VIDEOS} WHERE kol_id = ?", [kol_id]


def kol_products_count(g: str, kol_id: str) -> Query:
    sql = f"""SELECT count(DISTINCT product_id) AS total
FROM {g}.{FCT_PRODUCT_SALES_DAILY} WHERE kol_id = ?"""
    return sql, [kol_id]


def kol_last_day(g: str, kol_id: str) -> Query:
    return f"SELECT max(date_day) AS last_day FROM {g}.{FCT_KOL_DAILY} WHERE kol_id = ?", [kol_id]


def kol_timeseries(g: str, kol_id: str, start: date, end: date) -> Query:
    sql = f"""SELECT date_day, followers, followers_delta, following, total_likes, posts,
    videos_published, videos_observed, views, likes, comments, shares, views_gained,
    likes_gained, comments_gained, shares_gained, engagement_rate, engagement_rate_by_followers,
    is_follower_jump
FROM {g}.{FCT_KOL_DAILY}
WHERE kol_id = ? AND date_day BETWEEN ? AND ?
ORDER BY date_day"""
    return sql, [kol_id, start, end]


def kol_peers(g: str, kol_id: str, platform: str, band: float, window_days: int) -> Query:
    """A creator's latest followers and engagement rate against its peers': the creators of
    the platform with between followers / band and followers x band followers, seen within
    ``window_days`` before the creator's latest day. One row; no row for a creator without
    daily rows.

    Percentiles are exact, interpolated as numpy's default: the value at rank h = (n - 1) q is
    sum(x_i * max(0, 1 - |i - h|)) over the sorted values, whose only non-zero weights are
    the two ranks around h.
    """
    q = ", ".join(
        f"sum(p.er * greatest(0e0, 1e0 - abs(p.i - (p.n - 1) * {v}e0))) AS {name}"
        for name, v in (("p25", "0.25"), ("median", "0.5"), ("p75", "0.75"))
    )
    sql = f"""WITH latest AS (
    SELECT kol_id,
        max_by(followers, date_day) FILTER (WHERE followers IS NOT NULL) AS followers,
        max_by(engagement_rate, date_day) FILTER (WHERE engagement_rate IS NOT NULL)
            AS engagement_rate,
        max(date_day) AS date_day
    FROM {g}.{FCT_KOL_DAILY}
    WHERE platform = ?
    GROUP BY kol_id
),
me AS (
    SELECT kol_id, date_day, followers, engagement_rate,
        CAST(ceiling(followers / ?) AS bigint) AS band_low,
        CAST(floor(followers * ?) AS bigint) AS band_high
    FROM latest
    WHERE kol_id = ?
),
peers AS (
    SELECT l.engagement_rate AS er,
        CAST(row_number() OVER (ORDER BY l.engagement_rate) - 1 AS double) AS i,
        count(*) OVER () AS n
    FROM latest l
    JOIN me ON l.followers BETWEEN me.band_low AND me.band_high
    WHERE l.kol_id <> me.kol_id AND l.engagement_rate IS NOT NULL
        AND l.date_day > me.date_day - INTERVAL '1' DAY * ?
)
SELECT me.kol_id, ? AS platform, me.date_day, me.followers, me.engagement_rate,
    me.band_low, me.band_high, count(p.er) AS peers, {q},
    CASE WHEN me.engagement_rate IS NOT NULL THEN
        100e0 * count_if(p.er < me.engagement_rate) / nullif(count(p.er), 0) END AS percentile
FROM me
LEFT JOIN peers p ON true
GROUP BY me.kol_id, me.date_day, me.followers, me.engagement_rate, me.band_low, me.band_high"""
    return sql, [platform, float(band), float(band), kol_id, window_days, platform]


def kol_scores(g: str, kol_id: str) -> Query:
    sql = f"""SELECT {", ".join(KOL_SCORES_COLUMNS)}
FROM {g}.{KOL_SCORES}
WHERE kol_id = ?
ORDER BY scored_at DESC
LIMIT 1"""
    return sql, [kol_id]


def like_pattern(text: str) -> str:
    """A case-insensitive LIKE pattern matching ``text`` anywhere, wildcards in it escaped."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_kols(g: str, cat: GoldCatalog, q: str, limit: int) -> Query:
    pattern = like_pattern(q)
    matches = ["lower(k.username) LIKE ? ESCAPE '\\'", "lower(k.nickname) LIKE ? ESCAPE '\\'"]
    params: list[object] = [pattern, pattern]
    if cat.has_niche:
        matches.append("lower(k.niche) LIKE ? ESCAPE '\\'")
        params.append(pattern)
    niche = "k.niche" if cat.has_niche else "CAST(NULL AS varchar) AS niche"
    sql = f"""WITH {_latest_kol_metrics(g)}
SELECT k.kol_id, k.platform, k.username, k.nickname, {niche}, l.followers
FROM {g}.{DIM_KOLS} k
LEFT JOIN latest l ON l.kol_id = k.kol_id
WHERE k.is_current AND ({" OR ".join(matches)})
ORDER BY lower(k.username) = ? DESC, starts_with(lower(k.username), ?) DESC,
    l.followers DESC NULLS LAST, k.kol_id
LIMIT ?"""
    return sql, [*params, q.lower(), q.lower(), limit]


def search_products(g: str, q: str, limit: int) -> Query:
    pattern = like_pattern(q)
    sql = f"""SELECT product_id, product_title, category, seller_id, currency, current_price,
    featuring_kols, last_seen_at
FROM {g}.{DIM_PRODUCTS}
WHERE lower(product_title) LIKE ? ESCAPE '\\' OR lower(category) LIKE ? ESCAPE '\\'
    OR product_id = ?
ORDER BY product_id = ? DESC, featuring_kols DESC NULLS LAST, last_seen_at DESC NULLS LAST,
    product_id
LIMIT ?"""
    return sql, [pattern, pattern, q, q, limit]


_KPI_COLUMNS: Final = """platform, date_day, creators_observed, total_followers, followers_gained,
    creators_with_follower_jump, videos_published, videos_observed, views_gained, likes_gained,
    comments_gained, shares_gained, engagement_rate, comments_sampled, near_duplicate_comments,
    near_duplicate_share, selling_creators, units_sold, gmv_usd"""


def platform_stats(g: str, platform: str | None, day: date | None) -> Query:
    where: list[str] = []
    params: list[object] = []
    if day is None:
        where.append(f"date_day = (SELECT max(date_day) FROM {g}.{PLATFORM_KPI_DAILY})")
    else:
        where.append("date_day = ?")
        params.append(day)
    if platform is not None:
        where.append("platform = ?")
        params.append(platform)
    sql = f"""SELECT {_KPI_COLUMNS}
FROM {g}.{PLATFORM_KPI_DAILY}
WHERE {" AND ".join(where)}
ORDER BY platform"""
    return sql, params


def summary(g: str) -> Query:
    last = f"(SELECT max(date_day) FROM {g}.{PLATFORM_KPI_DAILY})"
    sql = f"""SELECT
    {last} AS as_of,
    (SELECT count(*) FROM {g}.{DIM_KOLS} WHERE is_current) AS creators,
    (SELECT count(*) FROM {g}.{DIM_PLATFORMS}) AS platforms,
    (SELECT count(*) FROM {g}.{DIM_VIDEOS}) AS videos,
    (SELECT count(*) FROM {g}.{DIM_PRODUCTS}) AS products,
    (SELECT sum(followers) FROM (
        SELECT max_by(followers, date_day) FILTER (WHERE followers IS NOT NULL) AS followers
        FROM {g}.{FCT_KOL_DAILY} GROUP BY kol_id)) AS total_followers,
    (SELECT sum(units_sold) FROM {g}.{PLATFORM_KPI_DAILY}
        WHERE date_day > {last} - INTERVAL '7' DAY) AS units_sold_7d,
    (SELECT sum(gmv_usd) FROM {g}.{PLATFORM_KPI_DAILY}
        WHERE date_day > {last} - INTERVAL '7' DAY) AS gmv_usd_7d"""
    return sql, []
