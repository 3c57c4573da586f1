"""Predictions: trust and success scores for features, trending scores for window totals."""

from __future__ import annotations

from dataclasses import asdict

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
    TrendPrediction,
    TrendRequest,
)
from api.scoring import trend_of_windows
from api.trust import trust_predictions
from kol.settings import ApiSettings

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
        basis=served_basis(model) if kind == "success" else None,
    )


def served_basis(model: ScoringModel) -> str | None:
    """``model`` or ``naive:<forecast>`` for a model with a score spec (see ml.scoring)."""
    scorer = getattr(model, "scorer", None)
    return scorer.spec.basis if scorer is not None else None


async def predict_one(
    kind: ModelKind, body: PredictRequest, models: ModelsDep, s: ApiSettings
) -> Prediction:
    model = models.get(kind)
    (out,) = await predict(model, [body.features])
    return to_prediction(kind, model, out, s)


@router.post(
    "/trust",
    response_model=Prediction,
    summary="Trust score (0-100) from features and profile fields, with its components",
)
async def predict_trust(
    _: ApiKeyDep, models: ModelsDep, settings: SettingsDep, body: PredictRequest
) -> Prediction:
    (out,) = await trust_predictions([(body.features, body.profile)], models, settings)
    return out


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
    # 503 before any work if one is missing (trust: see api.trust)
    loaded = {kind: models.get(kind) for kind in kinds if kind != "trust"}
    rows = [item.features for item in body.items]
    results: list[dict[str, Prediction | str | None]] = [{"id": i.id} for i in body.items]
    if "trust" in kinds:
        items = [(i.features, i.profile) for i in body.items]
        trust = await trust_predictions(items, models, settings)
        for result, prediction in zip(results, trust, strict=True):
            result["trust"] = prediction
    for kind, model in loaded.items():
        outs = await predict(model, rows)
        for result, out in zip(results, outs, strict=True):
            result[kind] = to_prediction(kind, model, out, settings)
    return BatchResult.model_validate({"items": results})


@router.post(
    "/trending",
    response_model=TrendPrediction,
    summary="Trending score (0-100) of a creator's window totals, as the stream computes it",
)
async def predict_trending(
    _: ApiKeyDep, settings: SettingsDep, body: TrendRequest
) -> TrendPrediction:
    p = settings.stream
    if len(body.baseline) > p.baseline_windows:
        raise InvalidRequest(
            "baseline",
            f"at most {p.baseline_windows} windows (KOL_STREAM_BASELINE_WINDOWS)",
            "body",
        )
    if len(body.recent) > p.momentum_windows - 1:
        raise InvalidRequest(
            "recent",
            f"at most {p.momentum_windows - 1} windows (KOL_STREAM_MOMENTUM_WINDOWS - 1)",
            "body",
        )
    scored = trend_of_windows(
        body.current, body.baseline, body.recent, body.events, body.coverage, p
    )
    return TrendPrediction.model_validate(asdict(scored))
