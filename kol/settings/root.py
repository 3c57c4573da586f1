"""The one place every address, path and credential of the platform comes from.

Every field reads from an environment variable with the ``KOL_`` prefix (``KOL_HOME``,
``KOL_KAFKA_BOOTSTRAP``, ``KOL_TRINO_PORT`` ...) or from a ``.env`` file in the working
directory. Defaults describe the local single-machine stack; pointing the platform at real
clusters is a matter of setting these variables, never of editing code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kol.settings.api import ApiSettings
from kol.settings.base import (
    _BUILDING,
    REPO_ROOT,
    Section,
    identifier,
    installation_secret,
    secret,
)
from kol.settings.dashboard import DashboardSettings
from kol.settings.gold import GoldSettings
from kol.settings.ingest import IngestSettings
from kol.settings.ml import MlSettings
from kol.settings.quality import QualitySettings
from kol.settings.stream import StreamSettings


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KOL_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # State directory: data, logs, pid files and downloaded JVM artifacts of the local stack.
    home: Path = Field(default=REPO_ROOT / ".kol")
    # Address every local service binds to and that clients use by default.
    bind_host: str = "127.0.0.1"

    # PostgreSQL: Iceberg JDBC catalog, MLflow backend store, Airflow metadata.
    # 5433 rather than 5432 so the stack never collides with Debian's own "main" cluster.
    pg_host: str = "127.0.0.1"
    pg_port: int = 5433
    pg_user: str = "kol"
    # Unset or empty: generated per installation, as the other services' (see redis_password);
    # the local cluster's role takes it at its next start.
    pg_password: SecretStr = SecretStr("")
    pg_catalog_db: str = "iceberg_catalog"
    pg_mlflow_db: str = "mlflow"
    pg_airflow_db: str = "airflow"
    pg_bin_dir: Path | None = None  # default: newest /usr/lib/postgresql/*/bin

    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    redis_db: int = 0
    # Credentials of the stack's services. Unset: a secret generated once per installation
    # and kept 0600 in $KOL_HOME/secrets/, which the local stack is started with. Set to an
    # empty string only for a service that runs without authentication.
    redis_password: SecretStr | None = None

    kafka_port: int = 9092
    # Where clients connect; defaults to the local broker (bind_host:kafka_port).
    kafka_bootstrap: str = ""
    kafka_controller_port: int = 9093
    kafka_heap: str = "1g"
    kafka_default_partitions: int = 3
    # SASL/PLAIN user of every client and of the broker itself (see redis_password).
    kafka_user: str = "kol"
    kafka_password: SecretStr | None = None

    trino_host: str = "127.0.0.1"
    # Where clients connect: HTTPS with user and password (HTTP basic auth), or plain HTTP
    # without authentication when trino_password is the empty string.
    trino_port: int = 8080
    # The local coordinator's plain-HTTP port while HTTPS is on: Trino's internal communication
    # only (discovery, signed with the shared secret), on bind_host; it refuses client requests.
    trino_internal_port: int = 8081
    trino_user: str = "kol"
    trino_password: SecretStr | None = None
    # PEM bundle clients verify Trino's certificate with. Default: the local stack's self-signed
    # certificate ($KOL_HOME/secrets/trino-cert.pem); for a cluster whose certificate a public
    # CA signed, the system bundle (e.g. /etc/ssl/certs/ca-certificates.crt).
    trino_ca_file: Path | None = None
    trino_catalog: str = "iceberg"
    trino_heap: str = "4G"
    trino_query_max_memory: str = "2GB"

    mlflow_host: str = "127.0.0.1"
    mlflow_port: int = 5000
    mlflow_user: str = "kol"
    mlflow_password: SecretStr | None = None

    # Airflow: the api-server serves the UI and the task execution API.
    airflow_host: str = "127.0.0.1"
    airflow_port: int = 8088
    airflow_admin_user: str = "admin"
    # Log servers the scheduler and triggerer run so the UI can show task logs.
    airflow_worker_log_port: int = 8793
    airflow_trigger_log_port: int = 8794
    airflow_parallelism: int = 4
    # First day the scheduler runs the daily DAG for (catchup covers every day since, e.g.
    # after downtime). Default: the day this installation's Airflow first started, kept in
    # $KOL_HOME/airflow/pipeline_start_date; history before it is loaded with a backfill.
    pipeline_start_date: date | None = None
    # Days per run of kol_backfill_pipeline: one run's start-up (JVMs, dbt's parse) is paid per
    # this many days of history, and a failed run redoes them all.
    pipeline_backfill_days: int = Field(default=30, ge=1, le=366)

    # Iceberg: one JDBC catalog shared by Spark, Trino and pyiceberg. The catalog name is
    # stored in every catalog row, so all three engines must use the same one.
    iceberg_catalog_name: str = "kol"
    warehouse_dir: Path | None = None  # default: $KOL_HOME/warehouse
    # A JDBC URL overrides the one derived from the pg_* settings (e.g. a managed Postgres).
    iceberg_jdbc_url: str | None = None

    spark_master: str = "local[*]"
    # The address the Spark driver listens on and advertises (RPC, block manager). Default:
    # bind_host with a local master; a cluster's executors must reach it, so set it there.
    spark_driver_host: str | None = None
    # A JVM size (also the driver's -Xms): digits and k, m or g.
    spark_driver_memory: str = Field(default="4g", pattern=r"^[0-9]+[kmgKMG]$")
    spark_shuffle_partitions: int = 8
    # Topics the Bronze and Silver jobs work on at once. Each topic's work is a chain of small
    # Spark jobs with driver-side gaps (planning, Iceberg commits); running the topics side by
    # side keeps both cores busy through those gaps.
    spark_topic_parallelism: int = 5
    spark_jars_dir: Path | None = None  # default: $KOL_HOME/jars/spark
    # The Spark Connect server (sc://host:port) the pipeline's Bronze and Silver tasks run their
    # jobs on, one long-lived driver instead of a spark-submit per task; unset: spark-submit.
    # The local stack runs one on spark_connect_port and sets this for Airflow.
    spark_remote: str | None = None
    spark_connect_port: int = 15002
    # The pre-shared token the server requires of every client (spark.connect.authenticate.token);
    # an empty one runs the server without authentication.
    spark_connect_token: SecretStr | None = None

    # How long `kol stack up` waits for one service to answer its health check.
    start_timeout_s: float = 180.0

    # ---- the layers' sections, each read from its own KOL_<SECTION>_* variables -------------
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    stream: StreamSettings = Field(default_factory=StreamSettings)
    gold: GoldSettings = Field(default_factory=GoldSettings)
    quality: QualitySettings = Field(default_factory=QualitySettings)
    ml: MlSettings = Field(default_factory=MlSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)

    def __init__(self, **values: Any) -> None:
        token = _BUILDING.set(True)
        try:
            super().__init__(**values)
        finally:
            _BUILDING.reset(token)

    @model_validator(mode="after")
    def _link_sections(self) -> Settings:
        self._link()
        return self

    def _link(self) -> None:
        for name in SECTIONS:
            section: Section = getattr(self, name)
            section._root = self
        self.dashboard.fill_defaults()

    @model_validator(mode="after")
    def _installation_secrets(self) -> Settings:
        if not self.pg_password.get_secret_value():
            self.pg_password = SecretStr(installation_secret(self.home, "pg_password"))
        for name in _GENERATED_SECRETS:
            if getattr(self, name) is None:
                setattr(self, name, SecretStr(installation_secret(self.home, name)))
        return self

    @model_validator(mode="after")
    def _default_bootstrap(self) -> Settings:
        if not self.kafka_bootstrap:
            self.kafka_bootstrap = f"{self.bind_host}:{self.kafka_port}"
        if self.spark_driver_host is None and self.spark_master.startswith("local"):
            self.spark_driver_host = self.bind_host
        return self

    @model_validator(mode="after")
    def _default_trino_ca_file(self) -> Settings:
        if self.trino_ca_file is None:
            self.trino_ca_file = self.trino_cert_file
        return self

    def with_changes(self, **changes: Any) -> Settings:
        """A copy with some fields or whole sections replaced (``gold=GoldSettings(...)``)."""
        return self.model_copy(update=changes)

    def for_world(
        self, topic_prefix: str | None = None, gold_schema: str | None = None
    ) -> Settings:
        """These settings for another world: the raw topics under ``topic_prefix`` and Gold in
        ``gold_schema`` (None or the current value: unchanged). A pipeline run's parameters."""
        changes: dict[str, Any] = {}
        if gold_schema is not None and gold_schema != self.gold.schema_name:
            changes["gold"] = self.gold.model_copy(update={"schema_name": identifier(gold_schema)})
        if topic_prefix is not None and topic_prefix != self.ingest.topic_prefix:
            changes["ingest"] = self.ingest.model_copy(update={"topic_prefix": topic_prefix})
        return self.with_changes(**changes) if changes else self

    def model_copy(
        self, *, update: Mapping[str, Any] | None = None, deep: bool = False
    ) -> Settings:
        """Always deep, with the copy's sections linked to the copy: a section must never read
        its core from the Settings it was copied from."""
        new = super().model_copy(update=update, deep=True)
        new._link()
        return new

    # ---- derived locations -------------------------------------------------------------
    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def jars_dir(self) -> Path:
        return self.home / "jars"

    @property
    def dist_dir(self) -> Path:
        return self.home / "dist"

    @property
    def warehouse(self) -> Path:
        return (self.warehouse_dir or self.home / "warehouse").resolve()

    @property
    def spark_jars(self) -> Path:
        return self.spark_jars_dir or self.jars_dir / "spark"

    @property
    def mlflow_artifacts_dir(self) -> Path:
        return self.data_dir / "mlflow-artifacts"

    @property
    def secrets_dir(self) -> Path:
        return self.home / "secrets"

    # ---- connection strings ------------------------------------------------------------
    @property
    def redis_url(self) -> str:
        """redis:// URL with the password, for ``Redis.from_url`` (sync and asyncio alike)."""
        pw = secret(self.redis_password)
        auth = f":{quote(pw, safe='')}@" if pw else ""
        return f"redis://{auth}{self.redis_host}:{self.redis_port}/{self.redis_db}"

    def pg_dsn(self, database: str) -> str:
        """SQLAlchemy URL (psycopg2) for one of the stack's databases."""
        pw = self.pg_password.get_secret_value()
        return f"postgresql+psycopg2://{self.pg_user}:{pw}@{self.pg_host}:{self.pg_port}/{database}"

    @property
    def kafka_auth(self) -> bool:
        """Whether the broker requires SASL/PLAIN: unless kafka_password is an empty string."""
        return bool(secret(self.kafka_password))

    def kafka_jaas_config(self, **extra: str) -> str:
        """A PlainLoginModule JAAS line for kafka_user; ``extra`` adds options (the broker's
        ``user_<name>`` entries)."""
        pw = secret(self.kafka_password)
        options = {"username": self.kafka_user, "password": pw, **extra}
        quoted = " ".join(f'{k}="{_jaas_escape(v)}"' for k, v in options.items())
        return f"org.apache.kafka.common.security.plain.PlainLoginModule required {quoted};"

    def kafka_client_config(self) -> dict[str, Any]:
        """Connection keyword arguments of every kafka-python client (producer, consumer,
        admin): the bootstrap list and, unless kafka_password is empty, SASL/PLAIN."""
        config: dict[str, Any] = {
            "bootstrap_servers": [b.strip() for b in self.kafka_bootstrap.split(",") if b.strip()],
            "security_protocol": "PLAINTEXT",
        }
        if self.kafka_auth:
            assert self.kafka_password is not None
            config.update(
                security_protocol="SASL_PLAINTEXT",
                sasl_mechanism="PLAIN",
                sasl_plain_username=self.kafka_user,
                sasl_plain_password=self.kafka_password.get_secret_value(),
            )
        return config

    def spark_kafka_options(self) -> dict[str, str]:
        """The same connection as options of Spark's Kafka source and sink (``kafka.*``)."""
        options = {
            "kafka.bootstrap.servers": self.kafka_bootstrap,
            "kafka.security.protocol": "PLAINTEXT",
        }
        if self.kafka_auth:
            options.update(
                {
                    "kafka.security.protocol": "SASL_PLAINTEXT",
                    "kafka.sasl.mechanism": "PLAIN",
                    "kafka.sasl.jaas.config": self.kafka_jaas_config(),
                }
            )
        return options

    @property
    def catalog_jdbc_url(self) -> str:
        return (
            self.iceberg_jdbc_url
            or f"jdbc:postgresql://{self.pg_host}:{self.pg_port}/{self.pg_catalog_db}"
        )

    @property
    def mlflow_tracking_uri(self) -> str:
        return f"http://{self.mlflow_host}:{self.mlflow_port}"

    @property
    def mlflow_auth(self) -> tuple[str, str] | None:
        """(user, password) for HTTP basic auth, or None when MLflow runs without it."""
        pw = secret(self.mlflow_password)
        return (self.mlflow_user, pw) if pw else None

    def mlflow_login(self) -> str:
        """The tracking URI, with this process's MLflow client set to authenticate to it.

        MLflow's client takes credentials only from the environment
        (MLFLOW_TRACKING_USERNAME/PASSWORD), read at each request.
        """
        auth = self.mlflow_auth
        if auth:
            os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"] = auth
        else:
            os.environ.pop("MLFLOW_TRACKING_USERNAME", None)
            os.environ.pop("MLFLOW_TRACKING_PASSWORD", None)
        return self.mlflow_tracking_uri

    @property
    def airflow_url(self) -> str:
        return f"http://{self.airflow_host}:{self.airflow_port}"

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def trino_auth(self) -> bool:
        """Trino requires a password (over HTTPS); off only when trino_password is empty."""
        return bool(secret(self.trino_password))

    @property
    def trino_http_scheme(self) -> str:
        return "https" if self.trino_auth else "http"

    @property
    def trino_url(self) -> str:
        return f"{self.trino_http_scheme}://{self.trino_host}:{self.trino_port}"

    @property
    def trino_cert_file(self) -> Path:
        """The local stack's self-signed certificate (PEM), generated once per installation."""
        return self.secrets_dir / "trino-cert.pem"

    @property
    def trino_keystore_file(self) -> Path:
        """Its private key and the certificate in one PEM file (0600), Trino's keystore."""
        return self.secrets_dir / "trino-tls.pem"


def _jaas_escape(value: str) -> str:
    """A value inside a JAAS option's double quotes."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


SECTIONS = ("ingest", "stream", "gold", "quality", "ml", "api", "dashboard")

# Fields filled from installation_secret() when not set.
_GENERATED_SECRETS = (
    "redis_password",
    "kafka_password",
    "trino_password",
    "mlflow_password",
    "spark_connect_token",
)


@lru_cache
def get_settings() -> Settings:
    return Settings()
