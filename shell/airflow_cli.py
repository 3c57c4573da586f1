"""`kol airflow ARGS...`: the `airflow` CLI against the stack's Airflow.

Every argument is airflow's own (`kol airflow dags list`, `kol airflow tasks test
kol_daily_pipeline kafka_to_bronze 2026-05-01`, `kol airflow --help`); what `kol` adds is the
environment the stack's Airflow processes run with (:func:`shell.orchestration.airflow_env`: its
home, metadata database, DAG folder and connections), so a data engineer need not export it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from kol.settings import get_settings
from shell.orchestration import airflow_env

# The echoed command line goes to stderr: stdout is airflow's (`-o json` stays parseable).
err = Console(stderr=True)


def airflow_binary() -> str:
    """The venv's `airflow` (the one installed beside this interpreter)."""
    return str(Path(sys.executable).with_name("airflow"))


@contextlib.contextmanager
def _child_handles_interrupts() -> Iterator[None]:
    """Ctrl-C reaches the child too (one process group): let it shut down in its own way and
    report its exit code, instead of Python killing it a quarter second later."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # A Python handler, not SIG_IGN: exec resets it, so the child still gets the default.
    previous = signal.signal(signal.SIGINT, lambda *_: None)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def exit_code(returncode: int) -> int:
    """A child's return code as a shell reports it (killed by signal N: 128 + N)."""
    return 128 - returncode if returncode < 0 else returncode


def airflow(*args: str, log_file: Path | None = None, env: dict[str, str] | None = None) -> int:
    """Run the `airflow` CLI against the stack's Airflow (its metadata DB and DAG folder).

    With ``log_file``, its output is also written there (the task logs of `dags test` go to
    stdout only, so this is where a failed task's traceback is kept).
    """
    argv = [airflow_binary(), *args]
    err.print(f"[dim]airflow {' '.join(args)}[/]", highlight=False)
    env = {**os.environ, **airflow_env(get_settings()), **(env or {})}
    with _child_handles_interrupts():
        if log_file is None:
            return exit_code(subprocess.call(argv, env=env))
        log_file.parent.mkdir(parents=True, exist_ok=True)
        with log_file.open("wb") as out:
            proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            assert proc.stdout is not None
            for line in proc.stdout:
                sys.stdout.buffer.write(line)
                out.write(line)
            return exit_code(proc.wait())


# How shell.cli registers :func:`run`: unknown options and extra arguments are left for airflow,
# and --help is airflow's.
COMMAND: dict[str, Any] = {
    "context_settings": {"allow_extra_args": True, "ignore_unknown_options": True},
    "add_help_option": False,
}


def run(ctx: typer.Context) -> None:
    """Run the `airflow` CLI against the stack's Airflow: `kol airflow dags list`,
    `kol airflow tasks test DAG TASK DATE`; `kol airflow --help` for airflow's commands."""
    raise typer.Exit(airflow(*ctx.args))
