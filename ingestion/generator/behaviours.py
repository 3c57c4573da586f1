"""Planted behaviours: which creators get one, and what it does to their numbers and comments.

Ground truth in :func:`ingestion.generator.labels.label_rows`:

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
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import TypeVar

from ingestion import corpus
from ingestion.contracts import PLATFORMS
from ingestion.generator.config import GeneratorConfig
from ingestion.generator.creators import commenter, seed_for
from ingestion.generator.model import (
    DAY,
    HOUR,
    PLATFORM_WEIGHTS,
    SPIKE_CAUSES,
    Creator,
    OrganicSpike,
    Pods,
    Video,
)

_T = TypeVar("_T")

FAKE_SURVIVAL_PER_DAY = 0.998  # platforms purge a few fake accounts every day

# A planted comment: (time, text, commenter).
Comment = tuple[float, str, str]


# ---- planting -------------------------------------------------------------------------------


def plant(cfg: GeneratorConfig, start: float, creators: list[Creator], rng: random.Random) -> Pods:
    """Give a share of creators one planted behaviour each (never two: labels stay clean)."""
    n = len(creators)
    order = list(range(n))
    rng.shuffle(order)
    last = cfg.last_plant_day()
    pods = Pods()

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
            (start + (day + s + rng.uniform(0.46, 0.54)) * DAY, total / n_steps)
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
            pods.members[pod_id] = [creators[i].username for i in members]
            pods.associates[pod_id] = [
                f"{rng.choice(corpus.EN_GIVEN).lower()}_pod{rng.randint(10, 999)}"
                for _ in range(rng.randint(6, 15))
            ]
            pod_id += 1
    if cfg.hard_cases:
        unplanted = [creators[i] for i in order if creators[i].pod_id is None]
        _plant_hard(cfg, start, creators, unplanted, pods)
    return pods


def _plant_hard(
    cfg: GeneratorConfig,
    start: float,
    creators: list[Creator],
    unplanted: list[Creator],
    pods: Pods,
) -> None:
    """The hard cases, from a stream of their own: the easy plants stay as they were.

    ``unplanted`` (creators with no behaviour, in the world's shuffled order) supplies the
    genuine hard cases.
    """
    rng = random.Random(seed_for(cfg.seed, -1, 3))
    bought = [c for c in creators if c.bought_steps is not None]
    for c in _pick(rng, bought, cfg.drip_fed_share):
        _drip_feed(c, rng, start)
    for c in _pick(rng, bought, cfg.stealth_bot_share):
        c.stealth_bots = True
    for pod_id in _pick(rng, sorted(pods.members), cfg.stealth_pod_share):
        pods.stealth.add(pod_id)
        # Outside helpers named like anyone, not like a pod's accounts.
        pods.associates[pod_id] = [commenter(rng) for _ in pods.associates[pod_id]]
    n_spikes = _share_count(cfg.organic_spike_share, len(creators))
    n_weak = _share_count(cfg.weak_engagement_share, len(creators))
    causes = list(SPIKE_CAUSES)
    for k, c in enumerate(unplanted[:n_spikes]):
        cause = causes[k % len(causes)]  # in turn, so a small world has every cause
        day = rng.randint(1, cfg.last_plant_day()) if cfg.days > 1 else 0
        c.spike = OrganicSpike(cause, day, rng.uniform(*SPIKE_CAUSES[cause].size))
    for c in unplanted[n_spikes : n_spikes + n_weak]:
        # An audience that scrolls past: fewer views per follower, fewer likes per view.
        c.weak_engagement = True
        c.reach *= rng.uniform(0.35, 0.6)
        c.like_mult *= rng.uniform(0.25, 0.5)
    if cfg.label_noise > 0:
        for c in creators:
            # A stream per creator: which labels are wrong depends on nothing else.
            flip = random.Random(seed_for(cfg.seed, c.idx, 4)).random()
            c.label_flipped = flip < cfg.label_noise


def _drip_feed(c: Creator, rng: random.Random, start: float) -> None:
    """Deliver the purchase as many small daily steps from its first day, each below what a
    jump threshold flags; the last steps may land after the world ends, as in any window."""
    assert c.bought_steps is not None
    first_day = math.floor((c.bought_steps[0][0] - start) / DAY)
    c.drip_fed = True
    c.bought_steps = [
        (
            start + (first_day + s + rng.uniform(0.46, 0.54)) * DAY,
            rng.uniform(0.02, 0.08) * c.real,
        )
        for s in range(rng.randint(7, 20))
    ]


def _share_count(share: float, n: int) -> int:
    """How many of ``n`` get a behaviour: at least one in a world of 8 or more, if any."""
    return max(1, round(share * n)) if n >= 8 and share > 0 else round(share * n)


def _pick(rng: random.Random, items: list[_T], share: float) -> list[_T]:
    """``share`` of ``items`` at random, at least one when any is asked for."""
    if share <= 0 or not items:
        return []
    return rng.sample(items, min(len(items), max(1, round(share * len(items)))))


# ---- audience -------------------------------------------------------------------------------


def fake_followers_at(c: Creator, t: float) -> float:
    """Fake followers at ``t``: bought packages, slowly purged by the platform."""
    if c.bought_steps is None:
        return 0.0
    return sum(n * FAKE_SURVIVAL_PER_DAY ** ((t - at) / DAY) for at, n in c.bought_steps if at <= t)


def spike_growth(spike: OrganicSpike, day: int) -> float:
    """The share of the audience a caused spike adds on ``day``: most at once, then a tail."""
    decay = math.exp(-1.0 / SPIKE_CAUSES[spike.cause].tau)
    return spike.gain * (1.0 - decay) * decay ** (day - spike.day)


def join_audience(c: Creator, spike: OrganicSpike) -> None:
    """The spike's newcomers stay, watching and engaging less than the followers who chose the
    creator: reach and like rates become the blend of both."""
    cause, g = SPIKE_CAUSES[spike.cause], spike.gain
    c.reach *= (1.0 + cause.watch * g) / (1.0 + g)
    c.like_mult *= (1.0 + cause.watch * cause.engage * g) / (1.0 + cause.watch * g)


# ---- planted comments -----------------------------------------------------------------------


def pod_comments(c: Creator, v: Video, accounts: list[str], *, stealth: bool) -> Iterator[Comment]:
    """The pod's ``accounts`` commenting on a member's fresh video."""
    rng = c.hard if stealth else c.rng
    for who in accounts:
        if rng.random() < (0.6 if stealth else 0.85):
            if stealth:
                ct, text = v.published + rng.uniform(600.0, 12 * HOUR), _stealth_line(rng, c)
                # Half the time through an account never seen before (a second account,
                # a friend asked to help): no fixed roster to spot.
                who = who if rng.random() < 0.5 else commenter(rng)
            else:
                ct = v.published + rng.uniform(60.0, 45 * 60.0)
                text = rng.choice(corpus.POD_COMMENTS)
            yield ct, text, who


def bot_comments(c: Creator, v: Video) -> Iterator[Comment]:
    """A burst of bot comments on a video of a creator who bought followers."""
    if c.stealth_bots:
        yield from _stealth_bot_comments(c, v)
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
        yield ct, text, f"user{rng.randrange(10**9, 10**10)}"


def _stealth_bot_comments(c: Creator, v: Video) -> Iterator[Comment]:
    """Bots a near-duplicate filter misses: lines from a template, handles like anyone's,
    spread over hours rather than minutes."""
    rng = c.hard
    begin = v.published + rng.uniform(600.0, 12 * HOUR)
    spread = rng.uniform(1.0, 6.0) * HOUR
    for _ in range(rng.randint(10, 30)):
        ct = begin + rng.uniform(0.0, spread)
        text = _stealth_line(rng, c, bot=True)
        bot = f"user{rng.randrange(10**9, 10**10)}" if rng.random() < 0.25 else commenter(rng)
        yield ct, text, bot


_OPENERS = ("", "", "Wow ", "Omg ", "Haha ", "Ôi ", "Trời ơi ", "Bro ", "Ok ", "Ayy ")
_CLOSERS = ("", "", "!", "!!", " nha", " <3", "...", " luôn", " fr", " 100%")


def _stealth_line(rng: random.Random, c: Creator, *, bot: bool = False) -> str:
    """A comment in everyday words (a pod's or a bot's), varied by a template so that no two
    in a burst read alike."""
    words = corpus.BOT_COMMENTS if bot else corpus.POD_COMMENTS
    body = rng.choice((*corpus.COMMENTS[c.lang], *words))
    emoji = rng.choice(corpus.BOT_EMOJI) * rng.randint(0, 2)
    return f"{rng.choice(_OPENERS)}{body}{rng.choice(_CLOSERS)}{emoji}".strip()
