"""The display-count rule of :mod:`ingestion.counts`, as native Spark SQL expressions.

Same rule, second engine: Silver parses millions of counts, so this stays in Catalyst (no Python
UDF). Both implementations are tested against ``ingestion/count_cases.csv``; when the rule
changes, change both and the table.

Each function returns a struct ``(value, error)``: ``value`` is null when the source had no
value or when it could not be parsed, ``error`` says why it could not (null otherwise), so a
caller can route the row to ``silver.rejects`` instead of silently writing 0.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from ingestion.counts import MISSING_TOKENS

# Java regex: (?U) makes \s match Unicode white space (NBSP, narrow NBSP) like Python's strip().
_SP = r" \x{00a0}\x{202f}"
_COUNT = rf"^([0-9][0-9.,{_SP}]*?)[{_SP}]?([kKmMbB])?\+?$"
_DECIMAL = r"^[0-9]+([.,][0-9]+)?$"
_GROUPED = rf"^[1-9][0-9]{{0,2}}([.,{_SP}])[0-9]{{3}}(\1[0-9]{{3}})*$"
_PERCENT = rf"^([+-]?[0-9]+([.,][0-9]+)?)[{_SP}]?%$"


def _trim(c: Column) -> Column:
    return F.regexp_replace(c, r"(?U)^\s+|\s+$", "")


def _is_missing(s: Column) -> Column:
    return F.lower(s).isin(sorted(MISSING_TOKENS))


def _decimal(num: Column) -> Column:
    return F.regexp_replace(num, ",", ".").cast("decimal(38,6)")


def _result(value: Column, error: Column) -> Column:
    return F.struct(value.cast("bigint").alias("value"), error.cast("string").alias("error"))


def parse_count(c: Column) -> Column:
    """struct<value: bigint, error: string> for one display-count column."""
    raw = c.cast("string")
    s = _trim(raw)
    num = F.regexp_replace(F.regexp_extract(s, _COUNT, 1), rf"[{_SP}]+$", "")
    suffix = F.lower(F.regexp_extract(s, _COUNT, 2))
    multiplier = (
        F.when(suffix == "k", F.lit(1_000))
        .when(suffix == "m", F.lit(1_000_000))
        .otherwise(F.lit(1_000_000_000))
    )
    whole = _decimal(num)
    no_error = F.lit(None).cast("string")

    def bad(reason: str) -> Column:
        return _result(F.lit(None), F.lit(reason))

    return (
        F.when(raw.isNull() | _is_missing(s), _result(F.lit(None), no_error))
        .when(s.rlike(r"^[0-9]+$"), _result(s.cast("decimal(38,0)"), no_error))
        .when(~s.rlike(_COUNT), bad("not a display count"))
        .when(
            suffix != "",
            F.when(
                num.rlike(_DECIMAL),
                # Spark's round() on decimals is HALF_UP, as in the Python rule.
                _result(F.round(whole * multiplier, 0), no_error),
            ).otherwise(bad("a suffixed count has at most one decimal separator")),
        )
        .when(num.rlike(r"^[0-9]+$"), _result(num.cast("decimal(38,0)"), no_error))
        .when(
            num.rlike(_GROUPED),
            _result(F.regexp_replace(num, r"[^0-9]", "").cast("decimal(38,0)"), no_error),
        )
        .when(
            num.rlike(_DECIMAL),
            F.when(whole == F.floor(whole), _result(whole, no_error)).otherwise(
                bad("fractional count without a K/M/B suffix")
            ),
        )
        .otherwise(bad("malformed digit groups"))
    )


def parse_percent(c: Column) -> Column:
    """struct<value: double, error: string>: "1.39%" -> 0.0139."""
    raw = c.cast("string")
    s = _trim(raw)
    bare = _trim(F.regexp_replace(s, "%$", ""))
    number = F.regexp_extract(s, _PERCENT, 1)
    ratio = (_decimal(number) / 100).cast("double")
    return (
        F.when(
            raw.isNull() | _is_missing(s) | _is_missing(bare),
            F.struct(
                F.lit(None).cast("double").alias("value"), F.lit(None).cast("string").alias("error")
            ),
        )
        .when(
            s.rlike(_PERCENT),
            F.struct(ratio.alias("value"), F.lit(None).cast("string").alias("error")),
        )
        .otherwise(
            F.struct(
                F.lit(None).cast("double").alias("value"), F.lit("not a percentage").alias("error")
            )
        )
    )
