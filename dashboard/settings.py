"""Settings of the dashboard (env prefix ``KOL_DASHBOARD_``).

The dashboard is a client of the REST API (``api_url`` + ``api_key``) and, for the pipeline's
runs, of Airflow's REST API (``airflow_url`` + user and password). Unset addresses follow the
platform's own settings (``KOL_API_PORT``, ``KOL_BIND_HOST``, ``KOL_AIRFLOW_PORT`` ...), so a
dashboard started next to the local stack finds it; ``kol stack up`` passes all of them
explicitly, the API key included (see :mod:`dashboard.service`).
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from kol.settings import Settings


def _api_url() -> str:
    from api.settings import ApiSettings

    return ApiSettings().base_url


def _airflow_url() -> str:
    return Settings().airflow_url


def _airflow_user() -> str:
    return Settings().airflow_admin_user


def _bind_host() -> str:
    return Settings().bind_host


class DashboardSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KOL_DASHBOARD_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # ---- the KOL REST API ----------------------------------------------------------------
    api_url: str = Field(default_factory=_api_url)
    api_key: SecretStr | None = None
    # Per request; a route that needs Trino answers 503 itself within ~15 s when Trino hangs.
    timeout_s: float = Field(default=20.0, gt=0)

    # ---- Airflow (the daily pipeline's runs) ---------------------------------------------
    airflow_url: str = Field(default_factory=_airflow_url)
    airflow_user: str = Field(default_factory=_airflow_user)
    airflow_password: SecretStr | None = None
    dag_id: str = "kol_daily_pipeline"

    # ---- the Streamlit server --------------------------------------------------------------
    host: str = Field(default_factory=_bind_host)  # 127.0.0.1 unless KOL_BIND_HOST says
    port: int = Field(default=8501, gt=0, lt=65536)
    # The Live page re-reads the ranking, alerts and stream health this often.
    refresh_s: float = Field(default=5.0, ge=1.0)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


@lru_cache
def get_dashboard_settings() -> DashboardSettings:
    return DashboardSettings()
