"""The smoke path: proves the stack's parts work together, end to end, on a few rows.

Each step writes through one engine and reads back through the others, returning what was
written and what each reader saw; `kol demo` prints the steps, the integration tests assert on
them.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kol.iceberg import catalog
from kol.settings import Settings
from kol.trino import query

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

CREATORS = [
    (1, "tiktok", "alice", 11300),
    (2, "youtube", "bob", 1300000),
    (3, "instagram", "chi", 7),
]


@dataclass
class StepResult:
    step: str
    written: list[Any]
    read: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(rows == self.written for rows in self.read.values())


def _drop_tables(spark: SparkSession, cat: str, name: str) -> None:
    for row in spark.sql(f"SHOW TABLES IN {cat}.{name}").collect():
        spark.sql(f"DROP TABLE {cat}.{name}.{row.tableName} PURGE")


@contextlib.contextmanager
def scratch_namespace(
    spark: SparkSession, settings: Settings, name: str, keep: bool = False
) -> Iterator[str]:
    """An Iceberg namespace emptied before use, and dropped afterwards unless ``keep``."""
    cat = settings.iceberg_catalog_name
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {cat}.{name}")
    _drop_tables(spark, cat, name)
    try:
        yield name
    finally:
        if not keep:
            with contextlib.suppress(Exception):
                _drop_tables(spark, cat, name)
                spark.sql(f"DROP NAMESPACE {cat}.{name}")


def spark_writes_trino_and_pyiceberg_read(
    spark: SparkSession, settings: Settings, ns: str
) -> StepResult:
    table = f"{settings.iceberg_catalog_name}.{ns}.creators"
    df = spark.createDataFrame(
        CREATORS, "id INT, platform STRING, username STRING, followers BIGINT"
    )
    df.writeTo(table).using("iceberg").create()
    result = StepResult("Spark writes Iceberg; Trino and pyiceberg read", list(CREATORS))
    result.read["trino"] = query(
        settings, f"SELECT id, platform, username, followers FROM {ns}.creators ORDER BY id"
    )
    arrow = catalog(settings).load_table(f"{ns}.creators").scan().to_arrow().sort_by("id")
    columns = [arrow.column(c).to_pylist() for c in ("id", "platform", "username", "followers")]
    result.read["pyiceberg"] = list(zip(*columns, strict=True))
    return result


def trino_writes_spark_reads(spark: SparkSession, settings: Settings, ns: str) -> StepResult:
    rows = [(1, "Viral"), (2, "Cold")]
    query(settings, f"CREATE TABLE {ns}.from_trino (id INTEGER, label VARCHAR)")
    query(settings, f"INSERT INTO {ns}.from_trino VALUES (1, 'Viral'), (2, 'Cold')")
    got = spark.table(f"{settings.iceberg_catalog_name}.{ns}.from_trino").orderBy("id")
    return StepResult(
        "Trino writes Iceberg; Spark reads", rows, {"spark": [tuple(r) for r in got.collect()]}
    )


def kafka_round_trip(settings: Settings, topic: str, n: int = 20) -> StepResult:
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(**settings.kafka_client_config())
    try:
        admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        admin.close()
    sent = [{"event_id": f"e{i}", "n": i} for i in range(n)]
    producer = KafkaProducer(**settings.kafka_client_config(), acks="all")
    for ev in sent:
        producer.send(topic, key=str(ev["event_id"]).encode(), value=json.dumps(ev).encode())
    producer.flush()
    producer.close()

    consumer = KafkaConsumer(
        topic,
        **settings.kafka_client_config(),
        auto_offset_reset="earliest",
        consumer_timeout_ms=10_000,
    )
    got = []
    for msg in consumer:
        got.append(json.loads(msg.value))
        if len(got) == len(sent):
            break
    consumer.close()
    return StepResult(
        f"Kafka produce/consume on {topic}", sent, {"consumer": sorted(got, key=lambda e: e["n"])}
    )


def redis_round_trip(settings: Settings, key: str) -> StepResult:
    import redis

    r = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    scores = {"trust": "81.5", "label": "Highly Trusted"}
    r.hset(key, mapping=scores)  # type: ignore[arg-type]  # stubs: Mapping keys are invariant
    r.expire(key, 60)
    return StepResult("Redis hash write/read", [scores], {"redis": [r.hgetall(key)]})


def mlflow_round_trip(settings: Settings, name: str) -> StepResult:
    """Log a run, register a model version, give it the `champion` alias, load it back."""
    import mlflow
    from sklearn.linear_model import LogisticRegression

    mlflow.set_tracking_uri(settings.mlflow_login())
    mlflow.set_experiment(f"smoke-{name}")
    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    with mlflow.start_run() as run:
        mlflow.log_param("C", 1.0)
        mlflow.log_metric("auc", 0.93)
        info = mlflow.sklearn.log_model(model, name="model", registered_model_name=name)
    client = mlflow.MlflowClient()
    client.set_registered_model_alias(name, "champion", str(info.registered_model_version))
    champion = mlflow.sklearn.load_model(f"models:/{name}@champion")
    logged = client.get_run(run.info.run_id).data.metrics
    return StepResult(
        f"MLflow run {run.info.run_id[:8]}, model {name} v{info.registered_model_version}",
        [{"auc": 0.93, "versions": ["1"], "prediction": [1]}],
        {
            "mlflow": [
                {
                    "auc": logged["auc"],
                    "versions": [v.version for v in client.search_model_versions(f"name='{name}'")],
                    "prediction": champion.predict([[3.0]]).tolist(),
                }
            ]
        },
    )
