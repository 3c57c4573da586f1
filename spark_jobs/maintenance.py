"""spark-submit entry point: Iceberg table maintenance for every Bronze/Silver/Gold table.

Expires old snapshots (keeping the last few for time travel) and compacts small files. Both are
Iceberg procedures that commit atomically, so the job is safe to run at any time, also while a
pipeline run writes: a conflicting commit is retried by Iceberg, not lost.

    spark-submit ... spark_jobs/maintenance.py [--older-than-days 7] [--retain-last 5]
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime, timedelta

from pyspark.sql import SparkSession

from kol.lakehouse import sql_ts
from kol.settings import get_settings
from kol.spark import spark_session

log = logging.getLogger("kol.jobs.maintenance")
NAMESPACES = ("bronze", "silver", "gold")


def tables(
    spark: SparkSession, catalog: str, namespaces: tuple[str, ...] = NAMESPACES
) -> list[str]:
    existing = {r.namespace for r in spark.sql(f"SHOW NAMESPACES IN {catalog}").collect()}
    found = []
    for ns in namespaces:
        if ns in existing:
            found += [
                f"{ns}.{r.tableName}" for r in spark.sql(f"SHOW TABLES IN {catalog}.{ns}").collect()
            ]
    return found


def maintain(
    spark: SparkSession, catalog: str, table: str, older_than: datetime, retain_last: int
) -> dict[str, int]:
    expired = spark.sql(
        f"CALL {catalog}.system.expire_snapshots(table => '{table}', "
        f"older_than => TIMESTAMP '{sql_ts(older_than)}', retain_last => {retain_last})"
    ).first()
    rewritten = spark.sql(
        f"CALL {catalog}.system.rewrite_data_files(table => '{table}', "
        "options => map('min-input-files', '5'))"
    ).first()
    return {
        "expired_data_files": int(expired["deleted_data_files_count"]) if expired else 0,
        "rewritten_files": int(rewritten["rewritten_data_files_count"]) if rewritten else 0,
        "added_files": int(rewritten["added_data_files_count"]) if rewritten else 0,
    }


def run(older_than_days: float = 7, retain_last: int = 5) -> dict[str, dict[str, int]]:
    settings = get_settings()
    spark = spark_session("kol-maintenance", settings)
    cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
    cat = settings.iceberg_catalog_name
    return {t: maintain(spark, cat, t, cutoff, retain_last) for t in tables(spark, cat)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--older-than-days", type=float, default=7)
    parser.add_argument("--retain-last", type=int, default=5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for table, stats in run(args.older_than_days, args.retain_last).items():
        print(f"maintenance {table}: {stats}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
