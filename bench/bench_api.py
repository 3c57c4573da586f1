"""REST API latency and throughput on loopback: a Redis-backed trending read, a cached creator
profile (Gold answer from the Redis cache + live scores) and POST /predict/trust.

    uv run python -m bench.bench_api [--rates 300,600,1000] [--seconds 8] [--max-requests 20000]
                                     [--connections 32] [--workers N] [--live-cache-ms MS]
                                     [--gold-local-s S] [--no-predict] [--json]

Starts uvicorn (the API as `kol api` runs it, access log on) on a free port and drives it with a
built-in asyncio HTTP/1.1 load generator over keep-alive connections, in two ways per route:

* open loop: each of ``--rates`` requests/s for ``--seconds`` (latency counted from each
  request's scheduled start, so a slow server cannot hide its queueing: no coordinated
  omission; what is not answered within another ``--seconds`` counts as an error);
* closed loop: ``--connections`` clients back to back, ``--max-requests`` or ``--seconds``,
  for the ceiling in requests/s.

Needs the local stack: Redis (live data is written under a unique prefix and deleted), PostgreSQL
(a bench API key, revoked afterwards), Trino with Gold built (the profile row; skipped otherwise)
and MLflow (a throw-away LightGBM champion for the predict row, deleted afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import redis

from api.keys import KeyStore
from api.server import uvicorn_command
from kol.settings import ApiSettings

ROOT = Path(__file__).resolve().parent.parent


# ---- load generator -------------------------------------------------------------------------
@dataclass
class Result:
    name: str
    mode: str
    sent: int = 0
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def row(self) -> dict[str, Any]:
        lat = np.array(self.latencies) * 1000 if self.latencies else np.array([np.nan])
        return {
            "route": self.name,
            "mode": self.mode,
            "requests": self.sent,
            "req_per_s": round(self.sent / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(float(np.percentile(lat, 50)), 2),
            "p95_ms": round(float(np.percentile(lat, 95)), 2),
            "p99_ms": round(float(np.percentile(lat, 99)), 2),
            "max_ms": round(float(np.max(lat)), 2),
            "errors": self.errors,
            "statuses": self.statuses,
        }


def request_bytes(method: str, path: str, key: str, body: bytes | None = None) -> bytes:
    head = [f"{method} {path} HTTP/1.1", "Host: bench", f"X-API-Key: {key}"]
    if body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + (body or b"")


class Conn:
    """One keep-alive HTTP/1.1 connection; responses carry Content-Length (no chunking)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def call(self, raw: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()


async def open_loop(
    name: str, host: str, port: int, raws: list[bytes], rate: float, seconds: float, conns: int
) -> Result:
    res = Result(name, f"open {rate:.0f}/s")
    total = int(rate * seconds)
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    pool = [Conn(host, port) for _ in range(conns)]

    async def worker(c: Conn) -> None:
        while (item := await queue.get()) is not None:
            scheduled, raw = item
            try:
                status = await c.call(raw)
                res.statuses[status] = res.statuses.get(status, 0) + 1
                if status >= 400:
                    res.errors += 1
            except Exception:
                res.errors += 1
                await c.close()
                c.writer = None
            res.latencies.append(time.perf_counter() - scheduled)

    workers = [asyncio.create_task(worker(c)) for c in pool]
    start = time.perf_counter()
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0.0005:
            await asyncio.sleep(delay)
        queue.put_nowait((due, raws[i % len(raws)]))
        res.sent += 1
    for _ in workers:
        queue.put_nowait(None)
    # Bounded: a server slower than the offered rate gets `seconds` more to drain, then what is
    # still queued or in flight counts as errors (never answered in time).
    _, pending = await asyncio.wait(workers, timeout=seconds)
    for task in pending:
        task.cancel()
    res.seconds = time.perf_counter() - start
    unanswered = res.sent - len(res.latencies)
    if unanswered:
        res.errors += unanswered
        res.statuses[0] = unanswered  # 0 = no answer within the run
    res.sent = len(res.latencies)
    for c in pool:
        await c.close()
    return res


async def closed_loop(
    name: str,
    host: str,
    port: int,
    raws: list[bytes],
    conns: int,
    max_requests: int,
    seconds: float,
) -> Result:
    res = Result(name, f"closed x{conns}")
    deadline = time.perf_counter() + seconds
    counter = iter(range(max_requests))

    async def worker(c: Conn) -> None:
        for i in counter:
            if time.perf_counter() > deadline:
                break
            t = time.perf_counter()
            try:
                status = await c.call(raws[i % len(raws)])
                res.statuses[status] = res.statuses.get(status, 0) + 1
                if status >= 400:
                    res.errors += 1
            except Exception:
                res.errors += 1
                await c.close()
                c.writer = None
            res.latencies.append(time.perf_counter() - t)
            res.sent += 1
        await c.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker(Conn(host, port)) for _ in range(conns)))
    res.seconds = time.perf_counter() - start
    return res


# ---- fixtures: live data, key, model, server ------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_live(r: redis.Redis, prefix: str, creators: int) -> None:
    """A ranking as the stream job keeps it: one score hash per creator, per-platform zsets."""
    rng = random.Random(7)
    pipe = r.pipeline(transaction=False)
    for i in range(creators):
        platform = ("tiktok", "youtube", "instagram")[i % 3]
        kid = f"{platform}:bench_{i}"
        score = round(rng.uniform(0, 100), 3)
        pipe.hset(
            f"{prefix}trending:{kid}",
            mapping={
                "platform": platform,
                "username": f"bench_{i}",
                "score": score,
                "label": "Hot",
                "velocity": 0.7,
                "momentum": 0.1,
                "damping": 0.9,
                "events": 12,
                "engagement": 4000,
                "baseline": 2000,
                "views": 3000,
                "likes": 300,
                "comments": 20,
                "shares": 5,
                "followers": 10_000 + i,
                "follower_delta": 12,
                "window_start": "2026-02-05T10:00:00.000+00:00",
                "window_end": "2026-02-05T10:05:00.000+00:00",
                "updated_at": "2026-02-05T10:05:01.000+00:00",
            },
        )
        pipe.zadd(f"{prefix}trending:rank:{platform}", {kid: score})
        pipe.zadd(f"{prefix}trending:rank:all", {kid: score})
    pipe.execute()


def drop_prefix(r: redis.Redis, prefix: str) -> None:
    names = list(r.scan_iter(match=f"{prefix}*", count=1000))
    for i in range(0, len(names), 1000):
        r.delete(*names[i : i + 1000])


def register_model(s: ApiSettings, name: str) -> None:
    import lightgbm
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature

    from api.schemas import KolFeatures

    mlflow.set_tracking_uri(s.core.mlflow_login())
    mlflow.set_experiment("api-bench")
    rng = np.random.default_rng(3)
    cols = [c for c in KolFeatures.model_fields if c not in ("has_shop", "is_verified")]
    x = pd.DataFrame(rng.random((2000, len(cols))), columns=cols)
    y = (x["near_duplicate_share_7d"] + rng.normal(0, 0.2, 2000) < 0.5).astype(int)
    clf = lightgbm.LGBMClassifier(n_estimators=100, num_leaves=31, verbose=-1).fit(x, y)
    with mlflow.start_run():
        info = mlflow.lightgbm.log_model(
            clf,
            name="model",
            registered_model_name=name,
            pyfunc_predict_fn="predict_proba",
            signature=infer_signature(x, clf.predict_proba(x)[:, 1]),
        )
    mlflow.MlflowClient().set_registered_model_alias(
        name, "champion", str(info.registered_model_version)
    )


@contextlib.contextmanager
def server(port: int, env: dict[str, str], workers: int, log: Path) -> Iterator[str]:
    cmd = uvicorn_command(
        ApiSettings().model_copy(update={"host": "127.0.0.1", "port": port, "workers": workers})
    )
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited ({proc.returncode}); see {log}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.3)
        else:
            raise RuntimeError(f"the API did not come up in 60s; see {log}")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_ready(base: str, key: str, check: str, timeout_s: float = 90) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    while True:
        r = httpx.get(f"{base}{check}", headers={"X-API-Key": key}, timeout=30)
        if r.status_code == 200 or time.monotonic() > deadline:
            return r
        time.sleep(1)


# ---- main -----------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rates", default="300,600,1000", help="open-loop requests/s, comma-separated"
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="per run (upper bound)")
    parser.add_argument("--max-requests", type=int, default=20_000, help="per closed-loop run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=None, help="default KOL_API_WORKERS")
    parser.add_argument("--creators", type=int, default=2000, help="creators in the ranking")
    parser.add_argument("--no-predict", action="store_true", help="skip POST /predict/trust")
    parser.add_argument(
        "--live-cache-ms", type=int, default=None, help="KOL_API_LIVE_CACHE_MS (0: off)"
    )
    parser.add_argument(
        "--gold-local-s", type=float, default=None, help="KOL_API_CACHE_LOCAL_S (0: off)"
    )
    parser.add_argument("--json", action="store_true", help="also print the rows as JSON")
    args = parser.parse_args(argv)

    s = ApiSettings()
    workers = args.workers or s.workers
    rates = [float(r) for r in args.rates.split(",") if r]
    live_cache_ms = s.live_cache_ms if args.live_cache_ms is None else args.live_cache_ms
    gold_local_s = s.cache_local_s if args.gold_local_s is None else args.gold_local_s
    tag = uuid.uuid4().hex[:8]
    prefix = f"bench:api:{tag}:"
    model_name = f"kol_trust_bench_{tag}"
    r = redis.Redis.from_url(s.core.redis_url)
    store = KeyStore(s)
    record, key = store.create(f"bench-{tag}", rate_limit=10**9)
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    try:
        write_live(r, prefix, args.creators)
        if not args.no_predict:
            print(f"registering a LightGBM champion {model_name} in MLflow ...", flush=True)
            register_model(s, model_name)
        env = {
            "KOL_STREAM_REDIS_PREFIX": prefix,
            "KOL_ML_TRUST_MODEL_NAME": model_name,
            "KOL_API_MODEL_POLL_S": "2",
            "KOL_API_WORKERS": str(workers),
            "KOL_API_LIVE_CACHE_MS": str(live_cache_ms),
            "KOL_API_CACHE_LOCAL_S": str(gold_local_s),
        }
        log = Path(tempfile.gettempdir()) / f"bench_api_{tag}.log"
        port = free_port()
        with server(port, env, workers, log) as base:
            scenarios: list[tuple[str, list[bytes]]] = [
                (
                    "GET /api/v1/trending?limit=20",
                    [request_bytes("GET", "/api/v1/trending?limit=20", key)],
                ),
            ]
            kols = wait_ready(base, key, "/api/v1/kols?limit=50")
            if kols.status_code == 200 and kols.json()["items"]:
                paths = [
                    f"/api/v1/kols/{k['platform']}/{k['username']}" for k in kols.json()["items"]
                ]
                for p in paths:  # warm the cache: the benchmark measures cached reads
                    httpx.get(f"{base}{p}", headers={"X-API-Key": key}, timeout=60)
                scenarios.append(
                    (
                        f"GET creator profile (cached, {len(paths)} creators)",
                        [request_bytes("GET", p, key) for p in paths],
                    )
                )
            else:
                notes.append(
                    f"profile skipped: /kols answered {kols.status_code} {kols.text[:200]}"
                )
            if not args.no_predict:
                body = json.dumps(
                    {
                        "features": {
                            "followers": 12000,
                            "engagement_rate": 0.05,
                            "near_duplicate_share_7d": 0.3,
                        }
                    }
                ).encode()
                raw = request_bytes("POST", "/api/v1/predict/trust", key, body)
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline:
                    pr = httpx.post(
                        f"{base}/api/v1/predict/trust",
                        content=body,
                        timeout=30,
                        headers={"X-API-Key": key, "Content-Type": "application/json"},
                    )
                    if pr.status_code == 200:
                        break
                    time.sleep(1)
                if pr.status_code == 200:
                    scenarios.append(("POST /api/v1/predict/trust", [raw]))
                else:
                    notes.append(f"predict skipped: {pr.status_code} {pr.text[:200]}")

            try:
                import uvloop

                runner = uvloop.run
            except ImportError:
                runner = asyncio.run
            for name, raws in scenarios:
                # Warm-up: connections, code paths, every worker.
                runner(closed_loop(name, "127.0.0.1", port, raws, 8, 500, 5))
                runs = [
                    open_loop(name, "127.0.0.1", port, raws, rate, args.seconds, args.connections)
                    for rate in rates
                ]
                closed = closed_loop(
                    name, "127.0.0.1", port, raws, args.connections, args.max_requests, args.seconds
                )
                for run in [*runs, closed]:
                    res = runner(run)
                    row = res.row()
                    rows.append(row)
                    print(
                        f"{row['route']:46} {row['mode']:14} {row['requests']:>7} req "
                        f"{row['req_per_s']:>8.0f} req/s  p50 {row['p50_ms']:6.2f}  "
                        f"p95 {row['p95_ms']:6.2f}  p99 {row['p99_ms']:6.2f}  "
                        f"max {row['max_ms']:7.2f} ms  errors {row['errors']}",
                        flush=True,
                    )
    finally:
        store.revoke(record.key_id)
        drop_prefix(r, prefix)
        if not args.no_predict:
            with contextlib.suppress(Exception):
                import mlflow

                mlflow.MlflowClient(s.core.mlflow_login()).delete_registered_model(model_name)
    print(
        f"uvicorn workers: {workers}; live cache {live_cache_ms} ms; Gold answers in-process "
        f"{gold_local_s} s; CPUs: {os.cpu_count()}; "
        f"load average {os.getloadavg()[0]:.1f} (the load generator shares the machine)"
    )
    for note in notes:
        print(f"note: {note}")
    if args.json:
        print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
