"""``kol stream start|stop|status|top``: the hot-path job as a background service."""

from __future__ import annotations

import json
import time
from typing import cast

import typer
from rich.console import Console
from rich.table import Table

from kol import process
from kol.redis_keys import RedisKeys
from kol.settings import get_settings, get_stream_settings
from shell.stack.services.stream import StreamService
from streaming.heartbeat import describe
from streaming.sinks import redis_client

app = typer.Typer(help="The hot path: Spark Structured Streaming trending scores into Redis.")
console = Console()


def _service() -> StreamService:
    return StreamService(get_settings(), get_stream_settings())


@app.command()
def start(
    wait: bool = typer.Option(True, help="Wait until the job reports a running query."),
    timeout: float = typer.Option(180.0, help="Seconds to wait for the first heartbeat."),
) -> None:
    """Start the streaming job in the background (its log: $KOL_HOME/logs/stream.log)."""
    svc = _service()
    record = process.read_pid(svc.pid_file)
    if record and record.process():
        console.print(f"stream already running (pid {record.pid})")
        return
    svc.progress_file.unlink(missing_ok=True)
    pid = process.spawn(svc.command(), log_file=svc.log_file, cwd=svc.cwd(), env=svc.env())
    record = process.write_pid(svc.pid_file, pid)
    console.print(f"stream started (pid {pid}), log {svc.log_file}")
    if not wait:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if record.process() is None:
            console.print(f"[red]the job exited during start-up[/]\n{process.tail(svc.log_file)}")
            raise typer.Exit(1)
        health = svc.health()
        if health.ok:
            console.print(f"[green]running[/]: {health.detail}")
            return
        time.sleep(2.0)
    console.print(f"[red]no running query after {timeout:.0f}s[/] (see {svc.log_file})")
    raise typer.Exit(1)


@app.command()
def stop(timeout: float = typer.Option(60.0, help="Seconds before SIGKILL.")) -> None:
    """Stop the job: SIGTERM stops the query between batches; the checkpoint resumes it."""
    svc = _service()
    record = process.read_pid(svc.pid_file)
    if record and process.stop(record, svc.stop_signal, timeout_s=timeout):
        console.print("stream stopped")
    else:
        console.print("stream was not running")
    svc.pid_file.unlink(missing_ok=True)


@app.command()
def status(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Process, heartbeat, counters and the top of the global ranking."""
    svc = _service()
    record = process.read_pid(svc.pid_file)
    proc = record.process() if record else None
    health = svc.health()
    progress = svc.progress() or {}
    keys = RedisKeys(svc.ss.redis_prefix)
    try:
        r = redis_client(svc.s)
        raw_stats = cast(dict[bytes, bytes], r.hgetall(keys.stats))
        stats = {k.decode(): v.decode() for k, v in raw_stats.items()}
        ranked = cast(list[tuple[bytes, float]], r.zrevrange(keys.rank(), 0, 9, withscores=True))
        top = [(m.decode(), s) for m, s in ranked]
    except Exception as exc:  # status must work with Redis down too
        stats, top = {"error": str(exc)}, []
    if as_json:
        out = {
            "running": proc is not None,
            "pid": proc.pid if proc else None,
            "healthy": proc is not None and health.ok,
            "detail": health.detail,
            "progress": {k: v for k, v in progress.items() if k != "last_progress"},
            "stats": stats,
            "top": top,
        }
        console.print_json(json.dumps(out, default=str))
        return
    state = "[green]healthy" if proc and health.ok else "[red]not healthy"
    console.print(f"stream: {state}[/] (pid {proc.pid if proc else '-'}) {health.detail}")
    if progress:
        console.print(f"last heartbeat: {describe(progress)}")
    if stats:
        table = Table(title="counters (Redis)")
        table.add_column("counter")
        table.add_column("value", justify="right")
        for name in sorted(stats):
            table.add_row(name, stats[name])
        console.print(table)
    if top:
        table = Table(title="trending now")
        table.add_column("creator")
        table.add_column("score", justify="right")
        for member, score in top:
            table.add_row(member, f"{score:.1f}")
        console.print(table)
