"""Kafka: one KRaft node (broker and controller) holding the raw event topics."""

from __future__ import annotations

import base64
import shutil
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

from shell.stack.services.base import (
    Health,
    Service,
    ServiceError,
    properties,
    write_config,
    write_private,
)


def kafka_cluster_id(new_uuid: Callable[[], uuid.UUID] = uuid.uuid4) -> str:
    """A random KRaft cluster id: a UUID in URL-safe base64, as `kafka-storage random-uuid` prints.

    One id in 64 would start with "-", which the storage tool's argument parser reads as an
    option; Kafka's own `Uuid.randomUuid()` draws again in that case, and so does this.
    """
    while True:
        text = base64.urlsafe_b64encode(new_uuid().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


class Kafka(Service):
    name = "kafka"

    @property
    def address(self) -> str:
        return self.s.kafka_bootstrap

    def ports(self) -> list[int]:
        return [self.s.kafka_port, self.s.kafka_controller_port]

    @property
    def config_file(self) -> Path:
        return self.s.home / "conf" / "kafka" / "server.properties"

    @property
    def log4j_file(self) -> Path:
        return self.s.home / "conf" / "kafka" / "log4j2.properties"

    def _java(self, main: str, *args: str) -> list[str]:
        libs = self.s.jars_dir / "kafka"
        if not any(libs.glob("kafka_2.13-*.jar")):
            raise ServiceError(f"kafka: no Kafka jars in {libs} (run `make setup`)")
        return [
            shutil.which("java") or "java",
            f"-Xmx{self.s.kafka_heap}",
            f"-Xms{self.s.kafka_heap}",
            "-XX:+UseG1GC",
            f"-Dlog4j2.configurationFile={self.log4j_file}",
            f"-Dkafka.logs.dir={self.s.log_dir}",
            "-cp",
            f"{libs}/*",
            main,
            *args,
        ]

    def _auth_props(self) -> dict[str, object]:
        """SASL/PLAIN on both listeners (CLIENT and CONTROLLER) with one user, kafka_user,
        that the broker also authenticates as (to itself, as broker and as controller);
        unauthenticated listeners when kafka_password is an empty string."""
        s = self.s
        if not s.kafka_auth:
            return {"listener.security.protocol.map": "CONTROLLER:PLAINTEXT,CLIENT:PLAINTEXT"}
        assert s.kafka_password is not None
        jaas = s.kafka_jaas_config(**{f"user_{s.kafka_user}": s.kafka_password.get_secret_value()})
        return {
            "listener.security.protocol.map": "CONTROLLER:SASL_PLAINTEXT,CLIENT:SASL_PLAINTEXT",
            "sasl.enabled.mechanisms": "PLAIN",
            "sasl.mechanism.inter.broker.protocol": "PLAIN",
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.client.plain.sasl.jaas.config": jaas,
            "listener.name.controller.plain.sasl.jaas.config": jaas,
        }

    def prepare(self) -> None:
        h, s = self.s.bind_host, self.s
        # 0600: with SASL it holds the password (the JAAS lines).
        write_private(
            self.config_file,
            properties(
                {
                    "process.roles": "broker,controller",
                    "node.id": 1,
                    "controller.quorum.bootstrap.servers": f"{h}:{s.kafka_controller_port}",
                    "listeners": f"CLIENT://{h}:{s.kafka_port},"
                    f"CONTROLLER://{h}:{s.kafka_controller_port}",
                    "advertised.listeners": f"CLIENT://{h}:{s.kafka_port},"
                    f"CONTROLLER://{h}:{s.kafka_controller_port}",
                    "controller.listener.names": "CONTROLLER",
                    "inter.broker.listener.name": "CLIENT",
                    **self._auth_props(),
                    "log.dirs": self.data_dir,
                    "num.partitions": s.kafka_default_partitions,
                    "auto.create.topics.enable": "true",
                    # single node: every internal topic has exactly one replica
                    "offsets.topic.replication.factor": 1,
                    "transaction.state.log.replication.factor": 1,
                    "transaction.state.log.min.isr": 1,
                    "share.coordinator.state.topic.replication.factor": 1,
                    "share.coordinator.state.topic.min.isr": 1,
                    "group.initial.rebalance.delay.ms": 0,
                    # Replayed history carries past timestamps; time-based retention would
                    # delete it at once. Bronze is the durable copy, so the local broker keeps all.
                    "log.retention.ms": -1,
                    # Kafka 4 refuses records stamped over an hour ahead, and the whole batch
                    # they are in. A replayed world that ends yesterday has late events whose
                    # simulated arrival is still ahead; they wait there for that day's run.
                    "log.message.timestamp.after.max.ms": 2**63 - 1,
                }
            ),
        )
        write_config(
            self.log4j_file,
            "status = warn\n"
            "appender.out.type = Console\nappender.out.name = STDOUT\n"
            "appender.out.layout.type = PatternLayout\n"
            "appender.out.layout.pattern = [%d] %p %m (%c)%n\n"
            "rootLogger.level = INFO\nrootLogger.appenderRef.out.ref = STDOUT\n"
            "logger.kafka.name = kafka\nlogger.kafka.level = WARN\n"
            "logger.state.name = state.change.logger\nlogger.state.level = WARN\n",
        )
        if (self.data_dir / "meta.properties").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cluster_id = kafka_cluster_id()
        result = subprocess.run(
            self._java(
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "-t",
                cluster_id,
                "-c",
                str(self.config_file),
            ),
            capture_output=True,
            text=True,
        )
        with open(self.log_file, "a") as log:
            log.write(result.stdout + result.stderr)
        if result.returncode != 0:
            raise ServiceError(
                f"kafka: formatting storage in {self.data_dir} failed:\n{result.stderr[-2000:]}"
            )

    def command(self) -> list[str]:
        return self._java("kafka.Kafka", str(self.config_file))

    def health(self) -> Health:
        from kafka import KafkaAdminClient

        try:
            admin = KafkaAdminClient(
                **self.s.kafka_client_config(),
                request_timeout_ms=3000,
                # The client waits 30 s for a broker by default: `kol stack status` on a
                # stopped stack would wait that long to say so.
                bootstrap_timeout_ms=3000,
                client_id="kol-health",
            )
            try:
                cluster = admin.describe_cluster()
            finally:
                admin.close()
            return Health(
                True,
                f"cluster {cluster.get('cluster_id')}, {len(cluster.get('brokers', []))} broker(s)",
            )
        except Exception as exc:
            return Health(False, f"{type(exc).__name__}: {exc}")
