"""A deterministic simulation of creators on TikTok, YouTube and Instagram, as raw events.

Same seed, same events (ids, times, bytes), whatever the dirt rates or the sink. Each creator
has its own random streams, seeded from (seed, creator index), one for the world and one for the
dirt; so changing a dirt rate leaves the clean world unchanged, and any subset of creators (a
shard) yields exactly its share of the full stream.

The world: heavy-tailed follower counts, niches, posting schedules, videos whose counters grow
and saturate, comments in Vietnamese and English, shop products whose sales follow fresh views,
conversion of the niche and the audience's quality (real / total followers). Counts are emitted
as display strings the way scrapers see them ("11.3K", "1,2K" in Vietnamese locale).

Planted behaviours (bought followers, engagement pods, breakouts, decline, and the hard cases
that break their signatures) have ground truth in :meth:`World.labels`. Dirt, each at its own
rate: duplicates, late events and malformed events (:data:`FLAWS`).

Modules: ``config`` (what world to simulate, the presets), ``model`` (its state),
``creators`` (drawing the cast), ``behaviours`` (planted behaviours), ``world`` (the day by day
simulation), ``records`` (the records a scraper sends), ``events`` (an event and its flaws),
``labels`` (ground truth), ``delivery`` (replay or live pacing).
"""

from ingestion.generator.config import HARD_CASES, PRESETS, GeneratorConfig
from ingestion.generator.delivery import live, replay, scheduled
from ingestion.generator.events import FLAWS, SimEvent, apply_flaw, iso_time
from ingestion.generator.model import DAY, HOUR
from ingestion.generator.world import World

__all__ = [
    "DAY",
    "FLAWS",
    "HARD_CASES",
    "HOUR",
    "PRESETS",
    "GeneratorConfig",
    "SimEvent",
    "World",
    "apply_flaw",
    "iso_time",
    "live",
    "replay",
    "scheduled",
]
