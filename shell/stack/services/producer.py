"""The live producer as a supervised service of the local stack (``kol stack up producer``).

It replays the demo world's creators live into the raw topics at a modest pace (`kol ingest
generate --mode live`), so the streaming job, the API and the dashboard have something moving.
Its first ``live_backdate_s`` are sent at once, stamped in the past: the stream gets its trending
baseline immediately. Planted breakouts and bought followers start on the second simulated day,
that is as soon as the backdated first day has been sent.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ingestion.demo_world import load_world
from kol.settings import REPO_ROOT, IngestSettings, Settings, get_ingest_settings
from shell.stack.services.base import Health, Service

# Healthy when an event was delivered this recently (the pace is a few events a second).
FRESH_S = 60.0


class LiveProducerService(Service):
    name = "producer"
    requires = ("kafka",)

    def __init__(self, settings: Settings, ingest: IngestSettings | None = None) -> None:
        super().__init__(settings)
        self.ingest = ingest or get_ingest_settings()

    @property
    def address(self) -> str:
        return f"{self.ingest.live_rate:g} events/s -> {self.s.kafka_bootstrap}"

    def ports(self) -> list[int]:
        return []

    def cwd(self) -> Path | None:
        return REPO_ROOT

    @property
    def labels_file(self) -> Path:
        # Not in the generator's labels folder: the models train on the history world's labels.
        return self.s.data_dir / "live" / "labels.jsonl"

    def command(self) -> list[str]:
        i = self.ingest
        world = load_world(self.s, i)
        today = time.strftime("%Y-%m-%d", time.gmtime())
        return [
            sys.executable,
            "-m",
            "ingestion.cli",
            "generate",
            "--mode",
            "live",
            "--creators",
            str(world.creators),
            "--seed",
            str(world.seed),
            "--start-date",
            today,
            "--rate",
            f"{i.live_rate:g}",
            "--backdate",
            f"{i.live_backdate_s:g}",
            "--plant-within-days",
            "2",
            "--labels",
            str(self.labels_file),
        ]

    def health(self) -> Health:
        """Delivering: the newest record of the videos topic was stamped within :data:`FRESH_S`.

        The newest record, not "any record stamped since": replayed history is stamped with its
        simulated arrival, and a late event of a world ending yesterday arrives in the future.
        """
        from kafka import KafkaConsumer, TopicPartition

        from kol.topics import VIDEOS_TOPIC

        topic = f"{self.ingest.topic_prefix}{VIDEOS_TOPIC}"
        try:
            consumer = KafkaConsumer(
                **self.s.kafka_client_config(),
                request_timeout_ms=5000,
                bootstrap_timeout_ms=5000,
                consumer_timeout_ms=3000,
                enable_auto_commit=False,
            )
        except Exception as exc:
            return Health(False, f"Kafka: {type(exc).__name__}: {exc}")
        try:
            tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
            if not tps:
                return Health(False, f"no topic {topic} yet")
            ends = consumer.end_offsets(tps)
            tps = [tp for tp in tps if ends[tp] > 0]
            consumer.assign(tps)
            for tp in tps:
                consumer.seek(tp, ends[tp] - 1)
            newest = 0
            for batch in consumer.poll(timeout_ms=3000, max_records=len(tps) * 10).values():
                newest = max([newest, *(r.timestamp for r in batch)])
            now = time.time()
            age = now - newest / 1000
            if -5 <= age <= FRESH_S:
                return Health(True, f"newest event in {topic} is {age:.0f}s old")
            return Health(False, f"nothing delivered to {topic} for {FRESH_S:.0f}s")
        except Exception as exc:
            return Health(False, f"Kafka: {type(exc).__name__}: {exc}")
        finally:
            consumer.close()
