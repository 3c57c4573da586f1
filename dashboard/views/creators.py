"""Creators: find creators (filters and search) and read one creator's report.

The report is deep-linkable: ``/creators?platform=tiktok&username=minh.anh`` opens it directly.
Its parts are independent requests run side by side; a part whose route fails shows why in its
place and the rest of the report still shows.
"""

from __future__ import annotations

import zlib
from datetime import timedelta
from typing import Any

import pandas as pd
import streamlit as st

from api.schemas import (
    KolHit,
    KolProduct,
    KolProfile,
    KolSummary,
    PeerBenchmark,
    Score,
    Video,
)
from dashboard import charts, ui
from dashboard.client import KolClient

PAGE_SIZE = 50
# Follower range steps (the last one means "no upper limit").
NO_LIMIT = 10**13
FOLLOWER_STEPS = [0, 1_000, 10_000, 50_000, 100_000, 500_000, 1_000_000, 10_000_000, NO_LIMIT]
SORTS = {
    "followers": "Followers",
    "engagement": "Engagement rate",
    "trust": "Trust score",
    "trending": "Live trending score",
}
# With a minimum trust, creators are read by trust (highest first) until one falls below it;
# the API has no trust-score filter. Bounded: at most this many pages of 100.
TRUST_SCAN_PAGES = 5
HISTORY_DAYS = [30, 90, 180, 365]


# ---- the page ---------------------------------------------------------------------------------
def render(client: KolClient) -> None:
    st.title("Creators")
    current = selected_creator()
    with st.expander("Find creators", expanded=current is None, icon=":material/search:"):
        picked = finder(client)
    if picked is not None and picked != current:
        st.query_params["platform"], st.query_params["username"] = picked
        current = picked
    if current is not None:
        st.button("Close report", icon=":material/close:", on_click=close, key="creators.close")
    if current is None:
        st.info(
            "Pick a creator in the table to open their report, or link to one directly with "
            "`?platform=<platform>&username=<handle>`."
        )
        return
    report(client, *current)


def close() -> None:
    """Back to the list: no creator in the URL, and a fresh table (no row selected)."""
    for name in ("platform", "username"):
        if name in st.query_params:
            del st.query_params[name]
    st.session_state["creators.generation"] = st.session_state.get("creators.generation", 0) + 1


def selected_creator() -> tuple[str, str] | None:
    platform = st.query_params.get("platform")
    username = st.query_params.get("username")
    if not platform or not username:
        return None
    return platform, username.lstrip("@")


# ---- finding creators -------------------------------------------------------------------------
def _followers(value: int) -> str:
    return "no limit" if value >= NO_LIMIT else ui.compact(value)


def finder(client: KolClient) -> tuple[str, str] | None:
    """Filters, search and the result table; returns the creator picked in it, if any."""
    c = st.columns([3, 2, 2, 4, 2])
    query = (
        c[0]
        .text_input("Search", placeholder="username, nickname or niche", key="creators.q")
        .strip()
    )
    choice = c[1].selectbox(
        "Platform",
        ["all", *ui.PLATFORMS],
        format_func=lambda p: "All" if p == "all" else ui.platform_name(p),
        key="creators.platform",
    )
    niche = c[2].text_input("Niche", key="creators.niche").strip() or None
    low, high = c[3].select_slider(
        "Followers",
        options=FOLLOWER_STEPS,
        value=(0, NO_LIMIT),
        format_func=_followers,
        key="creators.followers",
    )
    min_trust = c[4].slider("Minimum trust", 0, 100, 0, step=5, key="creators.min_trust")
    platform = None if choice == "all" else choice
    min_followers = low or None
    max_followers = None if high >= NO_LIMIT else high

    if len(query) >= 2:
        hits = ui.shown(lambda: client.search_kols(query, limit=100), "Search")
        if hits is None:
            return None
        rows = [
            h
            for h in hits.items
            if (platform is None or h.platform == platform)
            and (niche is None or (h.niche or "").lower() == niche.lower())
            and (min_followers is None or (h.followers or 0) >= min_followers)
            and (max_followers is None or (h.followers or 0) <= max_followers)
        ]
        caption = f"{len(rows)} of {len(hits.items)} matches for “{query}” pass the filters"
        if min_trust:
            caption += " (search results carry no trust score: minimum trust not applied)"
        return pick(hit_frame(rows), caption, key=f"hits.{query}")

    sort = st.radio(
        "Sort by",
        list(SORTS),
        format_func=SORTS.__getitem__,
        horizontal=True,
        key="creators.sort",
    )
    filters: dict[str, Any] = {
        "platform": platform,
        "niche": niche,
        "min_followers": min_followers,
        "max_followers": max_followers,
    }
    if min_trust:
        found = ui.shown(lambda: trusted(client, filters, min_trust, sort), "Creators")
        if found is None:
            return None
        items, complete = found
        caption = f"{len(items)} creators with trust ≥ {min_trust}"
        if not complete:
            caption += f" (the {TRUST_SCAN_PAGES * 100} most trusted were read)"
        return pick(summary_frame(items), caption, key=f"trusted.{filters}.{min_trust}.{sort}")

    # A new filter or sort starts again at page 1.
    signature = repr((filters, sort))
    if st.session_state.get("creators.signature") != signature:
        st.session_state["creators.signature"] = signature
        st.session_state["creators.page"] = 1
    page = int(st.session_state.get("creators.page") or 1)
    result = ui.shown(
        lambda: client.kols(**filters, sort=sort, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE),
        "Creators",
    )
    if result is None:
        return None
    pages = max(1, -(-result.total // PAGE_SIZE))
    if page > pages:  # the list shrank since the page was chosen
        st.session_state["creators.page"] = page = pages
    picked = pick(
        summary_frame(result.items),
        f"{result.total:,} creators · page {page} of {pages}",
        key=f"list.{filters}.{sort}.{page}",
    )
    if pages > 1:
        st.number_input("Page", 1, pages, key="creators.page", width=160)
    return picked


def trusted(
    client: KolClient, filters: dict[str, Any], min_trust: float, sort: str
) -> tuple[list[KolSummary], bool]:
    """Creators with a trust score of at least ``min_trust``, sorted by ``sort``.

    Read by trust score, highest first, until one falls below the minimum; True when that
    happened within the scan bound (the list is complete).
    """
    out: list[KolSummary] = []
    complete = False
    for n in range(TRUST_SCAN_PAGES):
        page = client.kols(**filters, sort="trust", limit=100, offset=n * 100)
        for item in page.items:
            if item.trust_score is None or item.trust_score < min_trust:
                complete = True
                break
            out.append(item)
        if complete or len(page.items) < 100:
            complete = True
            break
    key = {
        "followers": lambda k: k.followers or 0,
        "engagement": lambda k: k.engagement_rate or 0.0,
        "trust": lambda k: k.trust_score or 0.0,
        "trending": lambda k: k.trending_score if k.trending_score is not None else -1.0,
    }[sort]
    return sorted(out, key=key, reverse=True), complete


def summary_frame(items: list[KolSummary]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "creator": f"@{k.username}",
                "platform": k.platform,
                "name": k.nickname,
                "niche": k.niche,
                "followers": k.followers,
                "engagement": k.engagement_rate,
                "trust": k.trust_score,
                "trust label": k.trust_label,
                "trending": k.trending_score,
                "username": k.username,
            }
            for k in items
        ],
        columns=[
            "creator",
            "platform",
            "name",
            "niche",
            "followers",
            "engagement",
            "trust",
            "trust label",
            "trending",
            "username",
        ],
    )


def hit_frame(items: list[KolHit]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "creator": f"@{h.username}",
                "platform": h.platform,
                "name": h.nickname,
                "niche": h.niche,
                "followers": h.followers,
                "username": h.username,
            }
            for h in items
        ],
        columns=["creator", "platform", "name", "niche", "followers", "username"],
    )


def pick(frame: pd.DataFrame, caption: str, key: str) -> tuple[str, str] | None:
    """The table (one row selectable); the (platform, username) of the selected row."""
    st.caption(caption)
    if frame.empty:
        return None
    generation = st.session_state.get("creators.generation", 0)
    event = st.dataframe(
        frame,
        hide_index=True,
        column_order=[c for c in frame.columns if c != "username"],
        column_config={
            "followers": st.column_config.NumberColumn(format="compact"),
            "engagement": st.column_config.NumberColumn(format="percent"),
            "trust": st.column_config.NumberColumn(format="%.0f"),
            "trending": st.column_config.NumberColumn(format="%.0f"),
        },
        on_select="rerun",
        selection_mode="single-row",
        key=f"creators.table.{generation}.{zlib.crc32(key.encode()):08x}",
    )
    rows = event.selection.rows if event is not None else []
    if not rows:
        return None
    row = frame.iloc[rows[0]]
    return str(row["platform"]), str(row["username"])


# ---- the report -------------------------------------------------------------------------------
def report(client: KolClient, platform: str, username: str) -> None:
    days = st.session_state.get("creators.history_days") or HISTORY_DAYS[0]
    band = st.session_state.get("creators.band") or 2.0
    profile = ui.submit(lambda: client.kol(platform, username))
    # 30 days is the API's default range, up to the creator's latest day: no need to wait for it.
    history = ui.submit(lambda: client.timeseries(platform, username)) if days == 30 else None
    peers = ui.submit(lambda: client.peers(platform, username, band=band))
    videos = ui.submit(lambda: client.videos(platform, username, limit=50))
    products = ui.submit(lambda: client.products(platform, username, limit=50))
    alerts = ui.submit(lambda: client.alerts(platform=platform, username=username, limit=50))

    prof = ui.shown(profile, f"Creator {ui.handle(platform, username)}")
    if prof is None:
        return
    header(prof)
    scores(prof)

    tabs = st.tabs(["History", "Engagement vs peers", "Videos", "Products & sales", "Alerts"])
    with tabs[0]:
        st.segmented_control(
            "Days",
            HISTORY_DAYS,
            default=HISTORY_DAYS[0],
            format_func=lambda d: f"{d} days",
            key="creators.history_days",
        )
        if history is None:
            end = prof.metrics.as_of
            start = end - timedelta(days=days - 1) if end else None
            history = ui.submit(lambda: client.timeseries(platform, username, start, end))
        series = ui.shown(history, "Follower history")
        if series is not None:
            if not series.points:
                st.info(f"No daily rows for this creator between {series.start} and {series.end}.")
            else:
                jumps = sum(1 for p in series.points if p.is_follower_jump)
                st.plotly_chart(charts.follower_history(series.points), key="creators.history")
                st.caption(
                    f"{series.start} to {series.end} · {jumps} follower jump day(s) marked ▲ "
                    "(day-over-day gains far above the creator's own recent days)"
                )
    with tabs[1]:
        st.segmented_control(
            "Peer band",
            [1.5, 2.0, 3.0],
            default=2.0,
            format_func=lambda b: f"{b:g}x smaller to {b:g}x bigger",
            key="creators.band",
        )
        bench = ui.shown(peers, "Engagement vs peers")
        if bench is not None:
            show_peers(bench)
    with tabs[2]:
        page = ui.shown(videos, "Videos")
        if page is not None:
            show_videos(page.items, page.total)
    with tabs[3]:
        page_p = ui.shown(products, "Products")
        if page_p is not None:
            show_products(page_p.items, page_p.total)
    with tabs[4]:
        found = ui.shown(alerts, "Alerts")
        if found is not None:
            if not found.items:
                st.info("No recent alerts for this creator.")
            else:
                st.dataframe(ui.alerts_frame(found.items), hide_index=True, key="creators.alerts")


def header(p: KolProfile) -> None:
    name = p.nickname or p.username
    st.header(f"{name} · @{p.username}", anchor=False)
    facts = [ui.platform_name(p.platform)]
    facts += [x for x in (p.niche, p.country) if x]
    if p.is_verified:
        facts.append("verified")
    if p.profile_url:
        facts.append(f"[profile]({p.profile_url})")
    st.markdown(" · ".join(facts))
    if p.bio:
        st.caption(p.bio)
    m = p.metrics
    c = st.columns(6)
    c[0].metric(
        "Followers",
        ui.compact(m.followers),
        delta=ui.delta(m.followers_delta),
        help="Delta: change on the latest day",
    )
    c[1].metric("Following", ui.compact(m.following))
    c[2].metric("Engagement rate", ui.pct(m.engagement_rate))
    c[3].metric("Total likes", ui.compact(m.total_likes))
    c[4].metric("Videos", ui.compact(p.videos))
    c[5].metric("Products", ui.compact(p.products))
    if m.as_of:
        st.caption(f"Metrics as of {m.as_of}")


def scores(p: KolProfile) -> None:
    cols = st.columns(3)
    for col, (title, s) in zip(
        cols,
        (("Trust", p.scores.trust), ("Success", p.scores.success), ("Trending", p.scores.trending)),
        strict=True,
    ):
        with col, st.container(border=True):
            show_score(title, s)


def show_score(title: str, s: Score) -> None:
    source = ", ".join(
        x
        for x in (
            f"model v{s.model_version}" if s.model_version else None,
            f"from {s.source}" if s.source else None,
            f"scored {ui.ago(s.scored_at)}" if s.scored_at else None,
        )
        if x
    )
    st.metric(f"{title} score", ui.score(s.score), help=source or None)
    ui.badge(s.label)
    if s.score is None:
        st.caption(s.unavailable_reason or "Not available.")
    for r in s.reasons[:3]:
        st.markdown(f"- {r.text}")
    if s.basis:
        st.caption(f"Rests on: {COMPONENT_TITLES.get(s.basis, s.basis)}")
    for name, c in s.components.items():
        with st.expander(f"{COMPONENT_TITLES.get(name, name)}: {ui.score(c.score)} ({c.label})"):
            for r in c.reasons[:3]:
                st.markdown(f"- {r.text}")


# What a score rests on: trust's components (ml.account, ml.scoring.combine_trust), success's
# model or naive forecast (ml.scoring.ScoreSpec.basis).
COMPONENT_TITLES = {
    "audience": "Audience (followers, engagement, comments over time)",
    "account": "Account (the profile itself)",
    "audience+account": "audience and account; trust is the lower of the two",
    "model": "the success model",
    "naive:creator_mean": "the creator's own mean over 28 days (no model beats it yet)",
    "naive:last_week": "last week's value (no model beats it yet)",
}


def show_peers(b: PeerBenchmark) -> None:
    if b.engagement_rate is None or not b.peers:
        st.info(
            "No engagement benchmark yet: "
            + ("no daily rows for this creator." if b.engagement_rate is None else "no peers.")
        )
        return
    c = st.columns(4)
    c[0].metric("Engagement rate", ui.pct(b.engagement_rate))
    c[1].metric("Peer median", ui.pct(b.median))
    c[2].metric(
        "Percentile",
        "—" if b.percentile is None else f"{b.percentile:.0f}th",
        help="Share of peers whose engagement rate is lower",
    )
    c[3].metric("Peers", ui.compact(b.peers))
    st.plotly_chart(charts.peer_band(b), key="creators.peers")
    st.caption(
        f"{b.peers:,} {ui.platform_name(b.platform)} creators with "
        f"{ui.compact(b.band_low)}-{ui.compact(b.band_high)} followers"
        + (f", as of {b.date_day}" if b.date_day else "")
        + f" · middle half between {ui.pct(b.p25)} and {ui.pct(b.p75)}"
    )


def show_videos(items: list[Video], total: int) -> None:
    if not items:
        st.info("No videos of this creator in Gold yet.")
        return
    frame = pd.DataFrame(
        [
            {
                "published": ui.utc(v.published_at),
                "caption": v.caption,
                "views": v.view_count,
                "likes": v.like_count,
                "comments": v.comment_count,
                "shares": v.share_count,
                "engagement": v.engagement_rate,
                "link": v.video_url,
            }
            for v in items
        ]
    )
    st.dataframe(
        frame,
        hide_index=True,
        column_config={
            "published": st.column_config.DatetimeColumn(format="YYYY-MM-DD"),
            "views": st.column_config.NumberColumn(format="compact"),
            "likes": st.column_config.NumberColumn(format="compact"),
            "comments": st.column_config.NumberColumn(format="compact"),
            "shares": st.column_config.NumberColumn(format="compact"),
            "engagement": st.column_config.NumberColumn(format="percent"),
            "link": st.column_config.LinkColumn(display_text="open"),
        },
        key="creators.videos",
    )
    st.caption(f"{len(items)} newest of {total:,} videos")


def show_products(items: list[KolProduct], total: int) -> None:
    if not items:
        st.info("This creator has featured no shop products.")
        return
    units = sum(p.units_sold or 0 for p in items)
    gmv = sum(p.gmv_usd or 0.0 for p in items)
    c = st.columns(3)
    c[0].metric("Products", ui.compact(total))
    c[1].metric("Units sold (observed)", ui.compact(units))
    c[2].metric("GMV (USD)", ui.money(gmv))
    frame = pd.DataFrame(
        [
            {
                "product": p.product_title or p.product_id,
                "category": p.category,
                "price": p.price,
                "currency": p.currency,
                "units sold": p.units_sold,
                "GMV (USD)": p.gmv_usd,
                "first seen": p.first_seen_day,
                "last seen": p.last_seen_day,
            }
            for p in items
        ]
    )
    st.dataframe(
        frame,
        hide_index=True,
        column_config={
            "units sold": st.column_config.NumberColumn(format="compact"),
            "GMV (USD)": st.column_config.NumberColumn(format="dollar"),
        },
        key="creators.products",
    )


if __name__ == "__main__":  # run by st.navigation as a page
    render(ui.api_client())
