"""Scores: trust, success and trending of one creator, each with its source and reasons."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ApiKeyDep, GoldDep, LiveDep, PlatformPath, SettingsDep, UsernamePath, kol_id
from api.errors import NotFound
from api.schemas import ERROR_RESPONSES, NOT_FOUND, Scores
from api.scoring import read_scores

router = APIRouter(prefix="/scores", tags=["scores"], responses=ERROR_RESPONSES)


def known(scores: dict[str, object]) -> bool:
    return any(
        isinstance(s, dict) and s.get("score") is not None
        for s in (scores["trust"], scores["success"], scores["trending"])
    )


@router.get(
    "/{platform}/{username}",
    response_model=Scores,
    responses=NOT_FOUND,
    summary="Trust, success and trending scores (null with a reason when not available)",
)
async def get_scores(
    _: ApiKeyDep,
    settings: SettingsDep,
    gold: GoldDep,
    live: LiveDep,
    platform: PlatformPath,
    username: UsernamePath,
) -> Scores:
    kid = kol_id(platform, username)
    scores = await read_scores(kid, live, gold, settings)
    # No score anywhere: an unknown creator is a 404, a known one gets the reasons. With Gold
    # unavailable the creator cannot be told unknown, hence the 503 from exists().
    if not known(scores) and not await gold.exists(kid):
        raise NotFound(f"unknown creator {kid}")
    return Scores.model_validate(scores)
