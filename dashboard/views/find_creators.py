"""The Creators page's finder: filters, search and the result table to pick a creator from."""

from __future__ import annotations

import zlib
from typing import Any

import pandas as pd
import streamlit as st

from api.schemas import KolHit, KolSummary
from dashboard import ui
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
