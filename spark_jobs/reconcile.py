"""spark-submit entry point: Kafka's offsets against Bronze's rows, per topic partition.

spark-submit ... spark_jobs/reconcile.py [--topic kol.profiles.raw ...]

Prints every range of offsets Kafka still keeps that Bronze lacks although it holds newer
records of the topic, and exits 1 when there is any. Records newer than the newest one Bronze
holds are not gaps: their interval has not been landed yet.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from datetime import datetime

from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F

from ingestion.contracts import TOPICS
from kol.lakehouse import TOPIC_TABLES, arrival
from kol.settings import IngestSettings, Settings, get_ingest_settings, get_settings
from kol.spark import spark_session
from kol.topics import topic_name
from spark_jobs.bronze import bronze_namespace

log = logging.getLogger("kol.jobs.reconcile")


@dataclass(frozen=True)
class Gap:
    topic: str
    partition: int
    first_offset: int
    last_offset: int
    records: int
    oldest: datetime  # the oldest Kafka timestamp among the missing records


def bronze_gaps(
    spark: SparkSession,
    settings: Settings,
    ingest: IngestSettings,
    topics: tuple[str, ...] = TOPICS,
) -> list[Gap]:
    """The ranges of offsets each topic's partitions keep in Kafka but Bronze does not hold,
    among the records older than the newest one Bronze holds of that topic."""
    gaps: list[Gap] = []
    for logical in topics:
        kafka_topic = topic_name(logical, ingest)
        bronze = spark.table(f"{bronze_namespace(settings)}.{TOPIC_TABLES[logical].bronze}").where(
            F.col("topic") == kafka_topic
        )
        newest = bronze.agg(F.max(arrival(bronze))).first()
        if newest is None or newest[0] is None:
            continue  # nothing landed yet: every record is still to come
        kafka = (
            spark.read.format("kafka")
            .options(**settings.spark_kafka_options())
            .option("subscribe", kafka_topic)
            .option("startingOffsets", "earliest")
            .option("endingOffsets", "latest")
            .load()
            .where(F.col("timestamp") < F.lit(newest[0]))
            .select(
                "topic",
                F.col("partition").cast("int").alias("partition"),
                F.col("offset").cast("bigint").alias("offset"),
                "timestamp",
            )
        )
        missing = kafka.join(
            bronze.select("topic", "partition", "offset"), ["topic", "partition", "offset"], "anti"
        )
        # Consecutive offsets share offset - rank: one group per range.
        rank = F.row_number().over(Window.partitionBy("partition").orderBy("offset"))
        ranges = (
            missing.withColumn("_run", F.col("offset") - rank)
            .groupBy("partition", "_run")
            .agg(
                F.min("offset").alias("first"),
                F.max("offset").alias("last"),
                F.count(F.lit(1)).alias("records"),
                F.min("timestamp").alias("oldest"),
            )
            .orderBy("partition", "first")
            .collect()
        )
        gaps += [
            Gap(kafka_topic, r["partition"], r["first"], r["last"], r["records"], r["oldest"])
            for r in ranges
        ]
    return gaps


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--topic", action="append", choices=TOPICS, help="only these topics (repeatable)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = get_settings()
    spark = spark_session("kol-reconcile", settings)
    gaps = bronze_gaps(spark, settings, get_ingest_settings(), tuple(args.topic or TOPICS))
    for g in gaps:
        print(
            f"GAP {g.topic}[{g.partition}] offsets {g.first_offset}-{g.last_offset}: "
            f"{g.records} record(s) in Kafka, not in Bronze (oldest stamped {g.oldest})"
        )
    total = sum(g.records for g in gaps)
    print(f"reconcile: {total} record(s) missing from Bronze in {len(gaps)} range(s)")
    return 1 if gaps else 0


if __name__ == "__main__":
    sys.exit(main())
