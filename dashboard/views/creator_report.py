"""The Creators page's report on one creator: profile, scores, history, peers, videos, products
and alerts.

Its parts are independent requests run side by side; a part whose route fails shows why in its
place and the rest of the report still shows.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from api.schemas import KolProduct, KolProfile, PeerBenchmark, Score, Video
from dashboard import charts, ui
from dashboard.client import KolClient

HISTORY_DAYS = [30, 90, 180, 365]


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
