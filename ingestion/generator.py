"""A deterministic simulation of creators on TikTok, YouTube and Instagram, as raw events.

Same seed, same events (ids, times, bytes), whatever the dirt rates or the sink. Each creator
has its own random streams, seeded from (seed, creator index), one for the world and one for the
dirt; so changing a dirt rate leaves the clean world unchanged, and any subset of creators (a
shard) yields exactly its share of the full stream.

The world: heavy-tailed follower counts, niches, posting schedules, videos whose counters grow
and saturate, comments in Vietnamese and English, shop products whose sales follow fresh views,
conversion of the niche and the audience's quality (real / total followers). Counts are emitted
as display strings the way scrapers see them ("11.3K", "1,2K" in Vietnamese locale).

Planted behaviours, with ground truth in :meth:`World.labels`:

* ``bought_followers``: fake followers added in 1-3 steps on consecutive days; views do not
  follow (fake accounts do not watch), so engagement is low for the size; bursts of
  near-duplicate bot comments on later videos; sales per follower collapse.
* ``engagement_pod``: a group of creators and associate accounts comments on every member's
  video within minutes, with interchangeable warm lines; comments and likes per view are high.
* ``viral_breakout``: one video gets 50-200x the usual views, trends for days, followers surge.
* ``declining``: followers shrink, reach and posting frequency fall day after day.

Each of those has one signature, so a model trained on them can just learn the generator's rules.
The hard cases (off by default; :meth:`GeneratorConfig.hard` turns them on) break the
signatures the way real fraud and real audiences do:

* ``organic_spike`` (``spike_cause`` giveaway | shoutout | ad): a genuine creator gains as many
  followers in a day or two as a purchase would add; giveaway followers barely watch or engage.
* ``drip_fed``: a purchase delivered over 7-20 days of 2-8% each: no step stands out.
* ``stealth_bots``: bot comments with templated, varied text and handles like anyone's, spread
  over hours.
* ``stealth_pod``: a pod commenting over hours, in everyday words, partly from accounts never seen
  before.
* ``weak_engagement``: a genuine creator whose audience rarely watches, likes or comments.
* label noise: the written label is wrong for a share of creators, as reviewers' labels are; each
  label row keeps the truth beside it (``true_behaviours``).

The hard cases draw from streams of their own, so turning them on leaves every creator without
one exactly as it was, and the default world byte for byte as it always was.

Dirt, each at its own rate: duplicates (same bytes, re-sent minutes later), late events
(held back up to ``max_late_hours``, hence out of order) and malformed events, each made to fail
its contract in one of several ways (:data:`FLAWS`).
"""

from __future__ import annotations

import hashlib
import heapq
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson

from ingestion import corpus
from ingestion.contracts import (
    COMMENTS_TOPIC,
    DISCOVERY_TOPIC,
    EVENT_TYPES,
    PLATFORMS,
    PRODUCTS_TOPIC,
    PROFILES_TOPIC,
    VIDEOS_TOPIC,
    event_key,
)
from ingestion.counts import format_count

_T = TypeVar("_T")

DAY = 86_400.0
HOUR = 3_600.0
# Ages (hours) at which a scraper revisits a video: often while it is fresh, rarely after.
SNAPSHOT_AGES_H = (1, 3, 6, 12, 24, 36, 48, 72, 96, 120, 168, 240, 336, 504, 720)
MISSING_DISPLAYS = ("—", "", "N/A")
FAKE_SURVIVAL_PER_DAY = 0.998  # platforms purge a few fake accounts every day

PLATFORM_WEIGHTS = {"tiktok": 0.5, "instagram": 0.3, "youtube": 0.2}


@dataclass(frozen=True, slots=True)
class PlatformParams:
    reach: float  # views of a video per real follower, median
    like_rate: float  # likes per view
    comment_rate: float
    share_rate: float
    posts_per_day: tuple[float, float]
    follower_style: str  # display style of profile counts (see counts.format_count)
    view_style: str


PLATFORM_PARAMS = {
    "tiktok": PlatformParams(0.25, 0.08, 0.004, 0.004, (0.5, 2.5), "short", "short"),
    "instagram": PlatformParams(0.12, 0.09, 0.005, 0.002, (0.3, 1.5), "short", "full"),
    "youtube": PlatformParams(0.08, 0.035, 0.003, 0.001, (0.1, 0.7), "short3", "full"),
}

COUNT_TOPICS = (PROFILES_TOPIC, VIDEOS_TOPIC, PRODUCTS_TOPIC)
_COMMON_FLAWS = (
    "missing_username",
    "missing_event_id",
    "empty_username",
    "bad_platform",
    "bad_time",
    "wrong_type",
    "truncated",
    "not_object",
)
FLAWS: dict[str, tuple[str, ...]] = {
    PROFILES_TOPIC: (*_COMMON_FLAWS, "bad_count"),
    VIDEOS_TOPIC: (*_COMMON_FLAWS, "bad_count", "missing_video_id"),
    COMMENTS_TOPIC: (*_COMMON_FLAWS, "missing_video_id"),
    PRODUCTS_TOPIC: (*_COMMON_FLAWS, "bad_count"),
    DISCOVERY_TOPIC: _COMMON_FLAWS,
}
_RAW_FIELD = {
    PROFILES_TOPIC: "followers_raw",
    VIDEOS_TOPIC: "view_count_raw",
    PRODUCTS_TOPIC: "sold_count_raw",
}
_BAD_COUNTS = ("12..5K", "abc", "1.2.3M", "-40", "1,23,456")
_BAD_PLATFORMS = ("TikTok", "facebook", "tiktok ", "yt")


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


# Named worlds for the CLI and notebooks: easy = one signature per behaviour, hard = the hard cases.
PRESETS: dict[str, GeneratorConfig] = {"easy": GeneratorConfig(), "hard": GeneratorConfig.hard()}


@dataclass(frozen=True, slots=True)
class SpikeCause:
    size: tuple[float, float]  # followers gained, as a share of the audience before
    tau: float  # days over which the newcomers arrive (exponential decay)
    watch: float  # how often a newcomer watches, relative to a follower who chose the creator
    engage: float  # how often a newcomer who watches likes or comments, relative likewise


# Giveaways and shoutouts add as many followers as a purchase does (0.8-3x), so the size of a
# jump alone cannot tell them apart; giveaway entrants followed for a prize, not the content.
SPIKE_CAUSES = {
    "giveaway": SpikeCause((0.3, 2.0), 0.8, 0.3, 0.3),
    "shoutout": SpikeCause((0.3, 2.0), 0.4, 0.7, 0.9),
    "ad": SpikeCause((0.2, 1.0), 2.0, 0.5, 0.7),
}


@dataclass(frozen=True, slots=True)
class OrganicSpike:
    cause: str
    day: int
    gain: float


# ---- world state ----------------------------------------------------------------------------


@dataclass(slots=True)
class Product:
    product_id: str
    title: str
    seller_id: str
    price: float
    currency: str
    category: str
    appeal: float
    sold: float = 0.0
    last_video: Any = None  # the latest Video featuring it


@dataclass(slots=True)
class Video:
    video_id: str
    url: str
    caption: str
    published: float
    v_final: float
    tau: float
    like_rate: float
    comment_rate: float
    share_rate: float
    jitter: float
    product: Product | None
    published_iso: str = ""
    viral: bool = False
    comment_seq: int = 0
    next_snap: int = 0
    last_t: float = 0.0
    views: int = 0
    likes: int = 0
    comments: int = 0
    shares: int = 0
    views_today: float = 0.0


@dataclass(slots=True)
class Creator:
    idx: int
    platform: str
    username: str
    nickname: str
    niche: str
    lang: str
    real: float
    following: int
    total_likes: float
    verified: bool
    bio: str
    params: PlatformParams
    reach: float
    like_mult: float
    growth: float
    post_rate: float
    peak_hour: float
    rng: random.Random
    dirt: random.Random
    hard: random.Random  # the hard cases' draws, so the easy world's streams never shift
    key: str = ""
    fake: float = 0.0
    posts: int = 0
    shop: bool = False
    products: list[Product] = field(default_factory=list)
    videos: list[Video] = field(default_factory=list)
    seq: int = 0
    # planted behaviours (None = not planted)
    bought_steps: list[tuple[float, float]] | None = None
    pod_id: int | None = None
    viral_day: int | None = None
    decline_day: int | None = None
    decline_rate: float = 0.0
    viral_gain: float = 0.0
    # hard cases
    drip_fed: bool = False
    stealth_bots: bool = False
    weak_engagement: bool = False
    spike: OrganicSpike | None = None
    label_flipped: bool = False

    @property
    def followers(self) -> float:
        return self.real + self.fake


class SimEvent:
    """One event of the stream. ``release`` is when it is delivered; ``t`` its event time."""

    __slots__ = (
        "_value",
        "flaw",
        "key",
        "kind",
        "origin",
        "planted",
        "published",
        "record",
        "release",
        "t",
        "topic",
    )

    def __init__(self, t: float, topic: str, key: str, record: dict[str, Any]) -> None:
        self.t = t
        self.release = t
        self.topic = topic
        self.key = key
        self.record = record
        self.flaw: str | None = None
        self.kind = "event"  # event | late | duplicate
        self.origin: SimEvent | None = None
        self.published: float | None = None  # a video's publish time, simulated
        # Which planted behaviour wrote it ("bot", "pod"): comment-level truth, never sent.
        self.planted: str | None = None
        self._value: bytes | None = None

    @property
    def malformed(self) -> bool:
        return self.flaw is not None

    def encode(self, to_wall: Callable[[float], float] | None = None) -> bytes:
        """The payload bytes; computed once, so a duplicate repeats its original exactly.

        ``to_wall`` maps simulated times to wall-clock times (live mode).
        """
        if self.origin is not None:
            return self.origin.encode(to_wall)
        if self._value is None:
            rec = self.record
            if to_wall is None:
                rec["event_time"] = iso_time(self.t)
            else:
                rec["event_time"] = iso_time(to_wall(self.t))
                if self.published is not None:
                    rec["published_at"] = iso_time(to_wall(self.published))
            self._value = orjson.dumps(rec) if self.flaw is None else apply_flaw(rec, self.flaw)
        return self._value


def iso_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def apply_flaw(record: dict[str, Any], flaw: str) -> bytes:
    """Serialise ``record`` broken in the way ``flaw`` names; the result fails its contract."""
    rec = dict(record)
    variant = int(hashlib.blake2b(str(rec.get("event_id")).encode(), digest_size=2).hexdigest(), 16)
    if flaw == "truncated":
        payload = orjson.dumps(rec)
        return payload[: max(1, len(payload) // 2)]
    if flaw == "not_object":
        return orjson.dumps([rec])
    if flaw == "missing_username":
        del rec["username"]
    elif flaw == "missing_event_id":
        del rec["event_id"]
    elif flaw == "missing_video_id":
        del rec["video_id"]
    elif flaw == "empty_username":
        rec["username"] = ""
    elif flaw == "bad_platform":
        rec["platform"] = _BAD_PLATFORMS[variant % len(_BAD_PLATFORMS)]
    elif flaw == "bad_time":
        rec["event_time"] = (
            "yesterday",
            "2025-13-40T25:61:00Z",
            rec["event_time"][:-1],
            1_700_000_000,
        )[variant % 4]
    elif flaw == "wrong_type":
        rec["username"] = 10_000 + variant
    elif flaw == "bad_count":
        for name in ("followers_raw", "view_count_raw", "sold_count_raw"):
            if name in rec:
                rec[name] = _BAD_COUNTS[variant % len(_BAD_COUNTS)]
                break
    else:
        raise ValueError(f"unknown flaw {flaw!r}")
    return orjson.dumps(rec)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam < 30:
        limit, k, p = math.exp(-lam), 0, rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
        return k
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def _share_count(share: float, n: int) -> int:
    """How many of ``n`` get a behaviour: at least one in a world of 8 or more, if any."""
    return max(1, round(share * n)) if n >= 8 and share > 0 else round(share * n)


def _pick(rng: random.Random, items: list[_T], share: float) -> list[_T]:
    """``share`` of ``items`` at random, at least one when any is asked for."""
    if share <= 0 or not items:
        return []
    return rng.sample(items, min(len(items), max(1, round(share * len(items)))))


def _spike_growth(spike: OrganicSpike, day: int) -> float:
    """The share of the audience a caused spike adds on ``day``: most at once, then a tail."""
    decay = math.exp(-1.0 / SPIKE_CAUSES[spike.cause].tau)
    return spike.gain * (1.0 - decay) * decay ** (day - spike.day)


def _join_audience(c: Creator, spike: OrganicSpike) -> None:
    """The spike's newcomers stay, watching and engaging less than the followers who chose the
    creator: reach and like rates become the blend of both."""
    cause, g = SPIKE_CAUSES[spike.cause], spike.gain
    c.reach *= (1.0 + cause.watch * g) / (1.0 + g)
    c.like_mult *= (1.0 + cause.watch * cause.engage * g) / (1.0 + cause.watch * g)


def _seed_for(seed: int, idx: int, stream: int) -> int:
    return int.from_bytes(
        hashlib.blake2b(f"{seed}:{idx}:{stream}".encode(), digest_size=8).digest()
    )


# ---- the world ------------------------------------------------------------------------------


class World:
    """Creators and their planted behaviours; :meth:`events` runs the simulation."""

    def __init__(self, config: GeneratorConfig) -> None:
        self.config = config
        self.start = config.start.timestamp()
        self.end = self.start + config.days * DAY
        # The start is part of the ids: the same creators (a seed) replayed as history and then
        # live from another day are different events, not duplicates of each other.
        origin = f"{config.seed}:{config.start.isoformat()}"
        self._id_prefix = hashlib.blake2b(origin.encode(), digest_size=6).hexdigest()
        self.pods: dict[int, list[str]] = {}
        self.pod_associates: dict[int, list[str]] = {}
        self.stealth_pods: set[int] = set()
        self.creators = self._build()
        self._heap: list[tuple[float, int, int, SimEvent]] = []
        self._started = False

    # -- construction --
    def _build(self) -> list[Creator]:
        cfg = self.config
        world_rng = random.Random(_seed_for(cfg.seed, -1, 0))
        taken: set[tuple[str, str]] = set()
        creators = [self._new_creator(i, taken) for i in range(cfg.creators)]
        self._plant(creators, world_rng)
        return creators

    def _new_creator(self, idx: int, taken: set[tuple[str, str]]) -> Creator:
        cfg = self.config
        rng = random.Random(_seed_for(cfg.seed, idx, 1))
        platform = rng.choices(list(PLATFORM_WEIGHTS), weights=list(PLATFORM_WEIGHTS.values()))[0]
        niche = rng.choices(corpus.NICHES, weights=corpus.NICHE_WEIGHTS)[0]
        lang = "vi" if rng.random() < cfg.vietnamese_share else "en"
        given = rng.choice(corpus.VI_GIVEN if lang == "vi" else corpus.EN_GIVEN)
        word = rng.choice(corpus.HANDLE_WORDS[niche])
        base = corpus.ascii_fold(given).lower().replace(" ", "")
        handle = f"{base}{rng.choice(corpus.HANDLE_SEPARATORS)}{word}"
        if rng.random() < 0.4:
            handle += str(rng.randint(1, 99))
        while (platform, handle) in taken:
            handle += str(rng.randint(0, 9))
        taken.add((platform, handle))
        nickname = f"{given} {word.capitalize()}" if rng.random() < 0.5 else given
        if lang == "vi" and rng.random() < 0.3:
            nickname = f"{rng.choice(corpus.VI_FAMILY)} {given}"
        # Heavy tail: Pareto (alpha 0.95) above 5k followers, capped at platform scale.
        real = min(5_000 * rng.paretovariate(0.95), 150_000_000.0)
        params = PLATFORM_PARAMS[platform]
        size_factor = (real / 100_000) ** -0.15  # small accounts reach more of their followers
        c = Creator(
            idx=idx,
            platform=platform,
            username=handle,
            nickname=nickname,
            niche=niche,
            lang=lang,
            real=real,
            following=int(rng.lognormvariate(5.5, 1.0)),
            total_likes=real * rng.uniform(2.0, 25.0),
            verified=real > 500_000 and rng.random() < 0.6,
            bio=rng.choice(corpus.BIOS[lang]).format(niche=niche, u=handle.split(".")[0]),
            params=params,
            reach=params.reach * size_factor * rng.lognormvariate(0.0, 0.4),
            like_mult=rng.lognormvariate(0.0, 0.25),
            growth=max(-0.001, rng.gauss(0.003, 0.002)),
            post_rate=rng.uniform(*params.posts_per_day),
            peak_hour=(13.0 if lang == "vi" else 0.5) + rng.gauss(0.0, 2.0),
            rng=rng,
            dirt=random.Random(_seed_for(cfg.seed, idx, 2)),
            hard=random.Random(_seed_for(cfg.seed, idx, 3)),
            posts=int(rng.uniform(20, 800)),
        )
        c.key = event_key(platform, handle)
        c.shop = rng.random() < cfg.shop_share
        if c.shop:
            c.products = [self._new_product(c) for _ in range(rng.randint(1, 5))]
        return c

    def _new_product(self, c: Creator) -> Product:
        rng = c.rng
        vi_titles, en_titles, brands, vnd, usd = corpus.PRODUCTS[c.niche]
        title = rng.choice(vi_titles if c.lang == "vi" else en_titles).format(b=rng.choice(brands))
        if c.lang == "vi":
            price, currency = float(round(rng.uniform(*vnd), -3)), "VND"
        else:
            price, currency = math.floor(rng.uniform(*usd)) + 0.99, "USD"
        return Product(
            product_id=str(rng.randrange(10**18, 10**19)),
            title=title,
            seller_id=str(rng.randrange(10**17, 10**18)),
            price=price,
            currency=currency,
            category=c.niche,
            appeal=rng.lognormvariate(0.0, 0.6),
        )

    def _plant(self, creators: list[Creator], rng: random.Random) -> None:
        """Give a share of creators one planted behaviour each (never two: labels stay clean)."""
        cfg = self.config
        n = len(creators)
        order = list(range(n))
        rng.shuffle(order)
        last = self._last_plant_day()

        def take(share: float) -> list[int]:
            k = _share_count(share, n)
            picked, order[:] = order[:k], order[k:]
            return picked

        for i in take(cfg.bought_followers_share):
            c = creators[i]
            day = rng.randint(1, last) if cfg.days > 1 else 0
            # One to three packages on consecutive days, together 0.8-3x the real audience,
            # delivered around midday: between the day's two profile snapshots, so each step
            # shows in the series.
            total = rng.uniform(0.8, 3.0) * c.real
            n_steps = max(1, min(rng.randint(1, 3), cfg.days - day))
            c.bought_steps = [
                (self.start + (day + s + rng.uniform(0.46, 0.54)) * DAY, total / n_steps)
                for s in range(n_steps)
            ]
        for i in take(cfg.viral_share):
            # Not on the last day, so the breakout's aftermath is inside the window.
            creators[i].viral_day = rng.randint(1, last) if cfg.days > 1 else 0
            creators[i].viral_gain = rng.uniform(0.08, 0.25)
        for i in take(cfg.declining_share):
            creators[i].decline_day = rng.randint(0, max(0, cfg.days // 3))
            creators[i].decline_rate = -rng.uniform(0.01, 0.03)
        # Pods form within one platform; members are the next unassigned creators there.
        pod_count = round(cfg.pod_share * n)
        by_platform: dict[str, list[int]] = {p: [] for p in PLATFORMS}
        for i in order:
            by_platform[creators[i].platform].append(i)
        pod_id = 0
        for platform in PLATFORMS:
            pool = by_platform[platform]
            want = round(pod_count * PLATFORM_WEIGHTS[platform])
            while want >= 3 and len(pool) >= 3:
                size = min(rng.randint(4, 7), want, len(pool))
                if size < 3:
                    break
                members, pool[:] = pool[:size], pool[size:]
                want -= size
                for i in members:
                    creators[i].pod_id = pod_id
                self.pods[pod_id] = [creators[i].username for i in members]
                # Pods reach beyond the tracked creators: outside accounts comment too.
                self.pod_associates[pod_id] = [
                    f"{rng.choice(corpus.EN_GIVEN).lower()}_pod{rng.randint(10, 999)}"
                    for _ in range(rng.randint(6, 15))
                ]
                pod_id += 1
        if cfg.hard_cases:
            self._plant_hard(creators, [creators[i] for i in order if creators[i].pod_id is None])

    def _last_plant_day(self) -> int:
        """The last day a planted behaviour may start on, leaving its aftermath in the world."""
        cfg = self.config
        last = max(1, cfg.days - 2)
        if cfg.plant_within_days is not None:
            last = max(1, min(last, cfg.plant_within_days - 1))
        return last

    def _plant_hard(self, creators: list[Creator], unplanted: list[Creator]) -> None:
        """The hard cases, from a stream of their own: the easy plants above stay as they were.

        ``unplanted`` (creators with no behaviour, in the world's shuffled order) supplies the
        genuine hard cases.
        """
        cfg = self.config
        rng = random.Random(_seed_for(cfg.seed, -1, 3))
        bought = [c for c in creators if c.bought_steps is not None]
        for c in _pick(rng, bought, cfg.drip_fed_share):
            self._drip_feed(c, rng)
        for c in _pick(rng, bought, cfg.stealth_bot_share):
            c.stealth_bots = True
        for pod_id in _pick(rng, sorted(self.pods), cfg.stealth_pod_share):
            self.stealth_pods.add(pod_id)
            # Outside helpers named like anyone, not like a pod's accounts.
            self.pod_associates[pod_id] = [_commenter(rng) for _ in self.pod_associates[pod_id]]
        n_spikes = _share_count(cfg.organic_spike_share, len(creators))
        n_weak = _share_count(cfg.weak_engagement_share, len(creators))
        causes = list(SPIKE_CAUSES)
        for k, c in enumerate(unplanted[:n_spikes]):
            cause = causes[k % len(causes)]  # in turn, so a small world has every cause
            day = rng.randint(1, self._last_plant_day()) if cfg.days > 1 else 0
            c.spike = OrganicSpike(cause, day, rng.uniform(*SPIKE_CAUSES[cause].size))
        for c in unplanted[n_spikes : n_spikes + n_weak]:
            # An audience that scrolls past: fewer views per follower, fewer likes per view.
            c.weak_engagement = True
            c.reach *= rng.uniform(0.35, 0.6)
            c.like_mult *= rng.uniform(0.25, 0.5)
        if cfg.label_noise > 0:
            for c in creators:
                # A stream per creator: which labels are wrong depends on nothing else.
                flip = random.Random(_seed_for(cfg.seed, c.idx, 4)).random()
                c.label_flipped = flip < cfg.label_noise

    def _drip_feed(self, c: Creator, rng: random.Random) -> None:
        """Deliver the purchase as many small daily steps from its first day, each below what a
        jump threshold flags; the last steps may land after the world ends, as in any window."""
        assert c.bought_steps is not None
        first_day = math.floor((c.bought_steps[0][0] - self.start) / DAY)
        c.drip_fed = True
        c.bought_steps = [
            (
                self.start + (first_day + s + rng.uniform(0.46, 0.54)) * DAY,
                rng.uniform(0.02, 0.08) * c.real,
            )
            for s in range(rng.randint(7, 20))
        ]

    # -- simulation --
    def events(
        self,
        shard: tuple[int, int] | None = None,
        on_day: Callable[[int], None] | None = None,
    ) -> Iterator[SimEvent]:
        """The event stream in delivery order. ``shard=(k, n)`` keeps creators with idx % n == k."""
        cfg = self.config
        if self._started:
            raise RuntimeError("a World simulates once; build a new one to replay")
        self._started = True
        members = [c for c in self.creators if shard is None or c.idx % shard[1] == shard[0]]
        heap = self._heap
        for day in range(-cfg.warmup_days, cfg.days):
            for c in members:
                self._simulate_day(c, day)
            cutoff = self.start + (day + 1) * DAY
            while heap and heap[0][0] < cutoff:
                yield heapq.heappop(heap)[3]
            if on_day is not None and day >= 0:
                on_day(day)
        while heap:
            yield heapq.heappop(heap)[3]

    def _emit(
        self,
        c: Creator,
        topic: str,
        t: float,
        record: dict[str, Any],
        published: float | None = None,
        planted: str | None = None,
    ) -> None:
        if t < self.start or t >= self.end:
            return
        seq = c.seq
        c.seq += 1
        eid = f"{self._id_prefix}{c.idx:08x}{seq:012x}"
        record["event_id"] = f"{eid[:8]}-{eid[8:12]}-{eid[12:16]}-{eid[16:20]}-{eid[20:]}"
        ev = SimEvent(t, topic, c.key, record)
        ev.published, ev.planted = published, planted
        cfg = self.config
        dirt = c.dirt
        # Exactly three draws per event, whatever the rates: a number below its rate is also,
        # rescaled, the choice it needs (which flaw, how late), so changing one rate never
        # shifts another decision.
        r_bad, r_late, r_dup = dirt.random(), dirt.random(), dirt.random()
        if r_bad < cfg.malformed_rate:
            flaws = FLAWS[topic]
            ev.flaw = flaws[int(r_bad / cfg.malformed_rate * len(flaws))]
        if r_late < cfg.late_rate:
            ev.kind = "late"
            ev.release = t + 300.0 + r_late / cfg.late_rate * (cfg.max_late_hours * HOUR - 300.0)
        heapq.heappush(self._heap, (ev.release, c.idx, seq * 2, ev))
        if r_dup < cfg.duplicate_rate:
            dup = SimEvent(t, topic, c.key, record)
            dup.flaw, dup.kind, dup.origin, dup.planted = ev.flaw, "duplicate", ev, planted
            dup.release = ev.release + 1.0 + r_dup / cfg.duplicate_rate * 599.0
            heapq.heappush(self._heap, (dup.release, c.idx, seq * 2 + 1, dup))

    def _display(self, c: Creator, n: float, style: str) -> str:
        r = c.dirt.random()
        if r < self.config.missing_rate:
            return MISSING_DISPLAYS[int(r / self.config.missing_rate * len(MISSING_DISPLAYS))]
        n = int(n)
        if c.platform == "instagram" and style == "short" and n < 10_000:
            style = "full"  # Instagram spells out small counts: 9,876
        return format_count(n, style, c.lang)

    @staticmethod
    def _fake_at(c: Creator, t: float) -> float:
        """Fake followers at ``t``: bought packages, slowly purged by the platform."""
        if c.bought_steps is None:
            return 0.0
        return sum(
            n * FAKE_SURVIVAL_PER_DAY ** ((t - at) / DAY) for at, n in c.bought_steps if at <= t
        )

    def _simulate_day(self, c: Creator, day: int) -> None:
        rng = c.rng
        day_start = self.start + day * DAY
        day_end = day_start + DAY
        # Followers over the day: organic growth, decline, post-breakout surge.
        g = c.growth + rng.gauss(0.0, 0.001)
        reach_mult = 1.0
        if c.decline_day is not None and day >= c.decline_day:
            g = c.decline_rate + rng.gauss(0.0, 0.001)
            reach_mult = 0.96 ** (day - c.decline_day + 1)
        if c.viral_day is not None and day >= c.viral_day:
            g += c.viral_gain * math.exp(-(day - c.viral_day) / 3.0)
            reach_mult = 1.5
        if c.spike is not None and day >= c.spike.day:
            if day == c.spike.day:
                _join_audience(c, c.spike)
            g += _spike_growth(c.spike, day)
        real_start = c.real
        real_end = max(real_start * (1.0 + g), 100.0)

        # Posting.
        rate = c.post_rate * (0.5 if c.decline_day is not None and day >= c.decline_day else 1.0)
        n_posts = _poisson(rng, rate)
        if c.viral_day == day and n_posts == 0:
            n_posts = 1
        for k in range(n_posts):
            t = day_start + ((c.peak_hour + rng.gauss(0.0, 2.0)) % 24.0) * HOUR
            self._post_video(c, t, real_start, reach_mult, viral=c.viral_day == day and k == 0)

        # Video counters, comments.
        for v in c.videos:
            v.views_today = 0.0
        alive = []
        for v in c.videos:
            self._advance_video(c, v, day_end)
            if v.next_snap < len(SNAPSHOT_AGES_H):
                alive.append(v)
        c.videos = alive

        # Profile snapshots: twice a day.
        for lo, hi in ((0.05, 0.45), (0.55, 0.95)):
            frac = rng.uniform(lo, hi)
            t = day_start + frac * DAY
            self._profile(c, t, real_start + (real_end - real_start) * frac)
        c.real = real_end
        c.fake = self._fake_at(c, day_end)

        self._products(c, day, day_start)

    def _post_video(
        self, c: Creator, t: float, real: float, reach_mult: float, *, viral: bool
    ) -> None:
        rng = c.rng
        p = c.params
        c.posts += 1
        if c.platform == "tiktok":
            vid = str(rng.randrange(7 * 10**18, 8 * 10**18))
            url = f"https://www.tiktok.com/@{c.username}/video/{vid}"
        elif c.platform == "youtube":
            vid = "".join(
                rng.choices(
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", k=11
                )
            )
            url = f"https://www.youtube.com/watch?v={vid}"
        else:
            vid = "".join(
                rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_", k=11)
            )
            url = f"https://www.instagram.com/reel/{vid}/"
        kw = rng.choice(corpus.KEYWORDS[c.niche][0 if c.lang == "vi" else 1])
        caption = rng.choice(corpus.CAPTIONS[c.lang]).format(kw=kw)
        caption += " " + " ".join(rng.sample(corpus.HASHTAGS, 2))
        # Fake followers do not watch: views follow the real audience only.
        v_final = real * c.reach * reach_mult * rng.lognormvariate(0.0, 0.6)
        tau = rng.uniform(0.5, 1.5) * DAY
        like_rate = p.like_rate * c.like_mult * rng.lognormvariate(0.0, 0.15)
        comment_rate = p.comment_rate * c.like_mult * rng.lognormvariate(0.0, 0.3)
        if viral:
            v_final *= rng.uniform(50.0, 200.0)
            tau *= 2.0
        if c.pod_id is not None:
            like_rate *= 1.5
            comment_rate *= 3.0
        product = None
        if c.shop and c.products and rng.random() < 0.6:
            product = rng.choice(c.products)
        v = Video(
            video_id=vid,
            url=url,
            caption=caption,
            published=t,
            v_final=v_final,
            tau=tau,
            like_rate=like_rate,
            comment_rate=comment_rate,
            share_rate=p.share_rate * rng.lognormvariate(0.0, 0.4),
            jitter=rng.lognormvariate(0.0, 0.03),
            product=product,
            published_iso=iso_time(t),
            viral=viral,
            last_t=t,
        )
        if product is not None:
            product.last_video = v
        c.videos.append(v)

        if c.pod_id is not None:
            self._pod_comments(c, v)
        if c.bought_steps is not None and t >= c.bought_steps[0][0] and rng.random() < 0.8:
            self._bot_burst(c, v)
        if viral:
            for d in range(3):
                self._emit(
                    c, DISCOVERY_TOPIC, t + d * DAY + 2 * HOUR, self._discovery(c, v, "trending")
                )
        elif rng.random() < 0.25:
            source = rng.choice(("search", "hashtag", "for_you"))
            self._emit(
                c, DISCOVERY_TOPIC, t + rng.uniform(1, 12) * HOUR, self._discovery(c, v, source)
            )

    def _advance_video(self, c: Creator, v: Video, until: float) -> None:
        rng = c.rng
        while v.next_snap < len(SNAPSHOT_AGES_H):
            t = v.published + SNAPSHOT_AGES_H[v.next_snap] * HOUR
            if t >= until:
                return
            v.next_snap += 1
            age = t - v.published
            views = max(v.views, int(v.v_final * (1.0 - math.exp(-age / v.tau)) * v.jitter))
            likes = max(v.likes, int(views * v.like_rate))
            comments = max(v.comments, int(views * v.comment_rate))
            shares = max(v.shares, int(views * v.share_rate))
            new_comments = comments - v.comments
            v.views_today += views - v.views
            c.total_likes += likes - v.likes
            v.views, v.likes, v.comments, v.shares = views, likes, comments, shares
            self._emit(c, VIDEOS_TOPIC, t, self._video_record(c, v), published=v.published)
            # A scraper samples a few of the new comments between two visits.
            for _ in range(min(new_comments, self.config.comment_cap)):
                ct = rng.uniform(v.last_t, t)
                lang = c.lang if rng.random() < 0.85 else ("en" if c.lang == "vi" else "vi")
                text = rng.choice(corpus.COMMENTS[lang])
                self._emit(c, COMMENTS_TOPIC, ct, self._comment(c, v, ct, text, _commenter(rng)))
            v.last_t = t

    def _pod_comments(self, c: Creator, v: Video) -> None:
        assert c.pod_id is not None
        stealth = c.pod_id in self.stealth_pods
        rng = c.hard if stealth else c.rng
        accounts = [u for u in self.pods[c.pod_id] if u != c.username] + self.pod_associates[
            c.pod_id
        ]
        for who in accounts:
            if rng.random() < (0.6 if stealth else 0.85):
                if stealth:
                    ct, text = v.published + rng.uniform(600.0, 12 * HOUR), _stealth_line(rng, c)
                    # Half the time through an account never seen before (a second account,
                    # a friend asked to help): no fixed roster to spot.
                    who = who if rng.random() < 0.5 else _commenter(rng)
                else:
                    ct = v.published + rng.uniform(60.0, 45 * 60.0)
                    text = rng.choice(corpus.POD_COMMENTS)
                self._emit(c, COMMENTS_TOPIC, ct, self._comment(c, v, ct, text, who), planted="pod")

    def _bot_burst(self, c: Creator, v: Video) -> None:
        if c.stealth_bots:
            self._stealth_bot_burst(c, v)
            return
        rng = c.rng
        base = rng.choice(corpus.BOT_COMMENTS)
        emoji = rng.choice(corpus.BOT_EMOJI)
        begin = v.published + rng.uniform(600.0, 6 * HOUR)
        for _ in range(rng.randint(15, 40)):
            ct = begin + rng.uniform(0.0, 300.0)
            text = base + rng.choice(("", "!", "!!", "!!!", " ", ".")) + emoji * rng.randint(0, 3)
            if rng.random() < 0.3:
                text = text.lower()
            bot = f"user{rng.randrange(10**9, 10**10)}"
            self._emit(c, COMMENTS_TOPIC, ct, self._comment(c, v, ct, text, bot), planted="bot")

    def _stealth_bot_burst(self, c: Creator, v: Video) -> None:
        """Bots a near-duplicate filter misses: lines from a template, handles like anyone's,
        spread over hours rather than minutes."""
        rng = c.hard
        begin = v.published + rng.uniform(600.0, 12 * HOUR)
        spread = rng.uniform(1.0, 6.0) * HOUR
        for _ in range(rng.randint(10, 30)):
            ct = begin + rng.uniform(0.0, spread)
            text = _stealth_line(rng, c, bot=True)
            bot = f"user{rng.randrange(10**9, 10**10)}" if rng.random() < 0.25 else _commenter(rng)
            self._emit(c, COMMENTS_TOPIC, ct, self._comment(c, v, ct, text, bot), planted="bot")

    def _products(self, c: Creator, day: int, day_start: float) -> None:
        rng = c.rng
        if not c.shop:
            if day % 7 == 0:
                t = day_start + rng.uniform(0.0, DAY)
                self._emit(c, PRODUCTS_TOPIC, t, self._no_shop(c))
            return
        quality = c.real / c.followers
        conv = corpus.NICHE_CONVERSION[c.niche]
        fresh_views: dict[str, float] = {}
        for v in c.videos:
            if v.product is not None:
                fresh_views[v.product.product_id] = (
                    fresh_views.get(v.product.product_id, 0.0) + v.views_today
                )
        for p in c.products:
            # Shop-tab browsing by followers plus the fresh views of videos featuring it.
            audience = fresh_views.get(p.product_id, 0.0) + c.real * 0.0005
            p.sold += _poisson(rng, audience * conv * quality * p.appeal)
            t = day_start + rng.uniform(0.0, DAY)
            self._emit(c, PRODUCTS_TOPIC, t, self._product_record(c, p))

    # -- records (field order follows the contracts) --
    def _profile(self, c: Creator, t: float, real: float) -> None:
        followers = real + self._fake_at(c, t)
        self._emit(
            c,
            PROFILES_TOPIC,
            t,
            {
                "event_id": None,
                "event_time": None,
                "event_type": EVENT_TYPES[PROFILES_TOPIC],
                "platform": c.platform,
                "username": c.username,
                "nickname": c.nickname,
                "followers_raw": self._display(c, followers, c.params.follower_style),
                "following_raw": None
                if c.platform == "youtube"
                else self._display(c, c.following, "short"),
                "likes_raw": self._display(c, c.total_likes, "short")
                if c.platform == "tiktok"
                else None,
                "posts_raw": None if c.platform == "tiktok" else self._display(c, c.posts, "full"),
                "bio": c.bio,
                "avatar_url": f"https://avatars.kol.example/{c.platform}/{c.username}.jpg",
                "verified": c.verified,
                "profile_url": _profile_url(c),
            },
        )

    def _video_record(self, c: Creator, v: Video) -> dict[str, Any]:
        view_style = c.params.view_style
        return {
            "event_id": None,
            "event_time": None,
            "event_type": EVENT_TYPES[VIDEOS_TOPIC],
            "platform": c.platform,
            "username": c.username,
            "video_id": v.video_id,
            "video_url": v.url,
            "caption": v.caption,
            "view_count_raw": self._display(c, v.views, view_style),
            "like_count_raw": self._display(c, v.likes, "short"),
            "comment_count_raw": self._display(c, v.comments, "short"),
            "share_count_raw": self._display(c, v.shares, "short"),
            "view_count": v.views,
            "like_count": v.likes,
            "comment_count": v.comments,
            "share_count": v.shares,
            "published_at": v.published_iso,
        }

    def _comment(self, c: Creator, v: Video, t: float, text: str, commenter: str) -> dict[str, Any]:
        v.comment_seq += 1
        return {
            "event_id": None,
            "event_time": None,
            "event_type": EVENT_TYPES[COMMENTS_TOPIC],
            "platform": c.platform,
            "username": c.username,
            "video_id": v.video_id,
            "video_url": v.url,
            "comment_text": text,
            "comment_id": f"{v.video_id}.{v.comment_seq}",
            "commenter": commenter,
        }

    def _product_record(self, c: Creator, p: Product) -> dict[str, Any]:
        v = p.last_video
        sold = int(p.sold)
        return {
            "event_id": None,
            "event_time": None,
            "event_type": EVENT_TYPES[PRODUCTS_TOPIC],
            "platform": c.platform,
            "username": c.username,
            "video_id": None if v is None else v.video_id,
            "video_url": None if v is None else v.url,
            "has_shop": True,
            "product_id": p.product_id,
            "product_title": p.title,
            "seller_id": p.seller_id,
            "price": p.price,
            "currency": p.currency,
            "sold_count_raw": self._display(c, sold, "short"),
            "sold_count": sold,
            "category": p.category,
        }

    def _no_shop(self, c: Creator) -> dict[str, Any]:
        return {
            "event_id": None,
            "event_time": None,
            "event_type": EVENT_TYPES[PRODUCTS_TOPIC],
            "platform": c.platform,
            "username": c.username,
            "has_shop": False,
            "sold_count_raw": None,
        }

    def _discovery(self, c: Creator, v: Video, source: str) -> dict[str, Any]:
        rng = c.rng
        if source in ("trending", "hashtag"):
            keyword = rng.choice(corpus.HASHTAGS)
        else:
            keyword = rng.choice(corpus.KEYWORDS[c.niche][0 if c.lang == "vi" else 1])
        return {
            "event_id": None,
            "event_time": None,
            "event_type": EVENT_TYPES[DISCOVERY_TOPIC],
            "platform": c.platform,
            "username": c.username,
            "video_id": v.video_id,
            "video_url": v.url,
            "caption": v.caption,
            "source": source,
            "keyword": keyword,
            "niche_hint": c.niche if rng.random() < 0.7 else None,
        }

    # -- ground truth --
    def labels(self) -> list[dict[str, Any]]:
        """One row per creator: its planted behaviours and the facts needed to check them.

        With hard cases on, ``behaviours`` and ``is_fake_audience`` are the labels as written
        (what a model trains on, wrong for ``label_noise`` of creators) and each row also keeps
        the truth (``true_behaviours``, ``true_is_fake_audience``, ``label_flipped``) and the
        cause and day of a benign follower spike (``spike_cause`` giveaway | shoutout | ad |
        viral, ``spike_day``). Default rows keep their old shape, byte for byte.
        """
        rows = []
        for c in self.creators:
            behaviours = self._behaviours(c)
            row: dict[str, Any] = {
                "key": c.key,
                "platform": c.platform,
                "username": c.username,
                "niche": c.niche,
                "language": c.lang,
                "behaviours": behaviours,
                "is_fake_audience": c.bought_steps is not None,
                "bought_followers_steps": None
                if c.bought_steps is None
                else [
                    {"at": iso_time(at), "followers_added": round(n)} for at, n in c.bought_steps
                ],
                "pod_id": c.pod_id,
                "pod_members": None if c.pod_id is None else self.pods[c.pod_id],
                "viral_day": c.viral_day,
                "decline_day": c.decline_day,
                "has_shop": c.shop,
            }
            if self.config.hard_cases:
                row |= self._hard_label(c, behaviours)
            rows.append(row)
        return rows

    def _behaviours(self, c: Creator) -> list[str]:
        """The truth; a variant (drip_fed, stealth_pod, ...) follows the behaviour it varies."""
        behaviours = []
        if c.bought_steps is not None:
            behaviours.append("bought_followers")
            behaviours += ["drip_fed"] * c.drip_fed + ["stealth_bots"] * c.stealth_bots
        if c.pod_id is not None:
            behaviours.append("engagement_pod")
            behaviours += ["stealth_pod"] * (c.pod_id in self.stealth_pods)
        if c.viral_day is not None:
            behaviours.append("viral_breakout")
        if c.decline_day is not None:
            behaviours.append("declining")
        behaviours += ["organic_spike"] * (c.spike is not None)
        behaviours += ["weak_engagement"] * c.weak_engagement
        return behaviours

    @staticmethod
    def _hard_label(c: Creator, truth: list[str]) -> dict[str, Any]:
        written = _flipped(truth) if c.label_flipped else truth
        spike_cause: str | None = None if c.viral_day is None else "viral"
        spike_day = c.viral_day
        if c.spike is not None:
            spike_cause, spike_day = c.spike.cause, c.spike.day
        return {
            "behaviours": written,
            "is_fake_audience": "bought_followers" in written,
            "true_behaviours": truth,
            "true_is_fake_audience": c.bought_steps is not None,
            "label_flipped": c.label_flipped,
            "spike_cause": spike_cause,
            "spike_day": spike_day,
        }

    def write_labels(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "seed": self.config.seed,
            "start": self.config.start.isoformat(),
            "days": self.config.days,
        }
        with path.open("wb") as fh:
            for row in self.labels():
                fh.write(orjson.dumps({**row, "world": meta}) + b"\n")
        return path


# A label names the fraud with its variants; a reviewer's mistake drops them all, or accuses a
# genuine creator of the most common fraud.
FRAUD_BEHAVIOURS = ("bought_followers", "drip_fed", "stealth_bots", "engagement_pod", "stealth_pod")


def _flipped(truth: list[str]) -> list[str]:
    if any(b in FRAUD_BEHAVIOURS for b in truth):
        return [b for b in truth if b not in FRAUD_BEHAVIOURS]
    return ["bought_followers"]


_OPENERS = ("", "", "Wow ", "Omg ", "Haha ", "Ôi ", "Trời ơi ", "Bro ", "Ok ", "Ayy ")
_CLOSERS = ("", "", "!", "!!", " nha", " <3", "...", " luôn", " fr", " 100%")


def _stealth_line(rng: random.Random, c: Creator, *, bot: bool = False) -> str:
    """A comment in everyday words (a pod's or a bot's), varied by a template so that no two
    in a burst read alike."""
    words = corpus.BOT_COMMENTS if bot else corpus.POD_COMMENTS
    body = rng.choice((*corpus.COMMENTS[c.lang], *words))
    emoji = rng.choice(corpus.BOT_EMOJI) * rng.randint(0, 2)
    return f"{rng.choice(_OPENERS)}{body}{rng.choice(_CLOSERS)}{emoji}".strip()


def _commenter(rng: random.Random) -> str:
    name = corpus.ascii_fold(rng.choice(corpus.VI_GIVEN + corpus.EN_GIVEN)).lower().replace(" ", "")
    return f"{name}{rng.choice(corpus.HANDLE_SEPARATORS)}{rng.randint(1, 9999)}"


def _profile_url(c: Creator) -> str:
    if c.platform == "tiktok":
        return f"https://www.tiktok.com/@{c.username}"
    if c.platform == "youtube":
        return f"https://www.youtube.com/@{c.username}"
    return f"https://www.instagram.com/{c.username}/"


# ---- delivery modes -------------------------------------------------------------------------


def replay(events: Iterable[SimEvent]) -> Iterator[tuple[SimEvent, bytes]]:
    """History as fast as possible, with simulated event times."""
    for ev in events:
        yield ev, ev.encode()


def live(
    events: Iterable[SimEvent],
    rate: float,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    backdate_s: float = 0.0,
) -> Iterator[tuple[SimEvent, bytes]]:
    """Emit ``rate`` events/s stamped with the wall clock, until the stream ends or is stopped.

    The simulation runs faster than real time, by ``speed`` = simulated seconds per wall
    second so far (never below 1). Each event is stamped *now*; every other time in it is
    placed relative to now by its simulated distance divided by ``speed``: a late event
    arrives late in wall time, a video's age grows as the stream goes on, and a streaming
    job sees consistent, out-of-order data in real time.

    ``backdate_s`` starts the schedule that long ago: the events due in the past are sent at
    once, each stamped with its due time, then the stream is paced. A streaming job that
    starts with it sees ``backdate_s`` of history at once (a creator's trending baseline is
    the half hour before), instead of scoring everyone against nothing for its first minutes.
    """
    if rate <= 0:
        raise ValueError("rate must be > 0")
    if backdate_s < 0:
        raise ValueError("backdate_s must be >= 0")
    started = clock()
    began = started - backdate_s
    sim_began: float | None = None
    for n, ev in enumerate(events):
        due = began + n / rate
        now = clock()
        if due > now:
            sleep(due - now)
            now = due
        elif due < started:
            now = due  # history sent in a burst keeps its place in time
        if sim_began is None:
            sim_began = ev.release
        yield ev, _stamped(ev, now, began, sim_began)


def scheduled(
    events: Iterable[SimEvent], rate: float, began: float
) -> Iterator[tuple[float, SimEvent, bytes]]:
    """:func:`live`'s stream planned ahead: (wall time due, event, payload stamped for then),
    for a load generator that encodes first and then only sends, on schedule, from ``began``."""
    if rate <= 0:
        raise ValueError("rate must be > 0")
    sim_began: float | None = None
    for n, ev in enumerate(events):
        due = began + n / rate
        if sim_began is None:
            sim_began = ev.release
        yield due, ev, _stamped(ev, due, began, sim_began)


def _stamped(ev: SimEvent, now: float, began: float, sim_began: float) -> bytes:
    speed = max(1.0, (ev.release - sim_began) / max(now - began, 1.0))
    return ev.encode(_wall_clock(now, ev.release, speed))


def _wall_clock(now: float, release: float, speed: float) -> Callable[[float], float]:
    """Maps a simulated time to wall time, ``release`` (the event's delivery) being now."""

    def to_wall(t: float) -> float:
        return now - (release - t) / speed

    return to_wall
