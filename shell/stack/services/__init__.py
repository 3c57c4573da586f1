"""The local stack's services: how each is configured, started and health-checked.

One module per service, all built on :mod:`shell.stack.services.base`; this module lists them,
in start order, for the supervisor (``shell.stack.manager``) and ``kol stack``.
"""

from __future__ import annotations

from kol.settings import Settings
from shell.stack.services.airflow import (
    AirflowApi,
    AirflowDagProcessor,
    AirflowScheduler,
    AirflowTriggerer,
)
from shell.stack.services.api import ApiService
from shell.stack.services.base import Service
from shell.stack.services.dashboard import DashboardService
from shell.stack.services.kafka import Kafka
from shell.stack.services.mlflow import MLflow
from shell.stack.services.postgres import Postgres
from shell.stack.services.producer import LiveProducerService
from shell.stack.services.redis import Redis
from shell.stack.services.spark_connect import SparkConnect
from shell.stack.services.stream import StreamService
from shell.stack.services.trino import Trino

# `kol stack up` starts all but the optional ones, the API and the dashboard included; the
# streaming job only when asked (`--with-stream` or `kol stream start`), since it holds a Spark
# JVM for as long as it runs.
SERVICE_CLASSES: tuple[type[Service], ...] = (
    Postgres,
    Redis,
    Kafka,
    Trino,
    MLflow,
    SparkConnect,
    AirflowApi,
    AirflowScheduler,
    AirflowDagProcessor,
    AirflowTriggerer,
    ApiService,
    StreamService,
    DashboardService,
    LiveProducerService,
)
# The live producer is the demo's paced load (`kol demo` starts it; `kol stack down` stops it).
OPTIONAL_SERVICES: frozenset[str] = frozenset({"stream", "producer"})


def all_services(settings: Settings) -> dict[str, Service]:
    """Every service the stack knows, in start order (optional ones included)."""
    return {cls.name: cls(settings) for cls in SERVICE_CLASSES}
