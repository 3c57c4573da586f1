"""Compare: two to four creators side by side (scores, followers, engagement, one chart).

Deep-linkable: ``/compare?kols=tiktok:minh.anh,youtube:chef.lan``.
"""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from api.schemas import KolProfile, Timeseries
from dashboard import charts, ui
from dashboard.client import KolClient

KEY = "compare.kols"
MAX_CREATORS = 4


def render(client: KolClient) -> None:
    st.title("Compare")
    st.caption("Two to four creators side by side: scores, audience and engagement.")
    selected = choose(client)
    if len(selected) < 2:
        st.info("Pick two to four creators to compare (search for them above).")
        return
    compare(client, selected)


def parse(kid: str) -> tuple[str, str] | None:
    platform, sep, username = kid.strip().partition(":")
    username = username.strip().lstrip("@")
    if not sep or platform not in ui.PLATFORMS or not username:
        return None
    return platform, username


def _label(kid: str) -> str:
    found = parse(kid)
    return ui.handle(*found) if found else kid


def choose(client: KolClient) -> list[tuple[str, str]]:
    """The creators picked (search + multiselect), kept in the URL as ``kols``."""
    if KEY not in st.session_state:
        linked = st.query_params.get("kols", "")
        st.session_state[KEY] = [k for k in linked.split(",") if parse(k)][:MAX_CREATORS]
    query = st.text_input(
        "Find creators", placeholder="username, nickname or niche", key="compare.q"
    ).strip()
    options: list[str] = list(st.session_state[KEY])
    if len(query) >= 2:
        hits = ui.shown(lambda: client.search_kols(query, limit=20), "Search")
        if hits is not None:
            options += [h.kol_id for h in hits.items if h.kol_id not in options]
            if not hits.items:
                st.caption(f"No creator matches “{query}”.")
    picked = st.multiselect(
        "Creators to compare",
        options,
        max_selections=MAX_CREATORS,
        format_func=_label,
        accept_new_options=True,
        placeholder="search above, or type platform:username",
        key=KEY,
    )
    valid = [p for p in (parse(k) for k in picked) if p is not None]
    bad = [k for k in picked if parse(k) is None]
    if bad:
        st.warning(
            f"Not a creator id: {', '.join(bad)} (write platform:username, platform one of "
            f"{', '.join(ui.PLATFORMS)})"
        )
    if valid:
        st.query_params["kols"] = ",".join(f"{p}:{u}" for p, u in valid)
    elif "kols" in st.query_params:
        del st.query_params["kols"]
    return valid


def compare(client: KolClient, selected: list[tuple[str, str]]) -> None:
    profiles = {kid: ui.submit(partial(client.kol, *kid)) for kid in selected}
    histories = {kid: ui.submit(partial(client.timeseries, *kid)) for kid in selected}

    found: list[KolProfile] = []
    series: dict[str, Timeseries] = {}
    cols = st.columns(len(selected))
    for col, kid in zip(cols, selected, strict=True):
        with col, st.container(border=True):
            prof = ui.shown(profiles[kid], ui.handle(*kid))
            if prof is None:
                continue
            found.append(prof)
            card(prof)
            ts = ui.shown(histories[kid], f"History of {ui.handle(*kid)}")
            if ts is not None and ts.points:
                series[f"@{prof.username} ({prof.platform})"] = ts

    if len(found) < 1:
        return
    st.subheader("Scores")
    st.plotly_chart(charts.compare_scores(found), key="compare.scores")
    st.subheader("Followers")
    if series:
        indexed = st.toggle("Indexed (first day = 100)", value=len(series) > 1, key="compare.idx")
        points = {name: ts.points for name, ts in series.items()}
        st.plotly_chart(charts.compare_followers(points, indexed), key="compare.followers")
    else:
        st.info("No daily history for these creators yet.")
    st.subheader("Side by side")
    st.dataframe(table(found), hide_index=True, key="compare.table")


def card(p: KolProfile) -> None:
    st.markdown(f"**{p.nickname or p.username}**  \n@{p.username} · {ui.platform_name(p.platform)}")
    if p.niche:
        st.caption(p.niche)
    s = p.scores
    c = st.columns(3)
    c[0].metric("Trust", ui.score(s.trust.score), help=s.trust.unavailable_reason)
    c[1].metric("Success", ui.score(s.success.score), help=s.success.unavailable_reason)
    c[2].metric("Trending", ui.score(s.trending.score), help=s.trending.unavailable_reason)
    labels = [x for x in (s.trust.label, s.success.label, s.trending.label) if x]
    if labels:
        st.markdown(" ".join(f":{ui.LABEL_BADGES.get(x, 'gray')}-badge[{x}]" for x in labels))
    f = st.columns(2)
    f[0].metric(
        "Followers",
        ui.compact(p.metrics.followers),
        delta=ui.delta(p.metrics.followers_delta),
    )
    f[1].metric("Engagement", ui.pct(p.metrics.engagement_rate))


def table(profiles: list[KolProfile]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "creator": f"@{p.username}",
                "platform": p.platform,
                "trust": p.scores.trust.score,
                "trust label": p.scores.trust.label,
                "success": p.scores.success.score,
                "trending": p.scores.trending.score,
                "trending label": p.scores.trending.label,
                "followers": p.metrics.followers,
                "following": p.metrics.following,
                "engagement rate": ui.pct(p.metrics.engagement_rate),
                "followers gained 7d": p.ranks.followers_gained_7d,
                "videos": p.videos,
                "products": p.products,
            }
            for p in profiles
        ]
    )


if __name__ == "__main__":  # run by st.navigation as a page
    render(ui.api_client())
