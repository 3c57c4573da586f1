"""What the local Trino needs to require a password: a TLS certificate and a password file.

Trino accepts passwords over HTTPS only, so each installation gets its own self-signed
certificate, made once and kept in ``$KOL_HOME/secrets`` (made again when it nears its end or no
longer names the host clients connect to). Clients verify Trino against that certificate
(``Settings.trino_ca_file``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import secrets
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kol.settings import Settings

# Trino 476's file authenticator checks PBKDF2 hashes with PBKDF2WithHmacSHA1 (its
# EncryptionUtil; SHA-256 is not tried) and wants at least 1000 iterations. Trino caches a
# verified password, so the cost is paid once per client password, not per request.
PBKDF2_ALGORITHM = "sha1"
PBKDF2_ITERATIONS = 100_000
CERT_DAYS = 825
RENEW_BEFORE = dt.timedelta(days=30)


def password_file_line(
    user: str, password: str, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS
) -> str:
    """``user:iterations:salt-hex:hash-hex``, a line of Trino's password file (PBKDF2)."""
    if ":" in user:
        raise ValueError(f"a Trino user name cannot hold ':' ({user!r})")
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.pbkdf2_hmac(PBKDF2_ALGORITHM, password.encode(), salt, iterations, 32)
    return f"{user}:{iterations}:{salt.hex()}:{digest.hex()}"


def certificate_names(settings: Settings) -> set[str]:
    """Names the certificate must be valid for: loopback, and the hosts clients and Trino use."""
    return {"127.0.0.1", "localhost", settings.trino_host, settings.bind_host}


def _san(names: set[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in sorted(names):
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def _covers(cert: x509.Certificate, names: set[str]) -> bool:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    have |= set(san.get_values_for_type(x509.DNSName))
    return {str(n.value) for n in _san(names)} <= have


def _usable(cert_file: Path, keystore: Path, names: set[str]) -> bool:
    if not (cert_file.exists() and keystore.exists()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
        in_store = x509.load_pem_x509_certificate(keystore.read_bytes())
    except ValueError:
        return False
    fresh = cert.not_valid_after_utc - dt.datetime.now(dt.UTC) > RENEW_BEFORE
    try:
        anchor = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        anchor = False
    return cert == in_store and fresh and anchor and _covers(cert, names)


def _replace(path: Path, data: bytes, mode: int) -> None:
    """Write under a private name, then rename into place (readers never see half a file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def ensure_certificate(settings: Settings) -> bool:
    """Make the certificate (``trino_cert_file``) and keystore (``trino_keystore_file``, key and
    certificate, 0600) unless usable ones exist. Returns whether new ones were made."""
    names = certificate_names(settings)
    cert_file, keystore = settings.trino_cert_file, settings.trino_keystore_file
    if _usable(cert_file, keystore, names):
        return False
    cert_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, f"kol trino {settings.trino_host}")]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
        .add_extension(_san(names), critical=False)
        # Its own issuer: OpenSSL takes a certificate from the CA file as a trust anchor only
        # when it may sign certificates (CA:FALSE fails with "self-signed certificate").
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _replace(keystore, key_pem + cert_pem, 0o600)
    _replace(cert_file, cert_pem, 0o644)
    return True
