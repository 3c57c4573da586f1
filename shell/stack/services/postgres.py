"""PostgreSQL: the Iceberg JDBC catalog, MLflow's tracking store and Airflow's metadata."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
from pathlib import Path

from shell.stack.services.base import Health, Service, ServiceError


class Postgres(Service):
    name = "postgres"
    # SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients to disconnect.
    stop_signal = signal.SIGINT

    @property
    def address(self) -> str:
        return f"postgresql://{self.s.pg_host}:{self.s.pg_port}"

    def ports(self) -> list[int]:
        return [self.s.pg_port]

    def bin(self, tool: str) -> str:
        if self.s.pg_bin_dir:
            return str(self.s.pg_bin_dir / tool)
        candidates = sorted(
            glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
        )
        if not candidates:
            raise ServiceError(
                "postgres: no PostgreSQL server binaries under /usr/lib/postgresql/*/bin "
                "(run `make setup`, which installs the Debian package, or set KOL_PG_BIN_DIR)"
            )
        return str(Path(candidates[-1]) / tool)

    def run_as(self) -> str | None:
        # PostgreSQL refuses to run as root; Debian's package creates the `postgres` user.
        return "postgres" if os.geteuid() == 0 else None

    def _chown(self, path: Path) -> None:
        user = self.run_as()
        if user:
            shutil.chown(path, user=user, group=user)

    def prepare(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            self._set_password()
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._chown(self.data_dir)
        pwfile = self.s.run_dir / "pg_pwfile"
        self.s.run_dir.mkdir(parents=True, exist_ok=True)
        pwfile.write_text(self.s.pg_password.get_secret_value())
        self._chown(pwfile)
        try:
            result = subprocess.run(
                [
                    self.bin("initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    self.s.pg_user,
                    f"--pwfile={pwfile}",
                    "--auth-host=scram-sha-256",
                    "--auth-local=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                ],
                user=self.run_as(),
                capture_output=True,
                text=True,
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with open(self.log_file, "a") as log:
            log.write(result.stdout + result.stderr)
        if result.returncode != 0:
            raise ServiceError(f"postgres: initdb failed in {self.data_dir}:\n{result.stderr}")

    def _set_password(self) -> None:
        """Give the role the password the settings hold, in single-user mode (no server, no
        login), so that a secret generated or changed after the cluster was created applies."""
        user = self.s.pg_user.replace('"', '""')
        password = self.s.pg_password.get_secret_value().replace("'", "''")
        result = subprocess.run(
            [self.bin("postgres"), "--single", "-D", str(self.data_dir), "postgres"],
            input=f"ALTER ROLE \"{user}\" PASSWORD '{password}';\n",
            user=self.run_as(),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:  # stderr never holds the statement (it came on stdin)
            raise ServiceError(
                f"postgres: could not set the password of role {self.s.pg_user} in "
                f"{self.data_dir}:\n{result.stderr[-2000:]}"
            )

    def command(self) -> list[str]:
        return [
            self.bin("postgres"),
            "-D",
            str(self.data_dir),
            "-c",
            f"listen_addresses={self.s.bind_host}",
            "-c",
            f"port={self.s.pg_port}",
            # TCP only: no socket directory the postgres user would need write access to.
            "-c",
            "unix_socket_directories=",
            "-c",
            "max_connections=200",
            "-c",
            "shared_buffers=256MB",
        ]

    def connect(self, database: str = "postgres"):
        import psycopg2

        return psycopg2.connect(
            host=self.s.pg_host,
            port=self.s.pg_port,
            user=self.s.pg_user,
            password=self.s.pg_password.get_secret_value(),
            dbname=database,
            connect_timeout=3,
        )

    def health(self) -> Health:
        try:
            with contextlib.closing(self.connect()) as conn, conn.cursor() as cur:
                cur.execute("SELECT version()")
                version = cur.fetchone()[0]
            return Health(True, version.split(",")[0])
        except Exception as exc:
            return Health(False, str(exc).strip().splitlines()[0] if str(exc) else repr(exc))

    def after_start(self) -> None:
        with contextlib.closing(self.connect()) as conn:
            conn.autocommit = True
            with conn.cursor() as cur:
                for db in (self.s.pg_catalog_db, self.s.pg_mlflow_db, self.s.pg_airflow_db):
                    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,))
                    if cur.fetchone() is None:
                        cur.execute(f'CREATE DATABASE "{db}"')
        from kol.iceberg import ensure_jdbc_catalog_tables

        ensure_jdbc_catalog_tables(self.s)
