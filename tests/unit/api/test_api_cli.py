"""`kol api keys ...` against an in-memory key store, and the stack service's command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

from api import keys
from api.cli import app
from api.keys import KeyRecord, hash_key
from kol.settings import Settings
from shell.stack.services.api import ApiService


class MemoryKeyStore:
    rows: ClassVar[dict[str, dict[str, Any]]] = {}

    def __init__(self, settings: Any) -> None:
        pass

    def create(self, name: str, rate_limit: int | None = None) -> tuple[KeyRecord, str]:
        key_id, key = keys.new_key()
        now = datetime.now(UTC)
        self.rows[key_id] = {
            "hash": hash_key(key),
            "record": KeyRecord(key_id, name, now, None, rate_limit),
        }
        return self.rows[key_id]["record"], key

    def revoke(self, key_id: str) -> bool:
        row = self.rows.get(key_id)
        if row is None or row["record"].revoked_at is not None:
            return False
        r = row["record"]
        row["record"] = KeyRecord(r.key_id, r.name, r.created_at, datetime.now(UTC), r.rate_limit)
        return True

    def list(self) -> list[KeyRecord]:
        return [row["record"] for row in self.rows.values()]


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> type[MemoryKeyStore]:
    MemoryKeyStore.rows = {}
    monkeypatch.setattr(keys, "KeyStore", MemoryKeyStore)
    return MemoryKeyStore


def test_keys_create_list_revoke(store: type[MemoryKeyStore]) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["keys", "create", "dashboard", "--rate-limit", "50"])
    assert result.exit_code == 0, result.output
    key_id = result.stdout.split("key id:")[1].split()[0]
    key = result.stdout.split("key:")[-1].split()[0]
    assert key.startswith(f"kol_{key_id}_")
    assert key not in json.dumps([str(r) for r in store.rows.values()])  # only the hash is kept

    listed = runner.invoke(app, ["keys", "list", "--json"])
    row = json.loads(listed.stdout.splitlines()[0])
    assert row == {**row, "key_id": key_id, "name": "dashboard", "rate_limit": 50}
    assert row["revoked_at"] is None

    assert runner.invoke(app, ["keys", "revoke", key_id]).exit_code == 0
    again = runner.invoke(app, ["keys", "revoke", key_id])
    assert again.exit_code == 1
    assert "no active key" in again.output


def test_openapi_command_prints_the_schema() -> None:
    result = CliRunner().invoke(app, ["openapi"])
    assert result.exit_code == 0
    assert "/api/v1/trending" in json.loads(result.stdout)["paths"]


def test_stack_service_runs_uvicorn_from_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOL_API_PORT", "8123")
    monkeypatch.setenv("KOL_API_WORKERS", "3")
    svc = ApiService(Settings(home=tmp_path, bind_host="127.0.0.9"))
    cmd = svc.command()
    assert cmd[cmd.index("--factory") + 1] == "api.main:create_app"
    assert cmd[cmd.index("--port") + 1] == "8123"
    assert cmd[cmd.index("--workers") + 1] == "3"
    assert cmd[cmd.index("--host") + 1] == "127.0.0.9"
    assert svc.ports() == [8123]
    assert svc.address == "http://127.0.0.9:8123"
    svc.prepare()
    assert Path(svc.env()["PROMETHEUS_MULTIPROC_DIR"]).is_dir()
    assert not svc.health().ok  # nothing listens there


def test_the_stack_service_serves_what_kol_api_serves() -> None:
    """One server definition: the supervised command line and `kol api`'s uvicorn.run agree."""
    from api.server import APP, uvicorn_command, uvicorn_options
    from kol.settings import ApiSettings, Settings
    from shell.stack.services.api import ApiService

    s = ApiSettings(port=8123, workers=3)
    cmd = uvicorn_command(s)
    opts = uvicorn_options(s)
    assert cmd[cmd.index("--factory") + 1] == APP and opts["factory"] is True
    for flag, key in (("--host", "host"), ("--port", "port"), ("--workers", "workers")):
        assert cmd[cmd.index(flag) + 1] == str(opts[key])
    assert cmd[cmd.index("--port") + 1] == "8123" and opts["access_log"] is False
    service = ApiService(Settings())
    assert service.command() == uvicorn_command(service.api)
