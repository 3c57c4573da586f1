"""The API as a service of the local stack (`kol stack up` starts it after its dependencies)."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from api.server import uvicorn_command
from kol.settings import REPO_ROOT, Settings
from shell.stack.services.base import Health, Service


class ApiService(Service):
    name = "api"
    # Redis and PostgreSQL (API keys) are needed to serve anything useful; Trino and MLflow
    # may come later: the routes that need them answer 503 until then.
    requires = ("redis", "postgres")

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.api = settings.api

    @property
    def address(self) -> str:
        return self.api.base_url

    def ports(self) -> list[int]:
        return [self.api.port]

    @property
    def metrics_dir(self) -> Path:
        return self.s.run_dir / "api-metrics"

    def prepare(self) -> None:
        # Multi-process Prometheus files describe the workers of one run only.
        shutil.rmtree(self.metrics_dir, ignore_errors=True)
        self.metrics_dir.mkdir(parents=True, exist_ok=True)

    def after_start(self) -> None:
        from api.keys import KeyStore

        KeyStore(self.api).ensure()

    def cwd(self) -> Path | None:
        return REPO_ROOT

    def env(self) -> dict[str, str]:
        return {"PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir)}

    def command(self) -> list[str]:
        return uvicorn_command(self.api)

    def health(self) -> Health:
        try:
            r = httpx.get(f"{self.api.base_url}/readyz", timeout=5)
            body = r.json()
        except Exception as exc:
            return Health(False, f"{type(exc).__name__}: {exc}")
        # Up and serving is healthy; which backing services answer is the detail.
        down = [name for name, c in body.get("checks", {}).items() if not c.get("ok")]
        models = [m["kind"] for m in body.get("models", []) if m.get("available")]
        detail = f"{body.get('status')}; models: {', '.join(models) or 'none'}"
        if down:
            detail += f"; down: {', '.join(down)}"
        return Health(r.status_code in (200, 503), detail)
