"""Bringing the local stack up and down, and telling whether it is healthy."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import psutil

from kol import process
from kol.settings import Settings
from shell.stack.services import OPTIONAL_SERVICES, all_services
from shell.stack.services.base import Health, Service, ServiceError


@dataclass
class ServiceStatus:
    service: str
    address: str
    running: bool
    healthy: bool
    pid: int | None
    detail: str
    log: str
    rss_mb: float | None = None
    #: Started only on request (``--with-stream``); not running is not a fault.
    optional: bool = False

    @property
    def fault(self) -> bool:
        """Should be healthy and is not (an optional service not running is fine)."""
        return not self.healthy and (self.running or not self.optional)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class StackError(RuntimeError):
    """A service did not come up; the message names it, its log file and the log's last lines."""


def select(
    settings: Settings, names: Iterable[str] | None = None, optional: bool = False
) -> list[Service]:
    """The services named (all known ones), or by default the stack without optional ones."""
    services = all_services(settings)
    if not names:
        return [v for k, v in services.items() if optional or k not in OPTIONAL_SERVICES]
    unknown = [n for n in names if n not in services]
    if unknown:
        raise StackError(f"unknown service(s) {unknown}; known: {sorted(services)}")
    return [services[n] for n in services if n in set(names)]


def _tree_rss_mb(proc: psutil.Process) -> float | None:
    """Resident memory of a service's whole process tree (PostgreSQL and MLflow fork workers)."""
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return None
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total / 2**20


def status_of(svc: Service) -> ServiceStatus:
    record = process.read_pid(svc.pid_file)
    proc = record.process() if record else None
    optional = svc.name in OPTIONAL_SERVICES
    # An optional service this stack did not start is reported as such without a probe: the
    # producer's probe waits for Kafka, for 30 s when Kafka is down.
    health = Health(False) if proc is None and optional else svc.health()
    rss = _tree_rss_mb(proc) if proc is not None else None
    detail = health.detail
    if proc is None and health.ok:
        detail = f"answering, but not started by this stack ({detail})"
    elif proc is None and optional:
        detail = f"optional, not started (`kol stack up {svc.name}`)"
    return ServiceStatus(
        service=svc.name,
        address=svc.address,
        running=proc is not None,
        healthy=proc is not None and health.ok,
        pid=proc.pid if proc else None,
        detail=detail,
        log=str(svc.log_file),
        rss_mb=round(rss, 1) if rss is not None else None,
        optional=optional,
    )


def _failure(svc: Service, why: str) -> StackError:
    return StackError(
        f"{svc.name} did not come up: {why}\n"
        f"log: {svc.log_file}\n--- last lines ---\n{process.tail(svc.log_file, 25)}"
    )


def _start(svc: Service, s: Settings) -> None:
    """Start one service unless it already runs; does not wait for health."""
    record = process.read_pid(svc.pid_file)
    if record and record.process():
        return
    for port in svc.ports():
        owner = process.port_owner(s.bind_host, port)
        if owner:
            raise StackError(
                f"{svc.name} cannot start: port {port} on {s.bind_host} is already in use by "
                f"{owner}. Stop it, or move {svc.name} to another port with its KOL_* setting."
            )
    try:
        svc.prepare()
        cmd = svc.command()
    except ServiceError as exc:
        raise _failure(svc, str(exc)) from exc
    pid = process.spawn(cmd, log_file=svc.log_file, cwd=svc.cwd(), env=svc.env(), user=svc.run_as())
    process.write_pid(svc.pid_file, pid)


def _wait_healthy(svcs: list[Service], s: Settings, on_ready: Callable[[str], None]) -> None:
    deadline = time.monotonic() + s.start_timeout_s
    pending = list(svcs)
    last: dict[str, str] = {}
    while pending:
        for svc in list(pending):
            record = process.read_pid(svc.pid_file)
            if not (record and record.process()):
                raise _failure(svc, "its process exited during start-up")
            health = svc.health()
            last[svc.name] = health.detail
            if health.ok:
                try:
                    svc.after_start()
                except Exception as exc:
                    raise _failure(svc, f"bootstrap after start failed: {exc}") from exc
                pending.remove(svc)
                on_ready(svc.name)
        if pending and time.monotonic() > deadline:
            svc = pending[0]
            raise _failure(
                svc,
                f"no healthy answer within {s.start_timeout_s:.0f}s (last: {last.get(svc.name)})",
            )
        if pending:
            time.sleep(1.0)


def up(
    s: Settings,
    names: Iterable[str] | None = None,
    on_ready: Callable[[str], None] = lambda _: None,
) -> list[str]:
    """Start what is not running, in dependency order, and wait until all answer.

    Services whose dependencies are healthy start together, so the slow JVMs (Kafka, Trino)
    boot in parallel. Returns the names of the services this call started.
    """
    for d in (s.log_dir, s.run_dir, s.data_dir):
        d.mkdir(parents=True, exist_ok=True)
    wanted = select(s, names)
    by_name = {svc.name: svc for svc in select(s, optional=True)}
    # pull in the dependencies of what was asked for, and theirs (dashboard -> api -> redis)
    queue = list(wanted)
    while queue:
        for dep in queue.pop().requires:
            if dep not in {w.name for w in wanted}:
                wanted.insert(0, by_name[dep])
                queue.append(by_name[dep])
    started: list[str] = []
    done: set[str] = set()
    remaining = list(wanted)
    while remaining:
        wave = [svc for svc in remaining if all(d in done for d in svc.requires)]
        if not wave:  # a cycle or an unknown dependency: say so instead of spinning
            raise StackError(
                "cannot order the services: "
                + ", ".join(f"{svc.name} needs {list(svc.requires)}" for svc in remaining)
            )
        to_wait = []
        for svc in wave:
            record = process.read_pid(svc.pid_file)
            if record and record.process() and svc.health().ok:
                done.add(svc.name)
                continue
            _start(svc, s)
            started.append(svc.name)
            to_wait.append(svc)
        _wait_healthy(to_wait, s, on_ready)
        done.update(svc.name for svc in wave)
        remaining = [svc for svc in remaining if svc.name not in done]
    return started


def down(s: Settings, names: Iterable[str] | None = None) -> list[str]:
    """Stop services in reverse dependency order; returns the names that were running."""
    stopped = []
    for svc in reversed(select(s, names, optional=True)):
        record = process.read_pid(svc.pid_file)
        if record and process.stop(record, svc.stop_signal):
            stopped.append(svc.name)
        svc.pid_file.unlink(missing_ok=True)
    return stopped


def status(s: Settings, names: Iterable[str] | None = None) -> list[ServiceStatus]:
    """Every service (optional ones too, so a running stream job shows)."""
    return [status_of(svc) for svc in select(s, names, optional=True)]


def faults(rows: Iterable[ServiceStatus]) -> list[ServiceStatus]:
    """Services that should be healthy and are not."""
    return [r for r in rows if r.fault]
