"""Bronze records parsed against their topic's contract: typed columns, or a reject with its reason.

The contracts in :mod:`ingestion.contracts` are the one definition of each topic's fields; this
module derives the Spark schema and the column checks from those pydantic models, so a field
added to a contract reaches Silver without a second list to keep in step.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import datetime

from pydantic import AwareDatetime, BaseModel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ingestion.contracts import PLATFORMS, TOPIC_MODELS, CountRaw, PercentRaw
from kol.lakehouse import LANDED, arrival
from spark_jobs import counts
from spark_jobs.functions import json_fields

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
