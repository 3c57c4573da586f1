"""Spark side of the hot path: Kafka records -> contract-checked, typed, narrow event rows.

All of it is native Catalyst (no Python UDF): the JSON payload is read with a schema derived
from the pydantic contracts (:func:`spark_jobs.silver.contract_fields`: kinds and required-ness
come from the models, only the *names* the stream reads are chosen here), and every violation
becomes a ``reject_reason`` instead of an exception, so one bad event can never stop the stream.
Casts are ``try_cast``: with ANSI mode on (Spark 4's default) a plain cast of
"2025-13-40T25:61:00Z" raises and would kill the query.

What is checked is the part of the contract the stream relies on: the identity fields
(``event_id``, ``event_type``, ``platform``, ``username``, ``video_id``, with their length and
pattern constraints from the models), a zoned ``event_time``, the JSON types of those fields
and of the counters it reads. Producers check the full contract before Kafka and Silver checks
it again; checking every optional profile field here would cost throughput for fields the stream
never reads.

Display counts ("11.3K") are *not* parsed here but on the driver, with the Python
implementation of the same rule (:func:`streaming.events.complete_counts`), and only the few
the stream needs (a profile's counters; a video's only when the producer sent no parsed count).
Measured: the staged Spark SQL parser (``spark_jobs.counts.with_count``, five projections per
field) made Catalyst planning of every micro-batch 0.8-3.9 s instead of 0.1 s on this machine,
which alone would break the latency goal, while the Python rule costs microseconds per string.

Integers and booleans are read as such, so a string in their place makes the record
malformed (the contracts are strict). Since the three topics share one schema, this also
applies to an *extra* field named like another topic's integer (a comment carrying
``"view_count": "12"``), which the contract itself would let through; no producer does that.

The three input topics are parsed in one pass over one merged schema (a union of three filtered
branches would read the Kafka batch three times); each topic's checks apply to its own rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from annotated_types import MaxLen, MinLen
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ingestion.contracts import (
    COMMENTS_TOPIC,
    PLATFORMS,
    PROFILES_TOPIC,
    TOPIC_MODELS,
    VIDEOS_TOPIC,
)
from spark_jobs.silver import CORRUPT, FieldSpec, contract_fields

STREAM_TOPICS = (VIDEOS_TOPIC, PROFILES_TOPIC, COMMENTS_TOPIC)
_IDENTITY = ("event_id", "event_time", "event_type", "platform", "username")
# The fields the stream reads, per topic (their kinds and constraints come from the contracts).
STREAM_FIELDS: dict[str, tuple[str, ...]] = {
    VIDEOS_TOPIC: (
        *_IDENTITY,
        "video_id",
        "published_at",
        *(f"{c}_count{s}" for c in ("view", "like", "comment", "share") for s in ("", "_raw")),
    ),
    PROFILES_TOPIC: (
        *_IDENTITY,
        "followers_raw",
        "following_raw",
        "likes_raw",
        "posts_raw",
        "verified",
    ),
    COMMENTS_TOPIC: (*_IDENTITY, "video_id", "comment_text"),
}
_ZONED = r"(Z|z|[+-][0-9]{2}:?[0-9]{2})$"


# Integers and booleans are read with those types: a string there makes the record malformed
# (Spark's JSON reader fails the field), as the strict contracts want.
_JSON_SCHEMA_TYPES = {"count": T.LongType(), "bool": T.BooleanType()}
# String fields whose JSON type is checked: those no value check would catch. A number for
# `platform`, `event_type` or a time already fails its own check.
_JSON_TYPED = ("event_id", "username", "video_id", "comment_text")


def stream_fields(topic: str) -> list[FieldSpec]:
    wanted = STREAM_FIELDS[topic]
    return [f for f in contract_fields(TOPIC_MODELS[topic]) if f.name in wanted]


def _string_constraints(topic: str, name: str) -> tuple[int | None, int | None, str | None]:
    """(min length, max length, pattern) of a string field of a contract."""
    lo = hi = pattern = None
    for m in TOPIC_MODELS[topic].model_fields[name].metadata:
        if isinstance(m, MinLen):
            lo = m.min_length
        elif isinstance(m, MaxLen):
            hi = m.max_length
        elif getattr(m, "pattern", None):
            pattern = m.pattern
    return lo, hi, pattern


def kafka_stream(
    spark: SparkSession,
    bootstrap: str,
    topics: list[str],
    starting_offsets: str,
    max_offsets_per_trigger: int | None,
) -> DataFrame:
    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", bootstrap)
        .option("subscribe", ",".join(topics))
        .option("startingOffsets", starting_offsets)
        # One fetch per partition per micro-batch rather than 1 MiB at a time.
        .option("kafka.max.partition.fetch.bytes", str(8 * 2**20))
        .option("kafka.fetch.max.bytes", str(64 * 2**20))
    )
    if max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", str(max_offsets_per_trigger))
    return reader.load()


def normalized_text(text: Column) -> Column:
    """Lower case, letters and digits only: near-duplicate comments become equal."""
    return F.regexp_replace(F.lower(text), r"[^\p{L}\p{N}]+", "")


def _typed(f: FieldSpec, raw: Column) -> tuple[Column, Column]:
    """(typed value, error message or null) of one payload field; never raises.

    Display counts stay strings (parsed on the driver, see the module docstring).
    """
    if f.kind in ("count_raw", "percent_raw"):
        return raw, F.lit(None).cast("string")
    if f.kind == "count":  # read as a JSON integer (see _JSON_SCHEMA_TYPES)
        return raw, F.when(raw < 0, F.format_string(f"{f.name}: negative (%s)", raw))
    if f.kind == "double":
        value = raw.try_cast("double")
        bad = raw.isNotNull() & (value.isNull() | (value < 0))
        return value, F.when(bad, F.format_string(f"{f.name}: not a non-negative number (%s)", raw))
    if f.kind == "bool":  # read as a JSON boolean
        return raw, F.lit(None).cast("string")
    if f.kind == "timestamp":
        value = raw.try_cast("timestamp")
        bad = raw.isNotNull() & (value.isNull() | ~raw.rlike(_ZONED))
        return value, F.when(
            bad, F.format_string(f"{f.name}: not an ISO 8601 time with a zone (%s)", raw)
        )
    if f.kind == "platform":
        bad = raw.isNotNull() & ~raw.isin(*PLATFORMS)
        return raw, F.when(bad, F.format_string(f"{f.name}: unknown platform (%s)", raw))
    return raw, F.lit(None).cast("string")


def _wrong_json_type(value: Column, fields: list[FieldSpec]) -> Column:
    """Error naming a string field whose JSON value was not a string, else null.

    Spark's JSON reader hands a number (or ``true``, or an object) to a string field as its
    text, so a payload with ``"username": 10005`` would pass as the user "10005". Such text
    looks like a number, a boolean or JSON; only then is the payload itself checked with a
    pattern for that field (digit-only ids are common, but a scan on those alone is cheap,
    where one over every payload cost a third of the parse).
    """
    errors = []
    for f in fields:
        if f.name not in _JSON_TYPED:
            continue
        text = F.col(f"p.{f.name}")
        suspicious = text.rlike(r"^(-?[0-9]|[\[{]|true$|false$)")
        not_a_string = value.rlike(rf'"{f.name}"\s*:\s*[^"n\s]')
        errors.append(
            F.when(suspicious & not_a_string, F.lit(f"{f.name}: wrong JSON type (not a string)"))
        )
    return F.coalesce(*errors)


def parse_events(
    raw: DataFrame, topic_of: Mapping[str, str], max_future_s: int = 3600
) -> DataFrame:
    """Kafka rows (``topic, partition, offset, timestamp, value``) -> typed rows + reasons.

    ``topic_of`` maps each Kafka topic name to its logical topic (names carry a prefix in tests).
    The output has the stream's fields under their payload names (typed; display counts as
    strings), ``logical_topic``, the Kafka lineage, the payload
    (``payload``, the Kafka value's bytes) and ``reject_reason`` (null when the event is valid).
    """
    specs = {t: stream_fields(t) for t in STREAM_TOPICS}
    merged: dict[str, FieldSpec] = {}
    owners: dict[str, list[str]] = {}
    for logical, fields in specs.items():
        for f in fields:
            other = merged.setdefault(f.name, f)
            if other.kind != f.kind:
                raise ValueError(f"field {f.name} has kinds {other.kind} and {f.kind}")
            owners.setdefault(f.name, []).append(logical)
    schema = T.StructType(
        [
            T.StructField(n, _JSON_SCHEMA_TYPES.get(f.kind, T.StringType()))
            for n, f in merged.items()
        ]
        + [T.StructField(CORRUPT, T.StringType())]
    )
    topic_map = F.create_map(*[F.lit(x) for kv in topic_of.items() for x in kv])
    df = raw.select(
        topic_map[F.col("topic")].alias("logical_topic"),
        "partition",
        "offset",
        F.col("timestamp").alias("kafka_timestamp"),
        # Invalid UTF-8 (a payload cut inside a character) is repaired for parsing, so no
        # string handed to Python can fail to decode, and rejected below.
        F.make_valid_utf8(F.col("value").cast("string")).alias("value"),
        F.is_valid_utf8(F.col("value").cast("string")).alias("utf8"),
        F.col("value").alias("payload"),
    ).withColumn("p", F.from_json("value", schema, {"columnNameOfCorruptRecord": CORRUPT}))
    topic = F.col("logical_topic")
    typed: dict[str, Column] = {}
    errors: list[Column] = [_wrong_json_type(F.col("value"), list(merged.values()))]
    for f in merged.values():
        raw_col = F.col(f"p.{f.name}")
        value, err = _typed(f, raw_col)
        checks = [err]
        if f.kind == "string":
            checks += _string_checks(f, raw_col, owners[f.name])
        required = [t for t in owners[f.name] if f in specs[t] and f.required]
        if required:
            checks.append(
                F.when(
                    raw_col.isNull() & topic.isin(*required),
                    F.lit(f"missing required field {f.name}"),
                )
            )
        if len(owners[f.name]) < len(STREAM_TOPICS):
            # An extra field on another topic's event is allowed and not this check's business.
            checks = [F.when(topic.isin(*owners[f.name]), c) for c in checks]
        errors += checks
        typed[f.name] = value
    # Compared with the record's Kafka timestamp, not the clock: the same on every replay, and
    # no per-batch literal in the plan (that would recompile the generated code every batch).
    errors.append(
        F.when(
            F.unix_millis(typed["event_time"])
            > F.unix_millis(F.col("kafka_timestamp")) + max_future_s * 1000,
            F.lit(f"event_time: more than {max_future_s}s after the record reached Kafka"),
        )
    )
    malformed = F.col(f"p.{CORRUPT}").isNotNull() | F.col("p").isNull()
    reason = (
        F.when(F.col("value").isNull(), F.lit("empty payload"))
        .when(topic.isNull(), F.lit("no contract for this topic"))
        .when(~F.col("utf8"), F.lit("payload is not valid UTF-8"))
        .when(malformed, F.lit("malformed JSON"))
        .otherwise(F.concat_ws("; ", *errors))
    )
    # Two steps: referencing `reason` twice in one expression would evaluate it twice.
    return df.select(
        *[col.alias(name) for name, col in typed.items()],
        "logical_topic",
        "partition",
        "offset",
        "kafka_timestamp",
        "payload",
        reason.alias("reject_reason"),
    ).withColumn("reject_reason", F.nullif(F.col("reject_reason"), F.lit("")))


def _string_checks(f: FieldSpec, raw: Column, topics: list[str]) -> list[Column]:
    """Length and pattern constraints of a string field (the same in every contract using it)."""
    found = {_string_constraints(t, f.name) for t in topics}
    if len(found) != 1:
        raise ValueError(f"field {f.name} has different constraints across contracts: {found}")
    lo, hi, pattern = found.pop()
    checks = []
    if lo is not None:
        checks.append(
            F.when(F.length(raw) < lo, F.lit(f"{f.name}: shorter than {lo} character(s)"))
        )
    if hi is not None:
        checks.append(F.when(F.length(raw) > hi, F.lit(f"{f.name}: longer than {hi} characters")))
    if pattern is not None:
        re.compile(pattern)  # fail at build time on a pattern Python itself rejects
        checks.append(
            F.when(
                ~raw.rlike(pattern), F.format_string(f"{f.name}: must match {pattern} (%s)", raw)
            )
        )
    return checks


def engine_rows(parsed: DataFrame) -> DataFrame:
    """The narrow columns the driver needs: streaming.engine.EVENT_COLUMNS (display counts
    still as ``*_raw`` strings, see streaming.events.RAW_COUNTS) and the payload of the rows
    that may become dead letters: those rejected here, and those with a display count the
    driver has yet to parse."""
    is_comment = F.col("logical_topic") == COMMENTS_TOPIC

    def count(c: str) -> Column:
        return F.col(c).cast("double")

    def raw_unless_parsed(parsed_count: str, raw: str) -> Column:
        return F.when(F.col(parsed_count).isNull(), F.col(raw))

    raws = {
        "views_raw": raw_unless_parsed("view_count", "view_count_raw"),
        "likes_raw": raw_unless_parsed("like_count", "like_count_raw"),
        "comments_raw": raw_unless_parsed("comment_count", "comment_count_raw"),
        "shares_raw": raw_unless_parsed("share_count", "share_count_raw"),
        "followers_raw": F.col("followers_raw"),
        "following_raw": F.col("following_raw"),
        "total_likes_raw": F.col("likes_raw"),
        "posts_raw": F.col("posts_raw"),
    }
    has_raw = F.lit(False)
    for col in raws.values():
        has_raw = has_raw | col.isNotNull()
    return parsed.select(
        F.col("logical_topic").alias("topic"),
        F.col("partition").cast("int").alias("partition"),
        "offset",
        F.unix_millis("kafka_timestamp").alias("kafka_ms"),
        F.unix_millis("event_time").alias("event_ms"),
        "platform",
        "username",
        "video_id",
        count("view_count").alias("views"),
        count("like_count").alias("likes"),
        count("comment_count").alias("comments"),
        count("share_count").alias("shares"),
        F.unix_millis("published_at").cast("double").alias("published_ms"),
        F.lit(None).cast("double").alias("followers"),
        F.lit(None).cast("double").alias("following"),
        F.lit(None).cast("double").alias("total_likes"),
        F.lit(None).cast("double").alias("posts"),
        F.col("verified").cast("double").alias("verified"),
        # 0, not null, for rows without one: a null would turn the column into floats in pandas.
        F.coalesce(F.xxhash64("event_id"), F.lit(0)).alias("event_hash"),
        F.when(is_comment, F.xxhash64("video_id", normalized_text(F.col("comment_text"))))
        .otherwise(F.lit(0))
        .alias("pair_hash"),
        *[col.alias(name) for name, col in raws.items()],
        "reject_reason",
        F.when(F.col("reject_reason").isNotNull() | has_raw, F.col("payload")).alias("payload"),
    )
