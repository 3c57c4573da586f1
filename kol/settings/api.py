"""The REST API's section (``KOL_API_*``): port and workers, cache TTLs, rate limits, request
bounds, the API key store and how models are served.

What it shares is read from the other sections, so the API reads where the other layers write:
the Gold schema (gold), the Redis key prefix and trending thresholds (stream), the registered
models' names and alias (ml).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from kol.settings.base import Section, SqlIdentifier, identifier

if TYPE_CHECKING:
    from kol.settings.stream import StreamSettings


class ApiSettings(Section):
    section = "api"
    model_config = SettingsConfigDict(
        env_prefix="KOL_API_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # ---- process -------------------------------------------------------------------------
    host: str | None = None  # default: the core bind_host
    port: int = Field(default=8000, gt=0, lt=65536)
    workers: int = Field(default=2, ge=1)
    access_log: bool = True
    log_level: str = "INFO"

    # ---- Gold (Trino) ----------------------------------------------------------------------
    # A hung Trino must turn into a 503 within seconds, not the client's 2-minute default.
    trino_timeout_s: float = Field(default=15.0, gt=0)
    # Cache misses run in threads; capping them keeps a burst of misses from queueing behind
    # each other in Trino and from starving the thread pool.
    trino_concurrency: int = Field(default=8, ge=1)
    # Which Gold tables and columns exist is looked up at most this often (optional features
    # such as gold.kol_scores or dim_kols.niche switch on when they appear).
    # It is a Trino metadata query from a worker thread, which stalls the event loop for a
    # moment (measured: p99 of cached routes x3 in the seconds it runs), so not too often.
    gold_probe_ttl_s: float = Field(default=300.0, ge=0)

    # ---- Redis: live data, response cache, rate limits ------------------------------------
    cache_enabled: bool = True
    cache_ttl_s: int = Field(default=300, ge=1)  # Gold changes daily; minutes are fresh enough
    negative_cache_ttl_s: int = Field(default=30, ge=1)  # "no such creator" answers
    # How long past its TTL an answer is still served while it is refreshed in the background
    # (stale while revalidate); 0 = an expired answer waits for Trino.
    cache_stale_s: int = Field(default=3600, ge=0)
    # Fresh Gold answers are also kept in each worker's memory this long (at most
    # cache_local_max of them): a hot creator page then costs no Redis round trip. 0 = off.
    cache_local_s: float = Field(default=5.0, ge=0)
    cache_local_max: int = Field(default=10_000, ge=1)
    # API reads must fail fast: a slow Redis is a down Redis for a request with a p99 budget.
    redis_timeout_s: float = Field(default=0.5, gt=0)
    # After a Redis failure, skip Redis for this long (live routes answer 503 at once, cached
    # routes go straight to Trino) instead of paying a timeout on every request.
    redis_retry_s: float = Field(default=1.0, ge=0)
    # Live answers (the trending ranking) are reused for this long per process: the stream job
    # commits a micro-batch every ~0.5-1 s, so a shorter reuse shows nothing newer, and under
    # load it saves most of a trending request's cost. 0 = read Redis on every request.
    live_cache_ms: int = Field(default=500, ge=0)
    alerts_scan_max: int = Field(default=2000, ge=1)

    # ---- rate limits ------------------------------------------------------------------------
    rate_limit_requests: int = Field(default=600, ge=1)  # per key and window; a key may override
    rate_limit_window_s: int = Field(default=60, ge=1)
    # Share of a key's limit a process claims from Redis at a time (see api.ratelimit).
    rate_limit_claim_share: float = Field(default=0.01, gt=0, le=1)

    # ---- API keys ---------------------------------------------------------------------------
    # PostgreSQL database (created when missing) holding schema "api" with the key hashes.
    keys_db: SqlIdentifier = "kol_api"
    keys_refresh_s: float = Field(default=5.0, gt=0)  # revocations apply within this long

    # ---- request bounds ---------------------------------------------------------------------
    # Larger request bodies get a 413 before they are read (a full batch is ~100 KB).
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    # /readyz answers from its last checks for this long: a load balancer polling it must not
    # cost a Trino query per call. 0 = check on every call.
    readyz_cache_s: float = Field(default=5.0, ge=0)
    default_page_size: int = Field(default=20, ge=1)
    max_page_size: int = Field(default=100, ge=1)
    max_offset: int = Field(default=100_000, ge=0)
    max_batch_size: int = Field(default=100, ge=1)
    max_timeseries_days: int = Field(default=366, ge=1)
    default_timeseries_days: int = Field(default=30, ge=1)
    # sort=trending ranks Gold's filtered creators by their live score in Python: cap the set.
    trending_sort_max: int = Field(default=10_000, ge=1)
    # Peers of a creator (/kols/.../peers) must have been seen within this many days before
    # the creator's latest day: creators no longer scraped do not set the benchmark.
    peer_window_days: int = Field(default=30, ge=1, le=3660)

    # ---- models -----------------------------------------------------------------------------
    models_enabled: bool = True
    model_poll_s: float = Field(default=60.0, gt=0)  # how often the alias is looked up
    # Prediction x scale = score 0-100 (100 for a model predicting a probability).
    model_output_scale: float = 100.0
    reasons_top_n: int = Field(default=3, ge=0)
    # LightGBM threads per prediction. The API's parallelism is its workers and requests; an
    # OpenMP pool per prediction of a row or a hundred costs more in spinning threads than it
    # saves (4x slower per row on a busy 2-core machine).
    model_threads: int = Field(default=1, ge=1)
    # Score bands, highest first: (label, lower bound). Used when the score source has no label.
    score_bands: list[tuple[str, float]] = [("high", 70.0), ("medium", 40.0), ("low", 0.0)]

    # ---- derived ----------------------------------------------------------------------------
    @property
    def bind_host(self) -> str:
        return self.host or self.core.bind_host

    @property
    def base_url(self) -> str:
        return f"http://{self.bind_host}:{self.port}"

    @property
    def stream(self) -> StreamSettings:
        return self.core.stream

    @property
    def gold_schema(self) -> str:
        return self.core.gold.schema_name

    # The models served are the ones ML registers (KOL_ML_*_MODEL_NAME, KOL_ML_ALIAS).
    @property
    def trust_model_name(self) -> str:
        return self.core.ml.trust_model_name

    @property
    def success_model_name(self) -> str:
        return self.core.ml.success_model_name

    @property
    def account_model_name(self) -> str:
        """Trust's account component."""
        return self.core.ml.account_model_name

    @property
    def model_alias(self) -> str:
        return self.core.ml.alias

    @property
    def redis_prefix(self) -> str:
        return self.stream.redis_prefix

    @property
    def alerts_key(self) -> str:
        """The Redis stream of recent alerts the stream job keeps (field "alert", JSON)."""
        return self.stream.alerts_key

    @property
    def gold_table_prefix(self) -> str:
        return f"{identifier(self.core.trino_catalog)}.{self.gold_schema}"


@lru_cache
def get_api_settings() -> ApiSettings:
    return ApiSettings()
