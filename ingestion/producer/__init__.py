"""Sending events: contract check, dead-letter routing, Kafka producer, topic creation, summary.

Every producer of the platform (generator, importers, connectors) goes through an
:class:`EventSink`. A payload that passes its contract goes to its topic keyed
``platform:username``; one that fails goes to ``kol.dlq`` with the original payload, the
topic it was meant for and the reason. Either way it is counted, so that
counts in = sent + rejected (nothing is dropped silently).

Modules: ``routing`` (the contract check and the DLQ record), ``summary`` (the counts),
``sinks`` (dry run, JSONL, Kafka in this process or in child processes), ``kafka_python``
(the producer and admin clients, topic creation) and ``librdkafka`` (confluent-kafka
producers for the hot paths).
"""

from ingestion.producer.kafka_python import ensure_topics, make_admin, make_producer
from ingestion.producer.librdkafka import (
    make_rdkafka_producer,
    rdkafka_client_config,
    rdkafka_send,
)
from ingestion.producer.routing import Routed, dlq_record, route
from ingestion.producer.sinks import (
    DryRunSink,
    EventSink,
    JsonlSink,
    KafkaEventSink,
    ProcessKafkaSink,
)
from ingestion.producer.summary import SendSummary

__all__ = [
    "DryRunSink",
    "EventSink",
    "JsonlSink",
    "KafkaEventSink",
    "ProcessKafkaSink",
    "Routed",
    "SendSummary",
    "dlq_record",
    "ensure_topics",
    "make_admin",
    "make_producer",
    "make_rdkafka_producer",
    "rdkafka_client_config",
    "rdkafka_send",
    "route",
]
