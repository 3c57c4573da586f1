"""Airflow 3: its API server (the UI), scheduler, DAG processor and triggerer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from kol.settings import installation_secret
from kol.spark import connect_url
from shell.stack.services.base import Health, Service, ServiceError


class AirflowComponent(Service):
    """One Airflow 3 process; all share one environment built from settings.

    Connections come from the same settings as ``AIRFLOW_CONN_*`` variables, so they always
    match the stack (they are not listed in the UI's connection page, which shows only those
    stored in the database).
    """

    requires: tuple[str, ...] = ("postgres",)
    subcommand: tuple[str, ...] = ()

    @property
    def address(self) -> str:
        return self.s.airflow_url

    def ports(self) -> list[int]:
        return []

    def _secret(self, name: str) -> str:
        """A per-installation secret, created once; every component must share it."""
        return installation_secret(self.s.home, f"airflow_{name}")

    def pipeline_start(self) -> str:
        """The daily DAG's start date: the setting, else the day of the first start (kept)."""
        if self.s.pipeline_start_date is not None:
            return self.s.pipeline_start_date.isoformat()
        path = self.s.airflow_home / "pipeline_start_date"
        if not path.exists():
            from datetime import UTC, datetime

            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(datetime.now(UTC).date().isoformat())
        return path.read_text().strip()

    def env(self) -> dict[str, str]:
        from kol.settings import REPO_ROOT

        s = self.s
        venv_bin = str(Path(sys.executable).parent)
        spark_conn = {
            "conn_type": "spark",
            "host": s.spark_master,
            "extra": {"spark-binary": "spark-submit", "deploy-mode": "client"},
        }
        # For the Trino provider's hook (the DAGs themselves go through kol.trino): its catalog,
        # scheme and CA bundle are extras, and a password means basic auth.
        trino_conn: dict[str, Any] = {
            "conn_type": "trino",
            "host": s.trino_host,
            "port": s.trino_port,
            "login": s.trino_user,
            "extra": {"catalog": s.trino_catalog, "protocol": s.trino_http_scheme},
        }
        if s.trino_auth:
            assert s.trino_password is not None
            trino_conn["password"] = s.trino_password.get_secret_value()
            trino_conn["extra"]["verify"] = str(s.trino_ca_file)
        import json

        return {
            "AIRFLOW_HOME": str(s.airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": str(s.airflow_parallelism),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{s.airflow_admin_user}:admin",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{s.airflow_url}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": s.pg_dsn(s.pg_airflow_db),
            "AIRFLOW__API__HOST": s.bind_host,
            "AIRFLOW__API__PORT": str(s.airflow_port),
            "AIRFLOW__API__SECRET_KEY": self._secret("api_secret_key"),
            "AIRFLOW__API_AUTH__JWT_SECRET": self._secret("jwt_secret"),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(s.airflow_home / "logs"),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(s.airflow_worker_log_port),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(s.airflow_trigger_log_port),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            # Unchanged DAG files are re-parsed every 10 minutes rather than every 30 s: a parse
            # of the three files costs ~2.6 s of CPU, 9 % of a core at the default, taken from
            # the jobs on a 2-core machine. An edited file is still parsed at the next listing
            # (refresh_interval): the default parsing order puts files modified since their
            # last parse first, whatever this interval.
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
            "AIRFLOW_CONN_KOL_SPARK": json.dumps(spark_conn),
            "AIRFLOW_CONN_KOL_TRINO": json.dumps(trino_conn),
            # Tasks run spark-submit, dbt and kol from the project's environment.
            "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}",
            "KOL_HOME": str(s.home),
            "KOL_PIPELINE_START_DATE": self.pipeline_start(),
            # The Bronze and Silver tasks run on the stack's Spark Connect server.
            "KOL_SPARK_REMOTE": s.spark_remote or connect_url(s),
        }

    def command(self) -> list[str]:
        return [str(Path(sys.executable).parent / "airflow"), *self.subcommand]

    def _health(self) -> dict[str, Any]:
        r = httpx.get(f"{self.s.airflow_url}/api/v2/monitor/health", timeout=5)
        r.raise_for_status()
        return r.json()

    def component_health(self, key: str) -> Health:
        try:
            status = self._health().get(key, {}).get("status")
            return Health(status == "healthy", f"{key}: {status}")
        except Exception as exc:
            return Health(False, f"{type(exc).__name__}: {exc}")


class AirflowApi(AirflowComponent):
    name = "airflow-api"
    subcommand = ("api-server", "--workers", "1")

    def ports(self) -> list[int]:
        return [self.s.airflow_port]

    def prepare(self) -> None:
        self.s.airflow_home.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [*self.command()[:1], "db", "migrate"],
            env={**os.environ, **self.env()},
            capture_output=True,
            text=True,
        )
        with open(self.log_file, "a") as log:
            log.write(result.stdout[-5000:] + result.stderr[-5000:])
        if result.returncode != 0:
            raise ServiceError(f"airflow: `airflow db migrate` failed:\n{result.stderr[-2000:]}")

    def health(self) -> Health:
        try:
            db = self._health().get("metadatabase", {}).get("status")
            return Health(db == "healthy", f"UI {self.s.airflow_url}, {self.login()}")
        except Exception as exc:
            return Health(False, f"{type(exc).__name__}: {exc}")

    @property
    def password_file(self) -> Path:
        return self.s.airflow_home / "simple_auth_manager_passwords.json.generated"

    def credentials(self) -> tuple[str, str | None]:
        """The admin user and the password Airflow's simple auth manager generated for it."""
        try:
            import json

            password = json.loads(self.password_file.read_text()).get(self.s.airflow_admin_user)
        except (OSError, ValueError):
            password = None
        return self.s.airflow_admin_user, password

    def login(self, reveal: bool = False) -> str:
        """How to log in. The password itself only with ``reveal``, and only the first time
        for each generated password: after that, where it is kept (0600)."""
        user, password = self.credentials()
        if password is None:
            return f"login {user} / (password generated at first start)"
        path = self.password_file
        path.chmod(0o600)
        shown = path.with_name(path.name + ".shown")
        if reveal and not (shown.exists() and shown.stat().st_mtime >= path.stat().st_mtime):
            shown.touch()
            return f"login {user} / {password} (shown once; kept in {path})"
        return f"login {user}, password in {path}"


class AirflowScheduler(AirflowComponent):
    name = "airflow-scheduler"
    # Its tasks run the Bronze and Silver jobs on the Spark Connect server.
    requires = ("airflow-api", "spark-connect")
    # Airflow's log server listens on every interface, with no setting for the address; with
    # the local executor the API server reads task logs from their files, so none is started.
    subcommand = ("scheduler", "--skip-serve-logs")

    def health(self) -> Health:
        return self.component_health("scheduler")


class AirflowDagProcessor(AirflowComponent):
    name = "airflow-dag-processor"
    requires = ("airflow-api",)
    subcommand = ("dag-processor",)

    def health(self) -> Health:
        return self.component_health("dag_processor")


class AirflowTriggerer(AirflowComponent):
    name = "airflow-triggerer"
    requires = ("airflow-api",)
    subcommand = ("triggerer", "--skip-serve-logs")  # see AirflowScheduler

    def health(self) -> Health:
        return self.component_health("triggerer")
