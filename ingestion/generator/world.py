"""The world: creators and their planted behaviours; :meth:`World.events` runs the simulation.

Day by day: followers grow (or shrink, or jump), creators post videos whose counters grow and
saturate, viewers comment in Vietnamese and English, shop products sell with the fresh views of
the videos featuring them, scaled by the niche's conversion and the audience's quality (real /
total followers). Each creator's events carry ids from its own sequence and dirt from its own
stream, so the events of a shard are exactly its share of the full stream.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ingestion import corpus
from ingestion.generator.behaviours import (
    Comment,
    bot_comments,
    fake_followers_at,
    join_audience,
    plant,
    pod_comments,
    spike_growth,
)
from ingestion.generator.config import GeneratorConfig
from ingestion.generator.creators import commenter, new_creator, seed_for
from ingestion.generator.events import FLAWS, SimEvent, iso_time
from ingestion.generator.labels import label_rows, write_label_rows
from ingestion.generator.model import DAY, HOUR, Creator, Video
from ingestion.generator.records import (
    comment_record,
    discovery_record,
    no_shop_record,
    product_record,
    profile_record,
    video_record,
)
from kol.topics import COMMENTS_TOPIC, DISCOVERY_TOPIC, PRODUCTS_TOPIC, PROFILES_TOPIC, VIDEOS_TOPIC

# Ages (hours) at which a scraper revisits a video: often while it is fresh, rarely after.
SNAPSHOT_AGES_H = (1, 3, 6, 12, 24, 36, 48, 72, 96, 120, 168, 240, 336, 504, 720)


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
        taken: set[tuple[str, str]] = set()
        self.creators = [new_creator(config, i, taken) for i in range(config.creators)]
        world_rng = random.Random(seed_for(config.seed, -1, 0))
        pods = plant(config, self.start, self.creators, world_rng)
        self.pods = pods.members
        self.pod_associates = pods.associates
        self.stealth_pods = pods.stealth
        self._heap: list[tuple[float, int, int, SimEvent]] = []
        self._started = False

    # -- ground truth --
    def labels(self) -> list[dict[str, Any]]:
        """One row per creator (:func:`~ingestion.generator.labels.label_rows`)."""
        return label_rows(
            self.creators, self.pods, self.stealth_pods, hard_cases=self.config.hard_cases
        )

    def write_labels(self, path: Path) -> Path:
        return write_label_rows(path, self.labels(), self.config)

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
                join_audience(c, c.spike)
            g += spike_growth(c.spike, day)
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
        c.fake = fake_followers_at(c, day_end)

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
            self._planted_comments(c, v, bot_comments(c, v), "bot")
        if viral:
            for d in range(3):
                self._emit(
                    c, DISCOVERY_TOPIC, t + d * DAY + 2 * HOUR, discovery_record(c, v, "trending")
                )
        elif rng.random() < 0.25:
            source = rng.choice(("search", "hashtag", "for_you"))
            self._emit(
                c, DISCOVERY_TOPIC, t + rng.uniform(1, 12) * HOUR, discovery_record(c, v, source)
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
            self._emit(
                c,
                VIDEOS_TOPIC,
                t,
                video_record(c, v, self.config.missing_rate),
                published=v.published,
            )
            # A scraper samples a few of the new comments between two visits.
            for _ in range(min(new_comments, self.config.comment_cap)):
                ct = rng.uniform(v.last_t, t)
                lang = c.lang if rng.random() < 0.85 else ("en" if c.lang == "vi" else "vi")
                text = rng.choice(corpus.COMMENTS[lang])
                self._emit(c, COMMENTS_TOPIC, ct, comment_record(c, v, text, commenter(rng)))
            v.last_t = t

    def _profile(self, c: Creator, t: float, real: float) -> None:
        followers = real + fake_followers_at(c, t)
        self._emit(c, PROFILES_TOPIC, t, profile_record(c, followers, self.config.missing_rate))

    def _planted_comments(
        self, c: Creator, v: Video, comments: Iterator[Comment], planted: str
    ) -> None:
        for ct, text, who in comments:
            self._emit(c, COMMENTS_TOPIC, ct, comment_record(c, v, text, who), planted=planted)

    def _pod_comments(self, c: Creator, v: Video) -> None:
        assert c.pod_id is not None
        members = [u for u in self.pods[c.pod_id] if u != c.username]
        accounts = members + self.pod_associates[c.pod_id]
        stealth = c.pod_id in self.stealth_pods
        self._planted_comments(c, v, pod_comments(c, v, accounts, stealth=stealth), "pod")

    def _products(self, c: Creator, day: int, day_start: float) -> None:
        rng = c.rng
        if not c.shop:
            if day % 7 == 0:
                t = day_start + rng.uniform(0.0, DAY)
                self._emit(c, PRODUCTS_TOPIC, t, no_shop_record(c))
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
            self._emit(c, PRODUCTS_TOPIC, t, product_record(c, p, self.config.missing_rate))


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
