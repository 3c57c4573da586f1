"""The shared Iceberg JDBC catalog: bootstrapped in PostgreSQL, seen from Python via pyiceberg."""

from __future__ import annotations

import contextlib
from datetime import date

from pyiceberg.catalog.sql import SqlCatalog

from kol.settings import Settings

# Iceberg's JdbcCatalog schema V1 (the one with `iceberg_type`, needed for views). Spark is told
# `jdbc.schema-version=V1`; Trino does not create these tables itself, and pyiceberg would create
# them without `iceberg_type`, so the stack creates them once, before any engine connects.
JDBC_CATALOG_DDL = (
    """
    CREATE TABLE IF NOT EXISTS iceberg_tables (
        catalog_name VARCHAR(255) NOT NULL,
        table_namespace VARCHAR(255) NOT NULL,
        table_name VARCHAR(255) NOT NULL,
        metadata_location VARCHAR(1000),
        previous_metadata_location VARCHAR(1000),
        iceberg_type VARCHAR(5),
        PRIMARY KEY (catalog_name, table_namespace, table_name)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS iceberg_namespace_properties (
        catalog_name VARCHAR(255) NOT NULL,
        namespace VARCHAR(255) NOT NULL,
        property_key VARCHAR(255),
        property_value VARCHAR(1000),
        PRIMARY KEY (catalog_name, namespace, property_key)
    )
    """,
)


def ensure_jdbc_catalog_tables(settings: Settings) -> None:
    import psycopg2

    conn = psycopg2.connect(
        host=settings.pg_host,
        port=settings.pg_port,
        user=settings.pg_user,
        password=settings.pg_password.get_secret_value(),
        dbname=settings.pg_catalog_db,
        connect_timeout=5,
    )
    with contextlib.closing(conn), conn, conn.cursor() as cur:
        for ddl in JDBC_CATALOG_DDL:
            cur.execute(ddl)


# One catalog (and its connection pool) per catalog a process uses: the jobs' metadata checks
# and the gates load tables many times a run.
_catalogs: dict[tuple[str, str, str], SqlCatalog] = {}


def catalog(settings: Settings) -> SqlCatalog:
    """pyiceberg view of the same catalog Spark and Trino use (same name, same tables)."""
    key = (
        settings.iceberg_catalog_name,
        settings.pg_dsn(settings.pg_catalog_db),
        str(settings.warehouse),
    )
    if key not in _catalogs:
        _catalogs[key] = SqlCatalog(
            settings.iceberg_catalog_name,
            uri=key[1],
            warehouse=settings.warehouse.as_uri(),
            # The catalog outlives a PostgreSQL restart: a connection the server dropped is
            # replaced instead of failing the next query.
            pool_pre_ping="true",
        )
    return _catalogs[key]


def day_filter(start: date | None = None, end: date | None = None, day: date | None = None) -> str:
    """A pyiceberg row filter on ``date_day``: one day, or [start, end) (open where None)."""
    if day is not None:
        return f"date_day = '{day.isoformat()}'"
    parts = [f"date_day >= '{start.isoformat()}'"] if start is not None else []
    parts += [f"date_day < '{end.isoformat()}'"] if end is not None else []
    return " AND ".join(parts) or "true"
