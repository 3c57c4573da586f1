"""A creator's three scores, put together from wherever each one exists (pure functions).

* trending: the stream job's Redis hash (score, label, window metrics -> reasons);
* trust and success: batch scores in Redis (``P scores:<kol_id>``) first, then
  ``gold.kol_scores``; trust falls back to the stream's live trust score (champion model);
* otherwise null, with the reason.

And the trending score of windows a client sends (:func:`trend_of_windows`).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Any

import orjson

from api.errors import ServiceUnavailable
from api.gold import GoldReader
from api.live import LiveStore
from kol.settings import ApiSettings, StreamSettings
from ml.account import ACCOUNT_BANDS
from ml.scoring import SUCCESS_BANDS, TRUST_BANDS, band_label
from streaming import score as trend

BANDS = {"trust": TRUST_BANDS, "success": SUCCESS_BANDS}


def _float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else f


def parse_reasons(raw: Any) -> list[dict[str, Any]]:
    """Reasons stored as JSON text (or already a list); anything malformed is dropped."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, str | bytes):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return [{"factor": "model", "text": str(raw)[:500]}]
    if not isinstance(raw, list):
        return []
    out = []
    for r in raw:
        if isinstance(r, dict) and ("factor" in r or "feature" in r or "text" in r):
            factor = str(r.get("factor") or r.get("feature") or "model")
            out.append(
                {
                    "factor": factor,
                    "value": _float(r.get("value")),
                    "effect": _float(r.get("effect")),
                    "text": str(r.get("text") or factor),
                }
            )
        elif isinstance(r, str):
            out.append({"factor": "model", "text": r})
    return out


def unavailable(reason: str) -> dict[str, Any]:
    return {"score": None, "reasons": [], "unavailable_reason": reason}


def trending_reasons(h: dict[str, str], n: int) -> list[dict[str, Any]]:
    out = []
    velocity = _float(h.get("velocity"))
    if velocity is not None:
        ratio = math.exp(velocity)
        out.append(
            {
                "factor": "velocity",
                "value": round(velocity, 4),
                "text": f"engagement in the last window is {ratio:.2g}x the creator's baseline",
            }
        )
    momentum = _float(h.get("momentum"))
    if momentum is not None:
        trend = "accelerating" if momentum > 0 else "slowing" if momentum < 0 else "steady"
        out.append(
            {
                "factor": "momentum",
                "value": round(momentum, 4),
                "text": f"momentum {momentum:+.2f} per window ({trend})",
            }
        )
    events = _float(h.get("events"))
    damping = _float(h.get("damping"))
    if events is not None:
        text = f"{events:.0f} events in the window"
        if damping is not None and damping < 0.5:
            text += " (little evidence yet: the score is pulled towards 50)"
        out.append({"factor": "events", "value": events, "text": text})
    followers = _float(h.get("follower_delta"))
    if followers:
        out.append(
            {
                "factor": "follower_delta",
                "value": followers,
                "text": f"{followers:+,.0f} followers in the window",
            }
        )
    return out[:n] if n else []


def trending_score(h: dict[str, str], s: ApiSettings, redis_reason: str | None) -> dict[str, Any]:
    if redis_reason is not None:
        return unavailable(redis_reason)
    score = _float(h.get("score"))
    if score is None:
        return unavailable("no live trending score: no recent events for this creator")
    return {
        "score": round(score, 2),
        "label": h.get("label"),
        "model_version": "trending-formula",
        "scored_at": h.get("updated_at") or h.get("event_time"),
        "source": "redis",
        "reasons": trending_reasons(h, max(s.reasons_top_n, 4)),
    }


def batch_score(
    kind: str, row: dict[str, Any], source: str, s: ApiSettings
) -> dict[str, Any] | None:
    """``<kind>_score`` etc. from a Redis score hash or a gold.kol_scores row, if present."""
    score = _float(row.get(f"{kind}_score"))
    if score is None:
        return None
    version = row.get(f"{kind}_model_version")
    out = {
        "score": round(score, 2),
        "label": row.get(f"{kind}_label") or band_label(score, BANDS[kind]),
        "model_version": None if version is None else str(version),
        "scored_at": row.get(f"{kind}_scored_at") or row.get("scored_at"),
        "source": source,
        "reasons": parse_reasons(row.get(f"{kind}_reasons")),
    }
    out["basis"] = row.get(f"{kind}_basis") or None
    if kind == "trust":
        out["components"] = parse_components(row.get("trust_components"))
    return out


def parse_components(raw: Any) -> dict[str, dict[str, Any]]:
    """Trust's components as batch scoring stores them (JSON text); malformed parts dropped."""
    if not raw:
        return {}
    try:
        parts = orjson.loads(raw) if isinstance(raw, str | bytes) else raw
    except orjson.JSONDecodeError:
        return {}
    out = {}
    for name, c in (parts or {}).items() if isinstance(parts, dict) else ():
        score = _float(c.get("score")) if isinstance(c, dict) else None
        if score is None:
            continue
        version = c.get("model_version")
        out[str(name)] = {
            "score": round(score, 2),
            "label": c.get("label"),
            "model_version": None if version is None else str(version),
            "reasons": parse_reasons(c.get("reasons")),
        }
    return out


def live_trust(h: dict[str, str], s: ApiSettings) -> dict[str, Any] | None:
    """The stream's live score of trust's account component (its latest profile event)."""
    score = _float(h.get("trust_score"))
    if score is None:
        return None
    label = band_label(score, ACCOUNT_BANDS)
    return {
        "score": round(score, 2),
        "label": label,
        "model_version": None,
        "scored_at": h.get("updated_at"),
        "source": "stream",
        "reasons": [],
        "basis": "account",
        "components": {"account": {"score": round(score, 2), "label": label, "reasons": []}},
    }


def combine(
    kol_id: str,
    trending_hash: dict[str, str],
    score_hash: dict[str, str],
    gold_row: dict[str, Any] | None,
    gold_reason: str | None,
    redis_reason: str | None,
    s: ApiSettings,
) -> dict[str, Any]:
    platform, _, username = kol_id.partition(":")
    out: dict[str, Any] = {"kol_id": kol_id, "platform": platform, "username": username}
    for kind in ("trust", "success"):
        found = batch_score(kind, score_hash, "redis", s)
        if found is None and gold_row is not None:
            found = batch_score(kind, gold_row, "gold", s)
        if found is None and kind == "trust":
            found = live_trust(trending_hash, s)
        if found is None:
            why = [r for r in (redis_reason, gold_reason) if r]
            found = unavailable(f"no {kind} score yet" + (f" ({'; '.join(why)})" if why else ""))
        out[kind] = found
    out["trending"] = trending_score(trending_hash, s, redis_reason)
    return out


async def read_scores(
    kol_id: str, live: LiveStore, gold: GoldReader, s: ApiSettings
) -> dict[str, Any]:
    """All three scores of a creator, each from the best source that answers."""

    async def from_redis() -> tuple[tuple[dict[str, str], dict[str, str]], str | None]:
        try:
            return await live.creator(kol_id), None
        except ServiceUnavailable as exc:
            return ({}, {}), exc.reason

    async def from_gold() -> tuple[dict[str, Any] | None, str | None]:
        try:
            return await gold.kol_scores(kol_id)
        except ServiceUnavailable as exc:
            return None, exc.reason

    ((trending_hash, score_hash), redis_reason), (gold_row, gold_reason) = await asyncio.gather(
        from_redis(), from_gold()
    )
    return combine(kol_id, trending_hash, score_hash, gold_row, gold_reason, redis_reason, s)


def trend_of_windows(
    current: float,
    baseline: Sequence[float],
    recent: Sequence[float],
    events: float,
    coverage: float | None,
    p: StreamSettings,
) -> trend.TrendScore:
    """The stream's trending score of window totals (``baseline`` newest first, ``recent``
    oldest first, both non-empty / at most K and M - 1 long: the caller checks).

    :func:`streaming.score.trend_scores` takes a creator's per-bucket history, which a client
    does not have; its pure parts are composed here as it composes them, and rounded as it
    rounds, so the same windows give the number the stream writes to Redis.
    """
    # Summed newest first, as trend_scores sums, so B agrees to the last bit.
    base = sum(baseline, 0.0) / len(baseline)
    cov = len(baseline) / p.baseline_windows if coverage is None else coverage
    v = trend.velocity(current, base, p.engagement_prior)
    m = trend.momentum([*recent, current], p.engagement_prior, p.window_buckets)
    d = trend.damping(float(events), cov, p.damping_events)
    score = round(float(trend.combine(v, m, d, p)), 2)
    return trend.TrendScore(
        score=score,
        label=trend.label_for(score, p),
        velocity=round(float(v), 4),
        momentum=round(float(m), 4),
        damping=round(float(d), 4),
        coverage=round(cov, 4),
        engagement=round(current, 2),
        baseline=round(base, 2),
        events=float(events),
    )
