"""`kol demo`: the whole platform on a generated world, left running, then where to look.

1. a world of ``demo_creators`` creators over ``demo_days`` days ending yesterday, with the
   generator's planted fraud, breakouts and purchases, replayed into Kafka with its labels;
2. the live producer: the same creators, paced, from now on (its first 40 minutes backdated);
3. the history (every day but the last) through the jobs the daily DAG runs, over one
   multi-day interval: Bronze and Silver (each gated in its job), Gold by dbt, its gate;
4. both models trained from Gold and registered in MLflow (champions when they qualify), and
   trust's account component trained on the real labelled accounts;
5. the last day run by Airflow itself (`airflow dags test`, visible in the UI's grid), which
   also batch-scores it with the champions into ``gold.kol_scores`` and Redis;
6. the streaming job, last: it reads the topics from the start in event time, so starting it
   after the batch work costs nothing in results and keeps its CPU for the end;
7. a check through the REST API that a creator has its three scores.

Each step prints one line with its time; its output goes to ``$KOL_HOME/logs/demo/<step>.log``,
whose path and last lines are printed if it fails. A step whose result is already there is
skipped, so a second run takes a couple of minutes. The world's dates are kept in
``$KOL_HOME/demo/world.json`` so that a later run reuses the same world.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from ingestion.demo_world import DemoWorld, load_world
from kol import process
from kol.settings import REPO_ROOT, Settings
from shell.stack import manager
from shell.stack.services.producer import LiveProducerService


class DemoError(RuntimeError):
    """A step failed; the message names it, its log and the log's last lines."""


def log_path(settings: Settings, step: str) -> Path:
    return settings.log_dir / "demo" / f"{step}.log"


def run_kol(settings: Settings, step: str, *args: str) -> None:
    """``kol ARGS`` in a child process, its output in the step's log; raises naming the log."""
    try:
        process.run_kol(log_path(settings, step), *args, cwd=REPO_ROOT)
    except process.CommandFailed as exc:
        raise DemoError(str(exc)) from exc


# ---- what is already there (a second run skips it) ------------------------------------------


def days_in_kafka(settings: Settings, start: datetime, end: datetime) -> bool:
    """True when the platform's profile topic already holds records stamped in [start, end)."""
    from kafka import KafkaConsumer, TopicPartition

    from kol.topics import PROFILES_TOPIC

    consumer = KafkaConsumer(**settings.kafka_client_config())
    try:
        parts = consumer.partitions_for_topic(PROFILES_TOPIC) or set()
        tps = [TopicPartition(PROFILES_TOPIC, p) for p in parts]
        if not tps:
            return False
        found = consumer.offsets_for_times({tp: int(start.timestamp() * 1000) for tp in tps})
        return any(
            hit is not None and hit.timestamp < end.timestamp() * 1000 for hit in found.values()
        )
    finally:
        consumer.close()


def gold_has_day(settings: Settings, table: str, column: str, day: date) -> bool:
    from kol.settings import get_gold_settings
    from kol.trino import query

    schema = get_gold_settings().schema_name
    try:
        rows = query(
            settings,
            f"SELECT count(*) FROM {settings.trino_catalog}.{schema}.{table} WHERE {column} = ?",
            [day],
        )
    except Exception:  # no such table yet
        return False
    return bool(rows and rows[0][0])


def champions(settings: Settings) -> dict[str, str | None]:
    """Champion version of each model (None: none registered)."""
    from kol.settings import get_ml_settings
    from ml.registry import mlflow_client

    ml = get_ml_settings()
    client = mlflow_client(ml)
    out: dict[str, str | None] = {}
    for kind, name in (
        ("trust", ml.trust_model_name),
        ("account", ml.account_model_name),
        ("success", ml.success_model_name),
    ):
        try:
            out[kind] = str(client.get_model_version_by_alias(name, ml.alias).version)
        except Exception:
            out[kind] = None
    return out


# ---- the steps -------------------------------------------------------------------------------


@dataclass
class Step:
    name: str
    title: str
    run: Callable[[], str | None]
    #: A reason to skip (the result is already there), or None to run.
    skip: Callable[[], str | None] = lambda: None


def steps(settings: Settings, world: DemoWorld) -> list[Step]:
    s = settings
    start = datetime.combine(world.start, datetime.min.time(), UTC)
    last = datetime.combine(world.last_day, datetime.min.time(), UTC)
    history = ("--start", start.isoformat(), "--end", last.isoformat())
    span = f"{world.start} .. {world.last_day - timedelta(days=1)}"

    # Asked once, before Bronze: the six history steps are skipped together or run together.
    @functools.cache
    def history_loaded() -> str | None:
        day = world.last_day - timedelta(days=1)
        return "already in Gold" if gold_has_day(s, "fct_kol_daily", "date_day", day) else None

    def in_kafka() -> str | None:
        end = start + timedelta(days=world.days)
        return "already in Kafka" if days_in_kafka(s, start, end) else None

    def trained() -> str | None:
        from kol.settings import get_ml_settings
        from ml.account import has_labelled_accounts

        versions = champions(s)
        if not has_labelled_accounts(get_ml_settings().external_dir):
            versions.pop("account")  # `kol ml train` cannot train it here (it says why)
        if all(versions.values()):
            return "champions " + ", ".join(f"{k} v{v}" for k, v in versions.items())
        return None

    def airflow_ran() -> str | None:
        if gold_has_day(s, "kol_scores", "date_day", world.last_day):
            return "already in Gold and scored"
        return None

    def service(name: str) -> Callable[[], str | None]:
        def up() -> str | None:
            manager.up(s, [name])
            return None

        return up

    def running(name: str) -> Callable[[], str | None]:
        def check() -> str | None:
            (st,) = manager.status(s, [name])
            return "already running" if st.healthy else None

        return check

    def kol(step: str, *args: str) -> Callable[[], str | None]:
        def run() -> str | None:
            run_kol(s, step, *args)
            return None

        return run

    return [
        Step(
            "generate",
            f"world: {world.creators} creators x {world.days} days from {world.start} -> Kafka",
            kol(
                "generate",
                "ingest",
                "generate",
                "--creators",
                str(world.creators),
                "--days",
                str(world.days),
                "--seed",
                str(world.seed),
                "--start-date",
                world.start.isoformat(),
            ),
            in_kafka,
        ),
        Step(
            "producer",
            "live producer: the same creators, paced",
            service("producer"),
            running("producer"),
        ),
        # The daily DAG's jobs and gates, in its order, over the whole history at once.
        *(
            Step(name, title, kol(name, *args, *history), history_loaded)
            for name, title, args in (
                ("bronze", f"Bronze {span} (kafka_to_bronze and its gate)", ("jobs", "bronze")),
                ("silver", f"Silver {span} (bronze_to_silver and its gate)", ("jobs", "silver")),
                ("gold", f"Gold {span} (dbt build on Trino)", ("gold", "build")),
                ("gold_gate", "Gold gate", ("quality", "check", "gold")),
            )
        ),
        Step(
            "train",
            "trust, account and success models -> MLflow",
            kol("train", "ml", "train"),
            trained,
        ),
        Step(
            "airflow",
            f"Airflow: kol_daily_pipeline for {world.last_day} (and batch scores)",
            kol("airflow", "pipeline", "run", "--date", world.last_day.isoformat()),
            airflow_ran,
        ),
        Step("stream", "streaming job (trending, alerts)", service("stream"), running("stream")),
    ]


def run_steps(console: Console, todo: list[Step]) -> None:
    for step in todo:
        t0 = time.monotonic()
        with console.status(f"{step.title} ..."):
            reason = step.skip()
            detail = step.run() if reason is None else None
        took = time.monotonic() - t0
        note = f"[dim]skipped: {reason}[/]" if reason else f"[dim]{detail or ''}[/]"
        console.print(f"[green]✓[/] {step.title:<64} {took:6.1f}s  {note}", highlight=False)


# ---- the check through the API -----------------------------------------------------------------


def demo_key(settings: Settings) -> str:
    from api.keys import KeyStore, stored_key

    api = settings.api
    return stored_key(KeyStore(api), "demo", settings.home / "demo" / "api_key")


def live_breakouts(settings: Settings) -> set[str]:
    """Creators whose breakout the live producer plants (from its labels file)."""
    path = LiveProducerService(settings).labels_file
    if not path.exists():
        return set()
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {r["key"] for r in rows if "viral_breakout" in (r.get("behaviours") or [])}


def wait_for_scores(
    base: str, key: str, timeout_s: float = 240.0
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The live ranking, and the profile of a ranked creator with all three scores."""
    headers = {"X-API-Key": key}
    deadline = time.monotonic() + timeout_s
    last = "no answer yet"
    with httpx.Client(base_url=base, headers=headers, timeout=10) as c:
        while time.monotonic() < deadline:
            try:
                items = c.get("/api/v1/trending", params={"limit": 50}).json().get("items", [])
                for item in items:
                    r = c.get(f"/api/v1/kols/{item['platform']}/{item['username']}")
                    if r.status_code != 200:
                        last = f"{item['kol_id']}: {r.status_code} {r.text[:200]}"
                        continue
                    scores = r.json().get("scores") or {}
                    if all(
                        (scores.get(k) or {}).get("score") is not None
                        for k in ("trust", "success", "trending")
                    ):
                        return items, r.json()
                    last = f"{item['kol_id']} lacks a score: {json.dumps(scores)[:300]}"
                if not items:
                    last = "the live ranking is empty"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            time.sleep(5)
    raise DemoError(
        f"no creator has trust, success and trending scores after {timeout_s:.0f}s: {last}"
    )


def show_live(console: Console, items: list[dict[str, Any]], planted: set[str]) -> None:
    table = Table(title="live ranking (GET /api/v1/trending)")
    for col in ("rank", "creator", "score", "label", "planted"):
        table.add_column(col)
    for item in items[:8]:
        mark = "breakout" if item["kol_id"] in planted else ""
        table.add_row(
            str(item["rank"]),
            item["kol_id"],
            f"{item['score']:.1f}",
            str(item.get("label") or ""),
            mark,
        )
    console.print(table)


def stack_memory_mb(settings: Settings) -> float:
    return sum(r.rss_mb or 0.0 for r in manager.status(settings, None))


def run_demo(settings: Settings, console: Console) -> bool:

    t0 = time.monotonic()
    world = load_world(settings)
    try:
        run_steps(console, steps(settings, world))
        key = demo_key(settings)
        base = settings.api.base_url
        with console.status("waiting for a creator with its three scores through the API ..."):
            items, profile = wait_for_scores(base, key)
    except (DemoError, manager.StackError) as exc:
        console.print(f"[red]demo failed:[/] {exc}", highlight=False, markup=True)
        return False
    show_live(console, items, live_breakouts(settings))
    kid = profile["kol_id"]
    platform, _, username = kid.partition(":")
    sc = profile["scores"]
    console.print(
        f"{kid}: trust {sc['trust']['score']:.0f}, success {sc['success']['score']:.0f}, "
        f"trending {sc['trending']['score']:.0f}"
    )
    _where_to_look(settings, console, key, platform, username, world)
    console.print(
        f"\ndemo finished in {time.monotonic() - t0:.0f}s; the stack uses "
        f"{stack_memory_mb(settings) / 1024:.1f} GiB resident. `make down` stops everything."
    )
    return True


def _where_to_look(
    settings: Settings, console: Console, key: str, platform: str, username: str, world: DemoWorld
) -> None:
    from shell.stack.services.airflow import AirflowApi

    api = settings.api.base_url
    airflow_login = AirflowApi(settings).login(reveal=True)
    dashboard = f"http://{settings.bind_host}:8501"
    with_dash = {s.service: s for s in manager.status(settings, None)}
    if "dashboard" in with_dash:
        dashboard = with_dash["dashboard"].address
    console.print("\n[bold]Where to look[/]")
    console.print(f"  Dashboard      {dashboard}")
    console.print(
        f"  REST API       {api}/docs   (API key in {settings.home / 'demo' / 'api_key'})"
    )
    console.print(f"  Airflow UI     {settings.airflow_url}   {airflow_login}")
    console.print(
        f"  MLflow UI      {settings.mlflow_tracking_uri}   login {settings.mlflow_user}, "
        f"password in {settings.secrets_dir / 'mlflow_password'}"
    )
    console.print(
        f"  Trino (BI)     {settings.trino_url}   catalog {settings.trino_catalog}, "
        f"user {settings.trino_user}"
    )
    if settings.trino_auth:
        console.print(
            f"                 password in {settings.secrets_dir / 'trino_password'}, "
            f"certificate {settings.trino_ca_file}"
        )
    console.print(
        f"  Logs           {settings.log_dir}   (demo steps in {settings.log_dir / 'demo'})"
    )
    console.print("\n[bold]Try this[/]")
    console.print(f"  curl -s -H 'X-API-Key: {key}' '{api}/api/v1/trending?limit=5'")
    console.print(f"  curl -s -H 'X-API-Key: {key}' {api}/api/v1/kols/{platform}/{username}")
    console.print(
        "  uv run kol gold analyses   # or in any Trino client:\n"
        "    SELECT kol_id, followers, engagement_rate\n"
        f"    FROM {settings.trino_catalog}.gold.fct_kol_daily\n"
        f"    WHERE date_day = DATE '{world.last_day}' ORDER BY followers DESC LIMIT 10"
    )
    console.print(f"  {dashboard}/creators?platform={platform}&username={username}")
