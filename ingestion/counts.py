"""Display counts ("11.3K", "1,2K", "475.8m", "1.234.567") to integers: the one Python rule.

Platforms and scrapers show counts rounded and localised. Every Python caller parses them here;
the Spark implementation (Silver, a JVM function in ``infra/maven/spark-udf``) is tested
against the same case table, ``ingestion/count_cases.csv``, so the two engines cannot drift
apart.

The rule:

* surrounding whitespace is ignored; ``""``, ``"—"``, en dash, ``"-"``, ``"N/A"``, ``"NA"``,
  ``"null"``, ``"none"``, ``"NaN"`` (any case) mean *missing* and give ``None``, never 0;
* an optional suffix ``K``/``M``/``B`` (either case, optional space before it) multiplies by
  1e3/1e6/1e9. With a suffix the number has at most one separator, ``.`` or ``,``, and it is a
  decimal separator (``"1,2K"`` is Vietnamese for 1.2K); the result is rounded half up;
* without a suffix, ``"1,234"``, ``"1.234.567"`` and ``"1 234"`` are digit groups (first group
  1-3 digits not starting with 0, then groups of exactly 3, one separator kind); a plain decimal
  such as ``"0.00"`` is accepted only when its fraction is zero, since a count is whole;
* one trailing ``+`` ("10K+", shop "sold" badges) is a lower bound and is dropped;
* a value beyond a signed 64-bit integer is out of range;
* anything else, negatives included, raises :class:`CountParseError` naming the string.

Percentages ("1.39%") are a separate function, :func:`parse_percent`, returning a ratio; a
missing token with a percent sign ("NaN%", "—%") is missing too.
"""

from __future__ import annotations

import functools
import math
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

__all__ = [
    "COUNT_CASES_PATH",
    "MISSING_TOKENS",
    "CountParseError",
    "format_count",
    "parse_count",
    "parse_percent",
]

COUNT_CASES_PATH = Path(__file__).with_name("count_cases.csv")

MISSING_TOKENS = frozenset({"", "—", "\u2013", "-", "n/a", "na", "null", "none", "nan"})

_MULTIPLIERS = {"k": Decimal(1_000), "m": Decimal(1_000_000), "b": Decimal(1_000_000_000)}

# Whitespace that locales use as a digit-group separator: space, NBSP, narrow NBSP.
_SPACES = " \u00a0\u202f"

_COUNT_RE = re.compile(rf"(?P<num>[0-9][0-9.,{_SPACES}]*)[{_SPACES}]?(?P<suf>[kKmMbB])?\+?")
_DECIMAL_RE = re.compile(r"[0-9]+(?:[.,][0-9]+)?")
_GROUPED_RE = re.compile(
    rf"[1-9][0-9]{{0,2}}(?P<sep>[.,{_SPACES}])[0-9]{{3}}(?:(?P=sep)[0-9]{{3}})*"
)
_PERCENT_RE = re.compile(rf"(?P<num>[+-]?[0-9]+(?:[.,][0-9]+)?)[{_SPACES}]?%")


class CountParseError(ValueError):
    """A display count or percentage that follows no known format."""

    def __init__(self, raw: object, reason: str) -> None:
        self.raw = raw
        self.reason = reason
        super().__init__(f"cannot parse {raw!r}: {reason}")


def _is_missing(s: str) -> bool:
    return s.lower() in MISSING_TOKENS


# Counts are stored as 64-bit integers (Spark bigint, Trino bigint); anything larger is junk.
MAX_COUNT = 2**63 - 1


def parse_count(raw: str | int | float | None) -> int | None:
    """Parse one display count. ``None`` means the source had no value (not zero)."""
    value = _parse_display(raw) if isinstance(raw, str) else _parse_count(raw)
    if value is not None and value > MAX_COUNT:
        raise CountParseError(raw, "count out of range")
    return value


def _parse_count(raw: str | int | float | None) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool):  # bool is an int subclass; True is not a count
        raise CountParseError(raw, "a boolean is not a count")
    if isinstance(raw, int):
        if raw < 0:
            raise CountParseError(raw, "negative count")
        return raw
    if isinstance(raw, float):
        if math.isnan(raw):
            return None
        if raw < 0 or not raw.is_integer():
            raise CountParseError(raw, "counts are whole and non-negative")
        return int(raw)
    if not isinstance(raw, str):
        raise CountParseError(raw, f"expected a string, got {type(raw).__name__}")

    s = raw.strip()
    if _is_missing(s):
        return None
    if s.isdigit() and s.isascii():  # the common case, kept off the regex path
        return int(s)
    m = _COUNT_RE.fullmatch(s)
    if m is None:
        raise CountParseError(raw, "not a display count")
    num, suffix = m.group("num").rstrip(_SPACES), m.group("suf")

    if suffix is not None:
        if _DECIMAL_RE.fullmatch(num) is None:
            raise CountParseError(raw, "a suffixed count has at most one decimal separator")
        value = Decimal(num.replace(",", ".")) * _MULTIPLIERS[suffix.lower()]
        return int(value.to_integral_value(rounding=ROUND_HALF_UP))
    if num.isdigit():
        return int(num)
    if _GROUPED_RE.fullmatch(num) is not None:
        return int("".join(ch for ch in num if ch.isdigit()))
    if _DECIMAL_RE.fullmatch(num) is not None:
        value = Decimal(num.replace(",", "."))
        if value != value.to_integral_value():
            raise CountParseError(raw, "fractional count without a K/M/B suffix")
        return int(value)
    raise CountParseError(raw, "malformed digit groups")


# Display strings repeat ("1.2K"), and the hot path parses each twice (contract check, then
# value): memoised, a repeat costs a dict lookup. Errors are not cached: they raise each time.
_parse_display = functools.lru_cache(maxsize=1 << 16)(_parse_count)


def parse_percent(raw: str | float | None) -> float | None:
    """Parse a percentage string ("1.39%", "1,39 %") to a ratio (0.0139). ``None`` if missing."""
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, str):
        raise CountParseError(raw, "a percentage must be a string ending in %")
    s = raw.strip()
    # "NaN%": a missing ratio formatted as a percentage by a pandas export.
    if _is_missing(s) or _is_missing(s.removesuffix("%").strip()):
        return None
    m = _PERCENT_RE.fullmatch(s)
    if m is None:
        raise CountParseError(raw, "not a percentage")
    return float(Decimal(m.group("num").replace(",", ".")) / 100)


# ---- display formatting (the inverse, for the generator and round-trip tests) ---------------


def format_count(n: int, style: str = "short", locale: str = "en") -> str:
    """Render ``n`` the way a platform page shows it.

    ``style``: ``"short"`` (TikTok/Instagram: 999, 11.3K, 1.3M, 22M; one decimal, truncated),
    ``"short3"`` (YouTube: three significant digits, 1.23K, 12.3K, 123K),
    ``"lower"`` (analytics sites: 3.3k, 475.8m, 29.0b), ``"full"`` (1,234,567).
    ``locale="vi"`` swaps the separators: decimal comma, dot digit groups.
    """
    if n < 0:
        raise ValueError(f"negative count {n}")
    if n < 1000:
        return str(n)
    if style == "full":
        text = f"{n:,}"
        return text.replace(",", ".") if locale == "vi" else text
    div, suffix = next(
        (d, s) for d, s in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")) if n >= d
    )
    if style == "short3":
        digits = len(str(n // div))
        decimals = max(0, 3 - digits)
        scale = 10**decimals
        text = f"{math.floor(n * scale / div) / scale:.{decimals}f}"
        text = text.rstrip("0").rstrip(".") if "." in text else text
    elif style == "lower":
        text = f"{math.floor(n * 10 / div) / 10:.1f}"
        suffix = suffix.lower()
    else:
        text = f"{math.floor(n * 10 / div) / 10:.1f}".removesuffix(".0")
    if locale == "vi":
        text = text.replace(".", ",")
    return text + suffix
