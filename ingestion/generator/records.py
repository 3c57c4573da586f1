"""The records a scraper would send, built from the world's state.

Field order follows the contracts; ``event_id`` and ``event_time`` are filled in when the
event is emitted and encoded. Counts are display strings the way scrapers see them ("11.3K",
"1,2K" in Vietnamese locale), sometimes unreadable (``missing_rate``).
"""

from __future__ import annotations

from typing import Any

from ingestion import corpus
from ingestion.contracts import EVENT_TYPES
from ingestion.counts import format_count
from ingestion.generator.creators import profile_url
from ingestion.generator.model import Creator, Product, Video
from kol.topics import COMMENTS_TOPIC, DISCOVERY_TOPIC, PRODUCTS_TOPIC, PROFILES_TOPIC, VIDEOS_TOPIC

MISSING_DISPLAYS = ("—", "", "N/A")


def display_count(c: Creator, n: float, style: str, missing_rate: float) -> str:
    r = c.dirt.random()
    if r < missing_rate:
        return MISSING_DISPLAYS[int(r / missing_rate * len(MISSING_DISPLAYS))]
    n = int(n)
    if c.platform == "instagram" and style == "short" and n < 10_000:
        style = "full"  # Instagram spells out small counts: 9,876
    return format_count(n, style, c.lang)


def profile_record(c: Creator, followers: float, missing_rate: float) -> dict[str, Any]:
    return {
        "event_id": None,
        "event_time": None,
        "event_type": EVENT_TYPES[PROFILES_TOPIC],
        "platform": c.platform,
        "username": c.username,
        "nickname": c.nickname,
        "followers_raw": display_count(c, followers, c.params.follower_style, missing_rate),
        "following_raw": None
        if c.platform == "youtube"
        else display_count(c, c.following, "short", missing_rate),
        "likes_raw": display_count(c, c.total_likes, "short", missing_rate)
        if c.platform == "tiktok"
        else None,
        "posts_raw": None
        if c.platform == "tiktok"
        else display_count(c, c.posts, "full", missing_rate),
        "bio": c.bio,
        "avatar_url": f"https://avatars.kol.example/{c.platform}/{c.username}.jpg",
        "verified": c.verified,
        "profile_url": profile_url(c),
    }


def video_record(c: Creator, v: Video, missing_rate: float) -> dict[str, Any]:
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
        "view_count_raw": display_count(c, v.views, view_style, missing_rate),
        "like_count_raw": display_count(c, v.likes, "short", missing_rate),
        "comment_count_raw": display_count(c, v.comments, "short", missing_rate),
        "share_count_raw": display_count(c, v.shares, "short", missing_rate),
        "view_count": v.views,
        "like_count": v.likes,
        "comment_count": v.comments,
        "share_count": v.shares,
        "published_at": v.published_iso,
    }


def comment_record(c: Creator, v: Video, text: str, commenter: str) -> dict[str, Any]:
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


def product_record(c: Creator, p: Product, missing_rate: float) -> dict[str, Any]:
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
        "sold_count_raw": display_count(c, sold, "short", missing_rate),
        "sold_count": sold,
        "category": p.category,
    }


def no_shop_record(c: Creator) -> dict[str, Any]:
    return {
        "event_id": None,
        "event_time": None,
        "event_type": EVENT_TYPES[PRODUCTS_TOPIC],
        "platform": c.platform,
        "username": c.username,
        "has_shop": False,
        "sold_count_raw": None,
    }


def discovery_record(c: Creator, v: Video, source: str) -> dict[str, Any]:
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
