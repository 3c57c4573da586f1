"""Layouts of the Bronze and Silver tables and the jobs' helpers on them (names: kol.lakehouse)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from kol.settings import get_settings

if TYPE_CHECKING:
    from pyiceberg.expressions import BooleanExpression
    from pyiceberg.table import Table
    from pyspark.sql import DataFrame, SparkSession

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


def iceberg_table(spark: SparkSession, table: str) -> Table:
    """The Iceberg table behind ``table`` (``catalog.namespace.name``) as its catalog has it now.

    For metadata a job checks on every run: asking the table costs milliseconds, a Spark
    query over a metadata table (``t.snapshots``) about half a second of planning each. It is
    read through pyiceberg from the same catalog, not through Spark's JVM, so the job's code
    is the same whether its session is in this process or on a Spark Connect server; the
    server's catalog does not cache tables (:func:`kol.spark.connect_server_conf`), so both
    see what the last commit left.
    """
    from kol.iceberg import catalog

    settings = get_settings()
    return catalog(settings).load_table(table.removeprefix(f"{settings.iceberg_catalog_name}."))


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
    from pyiceberg.expressions import GreaterThanOrEqual, LessThanOrEqual, Reference
    from pyiceberg.expressions.literals import literal

    # astimezone: Spark hands back naive local times, which it reads as local again
    micros = [(t.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1) for t in (lo, hi)]
    predicates: list[BooleanExpression] = [
        GreaterThanOrEqual(term=Reference(column), value=literal(micros[0])),
        LessThanOrEqual(term=Reference(column), value=literal(micros[1])),
    ]
    return _may_hold(spark, table, predicates, equal)


def has_rows_from(
    spark: SparkSession, table: str, column: str, lo: int, equal: tuple[str, str] | None = None
) -> bool:
    """Whether any data file of ``table`` may hold an integer ``column`` value >= ``lo`` (and
    ``equal``), from the manifests as :func:`has_rows_between`."""
    from pyiceberg.expressions import GreaterThanOrEqual, Reference
    from pyiceberg.expressions.literals import literal

    return _may_hold(
        spark, table, [GreaterThanOrEqual(term=Reference(column), value=literal(int(lo)))], equal
    )


def _may_hold(
    spark: SparkSession,
    table: str,
    predicates: list[BooleanExpression],
    equal: tuple[str, str] | None,
) -> bool:
    """Whether Iceberg plans any file for ``predicates`` (and ``equal``)."""
    from pyiceberg.expressions import And, EqualTo, Reference
    from pyiceberg.expressions.literals import literal

    t = iceberg_table(spark, table)
    if t.current_snapshot() is None:
        return False
    if equal is not None:
        predicates = [*predicates, EqualTo(term=Reference(equal[0]), value=literal(equal[1]))]
    row_filter = predicates[0] if len(predicates) == 1 else And(*predicates)
    return any(True for _ in t.scan(row_filter=row_filter).plan_files())


# The snapshot property an append is tagged with (``snapshot-property.<key>`` write option), so
# the job can find its own commits: a Spark Connect server's sessions share one application id.
WRITE_ID = "kol.write-id"


def new_write_id() -> str:
    return uuid.uuid4().hex


def append(df: DataFrame, table: str, write_id: str) -> None:
    """Append ``df`` to ``table``, its commit tagged with ``write_id`` (:func:`added_since`)."""
    df.writeTo(table).option(f"snapshot-property.{WRITE_ID}", write_id).append()


def added_since(spark: SparkSession, table: str, since: int | None, write_id: str) -> int:
    """Records added to ``table`` after snapshot ``since`` by the commits :func:`append` tagged
    with ``write_id``."""
    t = iceberg_table(spark, table)
    added, snap = 0, t.current_snapshot()
    while snap is not None and snap.snapshot_id != since:
        summary = snap.summary
        if summary is not None and summary.get(WRITE_ID) == write_id:
            added += int(summary.get("added-records") or 0)
        parent = snap.parent_snapshot_id
        snap = None if parent is None else t.snapshot_by_id(parent)
    return added


def current_snapshot_id(spark: SparkSession, table: str) -> int | None:
    snap = iceberg_table(spark, table).current_snapshot()
    return None if snap is None else snap.snapshot_id


def _pairs(props: dict[str, str]) -> str:
    return ", ".join(f"'{k}'='{v}'" for k, v in props.items())


def tblproperties() -> str:
    """``TBLPROPERTIES (...)`` for a CREATE TABLE of a Bronze or Silver table."""
    return f"TBLPROPERTIES ({_pairs(WRITE_PROPERTIES)})"


def ensure_columns(spark: SparkSession, table: str, columns: dict[str, str]) -> None:
    """Add the ``columns`` (name -> SQL type) that ``table``, created by an earlier version,
    lacks; nullable, so its existing rows read them as null."""
    have = set(iceberg_table(spark, table).schema().column_names)
    for name, sql_type in columns.items():
        if name not in have:
            spark.sql(f"ALTER TABLE {table} ADD COLUMN `{name}` {sql_type}")


def ensure_write_properties(spark: SparkSession, table: str) -> None:
    """Bring an existing table's write properties in line with :data:`WRITE_PROPERTIES`.

    Tables created by earlier versions keep their old properties otherwise; the ALTER runs
    only when one differs, so a run over up-to-date tables commits no metadata.
    """
    t = iceberg_table(spark, table)
    # The format version is table metadata, not one of its properties.
    current = {k: t.properties.get(k) for k in WRITE_PROPERTIES}
    current["format-version"] = str(t.format_version)
    stale = {k: v for k, v in WRITE_PROPERTIES.items() if current.get(k) != v}
    if stale:
        spark.sql(f"ALTER TABLE {table} SET TBLPROPERTIES ({_pairs(stale)})")
