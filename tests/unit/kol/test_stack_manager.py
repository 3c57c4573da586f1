"""The supervisor's behaviour, with stand-in services (shell commands) instead of real daemons."""

from __future__ import annotations

import base64
import dataclasses
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from kol import process
from kol.settings import Settings
from shell.stack import manager
from shell.stack.services.base import Health, Service
from shell.stack.services.kafka import kafka_cluster_id


class FakeService(Service):
    """A daemon played by a Python one-liner; healthy while it runs and a marker file exists."""

    name = "fake"
    script = "import time; print('fake up', flush=True); time.sleep(60)"
    port = 0

    @property
    def address(self) -> str:
        return "fake://"

    def ports(self) -> list[int]:
        return [self.port] if self.port else []

    def command(self) -> list[str]:
        return [sys.executable, "-c", self.script]

    def health(self) -> Health:
        record = process.read_pid(self.pid_file)
        alive = bool(record and record.process())
        return Health(alive, "running" if alive else "down")


class CrashingService(FakeService):
    name = "crashing"
    script = "import sys; print('boom: cannot open data dir /nowhere', flush=True); sys.exit(3)"

    def health(self) -> Health:
        return Health(False, "connection refused")


@pytest.fixture
def s(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, start_timeout_s=5)


@pytest.fixture
def fake_services(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    def install(*classes: type[Service]) -> None:
        monkeypatch.setattr(
            manager, "all_services", lambda settings: {c.name: c(settings) for c in classes}
        )

    return install


def test_up_starts_then_second_up_is_a_no_op_and_down_leaves_nothing(s, fake_services) -> None:  # type: ignore[no-untyped-def]
    fake_services(FakeService)
    assert manager.up(s) == ["fake"]
    record = process.read_pid(s.run_dir / "fake.pid")
    assert record and record.process()
    assert manager.up(s) == []
    assert [r.healthy for r in manager.status(s)] == [True]

    assert manager.down(s) == ["fake"]
    assert record.process() is None
    assert [r.healthy for r in manager.status(s)] == [False]


def test_a_service_that_dies_is_named_with_its_log_tail(s, fake_services) -> None:  # type: ignore[no-untyped-def]
    # Generous: on a loaded machine the interpreter may need seconds just to start and crash.
    s.start_timeout_s = 120
    fake_services(CrashingService)
    with pytest.raises(manager.StackError) as exc:
        manager.up(s)
    msg = str(exc.value)
    assert msg.startswith("crashing did not come up")
    assert str(s.log_dir / "crashing.log") in msg
    assert "boom: cannot open data dir /nowhere" in msg


def test_a_port_taken_by_someone_else_is_reported(s, fake_services) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]

        class PortService(FakeService):
            name = "porty"

        PortService.port = port
        fake_services(PortService)
        with pytest.raises(manager.StackError, match=f"port {port} .* already in use by pid"):
            manager.up(s)


def test_a_recycled_pid_is_not_taken_for_the_service(tmp_path: Path) -> None:
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        pid_file = tmp_path / "x.pid"
        record = process.write_pid(pid_file, other.pid)
        assert process.read_pid(pid_file) == record
        assert record.process() is not None
        assert record.start_ticks is not None
        stale = dataclasses.replace(record, start_ticks=record.start_ticks - 100)
        assert stale.process() is None
        legacy_stale = process.PidRecord(pid=other.pid, create_time=record.create_time - 100)
        assert legacy_stale.process() is None
    finally:
        other.kill()
        other.wait()


def test_a_clock_step_does_not_disown_a_running_service(tmp_path: Path) -> None:
    # After an NTP step psutil's wall-clock create_time() moves; the boot-relative start does not.
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        record = process.write_pid(tmp_path / "x.pid", other.pid)
        stepped = dataclasses.replace(record, create_time=record.create_time + 90)
        assert stepped.process() is not None
    finally:
        other.kill()
        other.wait()


def test_start_ticks_reads_past_a_command_name_with_spaces_and_parentheses() -> None:
    code = "open('/proc/self/comm', 'w').write('a) b (c'); import time; time.sleep(30)"
    other = subprocess.Popen([sys.executable, "-c", code])
    try:
        for _ in range(100):
            if psutil.Process(other.pid).name() == "a) b (c":
                break
            time.sleep(0.02)
        ticks = process.start_ticks(other.pid)
        since_boot = psutil.Process(other.pid).create_time() - psutil.boot_time()
        assert ticks is not None
        assert abs(ticks / os.sysconf("SC_CLK_TCK") - since_boot) < 0.05
    finally:
        other.kill()
        other.wait()


def test_a_pid_file_without_start_ticks_still_reads(tmp_path: Path) -> None:
    pid_file = tmp_path / "old.pid"
    pid_file.write_text('{"pid": 12, "create_time": 1700000000.5}')
    assert process.read_pid(pid_file) == process.PidRecord(pid=12, create_time=1700000000.5)


def test_unknown_service_names_are_rejected(s: Settings) -> None:
    with pytest.raises(manager.StackError, match="unknown service"):
        manager.select(s, ["kafak"])


def test_a_kafka_cluster_id_never_starts_with_a_dash() -> None:
    # 0xF8 as the first byte encodes to "-" in URL-safe base64: the storage tool's parser
    # would take such an id for an option, so the id is drawn again.
    draws = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=b"\x01" * 16)])
    cluster_id = kafka_cluster_id(lambda: next(draws))
    assert cluster_id == base64.urlsafe_b64encode(b"\x01" * 16).decode().rstrip("=")
    assert len(cluster_id) == 22


class BaseService(FakeService):
    name = "base"


class MiddleService(FakeService):
    name = "middle"
    requires = ("base",)


class TopService(FakeService):
    name = "top"
    requires = ("middle",)


def test_up_of_one_service_starts_what_it_needs_transitively(s, fake_services) -> None:  # type: ignore[no-untyped-def]
    fake_services(BaseService, MiddleService, TopService)
    try:
        assert manager.up(s, ["top"]) == ["base", "middle", "top"]
    finally:
        manager.down(s)


class LoopService(FakeService):
    name = "loop"
    requires = ("loop",)


def test_a_dependency_cycle_is_an_error_not_a_hang(s, fake_services) -> None:  # type: ignore[no-untyped-def]
    fake_services(LoopService)
    with pytest.raises(manager.StackError, match="loop needs"):
        manager.up(s, ["loop"])


def test_the_airflow_password_is_shown_once_then_only_where_it_is_kept(tmp_path: Path) -> None:
    import json

    from shell.stack.services.airflow import AirflowApi

    api = AirflowApi(Settings(home=tmp_path))
    assert "generated at first start" in api.login(reveal=True)
    api.password_file.parent.mkdir(parents=True, exist_ok=True)
    api.password_file.write_text(json.dumps({"admin": "s3cret-pw"}))
    assert "s3cret-pw" not in api.login()  # what `kol stack status` shows
    assert "s3cret-pw" in api.login(reveal=True)  # the first `kol stack up` after creation
    again = api.login(reveal=True)
    assert "s3cret-pw" not in again and str(api.password_file) in again
    assert api.password_file.stat().st_mode & 0o777 == 0o600
    # A new password (Airflow's state reset) is shown once again.
    time.sleep(0.01)
    api.password_file.write_text(json.dumps({"admin": "n3w-pw"}))
    os.utime(api.password_file, (time.time() + 5, time.time() + 5))
    assert "n3w-pw" in api.login(reveal=True)
