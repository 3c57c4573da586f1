"""The one place every address, path and credential of the platform comes from.

Every field reads from an environment variable with the ``KOL_`` prefix (``KOL_HOME``,
``KOL_KAFKA_BOOTSTRAP``, ``KOL_TRINO_PORT`` ...) or from a ``.env`` file in the working
directory. Defaults describe the local single-machine stack; pointing the platform at real
clusters is a matter of setting these variables, never of editing code.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


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
    pg_password: SecretStr = SecretStr("kol")
    pg_catalog_db: str = "iceberg_catalog"
    pg_mlflow_db: str = "mlflow"
    pg_airflow_db: str = "airflow"
    pg_bin_dir: Path | None = None  # default: newest /usr/lib/postgresql/*/bin

    redis_host: str = "127.0.0.1"
    redis_port: int = 6379
    redis_db: int = 0

    kafka_port: int = 9092
    # Where clients connect; defaults to the local broker (bind_host:kafka_port).
    kafka_bootstrap: str = ""
    kafka_controller_port: int = 9093
    kafka_heap: str = "1g"
    kafka_default_partitions: int = 3

    trino_host: str = "127.0.0.1"
    trino_port: int = 8080
    trino_user: str = "kol"
    trino_catalog: str = "iceberg"
    trino_heap: str = "4G"
    trino_query_max_memory: str = "2GB"

    mlflow_host: str = "127.0.0.1"
    mlflow_port: int = 5000

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

    # How long `kol stack up` waits for one service to answer its health check.
    start_timeout_s: float = 180.0

    @model_validator(mode="after")
    def _default_bootstrap(self) -> Settings:
        if not self.kafka_bootstrap:
            self.kafka_bootstrap = f"{self.bind_host}:{self.kafka_port}"
        if self.spark_driver_host is None and self.spark_master.startswith("local"):
            self.spark_driver_host = self.bind_host
        return self

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

    # ---- connection strings ------------------------------------------------------------
    def pg_dsn(self, database: str) -> str:
        """SQLAlchemy URL (psycopg2) for one of the stack's databases."""
        pw = self.pg_password.get_secret_value()
        return f"postgresql+psycopg2://{self.pg_user}:{pw}@{self.pg_host}:{self.pg_port}/{database}"

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
    def airflow_url(self) -> str:
        return f"http://{self.airflow_host}:{self.airflow_port}"

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    @property
    def trino_url(self) -> str:
        return f"http://{self.trino_host}:{self.trino_port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
