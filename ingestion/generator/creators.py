"""Drawing the cast: creators, their shop products, the handles of people who comment.

Each creator draws from random streams of its own (:func:`seed_for`), so any subset of creators
(a shard) is drawn exactly as in the full world.
"""

from __future__ import annotations

import hashlib
import math
import random

from ingestion import corpus
from ingestion.contracts import event_key
from ingestion.generator.config import GeneratorConfig
from ingestion.generator.model import PLATFORM_PARAMS, PLATFORM_WEIGHTS, Creator, Product


def seed_for(seed: int, idx: int, stream: int) -> int:
    return int.from_bytes(
        hashlib.blake2b(f"{seed}:{idx}:{stream}".encode(), digest_size=8).digest()
    )


def new_creator(cfg: GeneratorConfig, idx: int, taken: set[tuple[str, str]]) -> Creator:
    rng = random.Random(seed_for(cfg.seed, idx, 1))
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
        dirt=random.Random(seed_for(cfg.seed, idx, 2)),
        hard=random.Random(seed_for(cfg.seed, idx, 3)),
        posts=int(rng.uniform(20, 800)),
    )
    c.key = event_key(platform, handle)
    c.shop = rng.random() < cfg.shop_share
    if c.shop:
        c.products = [new_product(c) for _ in range(rng.randint(1, 5))]
    return c


def new_product(c: Creator) -> Product:
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


def commenter(rng: random.Random) -> str:
    """A handle like anyone's, for a viewer who comments."""
    name = corpus.ascii_fold(rng.choice(corpus.VI_GIVEN + corpus.EN_GIVEN)).lower().replace(" ", "")
    return f"{name}{rng.choice(corpus.HANDLE_SEPARATORS)}{rng.randint(1, 9999)}"


def profile_url(c: Creator) -> str:
    if c.platform == "tiktok":
        return f"https://www.tiktok.com/@{c.username}"
    if c.platform == "youtube":
        return f"https://www.youtube.com/@{c.username}"
    return f"https://www.instagram.com/{c.username}/"
