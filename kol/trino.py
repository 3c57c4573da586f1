"""Trino client connections built from settings: the one place the connection rule lives.

With a password (the default: a per-installation secret) every client speaks HTTPS, verifies
Trino's certificate against ``trino_ca_file`` and authenticates with HTTP basic auth; with
``KOL_TRINO_PASSWORD=""`` it speaks plain HTTP without authentication.
"""

from __future__ import annotations

from typing import Any

import requests
import trino
from trino.auth import BasicAuthentication

from kol.settings import Settings


def trino_client_args(settings: Settings) -> dict[str, Any]:
    """``http_scheme``, ``auth`` and the HTTP session (TLS verification) for
    ``trino.dbapi.connect``."""
    if not settings.trino_auth:
        return {"http_scheme": "http"}
    assert settings.trino_password is not None  # trino_auth says so
    session = requests.Session()
    session.verify = str(settings.trino_ca_file)
    # Else REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE, when set, replace the session's CA bundle
    # (requests reads them per request) and Trino's own certificate fails to verify.
    session.trust_env = False
    return {
        "http_scheme": "https",
        "auth": BasicAuthentication(
            settings.trino_user, settings.trino_password.get_secret_value()
        ),
        "http_session": session,
    }


def trino_connection(
    settings: Settings, schema: str | None = None, **options: Any
) -> trino.dbapi.Connection:
    """A DB-API connection; ``options`` go to ``connect`` (``request_timeout`` ...)."""
    args: dict[str, Any] = {
        "host": settings.trino_host,
        "port": settings.trino_port,
        "user": settings.trino_user,
        "catalog": settings.trino_catalog,
        "schema": schema,
        "request_timeout": 120,
        **trino_client_args(settings),
    }
    args.update(options)
    return trino.dbapi.connect(**args)


def query(settings: Settings, sql: str, params: list[object] | None = None) -> list[tuple]:
    """Run one statement (parameters bound by Trino, never formatted in) and fetch all rows."""
    conn = trino_connection(settings)
    try:
        cur = conn.cursor()
        cur.execute(sql, params)
        return [tuple(row) for row in cur.fetchall()]
    finally:
        conn.close()
