"""The data-quality section (``KOL_QUALITY_*``): the thresholds the expectation suites refer to
as ``$PARAMETER``, so they change by setting, not by editing suites."""

from __future__ import annotations

from typing import Any

from pydantic_settings import SettingsConfigDict

from kol.settings.base import Section


class QualitySettings(Section):
    section = "quality"
    model_config = SettingsConfigDict(env_prefix="KOL_QUALITY_", env_file=".env", extra="ignore")

    bronze_min_rows: int = 1
    max_followers: int = 2_000_000_000  # above the largest account on any platform
    max_reject_ratio: float = 0.05
    max_lag_hours: float = 12.0
    gold_min_rows: int = 1

    def parameters(self) -> dict[str, Any]:
        return self.model_dump()
