"""Trino requires a password: the password file, the certificate, the server's configuration and
the client connection rule, without a running Trino."""

from __future__ import annotations

import hashlib
import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from pydantic import SecretStr
from trino.auth import BasicAuthentication

from kol.settings import Settings
from kol.trino import trino_client_args
from shell.stack import trino_security
from shell.stack.services.airflow import AirflowApi
from shell.stack.services.trino import Trino


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_password_file_line_is_a_pbkdf2_hash_trino_checks() -> None:
    line = trino_security.password_file_line("kol", "s3cret:with colon")
    user, iterations, salt_hex, hash_hex = line.split(":")
    assert user == "kol"
    assert int(iterations) >= 1000  # Trino's minimum
    assert len(bytes.fromhex(salt_hex)) == 16
    # Trino 476 verifies with PBKDF2WithHmacSHA1, the key as long as the stored hash.
    expected = hashlib.pbkdf2_hmac(
        "sha1", b"s3cret:with colon", bytes.fromhex(salt_hex), int(iterations), 32
    )
    assert bytes.fromhex(hash_hex) == expected
    assert hash_hex == hash_hex.lower()  # Trino decodes lower-case base16
    other = hashlib.pbkdf2_hmac("sha1", b"wrong", bytes.fromhex(salt_hex), int(iterations), 32)
    assert bytes.fromhex(hash_hex) != other


def test_password_file_line_salts_each_time_and_rejects_a_colon_in_the_user() -> None:
    assert trino_security.password_file_line("kol", "x") != trino_security.password_file_line(
        "kol", "x"
    )
    with pytest.raises(ValueError):
        trino_security.password_file_line("a:b", "x")


def _names(cert: x509.Certificate) -> set[str]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} | set(
        san.get_values_for_type(x509.DNSName)
    )


def test_certificate_is_made_once_private_and_names_every_host(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, trino_host="trino.example")
    assert trino_security.ensure_certificate(s)
    assert _mode(s.trino_keystore_file) == 0o600
    keystore = s.trino_keystore_file.read_text()
    assert "BEGIN PRIVATE KEY" in keystore and "BEGIN CERTIFICATE" in keystore
    cert = x509.load_pem_x509_certificate(s.trino_cert_file.read_bytes())
    assert "PRIVATE KEY" not in s.trino_cert_file.read_text()
    assert {"127.0.0.1", "localhost", "trino.example"} <= _names(cert)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    # Kept while it fits; made again for a host it does not name.
    assert not trino_security.ensure_certificate(s)
    moved = Settings(home=tmp_path, trino_host="10.1.2.3")
    assert trino_security.ensure_certificate(moved)
    cert = x509.load_pem_x509_certificate(moved.trino_cert_file.read_bytes())
    assert "10.1.2.3" in _names(cert)


def test_clients_use_https_basic_auth_and_the_ca_file(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, trino_host="trino.internal", trino_port=8443)
    assert s.trino_auth
    assert s.trino_url == "https://trino.internal:8443"
    assert s.trino_ca_file == tmp_path / "secrets" / "trino-cert.pem"
    args = trino_client_args(s)
    assert args["http_scheme"] == "https"
    assert args["http_session"].verify == str(s.trino_ca_file)
    # A machine-wide REQUESTS_CA_BUNDLE must not replace Trino's CA.
    assert args["http_session"].trust_env is False
    auth = args["auth"]
    assert isinstance(auth, BasicAuthentication)
    assert s.trino_password is not None
    assert (auth._username, auth._password) == ("kol", s.trino_password.get_secret_value())


def test_an_empty_password_means_plain_http_without_auth(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, trino_password=SecretStr(""))
    assert not s.trino_auth
    assert s.trino_url.startswith("http://")
    assert trino_client_args(s) == {"http_scheme": "http"}


def _fake_install(home: Path) -> None:
    """Just what Trino.prepare() reads of the server tarball (empty jars are hard links)."""
    root = home / "dist" / "trino-server-core-476"
    (root / "plugin" / "trino-iceberg-476").mkdir(parents=True)
    pw = root / "plugin" / "password-authenticators"
    pw.mkdir(parents=True)
    (pw / "io.trino_trino-password-authenticators-476.jar").write_bytes(b"jar")
    (pw / "guava.jar").touch()
    (root / "lib").mkdir()
    (root / "lib" / "guava.jar").write_bytes(b"jar")


def _props(path: Path) -> dict[str, str]:
    lines = [ln for ln in path.read_text().splitlines() if ln and not ln.startswith("#")]
    return dict(ln.split("=", 1) for ln in lines)


def test_trino_config_requires_a_password_over_https(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, trino_port=18443, trino_internal_port=18081)
    _fake_install(tmp_path)
    trino = Trino(s)
    trino.prepare()
    config = trino.etc / "config.properties"
    props = _props(config)
    assert _mode(config) == 0o600  # it holds the shared secret
    assert props["http-server.https.enabled"] == "true"
    assert props["http-server.https.port"] == "18443"
    assert props["http-server.https.keystore.path"] == str(s.trino_keystore_file)
    assert props["http-server.authentication.type"] == "PASSWORD"
    assert props["http-server.authentication.allow-insecure-over-http"] == "false"
    # Plain HTTP only for discovery, on the loopback address.
    assert props["http-server.http.port"] == "18081"
    assert props["discovery.uri"] == "http://127.0.0.1:18081"
    assert props["node.bind-ip"] == "127.0.0.1"
    secret = props["internal-communication.shared-secret"]
    assert secret == (tmp_path / "secrets" / "trino_shared_secret").read_text().strip()
    authenticator = _props(Path(props["password-authenticator.config-files"]))
    assert authenticator["password-authenticator.name"] == "file"
    password_db = Path(authenticator["file.password-file"])
    assert _mode(password_db) == 0o600
    user, iterations, salt, digest = password_db.read_text().strip().split(":")
    assert s.trino_password is not None
    pw = s.trino_password.get_secret_value().encode()
    assert user == s.trino_user
    assert hashlib.pbkdf2_hmac("sha1", pw, bytes.fromhex(salt), int(iterations), 32).hex() == digest
    # The plugin's empty (hard-linked) jars point at lib/.
    plugin = trino.etc / "plugin" / "password-authenticators"
    assert (plugin / "guava.jar").resolve() == (
        tmp_path / "dist" / "trino-server-core-476" / "lib" / "guava.jar"
    ).resolve()
    assert trino.ports() == [18443, 18081]
    assert trino.address == "https://127.0.0.1:18443"


def test_trino_config_without_a_password_is_plain_http(tmp_path: Path) -> None:
    _fake_install(tmp_path)
    Trino(Settings(home=tmp_path)).prepare()  # first with a password, then without
    s = Settings(home=tmp_path, trino_port=18080, trino_password=SecretStr(""))
    trino = Trino(s)
    trino.prepare()
    props = _props(trino.etc / "config.properties")
    assert not (trino.etc / "password.db").exists()
    assert "password-authenticator.config-files" not in props
    assert props["http-server.http.port"] == "18080"
    assert "http-server.https.enabled" not in props
    assert "http-server.authentication.type" not in props
    assert trino.ports() == [18080]


def test_airflow_trino_connection_carries_the_credentials(tmp_path: Path) -> None:
    import json

    s = Settings(home=tmp_path)
    conn = json.loads(AirflowApi(s).env()["AIRFLOW_CONN_KOL_TRINO"])
    assert s.trino_password is not None
    assert conn["login"] == s.trino_user
    assert conn["password"] == s.trino_password.get_secret_value()
    assert conn["extra"] == {
        "catalog": s.trino_catalog,
        "protocol": "https",
        "verify": str(s.trino_ca_file),
    }
