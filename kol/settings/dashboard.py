"""Settings of the dashboard (env prefix ``KOL_DASHBOARD_``).

The dashboard is a client of the REST API (``api_url`` + ``api_key``) and, for the pipeline's
runs, of Airflow's REST API (``airflow_url`` + user and password). Unset addresses follow the
platform's own settings (``KOL_API_PORT``, ``KOL_BIND_HOST``, ``KOL_AIRFLOW_PORT`` ...), so a
dashboard started next to the local stack finds it; ``kol stack up`` passes all of them
explicitly, the API key included (see :mod:`shell.stack.services.dashboard`).
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from kol.settings.base import Section, building_settings


class DashboardSettings(Section):
    section = "dashboard"
    model_config = SettingsConfigDict(
        env_prefix="KOL_DASHBOARD_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # ---- the KOL REST API ----------------------------------------------------------------
    # Unset: the platform's own (the api section's address).
    api_url: str = ""
    api_key: SecretStr | None = None
    # Per request; a route that needs Trino answers 503 itself within ~15 s when Trino hangs.
    timeout_s: float = Field(default=20.0, gt=0)

    # ---- Airflow (the daily pipeline's runs) ---------------------------------------------
    airflow_url: str = ""  # unset: the stack's Airflow
    airflow_user: str = ""  # unset: the stack's admin user
    airflow_password: SecretStr | None = None
    dag_id: str = "kol_daily_pipeline"

    # ---- the Streamlit server --------------------------------------------------------------
    host: str = ""  # unset: KOL_BIND_HOST
    port: int = Field(default=8501, gt=0, lt=65536)
    # The Live page re-reads the ranking, alerts and stream health this often.
    refresh_s: float = Field(default=5.0, ge=1.0)

    @model_validator(mode="after")
    def _platform_defaults(self) -> DashboardSettings:
        # Made inside Settings, the root fills these when it links its sections.
        if not building_settings():
            self.fill_defaults()
        return self

    def fill_defaults(self) -> None:
        core = self.core
        self.api_url = self.api_url or core.api.base_url
        self.airflow_url = self.airflow_url or core.airflow_url
        self.airflow_user = self.airflow_user or core.airflow_admin_user
        self.host = self.host or core.bind_host

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


@lru_cache
def get_dashboard_settings() -> DashboardSettings:
    return DashboardSettings()
