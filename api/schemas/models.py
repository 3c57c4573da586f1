"""The served models and the evidence each was promoted on."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.schemas.common import Out, ServedKind


class ModelInfo(Out):
    """A served model and the evidence it was promoted on (its champion's MLflow run)."""

    kind: ServedKind
    name: str = Field(description="Registered model name in MLflow.")
    available: bool = Field(description="Loaded and answering predictions.")
    version: str | None = Field(default=None, description="The version being served.")
    alias: str | None = Field(default=None, description="The registry alias served (champion).")
    trained_at: datetime | None = Field(
        default=None, description="When the version's training run logged it."
    )
    run_id: str | None = Field(default=None, description="The MLflow run of the version.")
    metrics: dict[str, float] = Field(
        default={},
        description="The model's metrics on data it never trained on, as logged on its run "
        "(trust: `holdout_*`; success: `holdout_mae_log` and the backtest's "
        "`<all|shop|engagement>_model_*`).",
    )
    baselines: dict[str, float] = Field(
        default={},
        description="The naive forecasts' metrics on the same data, when the run logged them "
        "(success: `<kind>_last_week_*`, `<kind>_creator_mean_*`).",
    )
    reason: str | None = Field(default=None, description="Why it is not available, when not.")


class ModelList(Out):
    items: list[ModelInfo]
