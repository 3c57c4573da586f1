"""The hot path's section (``KOL_STREAM_*``): time scales, score and alert constants, TTLs, the
Redis key prefix every reader of the live state uses, and where the job keeps its checkpoint.

Topic names follow the ingest section's ``topic_prefix`` (input and output topics alike, so a
test run never shares topics with another); the live trust model is the ML section's account
component.

All durations are event-time seconds unless the name says ``wall``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from kol.settings.base import Section
from kol.topics import ALERTS_TOPIC, SCORES_TOPIC

if TYPE_CHECKING:
    from kol.settings.root import Settings


class StreamSettings(Section):
    section = "stream"
    model_config = SettingsConfigDict(
        env_prefix="KOL_STREAM_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # ---- time scales ---------------------------------------------------------------------
    # Sliding windows of `window_s` every `slide_s`; a window is the sum of window_s / slide_s
    # buckets of slide_s, so both must divide evenly.
    window_s: int = Field(default=300, gt=0)
    slide_s: int = Field(default=60, gt=0)
    # Events older than (latest event time seen - watermark_s) are late: counted, not windowed.
    watermark_s: int = Field(default=120, ge=0)
    # How often a micro-batch starts (when the previous one is done); 0 = back to back.
    trigger_ms: int = Field(default=500, ge=0)
    # Cap per micro-batch (None: whatever is available). Bounds a batch's latency after a
    # backlog, and makes bounded test runs take several batches.
    max_offsets_per_trigger: int | None = None
    # Where a fresh checkpoint starts reading: "earliest" so nothing already in the topics is
    # skipped; the checkpoint decides on every later start.
    starting_offsets: str = "earliest"

    # ---- trending score (see streaming.score) --------------------------------------------
    # Baseline: the mean engagement of this many windows before the current one.
    baseline_windows: int = Field(default=6, ge=1)
    # Momentum: the trend of log engagement across this many consecutive sliding windows.
    momentum_windows: int = Field(default=5, ge=2)
    momentum_weight: float = 0.5
    # Engagement units per counter: each counter contributes about equally on a typical video
    # (likes ~8 % of views, comments and shares ~0.4 %), so no single one drowns the others.
    weight_views: float = 1.0
    weight_likes: float = 10.0
    weight_comments: float = 100.0
    weight_shares: float = 100.0
    # Pseudo-engagement added to both sides of the velocity ratio: tiny creators need real
    # volume before a ratio counts.
    engagement_prior: float = Field(default=100.0, gt=0)
    # Damping: events / (events + damping_events); 5 events in the window = half strength.
    damping_events: float = Field(default=5.0, gt=0)
    # ln(8) = 2.08 -> score 80: a fully damped-in 8x velocity is exactly "Viral".
    score_scale: float = Field(default=3.0, gt=0)
    viral_at: float = 80.0
    hot_at: float = 60.0
    stable_at: float = 40.0
    cooling_at: float = 20.0
    # A video first seen this young counts its counters as new engagement; an older one only
    # sets the baseline (otherwise starting the job would make every old video "spike").
    fresh_video_s: int = 6 * 3600

    # ---- alerts (see streaming.alerts) ---------------------------------------------------
    follower_jump_sigmas: float = 4.0
    follower_history: int = Field(default=20, ge=2)
    follower_min_history: int = Field(default=2, ge=1)
    # Floor of the standard deviation as a share of followers: display counts are rounded
    # ("11.3K"), so a steady creator's deltas can have a standard deviation of 0.
    follower_sigma_floor: float = 0.005
    spike_ratio: float = 5.0
    spike_min_engagement: float = 1000.0
    spike_min_coverage: float = 0.5
    burst_min_comments: int = 10

    # ---- retention -----------------------------------------------------------------------
    video_ttl_s: int = 14 * 86400  # forget a video's counters after this long unseen
    state_ttl_s: int = 3 * 86400  # forget a creator after this long without events
    rank_ttl_s: int = 86400  # drop a creator from the rankings after this long without events
    # Redis EXPIRE (wall clock) on output hashes and rankings, so a stopped job leaves no
    # stale scores behind for ever.
    hash_ttl_wall_s: int = 86400
    state_ttl_wall_s: int = 7 * 86400

    # ---- sinks ---------------------------------------------------------------------------
    redis_prefix: str = "kol:"
    # Recent alerts, also kept in Redis for the API: a capped stream <prefix><alerts_key>
    # whose entries hold the alert's JSON in the field "alert".
    alerts_key: str = "alerts"
    alerts_maxlen: int = Field(default=10_000, ge=1)
    scores_topic: str = SCORES_TOPIC
    alerts_topic: str = ALERTS_TOPIC
    # Events stamped further than this in the future are rejected: one bad clock must not
    # push the watermark ahead and make every other event "late".
    max_future_s: int = 3600

    # ---- live trust scoring --------------------------------------------------------------
    trust_enabled: bool = True
    trust_refresh_wall_s: int = 600  # look for a newly promoted champion this often
    # Prediction x scale = trust 0-100: 100 for a model predicting P(genuine audience).
    trust_output_scale: float = 100.0

    # ---- process -------------------------------------------------------------------------
    query_name: str = "kol_trending"
    # The job's own master, None for the stack's (KOL_SPARK_MASTER). More task slots than
    # cores: a task reading Kafka spends most of its time waiting for fetches, and the stream's
    # tasks do nothing else (bench/README.md).
    spark_master: str | None = "local[6]"
    # Processes that check a micro-batch's records beside the driver (0: the driver alone);
    # see streaming.events.ParallelParser.
    check_workers: int = Field(default=1, ge=0)
    # Batches of at least this many events are written to Kafka and Redis while Spark reads the
    # next batch (streaming.handler.BatchHandler); smaller ones before foreachBatch returns, where
    # a writer thread would only compete with the next batch for the interpreter.
    write_behind_min_events: int = Field(default=50_000, ge=0)
    # Spark settings of the job's own session, on top of kol.spark's. The file-system
    # checkpoint manager writes the offset and commit logs without Hadoop's FileContext
    # permission calls, which fork a shell per file without the native Hadoop library.
    spark_conf: dict[str, str] = {
        "spark.sql.streaming.checkpointFileManagerClass": (
            "org.apache.spark.sql.execution.streaming.checkpointing."
            "FileSystemBasedCheckpointFileManager"
        ),
        # Not the batch jobs' options (kol.spark.BATCH_JAVA_OPTIONS): the JVM's default
        # collector (G1), whose short pauses suit the stream's latency goal better than the
        # parallel collector's throughput does for Silver.
        "spark.driver.extraJavaOptions": "",
    }
    checkpoint_dir: Path | None = None  # default: $KOL_HOME/checkpoints/stream
    # Written by the running job every few seconds; `kol stream status` and the service's
    # health read it. Default: $KOL_HOME/run/stream.progress.json
    progress_path: Path | None = None
    # Optional: append every event's Kafka-to-Redis latency (float32 seconds) to this file.
    latency_log: Path | None = None

    @model_validator(mode="after")
    def _check(self) -> StreamSettings:
        if self.window_s % self.slide_s:
            raise ValueError("window_s must be a multiple of slide_s")
        if not self.viral_at > self.hot_at > self.stable_at > self.cooling_at:
            raise ValueError("label thresholds must decrease: viral > hot > stable > cooling")
        return self

    @property
    def trust_model_name(self) -> str:
        """Trust's account component: the one whose inputs a profile event carries."""
        return self.core.ml.account_model_name

    @property
    def trust_model_alias(self) -> str:
        return self.core.ml.alias

    @property
    def window_buckets(self) -> int:
        return self.window_s // self.slide_s

    def checkpoint(self, settings: Settings) -> Path:
        return self.checkpoint_dir or settings.home / "checkpoints" / "stream"

    def progress_file(self, settings: Settings) -> Path:
        return self.progress_path or settings.run_dir / "stream.progress.json"


@lru_cache
def get_stream_settings() -> StreamSettings:
    return StreamSettings()
