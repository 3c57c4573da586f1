"""librdkafka (confluent-kafka) producers, for the paths where kafka-python costs too much."""

from __future__ import annotations

from typing import Any

from kol.settings import IngestSettings, Settings


def rdkafka_client_config(settings: Settings) -> dict[str, str]:
    """:meth:`~kol.settings.Settings.kafka_client_config` in librdkafka's property names."""
    client = settings.kafka_client_config()
    names = {
        "security_protocol": "security.protocol",
        "sasl_mechanism": "sasl.mechanism",
        "sasl_plain_username": "sasl.username",
        "sasl_plain_password": "sasl.password",
    }
    config = {"bootstrap.servers": ",".join(client.pop("bootstrap_servers"))}
    config.update({names[k]: str(v) for k, v in client.items()})
    return config


def make_rdkafka_producer(settings: Settings, ingest: IngestSettings, **overrides: Any) -> Any:
    """:func:`~ingestion.producer.kafka_python.make_producer`'s guarantees (idempotent,
    ``acks=all``, the batching settings) on librdkafka (confluent-kafka), for the paths where
    kafka-python's ~40 us of Python per send is the cost: the stream's outputs and the
    benchmark's load generator. The Java client's partitioner, so a key lands on the partition
    kafka-python would pick. ``overrides`` are librdkafka property names."""
    from confluent_kafka import Producer

    config: dict[str, Any] = {
        **rdkafka_client_config(settings),
        "client.id": "kol-ingest",
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": ingest.linger_ms,
        "compression.type": ingest.compression_type,
        "partitioner": "murmur2_random",
        "queue.buffering.max.messages": 1_000_000,
    }
    config.update(overrides)
    return Producer(config)


def rdkafka_send(
    producer: Any, topic: str, value: bytes, key: str | bytes | None, **kw: Any
) -> None:
    """``producer.produce``, waiting for deliveries to make room when the local queue is full."""
    while True:
        try:
            producer.produce(topic, value, key, **kw)
            return
        except BufferError:
            producer.poll(0.05)
