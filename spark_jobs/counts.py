"""The display-count rule of :mod:`ingestion.counts`, as Spark functions.

Same rule, second engine. Silver parses millions of counts, so the rule runs in the JVM, not in
a Python UDF: ``infra/maven/spark-udf`` (``io.kolplatform.spark.DisplayCounts``), built by
``make setup`` into the Spark jar folder. It used to be Catalyst expressions, about eight regex
evaluations and a CASE per field; a profile's nine count fields then generated methods so
large that compiling them took longer than parsing a day of records, and the JVM function parses
the same records 3-5x faster with identical results. Both implementations are tested against
``ingestion/count_cases.csv``; when the rule changes, change both and the table.

Each transform adds a struct ``(value, error)``: ``value`` is null when the source had no
value or when it could not be parsed, ``error`` says why it could not (null otherwise), so a
caller can route the row to ``silver.rejects`` instead of silently writing 0.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_jobs import functions
from spark_jobs.functions import COUNT_FUNCTION, PERCENT_FUNCTION


def _call(df: DataFrame, function: str, raw: str, out: str) -> DataFrame:
    functions.register(df.sparkSession)
    return df.withColumn(out, F.call_function(function, F.col(raw).cast("string")))


def with_count(df: DataFrame, raw: str, out: str) -> DataFrame:
    """Add ``out``: struct<value: bigint, error: string> parsed from the string column ``raw``."""
    return _call(df, COUNT_FUNCTION, raw, out)


def with_percent(df: DataFrame, raw: str, out: str) -> DataFrame:
    """Add ``out``: struct<value: double, error: string>; "1.39%" -> 0.0139."""
    return _call(df, PERCENT_FUNCTION, raw, out)
