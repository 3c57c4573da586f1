"""API keys: issued once in plain text, kept as SHA-256 hashes in PostgreSQL.

A key looks like ``kol_<key id>_<secret>``; the key id is public (logs, rate limits, revocation)
and the secret never leaves the client. Keys are 256-bit random tokens, so a plain SHA-256 (not
a slow password hash) is what keeps a leaked table useless, and lets a lookup be one dict access.

Each API process holds a snapshot of the active key hashes (:class:`KeyRing`), refreshed every
``keys_refresh_s``: checking a key costs no round trip, a revocation applies within that
interval, and the API keeps accepting known keys while PostgreSQL is briefly down. An unknown key
triggers an early refresh (at most once a second), so a key just created works at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import anyio

from api.errors import ServiceUnavailable
from kol.settings import ApiSettings

log = logging.getLogger("kol.api")

KEY_PREFIX = "kol_"


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    rate_limit: int | None = None  # requests per window; None = the default from settings


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None
    rate_limit: int | None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> tuple[str, str]:
    """(key id, full key)."""
    key_id = secrets.token_hex(6)
    return key_id, f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


_SCHEMA = """
CREATE SCHEMA IF NOT EXISTS api;
CREATE TABLE IF NOT EXISTS api.api_keys (
    key_id      text PRIMARY KEY,
    name        text NOT NULL,
    key_hash    text NOT NULL UNIQUE,
    rate_limit  integer,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
"""


class KeyStore:
    """The keys table (synchronous: used by the CLI and from worker threads)."""

    def __init__(self, settings: ApiSettings) -> None:
        self.s = settings
        self._ensured = False

    def _connect(self, database: str) -> Any:
        import psycopg2

        core = self.s.core
        return psycopg2.connect(
            host=core.pg_host,
            port=core.pg_port,
            user=core.pg_user,
            password=core.pg_password.get_secret_value(),
            dbname=database,
            connect_timeout=3,
        )

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        self.ensure()
        conn = self._connect(self.s.keys_db)
        try:
            with conn:
                yield conn
        finally:
            conn.close()

    def ensure(self) -> None:
        """Create the database, schema and table when missing (idempotent)."""
        if self._ensured:
            return
        admin = self._connect("postgres")
        try:
            admin.autocommit = True
            with admin.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.s.keys_db,))
                if cur.fetchone() is None:
                    # keys_db is validated as a plain identifier in ApiSettings.
                    cur.execute(f'CREATE DATABASE "{self.s.keys_db}"')
        finally:
            admin.close()
        conn = self._connect(self.s.keys_db)
        try:
            with conn, conn.cursor() as cur:
                cur.execute(_SCHEMA)
        finally:
            conn.close()
        self._ensured = True

    def create(self, name: str, rate_limit: int | None = None) -> tuple[KeyRecord, str]:
        key_id, key = new_key()
        with self.connection() as conn, conn.cursor() as cur:
            cur.execute(
                "INSERT INTO api.api_keys (key_id, name, key_hash, rate_limit) "
                "VALUES (%s, %s, %s, %s) RETURNING created_at",
                (key_id, name, hash_key(key), rate_limit),
            )
            created_at = cur.fetchone()[0]
        return KeyRecord(key_id, name, created_at, None, rate_limit), key

    def revoke(self, key_id: str) -> bool:
        """True if the key was active and is now revoked."""
        with self.connection() as conn, conn.cursor() as cur:
            cur.execute(
                "UPDATE api.api_keys SET revoked_at = now() "
                "WHERE key_id = %s AND revoked_at IS NULL",
                (key_id,),
            )
            return bool(cur.rowcount)

    def list(self) -> list[KeyRecord]:
        with self.connection() as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT key_id, name, created_at, revoked_at, rate_limit FROM api.api_keys "
                "ORDER BY created_at"
            )
            return [KeyRecord(*row) for row in cur.fetchall()]

    def active(self) -> dict[str, ApiKey]:
        """Active keys by hash."""
        with self.connection() as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT key_hash, key_id, name, rate_limit FROM api.api_keys "
                "WHERE revoked_at IS NULL"
            )
            return {h: ApiKey(k, n, r) for h, k, n, r in cur.fetchall()}


class KeyRing:
    """The process's snapshot of active keys (see the module docstring)."""

    def __init__(self, settings: ApiSettings, store: KeyStore | None = None) -> None:
        self.s = settings
        self.store = store or KeyStore(settings)
        self._keys: dict[str, ApiKey] | None = None
        self._loaded_at = 0.0
        self._last_try = 0.0
        self._miss_refresh_at = 0.0
        self._error = "not loaded yet"
        self._lock: asyncio.Lock | None = None

    @property
    def status(self) -> tuple[bool, str]:
        if self._keys is None:
            return False, f"key store unavailable: {self._error}"
        age = time.monotonic() - self._loaded_at
        detail = f"{len(self._keys)} active key(s), loaded {age:.0f}s ago"
        if self._error:
            detail += f" (last refresh failed: {self._error})"
        return True, detail

    async def refresh(self) -> None:
        asked = time.monotonic()
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._last_try >= asked:
                return  # a refresh started while this one waited: that one is fresh enough
            self._last_try = time.monotonic()
            try:
                keys = await anyio.to_thread.run_sync(self.store.active)
            except Exception as exc:
                # Clients read this (/readyz, 503s): the dependency, not its address.
                log.warning("key store refresh failed: %s: %s", type(exc).__name__, exc)
                self._error = f"PostgreSQL did not answer ({type(exc).__name__})"
                log.warning("API key refresh failed (keeping the last snapshot): %s", self._error)
                return
            self._keys, self._loaded_at, self._error = keys, time.monotonic(), ""

    async def run(self) -> None:
        """Refresh for ever (a background task of the app)."""
        while True:
            await self.refresh()
            await asyncio.sleep(self.s.keys_refresh_s)

    async def lookup(self, key: str) -> ApiKey | None:
        if not key.startswith(KEY_PREFIX) or len(key) > 200:
            return None
        if self._keys is None:  # not loaded yet (start-up) or never reachable: try now
            await self.refresh()
        digest = hash_key(key)
        found = self._keys.get(digest) if self._keys is not None else None
        now = time.monotonic()
        if found is None and self._keys is not None and now - self._miss_refresh_at >= 1.0:
            # Maybe a key created since the last refresh; at most once a second, so a flood of
            # bad keys cannot turn into a flood of database queries.
            self._miss_refresh_at = now
            await self.refresh()
            found = self._keys.get(digest)
        if found is None and self._keys is None:
            raise ServiceUnavailable("key_store", self.status[1])
        return found


class KeyStoreLike(Protocol):
    """What :func:`stored_key` needs of a :class:`KeyStore` (tests pass a fake)."""

    def create(self, name: str, rate_limit: int | None = None) -> tuple[Any, str]: ...

    def active(self) -> Mapping[str, Any]: ...


def stored_key(store: KeyStoreLike, name: str, path: Path) -> str:
    """The plain key kept in ``path`` while it is still active, else a new key named ``name``
    kept there: services and the demo get a key that survives restarts.

    The file is 0600 in a 0700 folder, written to a temporary name and moved into place, so a
    reader never sees half a key and no umask or older file widens its mode.
    """
    with contextlib.suppress(OSError):
        key = path.read_text().strip()
        if key and hash_key(key) in store.active():
            return key
    _, key = store.create(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return key
