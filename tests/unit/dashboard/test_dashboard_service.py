"""The dashboard's stack service: its command, health check, and the API key it keeps."""

from __future__ import annotations

import json
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from api.keys import hash_key
from kol.settings import REPO_ROOT, DashboardSettings, Settings
from shell.stack.services import all_services
from shell.stack.services.dashboard import DashboardService


@dataclass
class FakeKeyStore:
    """KeyStore's create/active over a dict of hashes."""

    active_hashes: dict[str, object] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)

    def create(self, name: str, rate_limit: int | None = None) -> tuple[object, str]:
        key = f"kol_{len(self.created):012d}_secret"
        self.created.append(name)
        self.active_hashes[hash_key(key)] = name
        return object(), key

    def active(self) -> dict[str, object]:
        return dict(self.active_hashes)


@pytest.fixture
def s(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "kol")


def _service(s: Settings, store: FakeKeyStore, **kwargs: Any) -> DashboardService:
    ds = DashboardSettings(host="127.0.0.1", port=8599, **kwargs)
    return DashboardService(s, dashboard=ds, keys=store)


def test_it_is_a_stack_service_started_after_the_api(s: Settings) -> None:
    svc = all_services(s)["dashboard"]
    assert isinstance(svc, DashboardService)
    assert svc.requires == ("api",)
    assert svc.address == "http://127.0.0.1:8501"
    assert svc.ports() == [8501]
    assert svc.cwd() == REPO_ROOT
    assert (REPO_ROOT / "dashboard" / "app.py").is_file()


def test_command_runs_streamlit_headless_on_the_configured_address(s: Settings) -> None:
    cmd = _service(s, FakeKeyStore()).command()
    assert cmd[:5] == [sys.executable, "-m", "streamlit", "run", "dashboard/app.py"]
    opts = dict(zip(cmd[5::2], cmd[6::2], strict=True))
    assert opts["--server.address"] == "127.0.0.1"
    assert opts["--server.port"] == "8599"
    assert opts["--server.headless"] == "true"
    assert opts["--browser.gatherUsageStats"] == "false"


@pytest.mark.parametrize(
    ("answer", "ok"),
    [
        (httpx.Response(200, text="ok"), True),
        (httpx.Response(503, text="not ready"), False),
        (httpx.ConnectError("Connection refused"), False),
    ],
)
def test_health_is_streamlits_own_check(
    s: Settings, monkeypatch: pytest.MonkeyPatch, answer: Any, ok: bool
) -> None:
    asked: list[str] = []

    def get(url: str, **kwargs: Any) -> httpx.Response:
        asked.append(url)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr("shell.stack.services.dashboard.httpx.get", get)
    health = _service(s, FakeKeyStore()).health()
    assert asked == ["http://127.0.0.1:8599/_stcore/health"]
    assert health.ok is ok


def test_the_key_is_created_once_kept_0600_and_reused(s: Settings) -> None:
    store = FakeKeyStore()
    first = _service(s, store)
    first.prepare()
    key_file = s.home / "dashboard" / "api_key"
    key = key_file.read_text().strip()
    assert store.created == ["dashboard"]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.env()["KOL_DASHBOARD_API_KEY"] == key

    again = _service(s, store)  # a later start
    again.prepare()
    assert store.created == ["dashboard"]
    assert again.env()["KOL_DASHBOARD_API_KEY"] == key


def test_a_revoked_or_lost_key_is_replaced(s: Settings) -> None:
    store = FakeKeyStore()
    _service(s, store).prepare()
    key_file = s.home / "dashboard" / "api_key"
    old = key_file.read_text().strip()

    store.active_hashes.clear()  # `kol api keys revoke`
    svc = _service(s, store)
    svc.prepare()
    new = key_file.read_text().strip()
    assert new != old and store.created == ["dashboard", "dashboard"]
    assert svc.env()["KOL_DASHBOARD_API_KEY"] == new

    key_file.unlink()
    _service(s, store).prepare()
    assert len(store.created) == 3 and key_file.read_text().strip() not in (old, new)


def test_a_key_given_in_the_environment_is_used_as_it_is(s: Settings) -> None:
    store = FakeKeyStore()
    svc = _service(s, store, api_key=SecretStr("kol_given_key"))
    svc.prepare()
    assert store.created == []
    assert svc.env()["KOL_DASHBOARD_API_KEY"] == "kol_given_key"


def test_env_points_at_the_api_and_airflow_with_its_login(s: Settings) -> None:
    generated = s.airflow_home / "simple_auth_manager_passwords.json.generated"
    generated.parent.mkdir(parents=True)
    generated.write_text(json.dumps({"admin": "s3cret"}))
    svc = _service(s, FakeKeyStore())
    svc.prepare()
    env = svc.env()
    assert env["KOL_DASHBOARD_API_URL"] == "http://127.0.0.1:8000"
    assert env["KOL_DASHBOARD_AIRFLOW_URL"] == s.airflow_url
    assert env["KOL_DASHBOARD_AIRFLOW_USER"] == "admin"
    assert env["KOL_DASHBOARD_AIRFLOW_PASSWORD"] == "s3cret"
    assert (env["KOL_DASHBOARD_HOST"], env["KOL_DASHBOARD_PORT"]) == ("127.0.0.1", "8599")
