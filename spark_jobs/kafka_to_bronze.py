"""spark-submit entry point: Kafka raw topics -> Iceberg bronze.<topic>_raw for one interval.

spark-submit ... spark_jobs/kafka_to_bronze.py --start 2026-11-01 --end 2026-11-02
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from datetime import UTC, datetime

from pyspark.sql import functions as F

from ingestion.contracts import TOPICS
from ingestion.producer import topic_name
from ingestion.settings import get_ingest_settings
from kol.settings import get_settings
from kol.spark import spark_session
from spark_jobs.bronze import (
    bronze_namespace,
    ensure_bronze_table,
    kafka_offset_range,
    merge_into_bronze,
    read_kafka,
    rows_in_interval,
    to_bronze,
)
from spark_jobs.interval import Interval
from spark_jobs.tables import TOPIC_TABLES

log = logging.getLogger("kol.jobs.bronze")


def run(interval: Interval) -> dict[str, int]:
    """Land the interval's records; returns Bronze rows per logical topic for the interval."""
    settings, ingest = get_settings(), get_ingest_settings()
    kafka_topics = {topic_name(t, ingest): t for t in TOPICS}
    spark = spark_session("kol-kafka-to-bronze", settings)
    ns = bronze_namespace(settings)
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {ns}")
    starting, ending = kafka_offset_range(settings, list(kafka_topics), interval.start)
    rows = to_bronze(
        read_kafka(spark, settings, starting, ending), interval, datetime.now(UTC)
    ).cache()
    counts: dict[str, int] = {}
    for kafka_topic, logical in kafka_topics.items():
        t0 = time.perf_counter()
        table = f"{ns}.{TOPIC_TABLES[logical].bronze}"
        ensure_bronze_table(spark, table)
        merge_into_bronze(spark, rows.where(rows.topic == kafka_topic), table, interval)
        log.info("bronze %s merged in %.1fs", logical, time.perf_counter() - t0)
        counts[logical] = (
            rows_in_interval(spark.table(table), interval)
            .where(F.col("topic") == kafka_topic)
            .count()
        )
    rows.unpersist()
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", required=True, help="interval start, ISO 8601 (UTC if naive)")
    parser.add_argument("--end", required=True, help="interval end (exclusive)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    interval = Interval.parse(args.start, args.end)
    counts = run(interval)
    for topic, n in counts.items():
        log.info("bronze %s %s: %d records in interval", topic, interval, n)
        print(f"bronze {topic}: {n} records in {interval}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
