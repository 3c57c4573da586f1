"""MLflow: the tracking server and model registry, behind basic auth."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from kol.settings import installation_secret
from shell.stack.services.base import Health, Service, write_private


class MLflow(Service):
    name = "mlflow"
    requires = ("postgres",)

    @property
    def address(self) -> str:
        return self.s.mlflow_tracking_uri

    def ports(self) -> list[int]:
        return [self.s.mlflow_port]

    @property
    def auth_config(self) -> Path:
        return self.s.home / "conf" / "mlflow" / "basic_auth.ini"

    def prepare(self) -> None:
        self.s.mlflow_artifacts_dir.mkdir(parents=True, exist_ok=True)
        auth = self.s.mlflow_auth
        if auth is None:
            return
        # MLflow's basic-auth app creates this admin on its first start against an empty user
        # store; its users live in their own SQLite file, apart from the tracking store.
        user, password = auth
        self.data_dir.mkdir(parents=True, exist_ok=True)
        write_private(
            self.auth_config,
            "[mlflow]\n"
            "default_permission = READ\n"
            f"database_uri = sqlite:///{self.data_dir / 'basic_auth.db'}\n"
            f"admin_username = {user}\n"
            f"admin_password = {password}\n"
            "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
            # Every request is authenticated, and one password check (a deliberately slow
            # hash) costs tens of milliseconds of the server's CPU: a training run's hundreds
            # of logging calls would pay it each time. A successful check is cached instead.
            "auth_cache_ttl_seconds = 300\n",
        )

    def command(self) -> list[str]:
        auth_app = ["--app-name", "basic-auth"] if self.s.mlflow_auth else []
        return [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            *auth_app,
            "--backend-store-uri",
            self.s.pg_dsn(self.s.pg_mlflow_db),
            "--artifacts-destination",
            self.s.mlflow_artifacts_dir.resolve().as_uri(),
            "--serve-artifacts",
            "--host",
            self.s.bind_host,
            "--port",
            str(self.s.mlflow_port),
            "--workers",
            "1",
        ]

    def env(self) -> dict[str, str]:
        # The server-side job runner (GenAI evaluation jobs) forks seven ~250 MB worker
        # processes; the platform does not use it.
        env = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        if self.s.mlflow_auth:
            env["MLFLOW_AUTH_CONFIG_PATH"] = str(self.auth_config)
            # The auth app's CSRF key; the same across restarts so browser sessions survive.
            key = installation_secret(self.s.home, "mlflow_flask_key")
            env["MLFLOW_FLASK_SERVER_SECRET_KEY"] = key
        return env

    def health(self) -> Health:
        try:
            r = httpx.get(f"{self.s.mlflow_tracking_uri}/health", timeout=3)
            if r.status_code != 200:
                return Health(False, f"/health answered {r.status_code}")
            # The search endpoint reaches the backend store (and the user store), not just
            # the web process.
            r = httpx.post(
                f"{self.s.mlflow_tracking_uri}/api/2.0/mlflow/experiments/search",
                json={"max_results": 1},
                auth=self.s.mlflow_auth,
                timeout=5,
            )
            return Health(r.status_code == 200, f"experiments/search answered {r.status_code}")
        except Exception as exc:
            return Health(False, f"{type(exc).__name__}: {exc}")
