"""The dashboard as a service of the local stack (`kol stack up` starts it after the API).

It is a client of the API like any other, so it needs an API key: the first start creates one
named "dashboard" and keeps the plain key in a 0600 file under the state directory; later starts
reuse it while it is active (a revoked or lost key is replaced by a new one). The key, the API's
address and Airflow's address and login reach the Streamlit process through its environment
(``KOL_DASHBOARD_*``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from api.keys import KeyStoreLike, stored_key
from kol.settings import REPO_ROOT, DashboardSettings, Settings
from shell.stack.services.airflow import AirflowApi
from shell.stack.services.base import Health, Service, ServiceError

KEY_NAME = "dashboard"


class DashboardService(Service):
    name = "dashboard"
    # The API must answer first: the dashboard reads everything through it, and its key is
    # created in the API's key store (PostgreSQL, up before the API).
    requires = ("api",)

    def __init__(
        self,
        settings: Settings,
        dashboard: DashboardSettings | None = None,
        keys: KeyStoreLike | None = None,
    ) -> None:
        super().__init__(settings)
        self.api = settings.api
        self.ds = dashboard or settings.dashboard
        self._keys = keys
        self._key: str | None = None

    # ---- where ---------------------------------------------------------------------------
    @property
    def address(self) -> str:
        return self.ds.base_url

    def ports(self) -> list[int]:
        return [self.ds.port]

    def cwd(self) -> Path | None:
        return REPO_ROOT

    @property
    def key_file(self) -> Path:
        return self.s.home / "dashboard" / "api_key"

    # ---- the API key ---------------------------------------------------------------------
    def key_store(self) -> KeyStoreLike:
        if self._keys is None:
            from api.keys import KeyStore

            self._keys = KeyStore(self.api)
        return self._keys

    def api_key(self) -> str:
        """The dashboard's key: the kept one while it is active, else a new one (kept)."""
        return stored_key(self.key_store(), KEY_NAME, self.key_file)

    def prepare(self) -> None:
        if self.ds.api_key is not None:  # KOL_DASHBOARD_API_KEY given: that one, as it is
            self._key = self.ds.api_key.get_secret_value()
            return
        try:
            self._key = self.api_key()
        except Exception as exc:
            raise ServiceError(
                f"dashboard: could not get its API key from the API's key store "
                f"(PostgreSQL {self.s.pg_host}:{self.s.pg_port}): {type(exc).__name__}: {exc}"
            ) from exc

    # ---- the process ---------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        user, password = AirflowApi(self.s).credentials()
        env = {
            "KOL_DASHBOARD_API_URL": self.api.base_url,
            "KOL_DASHBOARD_AIRFLOW_URL": self.s.airflow_url,
            "KOL_DASHBOARD_AIRFLOW_USER": user,
            "KOL_DASHBOARD_HOST": self.ds.host,
            "KOL_DASHBOARD_PORT": str(self.ds.port),
        }
        if password:
            env["KOL_DASHBOARD_AIRFLOW_PASSWORD"] = password
        key = self._key or self._kept_key()
        if key:
            env["KOL_DASHBOARD_API_KEY"] = key
        return env

    def _kept_key(self) -> str | None:
        try:
            return self.key_file.read_text().strip() or None
        except OSError:
            return None

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "dashboard/app.py",
            "--server.address",
            self.ds.host,
            "--server.port",
            str(self.ds.port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            # Marketers get the app, not Streamlit's developer menu ("Deploy", rerun, settings).
            "--client.toolbarMode",
            "viewer",
            # A service does not reload when its files change: no watcher threads or inotify.
            "--server.fileWatcherType",
            "none",
        ]

    def health(self) -> Health:
        try:
            r = httpx.get(f"{self.ds.base_url}/_stcore/health", timeout=5)
        except Exception as exc:
            return Health(False, f"{type(exc).__name__}: {exc}")
        ok = r.status_code == 200 and r.text.strip() == "ok"
        return Health(ok, f"{self.ds.base_url} (API {self.api.base_url})" if ok else r.text[:200])
