"""Plotly figures of the pages, built from the API's models (pure functions, no Streamlit)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import plotly.graph_objects as go

from api.schemas import KolProfile, PeerBenchmark, PlatformStats, TimeseriesPoint, TrendingItem

TREND_COLORS = {
    "Viral": "#d62728",
    "Hot": "#ff7f0e",
    "Stable": "#1f77b4",
    "Cooling": "#17becf",
    "Cold": "#7f7f7f",
}
FOLLOWERS = "#1f77b4"
FOLLOWING = "#9467bd"
JUMP = "#d62728"


def _layout(fig: go.Figure, height: int = 360, **kwargs: object) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        **kwargs,
    )
    return fig


def trending_bars(items: Sequence[TrendingItem]) -> go.Figure:
    """The ranking as horizontal bars, best on top, coloured by label."""
    rows = list(reversed(items))
    fig = go.Figure(
        go.Bar(
            x=[i.score for i in rows],
            y=[f"@{i.username} ({i.platform})" for i in rows],
            orientation="h",
            marker_color=[TREND_COLORS.get(i.label or "", "#aaaaaa") for i in rows],
            text=[i.label or "" for i in rows],
            textposition="inside",
            hovertemplate="%{y}: %{x:.1f}<extra></extra>",
        )
    )
    fig.add_vline(x=50, line_dash="dot", line_color="#999999")
    return _layout(
        fig,
        height=max(240, 26 * len(rows) + 60),
        xaxis={"range": [0, 100], "title": "trending score"},
    )


def follower_history(points: Sequence[TimeseriesPoint]) -> go.Figure:
    """Followers (left axis) and following (right axis) per day; jump days marked in red."""
    days = [p.date_day for p in points]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=days,
            y=[p.followers for p in points],
            name="followers",
            mode="lines+markers",
            line={"color": FOLLOWERS},
            marker={"size": 4},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=days,
            y=[p.following for p in points],
            name="following",
            mode="lines",
            line={"color": FOLLOWING, "dash": "dot"},
            yaxis="y2",
        )
    )
    jumps = [p for p in points if p.is_follower_jump]
    if jumps:
        fig.add_trace(
            go.Scatter(
                x=[p.date_day for p in jumps],
                y=[p.followers for p in jumps],
                name="follower jump",
                mode="markers",
                marker={"color": JUMP, "size": 12, "symbol": "triangle-up"},
                customdata=[p.followers_delta for p in jumps],
                hovertemplate="%{x}: jump of %{customdata:,} followers<extra></extra>",
            )
        )
        for p in jumps:
            fig.add_vrect(x0=p.date_day, x1=p.date_day, line_width=1, line_color=JUMP, opacity=0.4)
    return _layout(
        fig,
        yaxis={"title": "followers"},
        yaxis2=_following_axis([p.following for p in points if p.following is not None]),
        hovermode="x unified",
    )


def _following_axis(values: list[int]) -> dict[str, object]:
    """The right axis; a flat following count gets a range around it, not decimals of it."""
    axis: dict[str, object] = {
        "title": "following",
        "overlaying": "y",
        "side": "right",
        "showgrid": False,
        "tickformat": ",.0f",
    }
    if values and max(values) - min(values) < max(10, 0.05 * max(values)):
        axis["range"] = [min(values) * 0.8, max(values) * 1.2 + 10]
    return axis


def peer_band(p: PeerBenchmark) -> go.Figure:
    """The peers' engagement quartiles as a band, the creator as a marker (percent)."""
    fig = go.Figure()
    if p.p25 is not None and p.p75 is not None:
        fig.add_trace(
            go.Bar(
                x=[(p.p75 - p.p25) * 100],
                base=[p.p25 * 100],
                y=["peers"],
                orientation="h",
                name="peers p25-p75",
                marker_color="#c6dbef",
                hovertemplate="p25-p75: %{base:.2f}% - %{x:.2f}%<extra></extra>",
            )
        )
    if p.median is not None:
        fig.add_trace(
            go.Scatter(
                x=[p.median * 100],
                y=["peers"],
                mode="markers",
                name="peer median",
                marker={"symbol": "line-ns-open", "size": 30, "color": "#08519c"},
            )
        )
    if p.engagement_rate is not None:
        fig.add_trace(
            go.Scatter(
                x=[p.engagement_rate * 100],
                y=["peers"],
                mode="markers",
                name="this creator",
                marker={"symbol": "diamond", "size": 16, "color": "#d62728"},
            )
        )
    return _layout(
        fig, height=180, xaxis={"title": "engagement rate (%)"}, yaxis={"visible": False}
    )


def compare_followers(
    series: Mapping[str, Sequence[TimeseriesPoint]], indexed: bool = False
) -> go.Figure:
    """One line per creator; ``indexed`` rescales each to 100 on its first day."""
    fig = go.Figure()
    for name, points in series.items():
        values = [p.followers for p in points]
        first = next((v for v in values if v), None)
        ys: list[float | None] = [
            (v / first * 100 if v is not None and first else None) if indexed else v for v in values
        ]
        fig.add_trace(go.Scatter(x=[p.date_day for p in points], y=ys, name=name, mode="lines"))
    return _layout(
        fig,
        yaxis={"title": "followers (first day = 100)" if indexed else "followers"},
        hovermode="x unified",
    )


def compare_scores(profiles: Sequence[KolProfile]) -> go.Figure:
    """Trust, success and trending side by side, one bar group per score."""
    kinds = ("trust", "success", "trending")
    fig = go.Figure()
    for prof in profiles:
        scores = [getattr(prof.scores, k).score for k in kinds]
        fig.add_trace(go.Bar(x=list(kinds), y=scores, name=f"@{prof.username} ({prof.platform})"))
    return _layout(fig, barmode="group", yaxis={"range": [0, 100], "title": "score"})


def platform_bars(items: Sequence[PlatformStats], metric: str) -> go.Figure:
    fig = go.Figure(go.Bar(x=[i.platform for i in items], y=[getattr(i, metric) for i in items]))
    return _layout(fig, height=280)


def platform_trend(days: Mapping[date, Sequence[PlatformStats]], metric: str) -> go.Figure:
    by_platform: dict[str, list[tuple[date, float | None]]] = {}
    for day in sorted(days):
        for item in days[day]:
            by_platform.setdefault(item.platform, []).append((day, getattr(item, metric)))
    fig = go.Figure()
    for platform, values in sorted(by_platform.items()):
        fig.add_trace(go.Scatter(x=[d for d, _ in values], y=[v for _, v in values], name=platform))
    return _layout(fig, height=300, hovermode="x unified")
