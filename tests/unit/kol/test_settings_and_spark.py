from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from kol.settings import Settings
from kol.spark import UDF_JAR, spark_conf, spark_submit_args


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("KOL_HOME", str(tmp_path))
    jars = tmp_path / "jars" / "spark"
    jars.mkdir(parents=True)
    for name in ("iceberg-spark-runtime-4.1_2.13-1.11.0.jar", "postgresql-42.7.8.jar", UDF_JAR):
        (jars / name).touch()
    return Settings()


def test_every_address_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOL_TRINO_HOST", "trino.internal")
    monkeypatch.setenv("KOL_TRINO_PORT", "8443")
    monkeypatch.setenv("KOL_PG_HOST", "pg.internal")
    monkeypatch.setenv("KOL_PG_PORT", "5432")
    monkeypatch.setenv("KOL_MLFLOW_HOST", "mlflow.internal")
    monkeypatch.setenv("KOL_MLFLOW_PORT", "5000")
    monkeypatch.setenv("KOL_SPARK_MASTER", "spark://spark-master:7077")
    s = Settings()
    # Trino requires a password (a per-installation secret by default), so HTTPS.
    assert s.trino_url == "https://trino.internal:8443"
    assert s.catalog_jdbc_url == "jdbc:postgresql://pg.internal:5432/iceberg_catalog"
    assert s.mlflow_tracking_uri == "http://mlflow.internal:5000"
    assert s.spark_master == "spark://spark-master:7077"


def test_state_lives_under_kol_home(local: Settings, tmp_path: Path) -> None:
    assert local.home == tmp_path
    assert local.warehouse == (tmp_path / "warehouse").resolve()
    assert local.log_dir == tmp_path / "logs"


def test_spark_conf_wires_the_shared_jdbc_catalog(local: Settings) -> None:
    conf = spark_conf(local)
    cat = "spark.sql.catalog.kol"
    assert conf[cat] == "org.apache.iceberg.spark.SparkCatalog"
    assert conf[f"{cat}.type"] == "jdbc"
    assert conf[f"{cat}.jdbc.schema-version"] == "V1"
    assert conf[f"{cat}.uri"] == local.catalog_jdbc_url
    assert conf[f"{cat}.warehouse"] == local.warehouse.as_uri()
    assert conf["spark.sql.session.timeZone"] == "UTC"
    assert conf["spark.jars"] == f"{local.spark_jars}/*.jar"
    # The local file system class is in the UDF jar, which must be on the JVM's class path.
    assert conf["spark.hadoop.fs.file.impl"] == "io.kolplatform.hadoop.NioLocalFileSystem"
    assert conf["spark.driver.extraClassPath"] == str(local.spark_jars / "kol-spark-udf.jar")


def test_spark_submit_args_carry_the_same_conf(local: Settings) -> None:
    args = spark_submit_args(local, "spark_jobs/kafka_to_bronze.py", ["--start", "2026-01-01"])
    assert args[:2] == ["--master", "local[*]"]
    assert args[-3:] == ["spark_jobs/kafka_to_bronze.py", "--start", "2026-01-01"]
    assert "--jars" in args
    confs = {args[i + 1].split("=", 1)[0] for i, a in enumerate(args) if a == "--conf"}
    secret = "spark.sql.catalog.kol.jdbc.password"
    assert set(spark_conf(local)) - {"spark.master", "spark.jars", "spark.driver.memory"} == {
        *confs,
        secret,
    }
    # The catalog's password is not on the command line (`ps` shows it); the job's session adds it.
    password = local.pg_password.get_secret_value()
    assert spark_conf(local)[secret] == password
    assert not any(password in a for a in args)


def test_the_daily_dag_operator_arguments_hold_no_secret(local: Settings) -> None:
    """What SparkSubmitOperator gets is rendered in Airflow's UI."""
    from shell.orchestration import spark_job_kwargs

    kwargs = spark_job_kwargs("kafka_to_bronze", local)
    password = local.pg_password.get_secret_value()
    assert password and password not in repr(kwargs)


def test_the_spark_connect_server_keeps_its_secrets_in_a_private_file(local: Settings) -> None:
    """The server's command line (which `ps` shows) holds no password; its catalog caches no
    table, since other engines commit to the tables while it runs for days."""
    from shell.stack.services.spark_connect import SparkConnect

    service = SparkConnect(local)
    service.prepare()
    password = local.pg_password.get_secret_value()
    assert password not in " ".join(service.command())
    assert service.conf_file.stat().st_mode & 0o777 == 0o600
    conf = dict(line.split("=", 1) for line in service.conf_file.read_text().splitlines() if line)
    assert conf["spark.sql.catalog.kol.jdbc.password"] == password
    assert conf["spark.sql.catalog.kol.cache-enabled"] == "false"
    assert conf["spark.connect.grpc.binding.port"] == str(local.spark_connect_port)
    token = local.spark_connect_token.get_secret_value()  # type: ignore[union-attr]
    assert token and conf["spark.connect.authenticate.token"] == token
    assert token not in service.address
    # Listed jars, the same ones a spark-submit job gets.
    assert "postgresql-42.7.8.jar" in conf["spark.jars"] and "*" not in conf["spark.jars"]


def test_a_stopped_spark_connect_server_is_reported_down_without_waiting(local: Settings) -> None:
    """`kol stack status` (which `make test` asks first) must not sit in the client's retries,
    which wait at least 10 minutes for a server that is not there."""
    import socket
    import threading

    from shell.stack.services.spark_connect import SparkConnect

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    service = SparkConnect(local.model_copy(update={"spark_connect_port": free_port}))
    answers = []
    asking = threading.Thread(target=lambda: answers.append(service.health()), daemon=True)
    asking.start()
    asking.join(timeout=30)
    assert answers, "the health probe of a stopped server was still retrying after 30 s"
    assert not answers[0].ok and "Connection refused" in answers[0].detail, answers[0]


def test_a_pipeline_task_gate_failure_fails_it_without_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from airflow.sdk.exceptions import AirflowFailException

    from expectations import GATE_FAILED_EXIT
    from shell import orchestration as orch

    stopped: list[bool] = []
    ran: list[tuple[str, str]] = []

    def run_gated(interval, settings):  # type: ignore[no-untyped-def]
        ran.append((str(interval.start), settings.ingest.topic_prefix))
        return code

    job = SimpleNamespace(APP="kol-test", run_gated=run_gated)
    monkeypatch.setattr(
        "kol.spark.spark_session", lambda *a, **k: SimpleNamespace(stop=lambda: stopped.append(1))
    )
    monkeypatch.setattr("importlib.import_module", lambda name: job)
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 2, tzinfo=UTC)
    code = GATE_FAILED_EXIT
    with pytest.raises(AirflowFailException, match="bronze gate failed"):
        orch.run_spark_job("kafka_to_bronze", "bronze", start, end, {"topic_prefix": "w1."})
    code = 1
    with pytest.raises(RuntimeError, match="exited with 1"):
        orch.run_spark_job("kafka_to_bronze", "bronze", start, end, {"topic_prefix": "w1."})
    code = 0
    assert orch.run_spark_job("kafka_to_bronze", "bronze", start, end)["job"] == "kafka_to_bronze"
    # The run's world reaches the job; every session is stopped, failed or not.
    assert ran[0] == ("2026-03-01 00:00:00+00:00", "w1.")
    assert len(stopped) == 3


def test_missing_jars_say_how_to_get_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kol.spark import spark_jars

    monkeypatch.setenv("KOL_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="make setup"):
        spark_jars(Settings())


def test_a_local_spark_driver_listens_on_the_stack_address_only(tmp_path: Path) -> None:
    local = Settings(home=tmp_path, _env_file=None)
    conf = spark_conf(local)
    assert conf["spark.driver.host"] == conf["spark.driver.bindAddress"] == "127.0.0.1"
    cluster = Settings(home=tmp_path, spark_master="spark://spark-master:7077", _env_file=None)
    assert "spark.driver.bindAddress" not in spark_conf(cluster)  # executors must reach it
    given = Settings(
        home=tmp_path, spark_master="spark://m:7077", spark_driver_host="10.0.0.5", _env_file=None
    )
    assert spark_conf(given)["spark.driver.host"] == "10.0.0.5"


def test_unset_credentials_are_generated_once_per_installation_and_private(
    local: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stat

    again = Settings()
    for name in ("pg_password", "redis_password", "kafka_password", "mlflow_password"):
        value = getattr(local, name).get_secret_value()
        assert len(value) >= 24 and getattr(again, name).get_secret_value() == value
        path = tmp_path / "secrets" / name
        assert path.read_text() == value and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "secrets").stat().st_mode) == 0o700
    assert len({local.pg_password.get_secret_value(), local.redis_url}) == 2
    # A setting wins over the generated secret; an empty one means "no authentication".
    monkeypatch.setenv("KOL_REDIS_PASSWORD", "")
    monkeypatch.setenv("KOL_MLFLOW_PASSWORD", "")
    monkeypatch.setenv("KOL_PG_PASSWORD", "given")  # (empty: generated, PostgreSQL needs one)
    plain = Settings()
    assert plain.redis_url == f"redis://{plain.redis_host}:{plain.redis_port}/{plain.redis_db}"
    assert plain.mlflow_auth is None and plain.pg_password.get_secret_value() == "given"


def test_redis_url_and_mlflow_login_carry_the_credentials(
    local: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    s = local.model_copy(update={"redis_password": SecretStr("p@ss/word")})
    assert s.redis_url == f"redis://:p%40ss%2Fword@{s.redis_host}:{s.redis_port}/{s.redis_db}"
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    assert local.mlflow_login() == local.mlflow_tracking_uri
    assert local.mlflow_auth is not None
    assert os.environ["MLFLOW_TRACKING_USERNAME"] == "kol"
    assert os.environ["MLFLOW_TRACKING_PASSWORD"] == local.mlflow_auth[1]


def test_a_spark_connect_client_carries_the_token(local: Settings) -> None:
    from kol.spark import connect_url, with_token

    token = local.spark_connect_token.get_secret_value()  # type: ignore[union-attr]
    # gRPC sends a token in the clear only to "localhost".
    assert connect_url(local) == f"sc://localhost:{local.spark_connect_port}"
    assert with_token("sc://h:1", local) == f"sc://h:1/;token={token}"
    assert with_token("sc://h:1/;use_ssl=true", local) == f"sc://h:1/;use_ssl=true;token={token}"
    assert with_token("sc://h:1/;token=given", local) == "sc://h:1/;token=given"
