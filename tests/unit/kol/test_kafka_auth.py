"""Kafka's SASL/PLAIN: one rule in the settings for every client (kafka-python, Spark,
librdkafka) and the broker's listeners built from the same credentials."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from ingestion.producer import rdkafka_client_config
from kol.settings import Settings
from shell.stack.services.kafka import Kafka


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("KOL_HOME", str(tmp_path))
    monkeypatch.delenv("KOL_KAFKA_PASSWORD", raising=False)
    monkeypatch.delenv("KOL_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.setenv("KOL_KAFKA_PORT", "9092")
    monkeypatch.setenv("KOL_KAFKA_CONTROLLER_PORT", "9093")
    return Settings()


def props(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_clients_authenticate_with_the_installation_secret(local: Settings, tmp_path: Path) -> None:
    secret = (tmp_path / "secrets" / "kafka_password").read_text().strip()
    assert secret and local.kafka_auth
    assert local.kafka_client_config() == {
        "bootstrap_servers": ["127.0.0.1:9092"],
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "PLAIN",
        "sasl_plain_username": "kol",
        "sasl_plain_password": secret,
    }
    assert local.spark_kafka_options() == {
        "kafka.bootstrap.servers": "127.0.0.1:9092",
        "kafka.security.protocol": "SASL_PLAINTEXT",
        "kafka.sasl.mechanism": "PLAIN",
        "kafka.sasl.jaas.config": "org.apache.kafka.common.security.plain.PlainLoginModule "
        f'required username="kol" password="{secret}";',
    }
    assert rdkafka_client_config(local) == {
        "bootstrap.servers": "127.0.0.1:9092",
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.username": "kol",
        "sasl.password": secret,
    }


def test_an_empty_password_means_plaintext_without_sasl(local: Settings) -> None:
    s = local.model_copy(update={"kafka_password": SecretStr("")})
    assert not s.kafka_auth
    assert s.kafka_client_config() == {
        "bootstrap_servers": ["127.0.0.1:9092"],
        "security_protocol": "PLAINTEXT",
    }
    assert s.spark_kafka_options() == {
        "kafka.bootstrap.servers": "127.0.0.1:9092",
        "kafka.security.protocol": "PLAINTEXT",
    }
    assert rdkafka_client_config(s) == {
        "bootstrap.servers": "127.0.0.1:9092",
        "security.protocol": "PLAINTEXT",
    }


def test_an_empty_password_from_the_environment_turns_auth_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOL_HOME", str(tmp_path))
    monkeypatch.setenv("KOL_KAFKA_PASSWORD", "")
    assert Settings().kafka_client_config()["security_protocol"] == "PLAINTEXT"


def test_explicit_credentials_and_several_brokers(local: Settings) -> None:
    s = local.model_copy(
        update={
            "kafka_user": "svc",
            "kafka_password": SecretStr('p"w\\x'),
            "kafka_bootstrap": "b1:9092, b2:9092",
        }
    )
    client = s.kafka_client_config()
    assert client["bootstrap_servers"] == ["b1:9092", "b2:9092"]
    assert (client["sasl_plain_username"], client["sasl_plain_password"]) == ("svc", 'p"w\\x')
    # JAAS quoting: the quote and the backslash are escaped.
    assert s.spark_kafka_options()["kafka.sasl.jaas.config"].endswith(
        'username="svc" password="p\\"w\\\\x";'
    )


def broker_config(s: Settings) -> tuple[dict[str, str], Path]:
    kafka = Kafka(s)
    kafka.data_dir.mkdir(parents=True)
    (kafka.data_dir / "meta.properties").touch()  # formatted already: no storage tool run
    kafka.prepare()
    return props(kafka.config_file), kafka.config_file


def test_the_broker_requires_sasl_plain_on_both_listeners(local: Settings) -> None:
    conf, path = broker_config(local)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds the password
    assert conf["listener.security.protocol.map"] == (
        "CONTROLLER:SASL_PLAINTEXT,CLIENT:SASL_PLAINTEXT"
    )
    assert conf["listeners"] == "CLIENT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert conf["sasl.enabled.mechanisms"] == "PLAIN"
    assert conf["sasl.mechanism.inter.broker.protocol"] == "PLAIN"
    assert conf["sasl.mechanism.controller.protocol"] == "PLAIN"
    pw = local.kafka_password.get_secret_value()  # type: ignore[union-attr]
    for listener in ("client", "controller"):
        jaas = conf[f"listener.name.{listener}.plain.sasl.jaas.config"]
        assert jaas == (
            "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'username="kol" password="{pw}" user_kol="{pw}";'
        )


def test_without_a_password_the_broker_listens_without_sasl(local: Settings) -> None:
    conf, _ = broker_config(local.model_copy(update={"kafka_password": SecretStr("")}))
    assert conf["listener.security.protocol.map"] == "CONTROLLER:PLAINTEXT,CLIENT:PLAINTEXT"
    assert not any("sasl" in key for key in conf)
