"""Silver: Bronze records parsed against their topic's contract, typed, deduplicated.

The contracts in :mod:`ingestion.contracts` are the one definition of each topic's fields; this
module derives the Spark schema and the column checks from those pydantic models, so a field
added to a contract reaches Silver without a second list to keep in step.

Every Bronze record of an interval ends in exactly one of three places: its Silver table, the
duplicates count (the same event, its ``event_id`` and content, already in Silver from another
Kafka record), or ``silver.rejects`` with its reason: it failed its contract, or it is a
conflict (other content under an ``event_id`` Silver already has).
"""

from __future__ import annotations

import types
import typing
import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import AwareDatetime, BaseModel
from pyspark.sql import Column, DataFrame, Observation, SparkSession, Window
from pyspark.sql import functions as F

from ingestion.contracts import PLATFORMS, TOPIC_MODELS, CountRaw, PercentRaw
from kol.interval import Interval
from kol.lakehouse import LANDED, arrival, rows_in_interval
from spark_jobs import counts
from spark_jobs.functions import json_fields
from spark_jobs.tables import (
    added_since,
    current_snapshot_id,
    ensure_columns,
    ensure_write_properties,
    has_rows_between,
    tblproperties,
)

_COUNT_CHECK = typing.get_args(CountRaw)[1]
_PERCENT_CHECK = typing.get_args(PercentRaw)[1]
_VALUES = "__payload_values"
# Event times must carry their zone: a naive time would silently be read as UTC.
_ZONED = r"(Z|z|[+-][0-9]{2}:?[0-9]{2})$"


@dataclass(frozen=True)
class FieldSpec:
    name: str  # name in the payload
    kind: str  # count_raw | percent_raw | count | timestamp | bool | double | platform | string
    required: bool
    # The contract's text constraints (pydantic's min_length, max_length, pattern).
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None

    @property
    def out(self) -> str:
        """Column name in Silver: parsed counts drop their ``_raw`` suffix."""
        return (
            self.name.removesuffix("_raw")
            if self.kind in ("count_raw", "percent_raw")
            else self.name
        )


def _kind(annotation: object, metadata: list[object]) -> str:
    if _COUNT_CHECK in metadata:
        return "count_raw"
    if _PERCENT_CHECK in metadata:
        return "percent_raw"
    args = {a for a in typing.get_args(annotation) if a is not type(None)} or {annotation}
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = next(iter(args))
    if annotation is AwareDatetime or annotation is datetime:
        return "timestamp"
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "count"
    if annotation is float:
        return "double"
    if typing.get_origin(annotation) is typing.Literal:
        return "platform"
    return "string"


def _text_constraints(metadata: list[object]) -> dict[str, typing.Any]:
    out: dict[str, typing.Any] = {}
    for m in metadata:
        for attr in ("min_length", "max_length", "pattern"):
            value = getattr(m, attr, None)
            if value is not None:
                out[attr] = value
    return out


def contract_fields(model: type[BaseModel]) -> list[FieldSpec]:
    specs = []
    for name, f in model.model_fields.items():
        kind = _kind(f.annotation, f.metadata)
        extra = _text_constraints(f.metadata) if kind == "string" else {}
        specs.append(FieldSpec(name, kind, f.is_required(), **extra))
    return specs


def _text_error(f: FieldSpec, raw: Column) -> Column:
    """The contract's length and pattern rules for a text field, as pydantic words them."""
    checks: list[tuple[Column, str]] = []
    if f.min_length is not None:
        checks.append((F.length(raw) < f.min_length, f"shorter than {f.min_length}"))
    if f.max_length is not None:
        checks.append((F.length(raw) > f.max_length, f"longer than {f.max_length}"))
    if f.pattern is not None:
        checks.append((~raw.rlike(f.pattern), f"does not match {f.pattern}"))
    err: Column = F.lit(None).cast("string")
    for bad, why in reversed(checks):
        err = F.when(
            raw.isNotNull() & bad, F.format_string(f"{f.name}: {why} ('%s')", raw)
        ).otherwise(err)
    return err


def _typed(f: FieldSpec, raw: Column) -> tuple[Column, Column]:
    """(typed value, error message or null) for one payload field.

    Casts are ``try_cast``: Spark 4 runs in ANSI mode, where a bad value would fail the whole
    job instead of becoming a reject with its reason.

    Counts and percentages arrive pre-parsed in a ``__parsed_<name>`` struct column (see
    :func:`parse_bronze`); the rest are cast here.
    """
    none = F.lit(None).cast("string")
    if f.kind in ("count_raw", "percent_raw"):
        parsed = F.col(f"__parsed_{f.name}")
        err = F.when(
            parsed.error.isNotNull(), F.format_string(f"{f.name}: %s (%s)", parsed.error, raw)
        )
        return parsed.value, err
    if f.kind == "count":
        value = raw.try_cast("bigint")
        bad = raw.isNotNull() & (value.isNull() | ~raw.rlike(r"^[0-9]+$"))
        return value, F.when(
            bad, F.format_string(f"{f.name}: not a non-negative integer (%s)", raw)
        )
    if f.kind == "double":
        value = raw.try_cast("double")
        bad = raw.isNotNull() & (value.isNull() | (value < 0))
        return value, F.when(bad, F.format_string(f"{f.name}: not a non-negative number (%s)", raw))
    if f.kind == "bool":
        bad = raw.isNotNull() & ~raw.isin("true", "false")
        return raw.try_cast("boolean"), F.when(
            bad, F.format_string(f"{f.name}: not a boolean (%s)", raw)
        )
    if f.kind == "timestamp":
        value = raw.try_cast("timestamp")
        bad = raw.isNotNull() & (value.isNull() | ~raw.rlike(_ZONED))
        return value, F.when(
            bad, F.format_string(f"{f.name}: not an ISO 8601 time with a zone (%s)", raw)
        )
    if f.kind == "platform":
        bad = raw.isNotNull() & ~raw.isin(*PLATFORMS)
        return raw, F.when(bad, F.format_string(f"{f.name}: unknown platform (%s)", raw))
    if f.min_length is None and f.max_length is None and f.pattern is None:
        return raw, none
    return raw, _text_error(f, raw)


def parse_bronze(bronze: DataFrame, topic: str) -> DataFrame:
    """Bronze rows of one topic -> typed columns + ``reject_reason`` (null when valid).

    Counts a producer already parsed (``view_count``) win over the display string
    (``view_count_raw``); both must be valid when present.
    """
    fields = contract_fields(TOPIC_MODELS[topic])
    # Every field is read as text and typed afterwards, so a bad value gets a reason; the
    # struct lets the checks below name a field as p.<name>.
    values = json_fields(bronze.sparkSession, F.col("value"), [f.name for f in fields])
    df = bronze.select(
        F.col("topic").alias("kafka_topic"),
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
        F.col("kafka_timestamp"),
        arrival(bronze).alias(LANDED),
        F.col("key"),
        F.col("value").alias("payload"),
        values.alias(_VALUES),
    ).select(
        "*",
        F.struct(*[F.col(_VALUES)[i].alias(f.name) for i, f in enumerate(fields)]).alias("p"),
    )
    for f in fields:
        if f.kind == "count_raw":
            df = counts.with_count(df, f"p.{f.name}", f"__parsed_{f.name}")
        elif f.kind == "percent_raw":
            df = counts.with_percent(df, f"p.{f.name}", f"__parsed_{f.name}")
    typed: dict[str, Column] = {}
    errors: list[Column] = [
        F.when(F.col("payload").isNull(), F.lit("empty payload")),
        F.when(F.col(_VALUES).isNull(), F.lit("malformed JSON")),
    ]
    for f in fields:
        raw = F.col(f"p.{f.name}")
        value, err = _typed(f, raw)
        errors.append(err)
        if f.required:
            errors.append(F.when(raw.isNull(), F.lit(f"missing required field {f.name}")))
        if f.out in typed:  # producer-parsed count and display string for the same field
            first, second = (value, typed[f.out]) if f.kind == "count" else (typed[f.out], value)
            typed[f.out] = F.coalesce(first, second)
        else:
            typed[f.out] = value
    # The producers key each record platform:username. A record that names another creator
    # than its key (a scraper's bug: an empty or numeric username) would attach that
    # creator's videos to a second kol_id in Gold.
    named = F.concat_ws(":", F.col("p.platform"), F.col("p.username"))
    errors.append(
        F.when(
            F.col("key").isNotNull()
            & F.col("p.platform").isNotNull()
            & F.col("p.username").isNotNull()
            & (F.col("key") != named),
            F.format_string("Kafka key %s does not match platform:username %s", "key", named),
        )
    )
    joined = F.concat_ws("; ", *errors)
    reason = F.when(joined != "", joined)
    return df.select(
        *[col.alias(name) for name, col in typed.items()],
        "kafka_topic",
        "kafka_partition",
        "kafka_offset",
        "kafka_timestamp",
        LANDED,
        # Only a reject keeps its raw payload: a valid record's is all in its typed columns
        # and in Bronze, and carrying it made caching the batch cost as much as parsing it.
        F.when(reason.isNotNull(), F.col("payload")).alias("payload"),
        reason.alias("reject_reason"),
    )


# What is not an event's content: where its record came from and what Silver adds.
_RECORD = ("kafka_topic", "kafka_partition", "kafka_offset", "kafka_timestamp", LANDED)
_NOT_CONTENT = frozenset({*_RECORD, "payload", "reject_reason", "event_date", "processed_at"})


def content_columns(df: DataFrame) -> list[str]:
    """The event's own fields (its contract's columns), in ``df``'s order."""
    return [c for c in df.columns if c not in _NOT_CONTENT and not c.startswith("_")]


def content_hash(columns: list[str]) -> Column:
    """A 64-bit hash of an event's fields: two records of one event (a re-send) hash alike,
    two events that share an id almost surely do not. Spark's hash skips nulls, so each field
    brings its null flag too, or (x, null) and (null, x) would hash alike."""
    parts: list[Column] = []
    for c in columns:
        parts += [F.col(c), F.col(c).isNull()]
    return F.xxhash64(*parts)


def _repeats(parsed: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Valid rows split into (rows whose event_id is seen once, rows of the ids seen more
    than once with ``_n``, their rank in Kafka order, ``_same``, whether their content is the
    first record's, and ``_first``, that record's coordinates).

    Repeats are rare (retries, re-sends), so only they are ordered. They are found by a
    64-bit hash of the id, which shuffles and groups faster than the string; two ids sharing a
    hash only send both through the ordering, which partitions by the id itself. A window over
    every row shuffled and sorted whole records: 722k comments took 6.7-8.0 s to deduplicate
    that way, 4.4 s this way."""
    valid = (
        parsed.where(F.col("reject_reason").isNull())
        .drop("reject_reason", "payload")
        .withColumn("_h", F.xxhash64("event_id"))
    )
    repeated = F.broadcast(valid.groupBy("_h").count().where(F.col("count") > 1).select("_h"))
    order = Window.partitionBy("event_id").orderBy(
        "kafka_timestamp", "kafka_partition", "kafka_offset"
    )
    first = F.first
    ordered = (
        valid.join(repeated, "_h", "left_semi")
        .withColumn("_c", content_hash(content_columns(valid)))
        .withColumn("_n", F.row_number().over(order))
        .withColumn("_same", F.col("_c") == first("_c").over(order))
        .withColumn(
            "_first",
            F.format_string(
                "%s/%d/%d",
                first("kafka_topic").over(order),
                first("kafka_partition").over(order),
                first("kafka_offset").over(order),
            ),
        )
    )
    return valid.join(repeated, "_h", "left_anti").drop("_h"), ordered.drop("_h", "_c")


def silver_rows(parsed: DataFrame, processed_at: datetime) -> DataFrame:
    """Valid rows, one per ``event_id`` (the first Kafka record of an event wins)."""
    once, ordered = _repeats(parsed)
    firsts = ordered.where("_n = 1").drop("_n", "_same", "_first")
    return (
        once.unionByName(firsts)
        .withColumn("event_date", F.to_date("event_time"))
        .withColumn("processed_at", F.lit(processed_at).cast("timestamp"))
    )


@dataclass(frozen=True)
class BatchRepeats:
    """The later records of events a batch holds more than once."""

    duplicates: int  # the same event again (its content equal to the first record's)
    conflicts: DataFrame | None  # other content under the id: rejects-shaped rows, or None


def batch_repeats(parsed: DataFrame, processed_at: datetime, table: str) -> BatchRepeats:
    """Count a batch's duplicates, and make its conflicts rejects naming the first record."""
    _, ordered = _repeats(parsed)
    later = ordered.where("_n > 1").localCheckpoint()
    row = later.agg(F.count_if("_same"), F.count_if(~F.col("_same"))).first()
    assert row is not None
    if not row[1]:
        return BatchRepeats(row[0], None)
    reason = F.format_string(
        "conflict: event_id %s already came in this batch with different content "
        f"(first record %s); this record is not in {table}",
        "event_id",
        "_first",
    )
    conflicts = later.where(~F.col("_same"))
    return BatchRepeats(row[0], conflict_rejects(conflicts, reason, processed_at))


def conflict_rejects(rows: DataFrame, reason: Column, processed_at: datetime) -> DataFrame:
    """Rows of a Silver table's shape -> rejects rows; the payload is the event's fields as
    JSON (the raw bytes are in Bronze at the same topic, partition and offset)."""
    return rows.select(
        F.col("kafka_topic").alias("topic"),
        F.col("kafka_partition").alias("partition"),
        F.col("kafka_offset").alias("offset"),
        "kafka_timestamp",
        F.col("event_id").cast("string").alias("event_id"),
        F.to_json(F.struct(*content_columns(rows))).alias("payload"),
        reason.alias("reason"),
        F.lit(processed_at).cast("timestamp").alias("rejected_at"),
        LANDED,
    )


def rejects_rows(parsed: DataFrame, processed_at: datetime) -> DataFrame:
    return parsed.where(F.col("reject_reason").isNotNull()).select(
        F.col("kafka_topic").alias("topic"),
        F.col("kafka_partition").alias("partition"),
        F.col("kafka_offset").alias("offset"),
        "kafka_timestamp",
        F.col("event_id").cast("string").alias("event_id"),
        "payload",
        F.col("reject_reason").alias("reason"),
        F.lit(processed_at).cast("timestamp").alias("rejected_at"),
        LANDED,
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
class BatchStats:
    """What one topic's parsed batch holds, from a single pass over it."""

    rows: int
    rejects: int
    # first and last event time of the valid rows: the Silver days the batch can touch
    event_range: tuple[datetime, datetime] | None


def batch_stats(parsed: DataFrame) -> BatchStats:
    valid_time = F.when(F.col("reject_reason").isNull(), F.col("event_time"))
    row = parsed.agg(
        F.count(F.lit(1)), F.count("reject_reason"), F.min(valid_time), F.max(valid_time)
    ).first()
    assert row is not None
    return BatchStats(row[0], row[1], None if row[2] is None else (row[2], row[3]))


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
    against what Iceberg's commit says it added. Re-reading the table after the write to
    count the same things cost 8-9 s of a 36 s Silver run on 1.2M events (a cold JVM).

    The table is matched within the batch's event-time range, which confines the scan to the
    batch's days; when Iceberg's manifests say no file holds those days, there is nothing to
    join with. (An id reused on another day is not seen here: the Silver gate's uniqueness
    check stops the run on it.)
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
    out.writeTo(table).append()
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
    added = added_since(spark, table, before)
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
            F.struct(*_RECORD[:3]).alias("_t_record"),
            content_hash(columns).alias("_t_c"),
        )
    )


def _same_record() -> Column:
    return F.col("_t_record") == F.struct(*_RECORD[:3])


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


@dataclass
class TopicAccount:
    topic: str
    bronze: int
    silver: int
    duplicates: int
    rejects: int

    @property
    def balanced(self) -> bool:
        return self.bronze == self.silver + self.duplicates + self.rejects


def account(
    spark: SparkSession,
    topic: str,
    kafka_topic: str,
    stats: BatchStats,
    repeats: BatchRepeats,
    inserted: Inserted | None,
    interval: Interval,
    rejects_table: str,
) -> TopicAccount:
    """Where each Bronze record of the interval went, each place counted on its own: Silver
    (written now, or by an earlier run of the interval) and duplicates from the counts the
    deduplication and :func:`insert_new` took; rejects (contract failures and conflicts) in
    ``rejects_table``. Nothing is derived by subtraction, so the balance is a check: a record
    counted nowhere, or twice, leaves it unbalanced.
    """
    silver = 0 if inserted is None else inserted.written + inserted.present
    conflicts = repeats.conflicts is not None or (inserted is not None and inserted.conflicts)
    in_rejects = 0
    if stats.rejects or conflicts:
        in_rejects = (
            rows_in_interval(spark.table(rejects_table), interval)
            .where(F.col("topic") == kafka_topic)
            .count()
        )
    duplicates = repeats.duplicates + (0 if inserted is None else inserted.duplicates)
    return TopicAccount(topic, stats.rows, silver, duplicates, in_rejects)
