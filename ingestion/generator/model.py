"""What the world is made of: platforms, creators, their videos and shop products.

Plain state; :mod:`ingestion.generator.creators` draws it, :mod:`ingestion.generator.world`
moves it day by day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

DAY = 86_400.0
HOUR = 3_600.0

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


@dataclass(slots=True)
class Pods:
    """The engagement pods, by pod id."""

    members: dict[int, list[str]] = field(default_factory=dict)  # tracked creators' usernames
    # Pods reach beyond the tracked creators: outside accounts comment too.
    associates: dict[int, list[str]] = field(default_factory=dict)
    stealth: set[int] = field(default_factory=set)  # pods that comment like anyone (hard case)
