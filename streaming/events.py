"""Driver-side completion of a micro-batch: display counts parsed with the one Python rule.

Spark hands over the few display strings the engine needs (``*_raw`` columns, see
:func:`streaming.transforms.engine_rows`); they are parsed here with
:func:`ingestion.counts.parse_count`, the same rule and implementation the producers check
with. A string that does not parse makes its event a reject with the reason, never a 0.
Display strings repeat a lot ("1.2K"), so results are memoised.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

import numpy as np
import pandas as pd

from ingestion.counts import CountParseError, parse_count

# engine column <- display-string column shipped by Spark, and the payload field it came from
RAW_COUNTS: Final = {
    "views": ("views_raw", "view_count_raw"),
    "likes": ("likes_raw", "like_count_raw"),
    "comments": ("comments_raw", "comment_count_raw"),
    "shares": ("shares_raw", "share_count_raw"),
    "followers": ("followers_raw", "followers_raw"),
    "following": ("following_raw", "following_raw"),
    "total_likes": ("total_likes_raw", "likes_raw"),
    "posts": ("posts_raw", "posts_raw"),
}


@lru_cache(maxsize=1 << 16)
def _parse(raw: str) -> tuple[float, str | None]:
    try:
        value = parse_count(raw)
    except CountParseError as exc:
        return np.nan, exc.reason
    return (np.nan if value is None else float(value)), None


def complete_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Fill the engine's count columns from the ``*_raw`` strings; unparseable -> reject."""
    frame = frame.copy()
    reasons = frame["reject_reason"].astype(object).where(frame["reject_reason"].notna(), None)
    for column, (raw_column, field) in RAW_COUNTS.items():
        if raw_column not in frame:
            continue
        raw = frame[raw_column]
        present = raw.notna().to_numpy()
        if not present.any():
            continue
        values = frame[column].to_numpy(dtype="float64", copy=True)
        for i in np.flatnonzero(present):
            text = raw.iat[i]
            value, error = _parse(text)
            if error is None:
                values[i] = value
            else:
                message = f"{field}: {error} ({text})"
                reasons.iat[i] = (
                    message if reasons.iat[i] is None else f"{reasons.iat[i]}; {message}"
                )
        frame[column] = values
    frame["reject_reason"] = reasons
    return frame
