"""Live: who is gaining momentum right now, recent alerts and the streaming job's health.

Everything comes from the API's live routes (the streaming job's Redis state): the ranking
(``/api/v1/trending``), alerts (``/api/v1/alerts``), the live totals (``/api/v1/stats/summary``)
and Redis's check (``/readyz``). The panel re-reads them every ``refresh_s`` seconds
(``st.fragment(run_every=...)``) without rerunning the rest of the page.
"""

from __future__ import annotations

from concurrent.futures import Future
from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from api.schemas import AlertList, Readiness, Summary, TrendingItem, TrendingList
from dashboard import charts, ui
from dashboard.client import DashboardError, KolClient

TREND_LABELS = ("Viral", "Hot", "Stable", "Cooling", "Cold")
# The job commits a micro-batch every second or so while events flow; minutes without one
# mean it is stopped, stuck or has no input.
STALE_AFTER_S = 120.0


def render(client: KolClient, refresh_s: float = 5.0) -> None:
    st.title("Live")
    st.caption(
        "Creators gaining momentum now, scored by the streaming job against each creator's own "
        f"baseline. Refreshes every {refresh_s:g} s."
    )
    left, right = st.columns([3, 1])
    with left:
        choice = st.segmented_control(
            "Platform",
            ["all", *ui.PLATFORMS],
            default="all",
            format_func=lambda p: "All" if p == "all" else ui.platform_name(p),
            key="live.platform",
        )
    with right:
        limit = st.selectbox("Creators shown", [10, 20, 50, 100], index=1, key="live.limit")
    platform = None if choice in (None, "all") else str(choice)

    @st.fragment(run_every=refresh_s)
    def live_panel() -> None:
        panel(client, platform, int(limit))

    live_panel()


def panel(client: KolClient, platform: str | None, limit: int) -> None:
    """One refresh: the four requests run side by side, each failure shown on its own."""
    ready = ui.submit(client.readiness)
    summary = ui.submit(client.summary)
    trending = ui.submit(lambda: client.trending(platform=platform, limit=limit))
    alerts = ui.submit(lambda: client.alerts(platform=platform, limit=20))

    ranking = ui.shown(trending, "Live ranking")
    health(ui.shown(ready, "Stream health"), _summary(summary), ranking)

    st.subheader(f"Trending now · {ui.platform_name(platform)}")
    if ranking is not None:
        show_ranking(ranking)
    st.subheader("Recent alerts")
    alert_list = ui.shown(alerts, "Alerts")
    if alert_list is not None:
        show_alerts(alert_list)


def _summary(request: Future[Summary]) -> Summary | None:
    """The live totals; without them (Gold down makes the route 503) the page still works."""
    try:
        return request.result()
    except DashboardError as exc:
        st.info(f"Stream totals are not available, shown from the ranking instead: {exc}")
    except Exception as exc:
        st.info(f"Stream totals are not available: {type(exc).__name__}: {exc}")
    return None


def _latest(items: list[TrendingItem], field: str) -> datetime | None:
    values = [getattr(i, field) for i in items if getattr(i, field) is not None]
    return max(values) if values else None


def health(ready: Readiness | None, summary: Summary | None, ranking: TrendingList | None) -> None:
    """Redis's check, ranked creators, the last batch the job committed, alerts."""
    redis = ready.checks.get("redis") if ready is not None else None
    live = summary.live if summary is not None else None
    items = ranking.items if ranking is not None else []
    last_commit = live.last_commit_at if live is not None else _latest(items, "updated_at")
    latest_event = _latest(items, "event_time")

    c = st.columns(5)
    c[0].metric(
        "Redis",
        "—" if redis is None else ("up" if redis.ok else "down"),
        help=None if redis is None else redis.detail,
    )
    ranked = live.ranked_creators if live else (ranking.total_ranked if ranking else None)
    c[1].metric("Ranked creators", ui.compact(ranked))
    c[2].metric(
        "Last batch committed",
        ui.ago(last_commit) if last_commit else "—",
        help="When the streaming job last wrote scores to Redis"
        + ("" if live else " (from the newest score in the ranking)"),
    )
    c[3].metric(
        "Event-time lag",
        ui.ago(latest_event).removesuffix(" ago") if latest_event else "—",
        help="Now minus the newest event time in the ranking: how far behind live the scores are",
    )
    c[4].metric("Recent alerts", ui.compact(live.recent_alerts) if live else "—")

    if live is not None and live.by_label:
        cols = st.columns(len(TREND_LABELS))
        for col, label in zip(cols, TREND_LABELS, strict=True):
            col.metric(label, ui.compact(live.by_label.get(label, 0)))

    if redis is not None and not redis.ok:
        st.warning(f"Redis is down, so there are no live scores or alerts: {redis.detail}")
    elif summary is not None and summary.live is None and summary.live_unavailable_reason:
        st.warning(f"The live state is unavailable: {summary.live_unavailable_reason}")
    if ranking is not None and ranking.total_ranked == 0:
        st.info(
            "No creator is ranked yet: the streaming job has not scored anyone. Start it with "
            "`kol stream start` (or `kol stack up --with-stream`) and feed it events."
        )
    elif last_commit is not None:
        age = (datetime.now(UTC) - last_commit).total_seconds()
        if age > STALE_AFTER_S:
            st.warning(
                f"The streaming job last committed a batch {ui.ago(last_commit)}: it is stopped "
                "or receives no events, so these scores are not live (`kol stream status`)."
            )


def ranking_frame(items: list[TrendingItem]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "rank": i.rank,
                "creator": f"@{i.username}",
                "platform": i.platform,
                "score": i.score,
                "label": i.label or "",
                "velocity": i.velocity,
                "momentum": i.momentum,
                "engagement": i.engagement,
                "events": i.events,
                "trust": i.trust_score,
                "updated": ui.ago(i.updated_at) if i.updated_at else "",
            }
            for i in items
        ],
        columns=[
            "rank",
            "creator",
            "platform",
            "score",
            "label",
            "velocity",
            "momentum",
            "engagement",
            "events",
            "trust",
            "updated",
        ],
    )


def show_ranking(ranking: TrendingList) -> None:
    if not ranking.items:
        return
    left, right = st.columns([3, 2])
    with left:
        st.dataframe(
            ranking_frame(ranking.items),
            hide_index=True,
            height=min(35 * (len(ranking.items) + 1) + 3, 740),
            column_config={
                "score": st.column_config.ProgressColumn(
                    "score", min_value=0, max_value=100, format="%.1f"
                ),
                "velocity": st.column_config.NumberColumn(format="%.2f"),
                "momentum": st.column_config.NumberColumn(format="%.2f"),
                "engagement": st.column_config.NumberColumn(format="compact"),
                "events": st.column_config.NumberColumn(format="compact"),
                "trust": st.column_config.NumberColumn(format="%.0f"),
            },
            key="live.ranking",
        )
        st.caption(f"{ranking.total_ranked:,} creators ranked in all")
    with right:
        st.plotly_chart(charts.trending_bars(ranking.items[:20]), key="live.ranking_chart")


def show_alerts(alerts: AlertList) -> None:
    if not alerts.items:
        st.info("No recent alerts (follower jumps, engagement spikes, comment bursts).")
        return
    st.dataframe(
        ui.alerts_frame(alerts.items),
        hide_index=True,
        column_config={
            "time (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
            "value": st.column_config.NumberColumn(format="compact"),
            "threshold": st.column_config.NumberColumn(format="compact"),
        },
        key="live.alerts",
    )


if __name__ == "__main__":  # run by st.navigation as a page
    render(ui.api_client(), ui.settings().refresh_s)
