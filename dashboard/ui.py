"""What every page shares: the session's clients, fetching with errors shown, formatting.

Pages get their clients from :func:`api_client` and :func:`airflow_client`: one per browser
session, built from :class:`~dashboard.settings.DashboardSettings` on first use. A client put in
``st.session_state`` under :data:`CLIENT_KEY` / :data:`AIRFLOW_KEY` beforehand is used instead
(that is how tests point the pages at a fake API).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Literal, TypeVar, get_args

import pandas as pd
import streamlit as st

from api.schemas import Alert
from dashboard.client import AirflowClient, DashboardError, KolClient
from ingestion.contracts import Platform
from kol.settings import DashboardSettings, get_dashboard_settings

log = logging.getLogger("kol.dashboard")

T = TypeVar("T")

CLIENT_KEY = "kol_dashboard.api_client"
AIRFLOW_KEY = "kol_dashboard.airflow_client"
SETTINGS_KEY = "kol_dashboard.settings"

PLATFORMS: tuple[str, ...] = get_args(Platform)
PLATFORM_NAMES = {"tiktok": "TikTok", "youtube": "YouTube", "instagram": "Instagram"}

# Badge colours of the trending labels (streaming/score.py), the trust and success labels
# (ml/scoring.py) and the API's generic score bands.
BadgeColor = Literal["red", "orange", "yellow", "blue", "green", "violet", "gray", "primary"]
LABEL_BADGES: dict[str, BadgeColor] = {
    "Viral": "red",
    "Hot": "orange",
    "Stable": "blue",
    "Cooling": "violet",
    "Cold": "gray",
    "Highly Trusted": "green",
    "Trusted": "green",
    "Moderate": "yellow",
    "Low Trust": "orange",
    "Untrusted": "red",
    "Excellent": "green",
    "Strong": "green",
    "Average": "yellow",
    "Weak": "orange",
    "Poor": "red",
    "high": "green",
    "medium": "yellow",
    "low": "red",
}

ALERT_TYPES = {
    "follower_jump": "Follower jump",
    "engagement_spike": "Engagement spike",
    "comment_burst": "Comment burst",
}

# Requests of one page run in parallel (a creator report needs seven): a page waits for the
# slowest answer, not for their sum.
_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="kol-dashboard")


# ---- clients ---------------------------------------------------------------------------------
def settings() -> DashboardSettings:
    value = st.session_state.get(SETTINGS_KEY)
    return value if isinstance(value, DashboardSettings) else get_dashboard_settings()


def api_client() -> KolClient:
    client = st.session_state.get(CLIENT_KEY)
    if client is None:
        client = KolClient(settings())
        st.session_state[CLIENT_KEY] = client
    return client


def airflow_client() -> AirflowClient:
    client = st.session_state.get(AIRFLOW_KEY)
    if client is None:
        client = AirflowClient(settings())
        st.session_state[AIRFLOW_KEY] = client
    return client


# ---- fetching ----------------------------------------------------------------------------------
def submit(fn: Callable[[], T]) -> Future[T]:
    """Start a request now; read it with :func:`shown`."""
    return _POOL.submit(fn)


def shown(request: Future[T] | Callable[[], T], what: str | None = None) -> T | None:
    """The answer, or None after a warning saying which service or route failed and why.

    Never raises: a failed request is a message on the page, not a traceback.
    """
    try:
        return request.result() if isinstance(request, Future) else request()
    except DashboardError as exc:
        st.warning(f"{what}: {exc}" if what else str(exc), icon=":material/warning:")
    except Exception as exc:  # a bug, not a missing service: still no traceback on the page
        log.exception("dashboard request failed")
        st.error(
            f"{what + ': ' if what else ''}unexpected error {type(exc).__name__}: {exc} "
            "(details in the dashboard's log)",
            icon=":material/error:",
        )
    return None


# ---- formatting --------------------------------------------------------------------------------
def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def compact(value: float | None) -> str:
    """12_345 -> "12.3K"; None -> "—"."""
    if _missing(value):
        return "—"
    assert value is not None
    sign = "-" if value < 0 else ""
    n = abs(value)
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{sign}{n / size:.1f}{unit}"
    return f"{sign}{n:,.0f}" if float(n).is_integer() else f"{sign}{n:,.2f}"


def delta(value: float | None) -> str | None:
    """A metric's delta: "+1.5K" / "-200"; None (no delta shown) when unknown or zero."""
    if _missing(value) or value == 0:
        return None
    assert value is not None
    return ("+" if value > 0 else "") + compact(value)


def pct(value: float | None, digits: int = 2) -> str:
    """A share (0.0421) as "4.21%"."""
    return "—" if _missing(value) else f"{value * 100:.{digits}f}%"  # type: ignore[operator]


def score(value: float | None) -> str:
    return "—" if _missing(value) else f"{value:.1f}"


def money(value: float | None) -> str:
    return "—" if _missing(value) else f"${compact(value)}"


def platform_name(platform: str | None) -> str:
    if platform is None:
        return "All platforms"
    return PLATFORM_NAMES.get(platform, platform)


def handle(platform: str, username: str) -> str:
    return f"@{username} · {platform_name(platform)}"


def ago(when: datetime | date | None, now: datetime | None = None) -> str:
    """ "12 s ago", "3 min ago", "5 h ago", "2 d ago"; a day is counted from its end."""
    if when is None:
        return "never"
    now = now or datetime.now(UTC)
    if not isinstance(when, datetime):
        return f"{(now.date() - when).days} d ago" if (now.date() - when).days else "today"
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (now - when).total_seconds()
    if seconds < 0:
        return "just now"
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"


def utc(when: datetime | None) -> datetime | None:
    """A naive UTC datetime for tables (columns say "UTC"; pandas drops zones on export)."""
    if when is None or when.tzinfo is None:
        return when
    return when.astimezone(UTC).replace(tzinfo=None)


def badge(label: str | None) -> None:
    if label:
        st.badge(label, color=LABEL_BADGES.get(label, "gray"))


def sidebar(s: DashboardSettings) -> None:
    with st.sidebar:
        st.caption(f"API: {s.api_url}")
        if s.api_key is None:
            st.caption(":orange[No API key configured (KOL_DASHBOARD_API_KEY)]")


def alerts_frame(alerts: list[Alert]) -> pd.DataFrame:
    """Alerts as a table: when, what, who, the value against its threshold, the details."""
    return pd.DataFrame(
        [
            {
                "time (UTC)": utc(a.event_time),
                "alert": ALERT_TYPES.get(a.type, a.type),
                "creator": f"@{a.username}",
                "platform": a.platform,
                "value": a.value,
                "threshold": a.threshold,
                "details": ", ".join(
                    f"{k}={v}"
                    for k, v in a.details.items()
                    if k not in ("key", "batch_id") and v is not None
                ),
            }
            for a in alerts
        ],
        columns=["time (UTC)", "alert", "creator", "platform", "value", "threshold", "details"],
    )
