from __future__ import annotations

from collections.abc import Iterator

import pytest
from pyspark.sql import SparkSession

from kol.settings import get_settings
from kol.spark import UDF_JAR


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """A bare local session: transforms are tested on tiny inline DataFrames, no catalog.

    It carries the platform's own Spark functions (the count rule, the JSON reader), which
    `make setup` builds.
    """
    udf_jar = get_settings().spark_jars / UDF_JAR
    if not udf_jar.exists():
        pytest.fail(f"{udf_jar} is missing: run `make setup` (Maven builds it)")
    session = (
        SparkSession.builder.master("local[1]")
        .config("spark.jars", str(udf_jar))
        .appName("kol-unit")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
