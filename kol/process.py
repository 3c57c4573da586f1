"""Supervising the stack's daemons without Docker: pid files, port checks, log tails.

Each service runs as one foreground process in its own session (so a stop signal reaches the
whole process group), its output appended to ``$KOL_HOME/logs/<service>.log``, and its pid and
start time recorded in ``$KOL_HOME/run/<service>.pid`` so a recycled pid is never mistaken for it.

The start time that identifies a process is its start in clock ticks since boot, read from
``/proc/<pid>/stat``. psutil's ``create_time()`` adds the boot time, which the kernel derives from
the wall clock: when the clock is stepped (NTP on a freshly booted machine), every recorded
service would suddenly look like a stranger, and ``kol stack down`` would leave them running.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil


def start_ticks(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (immune to clock steps); None off Linux."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces; starttime is field 22.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])


@dataclass(frozen=True)
class PidRecord:
    pid: int
    #: Wall-clock start, for people reading the file and for systems without /proc.
    create_time: float
    start_ticks: int | None = None

    def _same_start(self, proc: psutil.Process) -> bool:
        if self.start_ticks is not None:
            ticks = start_ticks(proc.pid)
            if ticks is not None:
                return ticks == self.start_ticks
        return abs(proc.create_time() - self.create_time) <= 1.0

    def process(self) -> psutil.Process | None:
        """The live process this record describes, or None if it is gone or the pid was reused."""
        try:
            proc = psutil.Process(self.pid)
            if not self._same_start(proc):
                return None
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
            return proc
        except psutil.Error:
            return None


def read_pid(pid_file: Path) -> PidRecord | None:
    try:
        data = json.loads(pid_file.read_text())
        ticks = data.get("start_ticks")
        return PidRecord(
            pid=int(data["pid"]),
            create_time=float(data["create_time"]),
            start_ticks=int(ticks) if ticks is not None else None,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def write_pid(pid_file: Path, pid: int) -> PidRecord:
    record = PidRecord(
        pid=pid, create_time=psutil.Process(pid).create_time(), start_ticks=start_ticks(pid)
    )
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(json.dumps(asdict(record)))
    return record


def _raise_open_files_limit() -> None:
    # Trino refuses to start below 4096 open files; raise the soft limit to the hard one.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def spawn(
    cmd: list[str],
    *,
    log_file: Path,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    user: str | None = None,
) -> int:
    """Start ``cmd`` detached in its own session, appending output to ``log_file``; its pid."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        log.write(f"\n==== {stamp} starting: {' '.join(cmd)}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            preexec_fn=_raise_open_files_limit,
            user=user,
        )
    return proc.pid


def stop(record: PidRecord, sig: signal.Signals = signal.SIGTERM, timeout_s: float = 30.0) -> bool:
    """Signal the process group, wait, SIGKILL what is left; True if it was running."""
    proc = record.process()
    if proc is None:
        return False
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        procs = [proc]
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(record.pid, sig)
    _, alive = psutil.wait_procs(procs, timeout=timeout_s)
    for p in alive:
        with contextlib.suppress(psutil.Error):
            p.kill()
    psutil.wait_procs(alive, timeout=5)
    return True


def port_owner(host: str, port: int) -> str | None:
    """Describe who listens on ``host:port`` ("pid 123 (java)"), or None when the port is free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            return None
        except OSError:
            pass
    with contextlib.suppress(psutil.Error):
        for conn in psutil.net_connections(kind="inet"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                if conn.pid:
                    with contextlib.suppress(psutil.Error):
                        return f"pid {conn.pid} ({psutil.Process(conn.pid).name()})"
                return "another process"
    return "another process"


def tail(path: Path, lines: int = 20) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(deque(f, maxlen=lines))
    except OSError:
        return f"(no log at {path})"


class CommandFailed(RuntimeError):
    """A child command failed; the message names it, its log and the log's last lines."""


def run_kol(log: Path, *args: str, cwd: Path | None = None) -> None:
    """``kol ARGS`` in a child process, its output in ``log``; raises naming the log.

    The child is the installed ``kol`` command (next to this interpreter), not an import of the
    application shell: layers below the shell may run it without depending on it."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        out.write(f"$ kol {' '.join(args)}\n".encode())
        out.flush()
        code = subprocess.call(
            [str(Path(sys.executable).with_name("kol")), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
        )
    if code != 0:
        raise CommandFailed(
            f"`kol {' '.join(args)}` failed (exit {code})\nlog: {log}\n--- last lines ---\n"
            + tail(log, 25)
        )
