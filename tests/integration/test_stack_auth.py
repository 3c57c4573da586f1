"""The stack's services refuse clients without the installation's credentials, and the
credentials themselves are readable by their owner only."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest
import redis

from kol.settings import Settings
from shell.stack.services import all_services

pytestmark = pytest.mark.integration


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_generated_secrets_and_the_files_holding_them_are_private(settings: Settings) -> None:
    names = {"redis_password", "kafka_password", "trino_password", "mlflow_password"}
    assert names <= {p.name for p in settings.secrets_dir.iterdir()}
    assert mode(settings.secrets_dir) == 0o700
    # All but the certificate clients verify Trino with, which is public.
    private = [p for p in settings.secrets_dir.iterdir() if p != settings.trino_cert_file]
    assert all(mode(p) == 0o600 for p in private), {p.name: oct(mode(p)) for p in private}
    services = all_services(settings)
    for config in (services["redis"].config_file, services["mlflow"].auth_config):  # type: ignore[attr-defined]
        assert mode(config) == 0o600, config


def test_redis_refuses_a_client_without_the_password(settings: Settings) -> None:
    stranger = redis.Redis(host=settings.redis_host, port=settings.redis_port, socket_timeout=5)
    with pytest.raises(redis.AuthenticationError):
        stranger.get("anything")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(
            host=settings.redis_host, port=settings.redis_port, password="wrong", socket_timeout=5
        ).ping()
    assert redis.Redis.from_url(settings.redis_url, socket_timeout=5).ping()


def test_mlflow_refuses_a_client_without_the_password(settings: Settings) -> None:
    search = f"{settings.mlflow_tracking_uri}/api/2.0/mlflow/experiments/search"
    body = {"max_results": 1}
    assert httpx.post(search, json=body, timeout=10).status_code == 401
    wrong = (settings.mlflow_user, "not-the-password")
    assert httpx.post(search, json=body, auth=wrong, timeout=10).status_code == 401
    assert httpx.get(settings.mlflow_tracking_uri, timeout=10).status_code == 401  # the UI too
    assert httpx.post(search, json=body, auth=settings.mlflow_auth, timeout=10).status_code == 200


def test_the_mlflow_client_authenticates_with_the_settings(settings: Settings) -> None:
    from mlflow import MlflowClient

    uri = settings.mlflow_login()
    # Every tracking store has the "Default" experiment; a 401 would raise instead.
    assert MlflowClient(tracking_uri=uri).search_experiments(max_results=1)


def test_spark_connect_refuses_a_client_without_the_token(settings: Settings) -> None:
    from pyspark.errors.exceptions.connect import SparkConnectGrpcException
    from pyspark.sql.connect.client import SparkConnectClient

    from kol.spark import connect_url, with_token

    url = connect_url(settings)
    for stranger in (url, f"{url}/;token=not-the-token"):
        client = SparkConnectClient(stranger)
        with pytest.raises(SparkConnectGrpcException, match=r"UNAUTHENTICATED|Invalid"):
            client.get_configs("spark.master")
        client.close()
    client = SparkConnectClient(with_token(url, settings))
    assert client.get_configs("spark.sql.defaultCatalog") == (settings.iceberg_catalog_name,)
    client.close()
