"""The ingestion section (``KOL_INGEST_*``): producing events, and the Kafka topic names every
layer uses (:func:`topic_name`)."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import SettingsConfigDict

from kol.settings.base import Section


class IngestSettings(Section):
    section = "ingest"
    model_config = SettingsConfigDict(
        env_prefix="KOL_INGEST_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # Prepended to every topic name (kol.videos.raw -> <prefix>kol.videos.raw). Empty in
    # normal use; tests and benchmarks set one so that runs never share topics.
    topic_prefix: str = ""
    # 1 on the single-node stack; 3 on a real cluster.
    replication_factor: int = 1
    # Batching: kafka-python spends most of its time per request, so larger batches with a
    # short linger raise throughput without adding noticeable latency in live mode.
    linger_ms: int = 100
    batch_size: int = 512 * 1024
    # lz4 is the cheapest codec in CPU for the JSON we send; "none" turns compression off.
    compression_type: str = "lz4"
    # Topic retention. Replayed history carries past record timestamps, which time-based
    # retention would delete within minutes; Bronze is the durable copy, so raw topics keep
    # everything by default (-1). Set e.g. 604800000 (7 days) on a real cluster.
    retention_ms: int = -1
    # How long to keep retrying the first connection to the brokers before giving up.
    connect_timeout_s: float = 60.0

    # The demo world (`kol demo`): history replayed into Kafka and loaded through the pipeline,
    # then the same creators live, paced, by the `producer` service of the local stack.
    demo_creators: int = 300
    demo_days: int = 35
    demo_seed: int = 42
    # ~12.5k events per simulated day for 300 creators: at 5/s a simulated day lasts ~40 min,
    # and the backdated first day gives the stream its half-hour trending baseline at once.
    live_rate: float = 5.0
    live_backdate_s: float = 2400.0


@lru_cache
def get_ingest_settings() -> IngestSettings:
    return IngestSettings()
