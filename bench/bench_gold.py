"""Gold on a generated world: `dbt build` wall time, and the BI queries' latency on warm Trino.

    uv run python -m bench.bench_gold [--creators 1000] [--days 30] [--runs 20] [--json]
    uv run python -m bench.bench_gold --reuse-prefix bench1a2b3c.   # Silver already loaded

About 33 events per creator per day: the defaults give ~1M events. The world goes to Kafka
topics under a unique prefix and is landed in Bronze and Silver in-process (timed, but not
the point); `--reuse-prefix` skips that for a world an earlier run (or bench_lakehouse.py)
left in Silver. Gold is built into a schema of its own, dropped afterwards unless `--keep`:

- full build: `dbt build --full-refresh` (seeds, 23 models, every data and unit test);
- daily run: `dbt build` for the last day, as the DAG runs it (rewrites late_days + 1 days);
- each analysis in dbt_kol/analyses/: 2 warm-up runs, then p50/p95 over `--runs` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.world import produce_world
from gold import runner
from kol.settings import Settings, get_gold_settings, get_ingest_settings, get_settings
from kol.topics import PROFILES_TOPIC
from kol.trino import query, trino_connection


def land_world(settings: Settings, creators: int, days: int, console: Console) -> dict[str, float]:
    """Generate a world into fresh topics and land it in Bronze and Silver; seconds per step."""
    from kol.interval import Interval
    from spark_jobs import bronze_to_silver, kafka_to_bronze

    prefix = get_ingest_settings().topic_prefix
    world = produce_world(creators, days, console, datetime(2026, 3, 1, tzinfo=UTC), prefix)
    start = world.start
    timings = {"events": float(world.events), "produce_s": world.produce_s}
    # One interval for every day, plus three for the events delivered late.
    interval = Interval(start, start + timedelta(days=days + 3))
    for name, job in (("bronze_s", kafka_to_bronze.run), ("silver_s", bronze_to_silver.run)):
        t0 = time.perf_counter()
        with console.status(f"{name[:-2]} ..."):
            job(interval)
        timings[name] = time.perf_counter() - t0
    return timings


def silver_events(settings: Settings, prefix: str) -> tuple[int, str, str]:
    """Silver rows of the world, and its first and last day."""
    total = 0
    for table in ("profiles", "video_stats", "comments", "products", "discovery"):
        total += query(
            settings,
            f"SELECT count(*) FROM silver.{table} WHERE starts_with(kafka_topic, ?)",
            [prefix],
        )[0][0]
    first, last = query(
        settings,
        "SELECT min(event_date), max(event_date) FROM silver.profiles WHERE kafka_topic = ?",
        [prefix + PROFILES_TOPIC],
    )[0]
    return total, str(first), str(last)


def latency(settings: Settings, sql: str, runs: int) -> dict[str, float]:
    conn = trino_connection(settings)
    seconds = []
    rows = 0
    try:
        for i in range(runs + 2):
            cur = conn.cursor()
            t0 = time.perf_counter()
            cur.execute(sql)
            rows = len(cur.fetchall())
            if i >= 2:  # the first two warm Trino's caches and the JIT
                seconds.append(time.perf_counter() - t0)
    finally:
        conn.close()
    seconds.sort()
    return {
        "rows": rows,
        "p50_s": statistics.median(seconds),
        "p95_s": seconds[max(0, round(0.95 * len(seconds)) - 1)],
        "max_s": seconds[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creators", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--reuse-prefix", help="Topic prefix of a world already in Silver.")
    parser.add_argument("--keep", action="store_true", help="Keep the Gold schemas afterwards.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    # Progress on stderr: stdout carries the result (--json) alone.
    console = Console(stderr=True)
    settings = get_settings()

    prefix = args.reuse_prefix or f"bench{uuid.uuid4().hex[:6]}."
    os.environ["KOL_INGEST_TOPIC_PREFIX"] = prefix
    get_ingest_settings.cache_clear()
    result: dict[str, object] = {"topic_prefix": prefix}
    if not args.reuse_prefix:
        result["landing"] = land_world(settings, args.creators, args.days, console)
    events, first_day, last_day = silver_events(settings, prefix)
    result.update(silver_events=events, first_day=first_day, last_day=last_day)

    gold = get_gold_settings().model_copy(
        update={"schema_name": f"gold_bench{uuid.uuid4().hex[:6]}"}
    )
    target = Path(tempfile.mkdtemp(prefix="kol-bench-gold-"))
    try:
        with console.status("dbt build --full-refresh ..."):
            full = runner.build(full_refresh=True, gold=gold, target_path=target, quiet=True)
        if not full.success:
            raise SystemExit(f"dbt build failed: {[(n.name, n.message) for n in full.failed]}")
        day = datetime.fromisoformat(last_day).date()
        with console.status(f"dbt build for {day} ..."):
            daily = runner.build(
                day, day + timedelta(days=1), gold=gold, target_path=target, quiet=True
            )
        slowest = sorted(full.nodes, key=lambda n: n.seconds, reverse=True)[:5]
        result["dbt"] = {
            "full_build_s": full.seconds,
            "daily_build_s": daily.seconds,
            "daily_ok": daily.success,
            "nodes": full.counts(),
            "slowest_nodes": {n.name: round(n.seconds, 2) for n in slowest},
            "rows": {
                t: query(settings, f"SELECT count(*) FROM {gold.schema_name}.{t}")[0][0]
                for t in (
                    "fct_kol_daily",
                    "fct_video_daily",
                    "fct_comment_daily",
                    "ml_kol_features",
                )
            },
        }
        compiled = runner.compiled_analyses(gold=gold, target_path=target)
        result["analyses"] = {
            name: latency(settings, sql, args.runs) for name, sql in sorted(compiled.items())
        }
    finally:
        if not args.keep:
            for suffix in ("", "_staging", "_intermediate"):
                query(settings, f"DROP SCHEMA IF EXISTS {gold.schema_name}{suffix} CASCADE")

    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return
    console = Console()
    dbt_result = result["dbt"]
    assert isinstance(dbt_result, dict)
    console.print(
        f"Silver world {prefix}: {events:,} events, {first_day} .. {last_day}; "
        f"Gold full build {dbt_result['full_build_s']:.1f}s, "
        f"daily build {dbt_result['daily_build_s']:.1f}s"
    )
    console.print(f"slowest nodes: {dbt_result['slowest_nodes']}")
    table = Table(title=f"BI analyses on warm Trino, {args.runs} runs")
    for col in ("analysis", "rows", "p50 s", "p95 s", "max s"):
        table.add_column(col)
    analyses = result["analyses"]
    assert isinstance(analyses, dict)
    for name, t in analyses.items():
        table.add_row(
            name, str(t["rows"]), f"{t['p50_s']:.3f}", f"{t['p95_s']:.3f}", f"{t['max_s']:.3f}"
        )
    console.print(table)


if __name__ == "__main__":
    main()
