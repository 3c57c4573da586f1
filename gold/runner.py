"""Run dbt on the Gold project (``dbt_kol/``) in-process, with the platform's settings.

dbt reads its connection from dbt_kol/profiles.yml, which takes every value from ``KOL_*``
environment variables; :func:`run_dbt` sets those variables from :class:`kol.settings.Settings`
and :class:`kol.settings.GoldSettings` for the duration of one dbt invocation, so values from
a ``.env`` file or a caller's Settings object reach dbt too.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as dt_time
from pathlib import Path
from typing import Any

from kol.settings import (
    GoldSettings,
    Settings,
    get_gold_settings,
    get_ingest_settings,
    get_settings,
)

# Statuses dbt gives a node that did not do its job (model error, failing test, ...).
FAILED = frozenset({"error", "fail", "runtime error"})

# dbt_kol/selectors.yml: what a daily or interval build runs. gold_interval leaves out the data
# tests another check already guarantees (these tags); gold_interval_static_built also the
# static nodes (tag static) the schema already holds as built from the same definitions.
INTERVAL_SELECTOR = "gold_interval"
STATIC_BUILT_SELECTOR = "gold_interval_static_built"
GUARANTEED_TAGS = ("upstream_guaranteed", "constraint_enforced")
STATIC_TAG = "static"


@dataclass(frozen=True)
class NodeResult:
    unique_id: str
    name: str
    resource_type: str
    status: str
    message: str | None
    failures: int | None
    seconds: float
    compiled_code: str | None = None


@dataclass
class DbtRun:
    """What one dbt invocation did, node by node."""

    args: list[str]
    success: bool
    seconds: float
    nodes: list[NodeResult] = field(default_factory=list)
    error: str | None = None

    @property
    def failed(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.status in FAILED]

    @property
    def warned(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.status == "warn"]

    def counts(self) -> dict[str, int]:
        """Nodes per (resource type, status), e.g. {'model:success': 23, 'test:pass': 160}."""
        return dict(Counter(f"{n.resource_type}:{n.status}" for n in self.nodes))


def gold_vars(
    start: date | None = None,
    end: date | None = None,
    topic_prefix: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """dbt vars for one run. The topic prefix defaults to the one Bronze and Silver use."""
    values: dict[str, Any] = {
        "kol_topic_prefix": get_ingest_settings().topic_prefix
        if topic_prefix is None
        else topic_prefix
    }
    if start is not None:
        values["start"] = start.isoformat()
    if end is not None:
        values["end"] = end.isoformat()
    values.update(extra or {})
    return values


def dbt_environment(settings: Settings, gold: GoldSettings) -> dict[str, str]:
    """The environment dbt_kol/profiles.yml reads its connection from.

    The password travels only here, in the environment of the dbt run (never in a file).
    """
    password = settings.trino_password.get_secret_value() if settings.trino_password else ""
    return {
        "KOL_TRINO_HOST": settings.trino_host,
        "KOL_TRINO_PORT": str(settings.trino_port),
        "KOL_TRINO_USER": settings.trino_user,
        "KOL_TRINO_PASSWORD": password,
        "KOL_TRINO_HTTP_SCHEME": settings.trino_http_scheme,
        "KOL_TRINO_CA_FILE": str(settings.trino_ca_file),
        "KOL_TRINO_CATALOG": settings.trino_catalog,
        "KOL_GOLD_SCHEMA": gold.schema_name,
        "KOL_GOLD_DBT_TARGET": gold.dbt_target,
        "KOL_GOLD_DBT_THREADS": str(gold.dbt_threads),
    }


@contextmanager
def _environ(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (None: unset) environment variables for the block, then restore them."""
    saved = {k: os.environ.get(k) for k in values}
    for k, v in values.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _node_results(result: Any) -> list[NodeResult]:
    nodes = []
    for r in getattr(result, "results", None) or []:
        node = getattr(r, "node", None)
        if node is None:
            continue
        status = getattr(r.status, "value", r.status)
        nodes.append(
            NodeResult(
                unique_id=node.unique_id,
                name=node.name,
                resource_type=str(getattr(node.resource_type, "value", node.resource_type)),
                status=str(status),
                message=r.message,
                failures=getattr(r, "failures", None),
                seconds=float(getattr(r, "execution_time", 0.0) or 0.0),
                compiled_code=getattr(node, "compiled_code", None),
            )
        )
    return nodes


def run_dbt(
    args: Sequence[str],
    *,
    settings: Settings | None = None,
    gold: GoldSettings | None = None,
    dbt_vars: Mapping[str, Any] | None = None,
    target_path: Path | None = None,
    quiet: bool = False,
) -> DbtRun:
    """Invoke ``dbt <args>`` on the Gold project and collect what each node did.

    ``target_path`` keeps concurrent runs (a test beside a developer's build) from sharing
    dbt's manifest and compiled files; logs go next to it. ``quiet`` keeps dbt's progress
    lines off stdout (errors still print).
    """
    from dbt.cli.main import dbtRunner

    settings = settings or get_settings()
    gold = gold or get_gold_settings()
    project = str(gold.dbt_project_dir)
    cmd = [*args, "--project-dir", project, "--profiles-dir", project]
    if quiet:
        cmd.append("--quiet")
    if dbt_vars:
        cmd += ["--vars", json.dumps(dict(dbt_vars))]
    if target_path is not None:
        cmd += ["--target-path", str(target_path), "--log-path", str(target_path / "logs")]
    t0 = time.monotonic()
    env: dict[str, str | None] = {**dbt_environment(settings, gold)}
    if settings.trino_auth:
        # requests lets these replace the CA bundle dbt-trino gives it (the profile's cert), so
        # a machine-wide bundle would hide Trino's own certificate.
        env |= {"REQUESTS_CA_BUNDLE": None, "CURL_CA_BUNDLE": None}
    with _environ(env):
        res = dbtRunner().invoke(cmd)
    error = None if res.exception is None else f"{type(res.exception).__name__}: {res.exception}"
    return DbtRun(
        args=cmd,
        success=bool(res.success),
        seconds=time.monotonic() - t0,
        nodes=_node_results(res.result),
        error=error,
    )


def build(
    start: date | None = None,
    end: date | None = None,
    *,
    full_refresh: bool = False,
    select: Sequence[str] = (),
    topic_prefix: str | None = None,
    extra_vars: Mapping[str, Any] | None = None,
    settings: Settings | None = None,
    gold: GoldSettings | None = None,
    target_path: Path | None = None,
    quiet: bool = False,
    unit_tests: bool | None = None,
    data_tests: bool = True,
) -> DbtRun:
    """``dbt build`` (seeds, models, snapshots, data tests) for the days [start, end).

    dbt's unit tests run when ``unit_tests`` says so, by default when
    ``KOL_GOLD_UNIT_TESTS_IN_BUILDS`` does; its data tests unless ``data_tests`` is False (a
    test that compares the tables of two builds of the same data).

    A daily or interval build (start and end, not a full refresh) leaves out the data tests
    that Silver's contract and suite or a Trino constraint already guarantee, and the static
    nodes (seeds, dim_dates, dim_platforms) when the schema already holds them as the last
    successful build of that schema made them from unchanged definitions (see
    dbt_kol/selectors.yml and :func:`built_state`). Full refreshes build and test everything.
    """
    settings = settings or get_settings()
    gold = gold or get_gold_settings()
    interval = start is not None and end is not None and not full_refresh
    args = ["build"]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", *select]
        if interval:
            args += ["--exclude", *(f"tag:{t}" for t in GUARANTEED_TAGS)]
    elif interval:
        state = built_state(settings, gold, extra_vars)
        if state is None:
            args += ["--selector", INTERVAL_SELECTOR]
        else:
            args += ["--selector", STATIC_BUILT_SELECTOR, "--state", str(state)]
    excluded = (
        [] if (gold.unit_tests_in_builds if unit_tests is None else unit_tests) else ["unit_test"]
    )
    if not data_tests:
        excluded.append("test")
    if excluded:
        args += ["--exclude-resource-type", *excluded]
    dbt_vars = gold_vars(start, end, topic_prefix, extra_vars)
    if interval:
        # Rows that arrived in the interval but happened long before it (a scraper's backlog, a
        # replay): their days are rebuilt too, not only the late_days before start.
        assert start is not None and end is not None
        oldest = oldest_arrived_day(start, end, dbt_vars["kol_topic_prefix"], settings)
        if oldest is not None and oldest < start:
            dbt_vars.setdefault("changed_from", oldest.isoformat())
    started = time.time()
    run = run_dbt(
        args,
        settings=settings,
        gold=gold,
        dbt_vars=dbt_vars,
        target_path=target_path,
        quiet=quiet,
    )
    if run.success and not select:
        # Every static node was built, or left as it was because unchanged: the schema now holds
        # them as this manifest defines them.
        manifest = (target_path or gold.dbt_project_dir / "target") / "manifest.json"
        if manifest.exists() and manifest.stat().st_mtime >= started:
            save_built_state(manifest, settings, gold, extra_vars)
    return run


def state_dir(settings: Settings, gold: GoldSettings) -> Path:
    """Where the manifest of the last successful build of the Gold schema is kept (one
    directory per catalog and schema: tests and benchmarks build schemas of their own)."""
    return settings.home / "gold_state" / f"{settings.trino_catalog}.{gold.schema_name}"


def _state_key(gold: GoldSettings, extra_vars: Mapping[str, Any] | None) -> str:
    """What dbt's state comparison does not see: the project's vars (dim_dates' range), vars a
    caller adds, and the dbt version that wrote the manifest."""
    from dbt.version import __version__ as dbt_version

    h = hashlib.sha256()
    h.update((gold.dbt_project_dir / "dbt_project.yml").read_bytes())
    h.update(json.dumps(dict(extra_vars or {}), sort_keys=True, default=str).encode())
    h.update(dbt_version.encode())
    return h.hexdigest()


def save_built_state(
    manifest: Path,
    settings: Settings,
    gold: GoldSettings,
    extra_vars: Mapping[str, Any] | None = None,
) -> None:
    directory = state_dir(settings, gold)
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in (
        ("manifest.json", manifest.read_bytes()),
        ("key", _state_key(gold, extra_vars).encode()),
    ):
        tmp = directory / f".{name}.tmp"
        tmp.write_bytes(data)
        tmp.replace(directory / name)


def built_state(
    settings: Settings, gold: GoldSettings, extra_vars: Mapping[str, Any] | None = None
) -> Path | None:
    """The state directory for ``dbt --state`` when the schema holds every static node of the
    last successful build, built with the same vars and dbt; else None (build them all).

    A dropped schema (tests drop theirs) or a table dropped by hand shows in Trino's
    information_schema; a changed seed or model in dbt's state:modified (dbt_kol/selectors.yml).
    """
    directory = state_dir(settings, gold)
    try:
        key = (directory / "key").read_text()
        nodes = json.loads((directory / "manifest.json").read_text())["nodes"]
    except (OSError, ValueError, KeyError):
        return None
    if key != _state_key(gold, extra_vars):
        return None
    wanted = {
        (n["schema"].lower(), (n.get("alias") or n["name"]).lower())
        for n in nodes.values()
        if n.get("resource_type") in ("seed", "model") and STATIC_TAG in (n.get("tags") or [])
    }
    if not wanted:
        return None
    from kol.trino import query

    schemas = sorted({schema for schema, _ in wanted})
    marks = ", ".join("?" for _ in schemas)
    try:
        rows = query(
            settings,
            f"SELECT table_schema, table_name FROM {settings.trino_catalog}.information_schema"
            f".tables WHERE table_schema IN ({marks})",
            list(schemas),
        )
    except Exception:  # any doubt (Trino unreachable, ...) means building them
        return None
    present = {(str(schema).lower(), str(name).lower()) for schema, name in rows}
    return directory if wanted <= present else None


def oldest_arrived_day(
    start: date, end: date, topic_prefix: str, settings: Settings | None = None
) -> date | None:
    """The oldest event day among the Silver rows that arrived (landed_ts) in the days
    [start, end) under ``topic_prefix``: the days a Gold run for that interval must rebuild,
    however late those rows came. None when no row arrived.

    Asked of Trino, which dbt uses next anyway: two round trips instead of loading pyiceberg
    and its SQL catalog into the task (seconds of imports before dbt starts).
    """
    from kol.lakehouse import LANDED, SILVER, TOPIC_TABLES
    from kol.trino import query

    settings = settings or get_settings()
    cat = settings.trino_catalog
    # The Silver tables there are, and whether each has landed_ts yet.
    has_landed = {
        str(table): bool(landed)
        for table, landed in query(
            settings,
            f"SELECT table_name, bool_or(column_name = ?) FROM {cat}.information_schema.columns"
            " WHERE table_schema = ? GROUP BY table_name",
            [LANDED, SILVER],
        )
    }
    lo = datetime.combine(start, dt_time(0), UTC).isoformat()
    hi = datetime.combine(end, dt_time(0), UTC).isoformat()
    selects: list[str] = []
    params: list[object] = []
    between = "{0} >= from_iso8601_timestamp(?) AND {0} < from_iso8601_timestamp(?)"
    for topic, names in TOPIC_TABLES.items():
        if names.silver not in has_landed:
            continue
        # As kol.lakehouse.rows_in_interval: landed_ts, or the Kafka timestamp of rows
        # written before that column existed.
        in_interval, interval_params = between.format("kafka_timestamp"), [lo, hi]
        if has_landed[names.silver]:
            in_interval = f"({between.format(LANDED)}) OR ({LANDED} IS NULL AND {in_interval})"
            interval_params = [lo, hi, lo, hi]
        selects.append(
            f"SELECT min(event_time) AS first_event FROM {cat}.{SILVER}.{names.silver}"
            f" WHERE kafka_topic = ? AND ({in_interval})"
        )
        params += [f"{topic_prefix}{topic}", *interval_params]
    if not selects:
        return None
    ((first,),) = query(
        settings,
        "SELECT CAST(min(first_event) AT TIME ZONE 'UTC' AS date) FROM ("
        + " UNION ALL ".join(selects)
        + ")",
        params,
    )
    return first


def compiled_analyses(
    *,
    settings: Settings | None = None,
    gold: GoldSettings | None = None,
    target_path: Path | None = None,
) -> dict[str, str]:
    """The BI starter queries in dbt_kol/analyses/, compiled to plain Trino SQL by name."""
    run = run_dbt(
        ["compile", "--select", "resource_type:analysis"],
        settings=settings,
        gold=gold,
        target_path=target_path,
        quiet=True,
    )
    if not run.success:
        raise RuntimeError(f"dbt compile failed: {run.error or run.failed}")
    return {n.name: n.compiled_code for n in run.nodes if n.compiled_code}
