"""Predictions: trust and success scores for features sent in the body."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ApiKeyDep, ModelsDep, SettingsDep
from api.errors import InvalidRequest
from api.models import ModelOutput, ScoringModel, band_label, predict
from api.schemas import (
    ERROR_RESPONSES,
    BatchRequest,
    BatchResult,
    ModelKind,
    Prediction,
    PredictRequest,
)
from api.settings import ApiSettings

router = APIRouter(prefix="/predict", tags=["predictions"], responses=ERROR_RESPONSES)


def to_prediction(
    kind: ModelKind, model: ScoringModel, out: ModelOutput, s: ApiSettings
) -> Prediction:
    return Prediction(
        model=kind,
        score=out.score,
        label=out.label or band_label(out.score, s.score_bands),
        model_name=model.name,
        model_version=str(model.version),
        reasons=out.reasons,  # type: ignore[arg-type]
    )


async def predict_one(
    kind: ModelKind, body: PredictRequest, models: ModelsDep, s: ApiSettings
) -> Prediction:
    model = models.get(kind)
    (out,) = await predict(model, [body.features])
    return to_prediction(kind, model, out, s)


@router.post("/trust", response_model=Prediction, summary="Trust score (0-100) from features")
async def predict_trust(
    _: ApiKeyDep, models: ModelsDep, settings: SettingsDep, body: PredictRequest
) -> Prediction:
    return await predict_one("trust", body, models, settings)


@router.post("/success", response_model=Prediction, summary="Success score (0-100) from features")
async def predict_success(
    _: ApiKeyDep, models: ModelsDep, settings: SettingsDep, body: PredictRequest
) -> Prediction:
    return await predict_one("success", body, models, settings)


@router.post(
    "/batch",
    response_model=BatchResult,
    summary="Trust and/or success for many creators (up to KOL_API_MAX_BATCH_SIZE)",
)
async def predict_batch(
    _: ApiKeyDep, models: ModelsDep, settings: SettingsDep, body: BatchRequest
) -> BatchResult:
    if len(body.items) > settings.max_batch_size:
        raise InvalidRequest(
            "items", f"at most {settings.max_batch_size} items per request", "body"
        )
    kinds: list[ModelKind] = list(dict.fromkeys(body.models))
    loaded = {kind: models.get(kind) for kind in kinds}  # 503 before any work if one is missing
    rows = [item.features for item in body.items]
    results: list[dict[str, Prediction | str | None]] = [{"id": i.id} for i in body.items]
    for kind, model in loaded.items():
        outs = await predict(model, rows)
        for result, out in zip(results, outs, strict=True):
            result[kind] = to_prediction(kind, model, out, settings)
    return BatchResult.model_validate({"items": results})
