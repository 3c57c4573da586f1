"""A creator's three scores (trust, success, trending), each with its reasons and basis."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.schemas.common import Out


class Reason(Out):
    factor: str = Field(description="Feature or signal behind the score.")
    value: float | None = Field(default=None, description="Its value.")
    effect: float | None = Field(
        default=None, description="Its contribution (model units; positive raises the score)."
    )
    text: str


class Component(Out):
    """One component of trust: its own score, label, model version and reasons."""

    score: float
    label: str | None = None
    model_version: str | None = None
    reasons: list[Reason] = Field(default=[])


BASIS_DOC = (
    "What the score rests on. Trust: its components, `audience` (behaviour over time: follower "
    "growth, engagement, comments; Gold's features) and/or `account` (the profile's own fields, "
    "validated on real labelled accounts); trust is the lower of the two. Success: `model`, or "
    "`naive:creator_mean` / `naive:last_week` while no model beats that naive forecast on the "
    "backtest (the forecast itself is served)."
)


class Score(Out):
    score: float | None = Field(default=None, description="0-100; null when not available.")
    label: str | None = None
    model_version: str | None = None
    scored_at: datetime | None = None
    source: str | None = Field(default=None, description="Where it was read: redis, gold, stream.")
    reasons: list[Reason] = Field(default=[])
    unavailable_reason: str | None = Field(
        default=None, description="Why score is null, when it is."
    )
    basis: str | None = Field(default=None, description=BASIS_DOC)
    components: dict[str, Component] = Field(
        default={}, description="Trust only: each component's score, label and reasons."
    )


class Scores(Out):
    kol_id: str
    platform: str
    username: str
    trust: Score
    success: Score
    trending: Score
