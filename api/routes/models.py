"""Models: which trust and success models are served, and the metrics they were promoted on."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ApiKeyDep, ModelsDep
from api.schemas import ERROR_RESPONSES, ModelList

router = APIRouter(prefix="/models", tags=["models"], responses=ERROR_RESPONSES)


@router.get(
    "",
    response_model=ModelList,
    summary="The served models (MLflow champions) with their holdout and baseline metrics",
)
async def list_models(_: ApiKeyDep, models: ModelsDep) -> ModelList:
    # A missing champion is an answer here (available: false, with the reason), not a 503.
    return ModelList.model_validate({"items": models.infos()})
