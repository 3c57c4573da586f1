"""The ML section (``KOL_ML_*``): tables, the model registry's names (which the API and the
stream load by), training and scoring.

The Gold schema is the one dbt writes (the gold section's ``KOL_GOLD_SCHEMA``); the Redis key
prefix is the hot path's, so the API reads the score hashes where batch scoring writes them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from kol.settings.base import REPO_ROOT, Section, SqlIdentifier


class MlSettings(Section):
    section = "ml"
    model_config = SettingsConfigDict(
        env_prefix="KOL_ML_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # ---- where the data is --------------------------------------------------------------------
    features_table: SqlIdentifier = "ml_kol_features"
    scores_table: SqlIdentifier = "kol_scores"
    # Ground truth of generated worlds (`kol ingest generate` writes labels-seed<N>.jsonl here
    # by default); empty = <state dir>/data/generator. Later files win for the same creator.
    labels_dir: Path | None = None
    # Extra labels teams supply (CSV: platform,username,label), applied over the generator's.
    labels_csv: list[Path] = []
    external_dir: Path = (
        REPO_ROOT.parent / "shared" / "data" / "external" / "instagram_fake_spammer"
    )

    # ---- registry -----------------------------------------------------------------------------
    trust_model_name: str = "kol_trust"  # the audience component (Gold's behaviour features)
    account_model_name: str = "kol_trust_account"  # the account component (profile fields)
    success_model_name: str = "kol_success"
    alias: str = "champion"
    trust_experiment: str = "kol_trust"
    success_experiment: str = "kol_success"
    account_experiment: str = "kol_trust_account"
    external_experiment: str = "kol_trust_external"
    # A challenger becomes champion only if it beats the champion on the same holdout by at
    # least this much (trust: ROC AUC points; success: relative MAE reduction).
    promote_min_gain: float = Field(default=0.0, ge=0)
    # The weekly DAG also runs on Gold updates; those runs train only when the last training
    # is at least this old.
    retrain_every_days: int = Field(default=7, ge=1)

    # ---- training -----------------------------------------------------------------------------
    seed: int = 7
    holdout_share: float = Field(default=0.25, gt=0, lt=1)  # trust: creators held out
    cv_folds: int = Field(default=3, ge=2)
    optuna_trials: int = Field(default=6, ge=1)
    optuna_timeout_s: float = Field(default=120.0, gt=0)
    num_threads: int = Field(default=2, ge=1)
    # Calibration: isotonic from this many out-of-fold rows on, sigmoid (Platt) below.
    isotonic_min_rows: int = Field(default=1000, ge=10)
    success_horizon_days: int = Field(default=7, ge=1)
    # Backtest: origins in the last share of the (target-complete) days are the test set.
    success_test_share: float = Field(default=0.3, gt=0, lt=1)
    min_train_rows: int = Field(default=20, ge=2)

    # ---- scoring ------------------------------------------------------------------------------
    reasons_top_n: int = Field(default=3, ge=0)
    redis_batch: int = Field(default=5000, ge=1)
    score_threads: int = Field(default=2, ge=1)

    # ---- monitoring (ml.monitoring) -----------------------------------------------------------
    monitoring_experiment: str = "kol_monitoring"
    drift_table: SqlIdentifier = "ml_drift"
    score_stats_table: SqlIdentifier = "ml_score_stats"
    # Quantile bins per feature in the training reference (plus below-min and missing bins).
    drift_bins: int = Field(default=10, ge=2, le=100)
    # A champion whose largest feature PSI on its newest scored day reaches this retrains early
    # (Gold-triggered runs of the weekly retrain; see ml.tasks.retrain_due).
    drift_psi_threshold: float = Field(default=0.25, gt=0)
    # Recorded, but left out of psi_max (and so of the retrain decision): features that move
    # by design as the population ages.
    drift_ignore_features: list[str] = ["days_since_first_seen"]

    # ---- derived ------------------------------------------------------------------------------
    @property
    def gold_schema(self) -> str:
        return self.core.gold.schema_name

    @property
    def gold(self) -> str:
        return f"{self.core.trino_catalog}.{self.gold_schema}"

    @property
    def label_files(self) -> list[Path]:
        folder = self.labels_dir or self.core.data_dir / "generator"
        return sorted(folder.glob("labels*.jsonl"), key=lambda p: p.stat().st_mtime)

    @property
    def score_key_prefix(self) -> str:
        return self.core.stream.redis_prefix


@lru_cache
def get_ml_settings() -> MlSettings:
    return MlSettings()
