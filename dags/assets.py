"""Assets the DAGs share: one declaration each, so producer and consumer cannot drift apart."""

from __future__ import annotations

from airflow.sdk import Asset

# Gold for a day is built and gated; scoring and retraining wait for it.
GOLD_READY = Asset(name="kol_gold_ready", uri="iceberg://kol/gold")
