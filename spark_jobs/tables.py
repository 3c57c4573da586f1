"""Layouts of the Bronze and Silver tables and the jobs' helpers on them (names: kol.lakehouse)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BRONZE_COLUMNS = """
    topic STRING NOT NULL,
    `partition` INT NOT NULL,
    `offset` BIGINT NOT NULL,
    key STRING,
    value STRING,
    kafka_timestamp TIMESTAMP NOT NULL,
    ingest_time TIMESTAMP NOT NULL,
    landed_ts TIMESTAMP
"""

# How the jobs write every Bronze and Silver table.
# - No distribution: each task's rows go to the day partitions they belong to. Hash
#   distribution shuffled whole records by day before writing: the Bronze MERGE of 722k
#   comments took 8.5 s with it and 6.3 s without (on the whole 1.2M-event bench_lakehouse
#   run the difference is within the noise). The price is a file per task and day, which the
#   maintenance job compacts.
# - zstd level 1: as small as the default level 3 on these JSON-heavy rows (39 MB for 722k
#   comments either way) and quicker to write.
# - 64 KB dictionaries (default 2 MB): ids, texts and JSON payloads never repeat, yet a file of a
#   few thousand rows fits in a 2 MB dictionary whole, so every value was hashed into one that
#   was of no use; that was 15 % of Silver's CPU samples. Columns of few values (topic,
#   platform) still get one. Silver on 1.2M events: 37.7 -> 33.9 s.
WRITE_PROPERTIES = {
    "format-version": "2",
    "write.distribution-mode": "none",
    "write.parquet.compression-codec": "zstd",
    "write.parquet.compression-level": "1",
    "write.parquet.dict-size-bytes": "65536",
}


def iceberg_table(spark: SparkSession, table: str) -> Any:
    """The Iceberg (Java) table behind ``table``, refreshed.

    For metadata a job checks on every run: asking the table costs milliseconds, a Spark
    query over a metadata table (``t.snapshots``) about half a second of planning each. It is
    Spark's own catalog, not pyiceberg's (:func:`kol.iceberg.catalog`), so a job sees the
    table as its writes left it, without a second connection to the catalog.
    """
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    t = jvm.org.apache.iceberg.spark.Spark3Util.loadIcebergTable(spark._jsparkSession, table)
    t.refresh()
    return t


def has_rows_between(
    spark: SparkSession,
    table: str,
    column: str,
    lo: datetime,
    hi: datetime,
    equal: tuple[str, str] | None = None,
) -> bool:
    """Whether any data file of ``table`` may hold a ``column`` value in ``[lo, hi]`` (and,
    with ``equal=(name, value)``, that value in column ``name``).

    Answered from Iceberg's manifests (partition ranges and column bounds), so no Spark job
    runs: a false answer is certain, a true one means a file's bounds overlap the range.
    """
    # astimezone: Spark hands back naive local times, which it reads as local again
    micros = [(t.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1) for t in (lo, hi)]
    return _may_hold(
        spark,
        table,
        lambda ex: [
            ex.greaterThanOrEqual(column, micros[0]),
            ex.lessThanOrEqual(column, micros[1]),
        ],
        equal,
    )


def has_rows_from(
    spark: SparkSession, table: str, column: str, lo: int, equal: tuple[str, str] | None = None
) -> bool:
    """Whether any data file of ``table`` may hold an integer ``column`` value >= ``lo`` (and
    ``equal``), from the manifests as :func:`has_rows_between`."""
    return _may_hold(spark, table, lambda ex: [ex.greaterThanOrEqual(column, int(lo))], equal)


def _may_hold(
    spark: SparkSession,
    table: str,
    predicates: Any,
    equal: tuple[str, str] | None,
) -> bool:
    """Whether Iceberg plans any file for ``predicates(Expressions)`` (and ``equal``)."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    ex = jvm.org.apache.iceberg.expressions.Expressions
    scan = iceberg_table(spark, table).newScan()
    for predicate in [*predicates(ex), *([ex.equal(*equal)] if equal is not None else [])]:
        scan = scan.filter(predicate)
    files = scan.planFiles()
    try:
        return bool(files.iterator().hasNext())
    finally:
        files.close()


def added_since(spark: SparkSession, table: str, since: int | None) -> int:
    """Records added to ``table`` by this Spark application's commits after snapshot ``since``."""
    t = iceberg_table(spark, table)
    app = spark.sparkContext.applicationId
    added, snap = 0, t.currentSnapshot()
    while snap is not None and snap.snapshotId() != since:
        summary = snap.summary()
        if summary.get("spark.app.id") == app:
            added += int(summary.get("added-records") or 0)
        parent = snap.parentId()
        snap = None if parent is None else t.snapshot(parent)
    return added


def current_snapshot_id(spark: SparkSession, table: str) -> int | None:
    snap = iceberg_table(spark, table).currentSnapshot()
    return None if snap is None else snap.snapshotId()


def _pairs(props: dict[str, str]) -> str:
    return ", ".join(f"'{k}'='{v}'" for k, v in props.items())


def tblproperties() -> str:
    """``TBLPROPERTIES (...)`` for a CREATE TABLE of a Bronze or Silver table."""
    return f"TBLPROPERTIES ({_pairs(WRITE_PROPERTIES)})"


def ensure_columns(spark: SparkSession, table: str, columns: dict[str, str]) -> None:
    """Add the ``columns`` (name -> SQL type) that ``table``, created by an earlier version,
    lacks; nullable, so its existing rows read them as null."""
    have = {f.name() for f in iceberg_table(spark, table).schema().columns()}
    for name, sql_type in columns.items():
        if name not in have:
            spark.sql(f"ALTER TABLE {table} ADD COLUMN `{name}` {sql_type}")


def ensure_write_properties(spark: SparkSession, table: str) -> None:
    """Bring an existing table's write properties in line with :data:`WRITE_PROPERTIES`.

    Tables created by earlier versions keep their old properties otherwise; the ALTER runs
    only when one differs, so a run over up-to-date tables commits no metadata.
    """
    t = iceberg_table(spark, table)
    props = t.properties()
    # The format version is table metadata, not one of its properties.
    current = {k: props.get(k) for k in WRITE_PROPERTIES}
    current["format-version"] = str(t.operations().current().formatVersion())
    stale = {k: v for k, v in WRITE_PROPERTIES.items() if current.get(k) != v}
    if stale:
        spark.sql(f"ALTER TABLE {table} SET TBLPROPERTIES ({_pairs(stale)})")
