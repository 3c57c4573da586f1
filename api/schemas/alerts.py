"""Alerts the streaming job raised (breakouts, follower jumps)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from api.schemas.common import Out


class Alert(Out):
    alert_id: str
    type: str
    kol_id: str
    platform: str
    username: str
    event_time: datetime | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    value: float | None = None
    threshold: float | None = None
    details: dict[str, Any] = Field(default={})


class AlertList(Out):
    items: list[Alert]
