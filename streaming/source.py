"""What the hot-path job reads: the stream's input topics through Spark's Kafka source.

The streaming read (:func:`kafka_stream`) feeds the query; :func:`kafka_range` reads one
micro-batch's offset range again when a batch Spark finished is missing from Redis
(:meth:`streaming.handler.BatchHandler.recover`). Both go through :func:`source_rows`, so a
replayed batch is the rows the stream handed the first time.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from kol.settings import IngestSettings, Settings
from kol.topics import topic_name
from streaming.checkpoint import Offsets
from streaming.events import STREAM_TOPICS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def input_topics(ingest: IngestSettings) -> dict[str, str]:
    """Kafka topic name -> logical topic, for the stream's three input topics."""
    return {topic_name(t, ingest): t for t in STREAM_TOPICS}


def source_rows(raw: DataFrame) -> DataFrame:
    """Only what the driver needs of the Kafka source: the contract check runs there
    (streaming.events)."""
    from pyspark.sql import functions as F

    return raw.select(
        "topic",
        F.col("partition").cast("int").alias("partition"),
        "offset",
        F.unix_millis("timestamp").alias("kafka_ms"),
        "value",
    )


# One fetch per partition per micro-batch rather than 1 MiB at a time.
_FETCH_OPTIONS = {
    "kafka.max.partition.fetch.bytes": str(8 * 2**20),
    "kafka.fetch.max.bytes": str(64 * 2**20),
}


def kafka_range(spark: SparkSession, settings: Settings, start: Offsets, end: Offsets) -> DataFrame:
    """The records of one offset range, as the stream's micro-batch over it read them."""
    return (
        spark.read.format("kafka")
        .options(**settings.spark_kafka_options())
        .option("assign", json.dumps({t: sorted(map(int, parts)) for t, parts in end.items()}))
        .option("startingOffsets", json.dumps(start))
        .option("endingOffsets", json.dumps(end))
        .options(**_FETCH_OPTIONS)
        .load()
    )


def kafka_stream(
    spark: SparkSession,
    settings: Settings,
    topics: list[str],
    starting_offsets: str,
    max_offsets_per_trigger: int | None,
) -> DataFrame:
    reader = (
        spark.readStream.format("kafka")
        .options(**settings.spark_kafka_options())
        .option("subscribe", ",".join(topics))
        .option("startingOffsets", starting_offsets)
        .options(**_FETCH_OPTIONS)
    )
    if max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", str(max_offsets_per_trigger))
    return reader.load()
