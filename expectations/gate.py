"""Great Expectations gates: one suite file per layer, run against one data interval.

The suites live in ``expectations/suites/<layer>.json`` as GX expectation configurations,
grouped by table (``"*"`` applies to every table of the layer, ``"_summary"`` to the per-topic
accounting row). Thresholds are GX suite parameters (``{"$PARAMETER": ...}``) filled from
:class:`QualitySettings`, so they change by setting, not by editing suites.

A gate runs one GX checkpoint per table, then updates the Data Docs under
``$KOL_HOME/gx/uncommitted/data_docs/local_site/`` once; the gate fails if any expectation does.

Bronze and Silver are gated inside the job that wrote them (:func:`gate_written`), in the job's
own Spark session: a gate of its own cost a Spark start and a GX import (about 45 s of a small
day's run) for checks that take seconds. Gold is gated by dbt's tests and the ``gold`` suite,
which reads the interval's days of the Gold tables with pyiceberg into pandas: a day of Gold is
one row per creator, and no Spark is started for it.

Speed: a checkpoint first runs ``BOOLEAN_ONLY``,
which spares GX a Spark job per column check to collect sample unexpected values, and only a
table that failed is validated again with ``SUMMARY`` to describe what failed; each table's
interval slice is cached for its checks; GX (about 10 s of imports) is imported on a thread
while the Spark session starts.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from ingestion.contracts import TOPICS
from kol.interval import Interval
from kol.lakehouse import BRONZE, REJECTS, SILVER, TOPIC_TABLES, rows_in_interval
from kol.settings import IngestSettings, QualitySettings, Settings, get_ingest_settings
from kol.topics import topic_name

SUITES_DIR = Path(__file__).with_name("suites")
LAYERS = ("bronze", "silver", "gold")
# The Gold tables the gold suite checks, each sliced by `date_day` to the interval's days.
GOLD_TABLES = ("fct_kol_daily", "kol_rankings_daily", "ml_kol_features")
log = logging.getLogger("kol.quality")


@dataclass
class GateResult:
    layer: str
    interval: Interval
    failures: list[str] = field(default_factory=list)
    checked: int = 0
    docs: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.failures


def load_suite(layer: str) -> dict[str, Any]:
    path = SUITES_DIR / f"{layer}.json"
    if not path.exists():
        raise FileNotFoundError(f"no expectation suite for layer {layer!r} at {path}")
    return json.loads(path.read_text())


def expectations_for(suite: dict[str, Any], table: str) -> list[dict[str, Any]]:
    tables = suite["tables"]
    common = [] if table.startswith("_") else tables.get("*", [])
    return [*common, *tables.get(table, [])]


# The Data Docs index lists this many of the latest validation results. Uncapped, each gate
# read every result ever stored to build it: 1.8 s of a gate with 268 results, and the store
# grows by 13 a day.
DOCS_INDEX_RESULTS = 100


def _context(settings: Settings) -> Any:
    """The project's GX file context under ``$KOL_HOME/gx``, brought to the settings a gate
    needs the first time (GX writes them to its great_expectations.yml)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="file", project_root_dir=str(settings.home))
    variables = context.variables
    changed = False
    sites = dict(variables.data_docs_sites or {})
    site = dict(sites.get("local_site") or {})
    index = site.get("site_index_builder") or {}
    if site and index.get("validation_results_limit") != DOCS_INDEX_RESULTS:
        site["site_index_builder"] = {**index, "validation_results_limit": DOCS_INDEX_RESULTS}
        variables.data_docs_sites = {**sites, "local_site": site}
        changed = True
    # No tqdm bars: a gate runs in a task, and each checkpoint drew several into its log.
    bars: dict[str, Any] = dict(context.progress_bars or {})
    if bars.get("globally") is not False:
        variables.progress_bars = ProgressBarsConfig(globally=False)
        changed = True
    if changed:
        variables.save()
    return context


def _import_gx() -> None:
    import great_expectations  # noqa: F401


def prefetch_gx() -> threading.Thread:
    """Import GX on a thread (about 10 s) while the caller starts Spark or runs its job."""
    importing = threading.Thread(target=_import_gx, name="import-gx", daemon=True)
    importing.start()
    return importing


@contextmanager
def gate_session(layer: str, settings: Settings) -> Iterator[SparkSession]:
    """A Spark session for one gate, GX imported meanwhile (both take seconds, on different
    cores: the JVM starts in its own process)."""
    from kol.spark import spark_session

    importing = prefetch_gx()
    spark = spark_session(f"kol-gate-{layer}", settings)
    try:
        importing.join()
        yield spark
    finally:
        spark.stop()


@dataclass
class Validated:
    failures: list[str]
    ids: list[Any]  # GX resource identifiers for the Data Docs


def validate(
    context: Any,
    layer: str,
    table: str,
    df: DataFrame | pd.DataFrame,
    expectations: list[dict[str, Any]],
    params: dict[str, Any],
) -> Validated:
    """Run one table's expectations through a GX checkpoint; returns the failed ones, described.
    ``df`` is a Spark or a pandas DataFrame (each has its GX data source)."""
    import great_expectations as gx
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier as SuiteId,
    )
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    name = f"{layer}.{table}"
    if isinstance(df, pd.DataFrame):
        source = context.data_sources.add_or_update_pandas(name="kol_pandas")
    else:
        source = context.data_sources.add_or_update_spark(name="kol_spark")
    asset = (
        source.get_asset(name)
        if name in source.get_asset_names()
        else source.add_dataframe_asset(name)
    )
    batch = (
        asset.get_batch_definition("interval")
        if "interval" in [b.name for b in asset.batch_definitions]
        else asset.add_batch_definition_whole_dataframe("interval")
    )
    suite = context.suites.add_or_update(
        gx.ExpectationSuite(
            name=name,
            expectations=[ExpectationConfiguration(**e).to_domain_obj() for e in expectations],
        )
    )
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=name, data=batch, suite=suite)
    )

    def run(result_format: Literal["BOOLEAN_ONLY", "SUMMARY"]) -> Any:
        checkpoint = context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=name, validation_definitions=[definition], result_format=result_format
            )
        )
        return checkpoint.run(batch_parameters={"dataframe": df}, expectation_parameters=params)

    result = run("BOOLEAN_ONLY")
    if not result.success:
        result = run("SUMMARY")
    failures = []
    for run_result in result.run_results.values():
        for r in run_result.results:
            if not r.success:
                cfg = r.expectation_config
                detail = {k: v for k, v in cfg.kwargs.items() if k not in ("batch_id",)}
                observed = r.result.get("observed_value", r.result.get("unexpected_count"))
                failures.append(f"{name}: {cfg.type} {detail} failed (observed {observed})")
    return Validated(failures, [*result.run_results, SuiteId(name=name)])


def layer_frames(
    spark: SparkSession,
    settings: Settings,
    layer: str,
    interval: Interval,
    ingest: IngestSettings | None = None,
) -> dict[str, DataFrame]:
    """The interval's slice of every table of Bronze or Silver (plus the Silver accounting
    summary), of the raw topics of ``ingest`` (default: this process's)."""
    if layer not in ("bronze", "silver"):
        raise ValueError(f"layer {layer!r} is not gated in Spark (Gold: gate_gold)")
    ingest = ingest or get_ingest_settings()
    cat = settings.iceberg_catalog_name
    frames: dict[str, DataFrame] = {}
    summary_rows: list[tuple[str, int | None, int | None, float | None, float | None]] = []
    arrivals: list[datetime | None] = []
    for topic in TOPICS:
        names = TOPIC_TABLES[topic]
        kafka_topic = topic_name(topic, ingest)
        bronze = rows_in_interval(spark.table(f"{cat}.{BRONZE}.{names.bronze}"), interval).where(
            F.col("topic") == kafka_topic
        )
        if layer == "bronze":
            frames[names.bronze] = bronze
            continue
        silver = rows_in_interval(spark.table(f"{cat}.{SILVER}.{names.silver}"), interval).where(
            F.col("kafka_topic") == kafka_topic
        )
        frames[names.silver] = silver
        rejects = rows_in_interval(spark.table(f"{cat}.{SILVER}.{REJECTS}"), interval).where(
            F.col("topic") == kafka_topic
        )
        n_bronze, n_rejects = bronze.count(), rejects.count()
        ratio = n_rejects / n_bronze if n_bronze else 0.0
        summary_rows.append((topic, n_bronze, n_rejects, ratio, None))
        arrivals.append(silver.agg(F.max("kafka_timestamp")).first()[0])  # type: ignore[index]
    # Freshness is a property of the layer: a sparse topic (discovery) may be quiet for hours.
    latest = max((a for a in arrivals if a is not None), default=None)
    lag = (interval.end.replace(tzinfo=None) - latest).total_seconds() / 3600 if latest else None
    summary_rows.append(("*", None, None, None, lag if lag is not None else interval.hours))
    if layer == "silver":
        frames["_summary"] = spark.createDataFrame(
            summary_rows,
            "topic STRING, bronze BIGINT, rejects BIGINT, reject_ratio DOUBLE, lag_hours DOUBLE",
        )
    return frames


def gold_frames(settings: Settings, interval: Interval) -> dict[str, pd.DataFrame]:
    """The interval's days of the Gold tables the suite checks (the gold section's schema),
    read with pyiceberg."""
    from kol.iceberg import catalog, day_filter
    from kol.interval import interval_days

    cat = catalog(settings)
    first, until = interval_days(interval.start.isoformat(), interval.end.isoformat())
    return {
        table: cat.load_table(f"{settings.gold.schema_name}.{table}")
        .scan(row_filter=day_filter(first, until))
        .to_pandas()
        for table in GOLD_TABLES
    }


def run_gate(
    spark: SparkSession,
    settings: Settings,
    layer: str,
    interval: Interval,
    quality: QualitySettings | None = None,
    frames: dict[str, DataFrame] | None = None,
) -> GateResult:
    """Validate Bronze or Silver for an interval in Spark. ``frames`` overrides the tables
    (used by tests)."""
    return _gate(
        settings, layer, interval, frames or layer_frames(spark, settings, layer, interval), quality
    )


def gate_gold(
    settings: Settings,
    interval: Interval,
    quality: QualitySettings | None = None,
    frames: dict[str, pd.DataFrame] | None = None,
) -> GateResult:
    """Validate Gold's days of an interval, read into pandas. ``frames`` overrides the tables
    (used by tests)."""
    return _gate(settings, "gold", interval, frames or gold_frames(settings, interval), quality)


def check_layer(
    settings: Settings, layer: str, interval: Interval, quality: QualitySettings | None = None
) -> GateResult:
    """A layer's gate run on its own (a DAG task, ``kol quality check``): Gold without Spark,
    Bronze and Silver (normally gated inside their jobs) in a session of their own."""
    if layer == "gold":
        return gate_gold(settings, interval, quality)
    with gate_session(layer, settings) as spark:
        return run_gate(spark, settings, layer, interval, quality)


def _gate(
    settings: Settings,
    layer: str,
    interval: Interval,
    frames: dict[str, DataFrame] | dict[str, pd.DataFrame],
    quality: QualitySettings | None,
) -> GateResult:
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}; known: {', '.join(LAYERS)}")
    suite = load_suite(layer)
    params = (quality or QualitySettings()).parameters()
    context = _context(settings)
    result = GateResult(layer, interval)
    docs: list[Any] = []
    for table, df in frames.items():
        expectations = expectations_for(suite, table)
        if not expectations:
            continue
        result.checked += len(expectations)
        if isinstance(df, pd.DataFrame):
            validated = validate(context, layer, table, df, expectations, params)
        else:
            df = df.cache()
            try:
                validated = validate(context, layer, table, df, expectations, params)
            finally:
                df.unpersist()
        result.failures += validated.failures
        docs += validated.ids
    context.build_data_docs(resource_identifiers=docs)
    result.docs = settings.home / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    for failure in result.failures:
        log.error("quality gate %s %s: %s", layer, interval, failure)
    return result


def verdict(result: GateResult) -> list[str]:
    """What a gate says, one line each: the failed expectations, the verdict, the Data Docs."""
    lines = [f"FAILED {failure}" for failure in result.failures]
    if result.ok:
        lines.append(f"{result.layer} gate for {result.interval}: {result.checked} checks passed")
    else:
        lines.append(
            f"{result.layer} gate failed for {result.interval} "
            f"({len(result.failures)} of {result.checked} expectations)"
        )
    lines.append(f"Data Docs: {result.docs}")
    return lines


def gate_written(spark: SparkSession, settings: Settings, layer: str, interval: Interval) -> int:
    """Gate what a job has just written (the raw topics of ``settings.ingest``), in its
    session; the job's exit code.

    :data:`expectations.GATE_FAILED_EXIT` when an expectation fails, so the caller can tell
    bad data from a crash.
    """
    from expectations import GATE_FAILED_EXIT

    frames = layer_frames(spark, settings, layer, interval, settings.ingest)
    result = run_gate(spark, settings, layer, interval, frames=frames)
    for line in verdict(result):
        print(line, flush=True)
    return 0 if result.ok else GATE_FAILED_EXIT
