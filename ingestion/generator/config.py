"""What world to simulate: its size, seed, dirt rates, planted shares, and the named presets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# The hard preset's knobs (see GeneratorConfig); each is 0 in the default (easy) world.
HARD_CASES: dict[str, float] = {
    "organic_spike_share": 0.10,
    "drip_fed_share": 0.5,
    "stealth_bot_share": 0.5,
    "stealth_pod_share": 0.5,
    "weak_engagement_share": 0.08,
    "label_noise": 0.05,
}


@dataclass(frozen=True)
class GeneratorConfig:
    creators: int = 200
    days: int = 7
    seed: int = 42
    start: datetime = datetime(2025, 1, 1, tzinfo=UTC)
    duplicate_rate: float = 0.01
    late_rate: float = 0.02
    malformed_rate: float = 0.005
    # A scraper sometimes cannot read a counter ("—"): valid, missing, not malformed.
    missing_rate: float = 0.005
    max_late_hours: float = 48.0
    bought_followers_share: float = 0.06
    pod_share: float = 0.08
    viral_share: float = 0.05
    declining_share: float = 0.08
    shop_share: float = 0.45
    vietnamese_share: float = 0.6
    # Videos are posted this many days before `start` so the first day already has history.
    warmup_days: int = 5
    # At most this many comment events per video between two snapshots (a scraper samples).
    comment_cap: int = 6
    # Planted behaviours (bought followers, breakouts) start within the first this many days
    # (default: anywhere in the world). A live demo sets 2 so they happen while someone looks.
    plant_within_days: int | None = None
    # Hard cases, all off here (GeneratorConfig.hard() turns them on). Organic spikes and weak
    # engagement are shares of all creators, drip-fed purchases and stealth bots of the
    # bought-follower creators, stealth pods of the pods; label_noise is the share of written
    # labels that are wrong (the truth stays in the label row).
    organic_spike_share: float = 0.0
    drip_fed_share: float = 0.0
    stealth_bot_share: float = 0.0
    stealth_pod_share: float = 0.0
    weak_engagement_share: float = 0.0
    label_noise: float = 0.0

    @classmethod
    def hard(cls, **overrides: Any) -> GeneratorConfig:
        """The default world plus every hard case (:data:`HARD_CASES`); overrides win."""
        return cls(**{**HARD_CASES, **overrides})

    @property
    def hard_cases(self) -> bool:
        return any(getattr(self, name) > 0 for name in HARD_CASES)

    def __post_init__(self) -> None:
        if self.creators < 1 or self.days < 1:
            raise ValueError("creators and days must be >= 1")
        for name in ("duplicate_rate", "late_rate", "malformed_rate", "missing_rate", *HARD_CASES):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if self.plant_within_days is not None and self.plant_within_days < 1:
            raise ValueError("plant_within_days must be >= 1")

    def last_plant_day(self) -> int:
        """The last day a planted behaviour may start on, leaving its aftermath in the world."""
        last = max(1, self.days - 2)
        if self.plant_within_days is not None:
            last = max(1, min(last, self.plant_within_days - 1))
        return last


# Named worlds for the CLI and notebooks: easy = one signature per behaviour, hard = the hard cases.
PRESETS: dict[str, GeneratorConfig] = {"easy": GeneratorConfig(), "hard": GeneratorConfig.hard()}
