"""One event of the simulated stream, and the ways a malformed one breaks its contract.

Dirt, each at its own rate (:class:`~ingestion.generator.config.GeneratorConfig`): duplicates
(same bytes, re-sent minutes later), late events (held back up to ``max_late_hours``, hence out
of order) and malformed events, each made to fail its contract in one of several ways
(:data:`FLAWS`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from kol.topics import COMMENTS_TOPIC, DISCOVERY_TOPIC, PRODUCTS_TOPIC, PROFILES_TOPIC, VIDEOS_TOPIC

_COMMON_FLAWS = (
    "missing_username",
    "missing_event_id",
    "empty_username",
    "bad_platform",
    "bad_time",
    "wrong_type",
    "truncated",
    "not_object",
)
FLAWS: dict[str, tuple[str, ...]] = {
    PROFILES_TOPIC: (*_COMMON_FLAWS, "bad_count"),
    VIDEOS_TOPIC: (*_COMMON_FLAWS, "bad_count", "missing_video_id"),
    COMMENTS_TOPIC: (*_COMMON_FLAWS, "missing_video_id"),
    PRODUCTS_TOPIC: (*_COMMON_FLAWS, "bad_count"),
    DISCOVERY_TOPIC: _COMMON_FLAWS,
}
_BAD_COUNTS = ("12..5K", "abc", "1.2.3M", "-40", "1,23,456")
_BAD_PLATFORMS = ("TikTok", "facebook", "tiktok ", "yt")


class SimEvent:
    """One event of the stream. ``release`` is when it is delivered; ``t`` its event time."""

    __slots__ = (
        "_value",
        "flaw",
        "key",
        "kind",
        "origin",
        "planted",
        "published",
        "record",
        "release",
        "t",
        "topic",
    )

    def __init__(self, t: float, topic: str, key: str, record: dict[str, Any]) -> None:
        self.t = t
        self.release = t
        self.topic = topic
        self.key = key
        self.record = record
        self.flaw: str | None = None
        self.kind = "event"  # event | late | duplicate
        self.origin: SimEvent | None = None
        self.published: float | None = None  # a video's publish time, simulated
        # Which planted behaviour wrote it ("bot", "pod"): comment-level truth, never sent.
        self.planted: str | None = None
        self._value: bytes | None = None

    @property
    def malformed(self) -> bool:
        return self.flaw is not None

    def encode(self, to_wall: Callable[[float], float] | None = None) -> bytes:
        """The payload bytes; computed once, so a duplicate repeats its original exactly.

        ``to_wall`` maps simulated times to wall-clock times (live mode).
        """
        if self.origin is not None:
            return self.origin.encode(to_wall)
        if self._value is None:
            rec = self.record
            if to_wall is None:
                rec["event_time"] = iso_time(self.t)
            else:
                rec["event_time"] = iso_time(to_wall(self.t))
                if self.published is not None:
                    rec["published_at"] = iso_time(to_wall(self.published))
            self._value = orjson.dumps(rec) if self.flaw is None else apply_flaw(rec, self.flaw)
        return self._value


def iso_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def apply_flaw(record: dict[str, Any], flaw: str) -> bytes:
    """Serialise ``record`` broken in the way ``flaw`` names; the result fails its contract."""
    rec = dict(record)
    variant = int(hashlib.blake2b(str(rec.get("event_id")).encode(), digest_size=2).hexdigest(), 16)
    if flaw == "truncated":
        payload = orjson.dumps(rec)
        return payload[: max(1, len(payload) // 2)]
    if flaw == "not_object":
        return orjson.dumps([rec])
    if flaw == "missing_username":
        del rec["username"]
    elif flaw == "missing_event_id":
        del rec["event_id"]
    elif flaw == "missing_video_id":
        del rec["video_id"]
    elif flaw == "empty_username":
        rec["username"] = ""
    elif flaw == "bad_platform":
        rec["platform"] = _BAD_PLATFORMS[variant % len(_BAD_PLATFORMS)]
    elif flaw == "bad_time":
        rec["event_time"] = (
            "yesterday",
            "2025-13-40T25:61:00Z",
            rec["event_time"][:-1],
            1_700_000_000,
        )[variant % 4]
    elif flaw == "wrong_type":
        rec["username"] = 10_000 + variant
    elif flaw == "bad_count":
        for name in ("followers_raw", "view_count_raw", "sold_count_raw"):
            if name in rec:
                rec[name] = _BAD_COUNTS[variant % len(_BAD_COUNTS)]
                break
    else:
        raise ValueError(f"unknown flaw {flaw!r}")
    return orjson.dumps(rec)
