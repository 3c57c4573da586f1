"""Writing Silver: tables created from the contract's schema, and appends of the events a table
does not hold yet, counted as they are written.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from spark_jobs.silver.dedup import RECORD, conflict_rejects, content_columns, content_hash
from spark_jobs.tables import (
    added_since,
    append,
    current_snapshot_id,
    ensure_columns,
    ensure_write_properties,
    has_rows_between,
    new_write_id,
    tblproperties,
)


def ensure_table_like(spark: SparkSession, table: str, df: DataFrame, partition: str) -> None:
    """Create ``table`` with ``df``'s schema (derived from the contract) if it does not exist;
    add the columns an existing one lacks (it was created by an earlier version)."""
    if spark.catalog.tableExists(table):
        ensure_columns(spark, table, {f.name: f.dataType.simpleString() for f in df.schema.fields})
        ensure_write_properties(spark, table)
        return
    # Columns written out, not CREATE TABLE ... AS SELECT from df: that runs a Spark job, which
    # waits for the cores the other topics' batches hold, and df.limit(0) still computed
    # df's broadcasts (the deduplication's repeated ids), a whole pass over the batch.
    columns = ", ".join(
        f"`{f.name}` {f.dataType.simpleString()}{'' if f.nullable else ' NOT NULL'}"
        for f in df.schema.fields
    )
    spark.sql(
        f"CREATE TABLE IF NOT EXISTS {table} ({columns}) USING iceberg "
        f"PARTITIONED BY ({partition}) {tblproperties()}"
    )


def merge_new(spark: SparkSession, rows: DataFrame, table: str, on: str) -> None:
    """Insert the rows that have no match in ``table`` under ``on``.

    ``on`` should bound the target with literals (a time range) so Iceberg reads only the
    batch's partitions, not the table's whole history.
    """
    # A view per call: topics are merged side by side, some into the same rejects table.
    view = f"silver_batch_{uuid.uuid4().hex}"
    rows.createOrReplaceTempView(view)
    try:
        spark.sql(f"MERGE INTO {table} t USING {view} s ON {on} WHEN NOT MATCHED THEN INSERT *")
    finally:
        spark.catalog.dropTempView(view)


@dataclass(frozen=True)
class Inserted:
    """What :func:`insert_new` did with a batch's deduplicated rows, counted as it wrote them."""

    offered: int  # deduplicated rows of the batch
    written: int  # rows new to the table, appended by this run
    present: int  # rows the table already held as these very Kafka records (a re-run)
    duplicates: int = 0  # events the table held from another record, with the same content
    conflicts: int = 0  # ids the table held with other content: not written, rejects


class SilverWriteError(RuntimeError):
    """A Silver write did not go as its own counts say it should have."""


def insert_new(
    spark: SparkSession, rows: DataFrame, table: str, event_range: tuple[datetime, datetime]
) -> Inserted:
    """Append the rows whose ``event_id`` is not in ``table`` yet.

    This is what an insert-only ``MERGE`` compiles to (an anti-join of the rows with the
    target, then an append; neither checks for concurrent writers), with the join kept as an
    outer join so the same pass counts what happened to every row: written, or already there
    as this very Kafka record (a re-run), as the same event from another record (a duplicate),
    or as other content under the same id (a conflict, for :func:`table_conflicts`).
    The counts are Spark observations of the write itself, and the rows written are checked
    against what Iceberg's commit says it added, rather than re-reading the table after the
    write to count the same things, a second scan of the batch's days (see bench/README.md).

    The table is matched within the batch's event-time range, which confines the scan to the
    batch's days; when Iceberg's manifests say no file holds those days, there is nothing to
    join with. (An id reused on another day is not seen here, nor by the Silver gate, which
    checks the rows that arrived in the interval; dbt's ``unique`` test of ``event_id`` on the
    staging views, run by every Gold build, stops the run on it.)
    """
    before = current_snapshot_id(spark, table)
    offered = Observation(f"offered_{uuid.uuid4().hex}")
    rows = rows.observe(offered, F.count(F.lit(1)).alias("rows"))
    if has_rows_between(spark, table, "event_time", *event_range):
        out, joined = _without_present(spark, rows, table, event_range)
    else:
        # Nothing to match in those days (the usual daily run): every row is new, and the
        # join, a shuffle of the whole batch, is skipped.
        out, joined = rows, None
    write_id = new_write_id()
    append(out, table, write_id)
    o = offered.get
    j = (
        {"rows": o["rows"], "new": o["rows"], "present": 0, "duplicates": 0, "conflicts": 0}
        if joined is None
        else joined.get
    )
    if j["rows"] != o["rows"]:
        raise SilverWriteError(
            f"{table}: {j['rows'] - o['rows']} batch rows matched more than one row in the "
            "table; event_id is no longer unique in it (run the Silver gate)"
        )
    added = added_since(spark, table, before, write_id)
    if added != j["new"]:
        raise SilverWriteError(
            f"{table}: the append wrote {j['new']} rows but Iceberg's commit added {added}"
        )
    return Inserted(o["rows"], j["new"], j["present"], j["duplicates"], j["conflicts"])


def _target(
    spark: SparkSession, table: str, event_range: tuple[datetime, datetime], columns: list[str]
) -> DataFrame:
    return (
        spark.table(table)
        .where(F.col("event_time").between(*event_range))
        .select(
            F.col("event_id").alias("_t_id"),
            F.struct(*RECORD[:3]).alias("_t_record"),
            content_hash(columns).alias("_t_c"),
        )
    )


def _same_record() -> Column:
    return F.col("_t_record") == F.struct(*RECORD[:3])


def _without_present(
    spark: SparkSession, rows: DataFrame, table: str, event_range: tuple[datetime, datetime]
) -> tuple[DataFrame, Observation]:
    """``rows`` not in ``table`` yet, and an observation counting the join: every row, the
    new ones, those already there as these very Kafka records, duplicates and conflicts."""
    columns = content_columns(rows)
    joined = Observation(f"joined_{uuid.uuid4().hex}")
    is_new = F.col("_t_id").isNull()
    other = ~is_new & ~_same_record()
    same_content = F.col("_t_c") == content_hash(columns)
    out = (
        rows.join(
            _target(spark, table, event_range, columns),
            F.col("event_id") == F.col("_t_id"),
            "left",
        )
        .observe(
            joined,
            F.count(F.lit(1)).alias("rows"),
            F.count_if(is_new).alias("new"),
            F.count_if(~is_new & _same_record()).alias("present"),
            F.count_if(other & same_content).alias("duplicates"),
            F.count_if(other & ~same_content).alias("conflicts"),
        )
        .where(is_new)
        .select(*rows.columns)
    )
    return out, joined


def table_conflicts(
    spark: SparkSession,
    rows: DataFrame,
    table: str,
    event_range: tuple[datetime, datetime],
    processed_at: datetime,
) -> DataFrame:
    """Rejects rows for the batch rows whose id ``table`` holds with other content (a second
    pass, run only when :func:`insert_new` counted some)."""
    columns = content_columns(rows)
    clash = rows.join(
        _target(spark, table, event_range, columns),
        (F.col("event_id") == F.col("_t_id"))
        & ~_same_record()
        & (F.col("_t_c") != content_hash(columns)),
    )
    reason = F.format_string(
        f"conflict: event_id %s is already in {table} with different content "
        "(record %s/%d/%d); this record is not",
        "event_id",
        "_t_record.kafka_topic",
        "_t_record.kafka_partition",
        "_t_record.kafka_offset",
    )
    return conflict_rejects(clash, reason, processed_at)
