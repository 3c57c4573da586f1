"""Reading files into raw events: the seed platform's JSON / JSON Lines exports and CSV creator
statistics (like ../shared/data/external). Importers only read and map; every record is then
checked against its contract by the sink, so a bad record is rejected with its reason, never
skipped here.
"""

from __future__ import annotations

import csv
import hashlib
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from ingestion.contracts import EVENT_TYPES, TOPICS, ProfileEvent
from kol.topics import DISCOVERY_TOPIC, PROFILES_TOPIC

JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
_BOM = b"\xef\xbb\xbf"
# Stable ids for imported rows: the same file imported twice gives the same event ids.
_IMPORT_NAMESPACE = uuid.UUID("6f1c1d2e-8a43-4c1b-9a57-3f0f7c0c2a11")


class ImportFormatError(ValueError):
    """A file this importer cannot read (unknown format or topic)."""


@dataclass(frozen=True, slots=True)
class ImportRecord:
    topic: str
    payload: bytes
    origin: str  # file:line, for messages and the DLQ's source


# ---- topic inference ------------------------------------------------------------------------

_ENTITY_TOPICS = {
    "profile": PROFILES_TOPIC,
    "video": "kol.videos.raw",
    "comment": "kol.comments.raw",
    "product": "kol.products.raw",
    "discover": DISCOVERY_TOPIC,
}
_ENTITY_RE = re.compile(r"(profile|video|comment|product|discover)(?:s|y|ies)?(?![a-z])")


def infer_topic(path: Path) -> str:
    """The topic a file holds, from its name: ``kol.videos.raw.jsonl``, ``tiktok_videos.json``."""
    name = path.name.lower()
    for topic in TOPICS:
        if topic in name:
            return topic
    found = {_ENTITY_TOPICS[m] for m in _ENTITY_RE.findall(name)}
    if len(found) == 1:
        return found.pop()
    raise ImportFormatError(
        f"cannot tell the topic of {path.name!r} from its name; pass --topic "
        f"(one of {', '.join(TOPICS)})"
    )


# ---- JSON and JSON Lines --------------------------------------------------------------------


def iter_json(path: Path, topic: str) -> Iterator[ImportRecord]:
    """Records of a JSON array, a single JSON object or JSON Lines, as raw payload bytes.

    A JSON Lines file keeps each line's bytes as they are (a broken line is passed on and
    rejected by its contract); array elements are re-serialised compactly.
    """
    data = path.read_bytes().removeprefix(_BOM)
    head = data.lstrip()[:1]
    if head == b"[":
        try:
            items = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise ImportFormatError(f"{path}: not a valid JSON array: {exc}") from None
        for i, item in enumerate(items):
            yield ImportRecord(topic, orjson.dumps(item), f"{path.name}[{i}]")
        return
    if head == b"{" and path.suffix.lower() == ".json":
        try:
            obj = orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # several objects: JSON Lines under a .json name
        else:
            yield ImportRecord(topic, orjson.dumps(obj), f"{path.name}")
            return
    for lineno, line in enumerate(data.splitlines(), start=1):
        line = line.strip()
        if line:
            yield ImportRecord(topic, line, f"{path.name}:{lineno}")


# ---- CSV creator statistics -----------------------------------------------------------------


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _not_nan(value: str | None) -> str | None:
    """``NaN`` in a text column is a pandas export of a missing value."""
    value = _clean(value)
    return None if value is None or value.lower() == "nan" else value


def _tiktok_top(row: dict[str, str]) -> dict[str, Any]:
    handle = (row.get("Tiktoker name") or "").strip()
    return {
        "platform": "tiktok",
        "username": handle,
        # Display names are kept as given (emoji, invisible selectors and all).
        "nickname": row.get("Tiktok name") or None,
        "followers_raw": _clean(row.get("Subscribers")),
        "avg_views_raw": _clean(row.get("Views avg")),
        "avg_likes_raw": _clean(row.get("Likes avg")),
        "avg_comments_raw": _clean(row.get("Comments avg")),
        "avg_shares_raw": _clean(row.get("Shares avg")),
        "profile_url": f"https://www.tiktok.com/@{handle}",
        "source_rank": _clean(row.get("S.no")),
    }


def _instagram_top(row: dict[str, str]) -> dict[str, Any]:
    handle = (row.get("channel_info") or "").strip()
    return {
        "platform": "instagram",
        "username": handle,
        "followers_raw": _clean(row.get("followers")),
        "posts_raw": _clean(row.get("posts")),
        "likes_raw": _clean(row.get("total_likes")),
        "avg_likes_raw": _clean(row.get("avg_likes")),
        "recent_avg_likes_raw": _clean(row.get("new_post_avg_like")),
        "engagement_rate_raw": _clean(row.get("60d_eng_rate")),
        "country": _not_nan(row.get("country")),
        "profile_url": f"https://www.instagram.com/{handle}/",
        "source_rank": _clean(row.get("rank")),
        "influence_score": _clean(row.get("influence_score")),
    }


_PROFILE_FIELDS = set(ProfileEvent.model_fields)


def _generic_profile(row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, raw in row.items():
        value = _clean(raw)
        if name == "verified" and value is not None:
            out[name] = value.lower() in ("true", "1", "yes")
        else:
            out[name] = value
    return out


CsvMapper = Callable[[dict[str, str]], dict[str, Any]]


def csv_mapper(header: list[str]) -> tuple[str, CsvMapper]:
    """Recognise a creator-statistics CSV by its header."""
    cols = {h.strip() for h in header}
    if {"Tiktoker name", "Subscribers"} <= cols:
        return "tiktok_top_creators", _tiktok_top
    if {"channel_info", "followers"} <= cols:
        return "instagram_top_influencers", _instagram_top
    if {"platform", "username"} <= cols and cols <= _PROFILE_FIELDS:
        return "profiles", _generic_profile
    raise ImportFormatError(
        f"unrecognised CSV header {sorted(cols)}: expected creator statistics "
        "(TikTok top creators, Instagram top influencers, or profile contract columns)"
    )


def iter_csv(path: Path, event_time: datetime | None = None) -> Iterator[ImportRecord]:
    """Profile events, one per row, from a creator-statistics CSV.

    The rows carry no time: ``event_time`` defaults to the file's modification time, and ids
    derive from the file's content and the row, so importing a file again repeats its events
    exactly (downstream deduplication sees the same ids).
    """
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    when = event_time or datetime.fromtimestamp(path.stat().st_mtime, UTC)
    stamp = when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    # utf-8-sig drops a BOM; csv copes with CRLF and quoted fields by itself.
    text = raw.decode("utf-8-sig")
    reader = csv.DictReader(text.splitlines(), skipinitialspace=True)
    if reader.fieldnames is None:
        return
    reader.fieldnames = [f.strip() for f in reader.fieldnames]
    kind, mapper = csv_mapper(reader.fieldnames)
    for rowno, row in enumerate(reader, start=2):
        fields = mapper(row)
        record = {
            "event_id": str(uuid.uuid5(_IMPORT_NAMESPACE, f"{digest}:{rowno}")),
            "event_time": stamp,
            "event_type": EVENT_TYPES[PROFILES_TOPIC],
            **fields,
            "source": f"csv:{kind}:{path.name}",
        }
        yield ImportRecord(PROFILES_TOPIC, orjson.dumps(record), f"{path.name}:{rowno}")


# ---- entry point ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportPlan:
    files: list[tuple[Path, str]]  # (file, topic)
    skipped: list[tuple[Path, str]]  # (file, why), reported by the caller


def plan_import(path: Path, topic: str | None = None) -> ImportPlan:
    """Which files an import of ``path`` reads, and into which topic.

    A file named explicitly must be importable; in a folder, files whose topic cannot be told
    (a labels file next to generated topics, say) are skipped and listed, never ignored quietly.
    """
    if topic is not None and topic not in TOPICS:
        raise ImportFormatError(f"unknown topic {topic!r}; one of {', '.join(TOPICS)}")
    if not path.exists():
        raise ImportFormatError(f"{path} does not exist")
    candidates = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    files: list[tuple[Path, str]] = []
    skipped: list[tuple[Path, str]] = []
    for file in candidates:
        try:
            files.append((file, _topic_of(file, topic)))
        except ImportFormatError as exc:
            if not path.is_dir():
                raise
            skipped.append((file, str(exc)))
    return ImportPlan(files, skipped)


def _topic_of(file: Path, topic: str | None) -> str:
    suffix = file.suffix.lower()
    if suffix == ".csv":
        if topic not in (None, PROFILES_TOPIC):
            raise ImportFormatError(f"{file.name}: creator CSVs map to {PROFILES_TOPIC} only")
        return PROFILES_TOPIC
    if suffix in JSON_SUFFIXES:
        return topic or infer_topic(file)
    raise ImportFormatError(f"{file.name}: not JSON, JSON Lines or CSV")


def iter_records(plan: ImportPlan, event_time: datetime | None = None) -> Iterator[ImportRecord]:
    """Every record of the planned files, in file order."""
    for file, topic in plan.files:
        if file.suffix.lower() == ".csv":
            yield from iter_csv(file, event_time)
        else:
            yield from iter_json(file, topic)
