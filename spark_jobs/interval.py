"""Data intervals as jobs receive them: ``--start``/``--end`` in ISO 8601, UTC when naive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta


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
