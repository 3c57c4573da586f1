"""The stack's parts work together: one Iceberg catalog seen by Spark, Trino and pyiceberg;
Kafka, Redis and MLflow answer the platform's own clients."""

from __future__ import annotations

from kol.settings import Settings
from shell import smoke


def test_spark_writes_trino_and_pyiceberg_read_the_same_rows(spark, settings, unique):  # type: ignore[no-untyped-def]
    with smoke.scratch_namespace(spark, settings, f"smoke_{unique}") as ns:
        result = smoke.spark_writes_trino_and_pyiceberg_read(spark, settings, ns)
    assert result.read["trino"] == smoke.CREATORS
    assert result.read["pyiceberg"] == smoke.CREATORS


def test_trino_writes_spark_reads(spark, settings, unique):  # type: ignore[no-untyped-def]
    with smoke.scratch_namespace(spark, settings, f"smoke_{unique}") as ns:
        result = smoke.trino_writes_spark_reads(spark, settings, ns)
    assert result.read["spark"] == [(1, "Viral"), (2, "Cold")]


def test_kafka_round_trip(settings: Settings, unique: str) -> None:
    result = smoke.kafka_round_trip(settings, f"kol.smoke.{unique}", n=50)
    assert len(result.written) == 50
    assert result.read["consumer"] == result.written


def test_redis_round_trip(settings: Settings, unique: str) -> None:
    result = smoke.redis_round_trip(settings, f"kol:smoke:{unique}")
    assert result.read["redis"] == [{"trust": "81.5", "label": "Highly Trusted"}]


def test_mlflow_logs_a_run_and_registers_a_champion(settings: Settings, unique: str) -> None:
    result = smoke.mlflow_round_trip(settings, f"smoke_model_{unique}")
    assert result.read["mlflow"] == [{"auc": 0.93, "versions": ["1"], "prediction": [1]}]
