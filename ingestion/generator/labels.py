"""Ground truth: one label row per creator, its planted behaviours and the facts to check them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from ingestion.generator.config import GeneratorConfig
from ingestion.generator.events import iso_time
from ingestion.generator.model import Creator

# A label names the fraud with its variants; a reviewer's mistake drops them all, or accuses a
# genuine creator of the most common fraud.
FRAUD_BEHAVIOURS = ("bought_followers", "drip_fed", "stealth_bots", "engagement_pod", "stealth_pod")


def label_rows(
    creators: list[Creator],
    pods: dict[int, list[str]],
    stealth_pods: set[int],
    *,
    hard_cases: bool,
) -> list[dict[str, Any]]:
    """One row per creator: its planted behaviours and the facts needed to check them.

    With hard cases on, ``behaviours`` and ``is_fake_audience`` are the labels as written
    (what a model trains on, wrong for ``label_noise`` of creators) and each row also keeps
    the truth (``true_behaviours``, ``true_is_fake_audience``, ``label_flipped``) and the
    cause and day of a benign follower spike (``spike_cause`` giveaway | shoutout | ad |
    viral, ``spike_day``). Default rows keep their old shape, byte for byte.
    """
    rows = []
    for c in creators:
        behaviours = _behaviours(c, stealth_pods)
        row: dict[str, Any] = {
            "key": c.key,
            "platform": c.platform,
            "username": c.username,
            "niche": c.niche,
            "language": c.lang,
            "behaviours": behaviours,
            "is_fake_audience": c.bought_steps is not None,
            "bought_followers_steps": None
            if c.bought_steps is None
            else [{"at": iso_time(at), "followers_added": round(n)} for at, n in c.bought_steps],
            "pod_id": c.pod_id,
            "pod_members": None if c.pod_id is None else pods[c.pod_id],
            "viral_day": c.viral_day,
            "decline_day": c.decline_day,
            "has_shop": c.shop,
        }
        if hard_cases:
            row |= _hard_label(c, behaviours)
        rows.append(row)
    return rows


def write_label_rows(path: Path, rows: list[dict[str, Any]], config: GeneratorConfig) -> Path:
    """``labels.jsonl``: the rows, each with the world it describes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"seed": config.seed, "start": config.start.isoformat(), "days": config.days}
    with path.open("wb") as fh:
        for row in rows:
            fh.write(orjson.dumps({**row, "world": meta}) + b"\n")
    return path


def _behaviours(c: Creator, stealth_pods: set[int]) -> list[str]:
    """The truth; a variant (drip_fed, stealth_pod, ...) follows the behaviour it varies."""
    behaviours = []
    if c.bought_steps is not None:
        behaviours.append("bought_followers")
        behaviours += ["drip_fed"] * c.drip_fed + ["stealth_bots"] * c.stealth_bots
    if c.pod_id is not None:
        behaviours.append("engagement_pod")
        behaviours += ["stealth_pod"] * (c.pod_id in stealth_pods)
    if c.viral_day is not None:
        behaviours.append("viral_breakout")
    if c.decline_day is not None:
        behaviours.append("declining")
    behaviours += ["organic_spike"] * (c.spike is not None)
    behaviours += ["weak_engagement"] * c.weak_engagement
    return behaviours


def _hard_label(c: Creator, truth: list[str]) -> dict[str, Any]:
    written = _flipped(truth) if c.label_flipped else truth
    spike_cause: str | None = None if c.viral_day is None else "viral"
    spike_day = c.viral_day
    if c.spike is not None:
        spike_cause, spike_day = c.spike.cause, c.spike.day
    return {
        "behaviours": written,
        "is_fake_audience": "bought_followers" in written,
        "true_behaviours": truth,
        "true_is_fake_audience": c.bought_steps is not None,
        "label_flipped": c.label_flipped,
        "spike_cause": spike_cause,
        "spike_day": spike_day,
    }


def _flipped(truth: list[str]) -> list[str]:
    if any(b in FRAUD_BEHAVIOURS for b in truth):
        return [b for b in truth if b not in FRAUD_BEHAVIOURS]
    return ["bought_followers"]
