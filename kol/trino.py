"""Trino client connections built from settings."""

from __future__ import annotations

import trino

from kol.settings import Settings


def trino_connection(settings: Settings, schema: str | None = None) -> trino.dbapi.Connection:
    return trino.dbapi.connect(
        host=settings.trino_host,
        port=settings.trino_port,
        user=settings.trino_user,
        catalog=settings.trino_catalog,
        schema=schema,
        http_scheme="http",
        request_timeout=120,
    )


def query(settings: Settings, sql: str, params: list[object] | None = None) -> list[tuple]:
    """Run one statement (parameters bound by Trino, never formatted in) and fetch all rows."""
    conn = trino_connection(settings)
    try:
        cur = conn.cursor()
        cur.execute(sql, params)
        return [tuple(row) for row in cur.fetchall()]
    finally:
        conn.close()
