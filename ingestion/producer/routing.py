"""Where a payload goes: its topic if it passes its contract, else the DLQ with the reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from ingestion.contracts import BaseEvent, event_key, validate_payload
from kol.topics import DLQ_TOPIC


@dataclass(frozen=True, slots=True)
class Routed:
    """Where one payload goes: its own topic, or the DLQ (then ``reason`` is set)."""

    topic: str
    key: str | None
    value: bytes
    reason: str | None = None


def dlq_record(
    topic: str, payload: bytes, reason: str, detail: str, source: str, key: str | None
) -> bytes:
    return orjson.dumps(
        {
            "topic": topic,
            "reason": reason,
            "detail": detail,
            "key": key,
            "source": source,
            "rejected_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            # Decoded losslessly where it is UTF-8 (always, for JSON); replacement characters
            # mark bytes that were not.
            "payload": payload.decode("utf-8", "replace"),
        }
    )


def _guess_key(payload: bytes) -> str | None:
    """Best-effort key of a rejected payload, so its creator's DLQ entries stay together."""
    try:
        obj = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if isinstance(obj, dict):
        platform, username = obj.get("platform"), obj.get("username")
        if isinstance(platform, str) and isinstance(username, str) and platform and username:
            return event_key(platform, username)
    return None


def route(topic: str, payload: bytes, source: str = "", key_hint: str | None = None) -> Routed:
    """Check ``payload`` against the contract of ``topic`` and decide where it goes."""
    result = validate_payload(topic, payload)
    if isinstance(result, BaseEvent):
        return Routed(topic, result.key, payload)
    key = key_hint or _guess_key(payload)
    value = dlq_record(topic, payload, result.code, result.message, source, key)
    return Routed(DLQ_TOPIC, key, value, result.code)
