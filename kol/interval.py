"""The data interval every layer works on: ``--start``/``--end`` in ISO 8601 (UTC when naive), as
Airflow hands it to each task, and its whole UTC days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time


def parse_instant(text: str) -> datetime:
    """'2026-11-01' or '2026-11-01T06:00:00+07:00' -> aware UTC datetime."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"not an ISO 8601 date or timestamp: {text!r}") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"empty interval: end {self.end} is not after start {self.start}")

    @classmethod
    def parse(cls, start: str, end: str) -> Interval:
        return cls(parse_instant(start), parse_instant(end))

    @classmethod
    def day(cls, d: date) -> Interval:
        start = datetime(d.year, d.month, d.day, tzinfo=UTC)
        return cls(start, start + timedelta(days=1))

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"


def interval_days(start: str | None, end: str | None) -> tuple[date | None, date | None]:
    """A data interval as Gold's whole UTC days: the day of ``start``, and ``end`` rounded up.

    Gold's facts are daily, so an interval ending mid-day still rebuilds that whole day.
    """
    first = parse_instant(start).date() if start else None
    until = None
    if end:
        instant = parse_instant(end)
        until = instant.date() + timedelta(days=0 if instant.time() == dt_time(0) else 1)
    if first is not None and until is not None and until <= first:
        raise ValueError(f"empty interval: end {end} is not after start {start}")
    return first, until


def days_of(start: str | datetime | None, end: str | datetime | None) -> list[date | None]:
    """The UTC days of an interval [start, end) in order ([D, D+3) -> [D, D+1, D+2]); no
    interval at all is ``[None]`` (a caller's "latest day")."""
    if start is None or end is None:
        return [day_of(start)]
    iso = [v if isinstance(v, str) else v.isoformat() for v in (start, end)]
    first, until = interval_days(iso[0], iso[1])
    assert first is not None and until is not None
    return [first + timedelta(days=i) for i in range((until - first).days)]


def day_of(value: str | datetime | date | None) -> date | None:
    """The UTC day an instant falls on (an interval's start as Airflow passes it: ISO text or a
    datetime); a date stays itself."""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    instant = parse_instant(value) if isinstance(value, str) else value
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC).date()
