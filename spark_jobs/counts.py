"""The display-count rule of :mod:`ingestion.counts`, as native Spark SQL expressions.

Same rule, second engine: Silver parses millions of counts, so this stays in Catalyst (no Python
UDF). Both implementations are tested against ``ingestion/count_cases.csv``; when the rule
changes, change both and the table.

Each transform adds a struct ``(value, error)``: ``value`` is null when the source had no
value or when it could not be parsed, ``error`` says why it could not (null otherwise), so a
caller can route the row to ``silver.rejects`` instead of silently writing 0.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
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


def _result(value: Column, error: Column) -> Column:
    # try_cast: a count beyond bigint is an error below, not a job failure (Spark 4 is ANSI).
    return F.struct(value.try_cast("bigint").alias("value"), error.cast("string").alias("error"))


def with_count(df: DataFrame, raw: str, out: str) -> DataFrame:
    """Add ``out``: struct<value: bigint, error: string> parsed from the string column ``raw``.

    Built in stages of plain columns so each regex runs once per row: nesting them in one
    expression would repeat every sub-expression in each CASE branch and overflow codegen.
    """
    s, num, suf, dec = (f"__{out}_{x}" for x in ("s", "num", "suf", "dec"))
    none = F.lit(None).cast("string")

    def bad(reason: str) -> Column:
        return _result(F.lit(None), F.lit(reason))

    staged = (
        df.withColumn(s, _trim(F.col(raw).cast("string")))
        .withColumn(num, F.regexp_replace(F.regexp_extract(s, _COUNT, 1), rf"[{_SP}]+$", ""))
        .withColumn(suf, F.lower(F.regexp_extract(s, _COUNT, 2)))
        .withColumn(dec, F.regexp_replace(num, ",", ".").try_cast("decimal(38,6)"))
    )
    multiplier = (
        F.when(F.col(suf) == "k", F.lit(1_000))
        .when(F.col(suf) == "m", F.lit(1_000_000))
        .otherwise(F.lit(1_000_000_000))
    )
    parsed = (
        F.when(
            F.col(raw).isNull() | F.lower(s).isin(sorted(MISSING_TOKENS)),
            _result(F.lit(None), none),
        )
        .when(F.col(s).rlike(r"^[0-9]+$"), _result(F.col(s).try_cast("decimal(38,0)"), none))
        .when(~F.col(s).rlike(_COUNT), bad("not a display count"))
        .when(
            F.col(suf) != "",
            F.when(
                F.col(num).rlike(_DECIMAL),
                # Spark's round() on decimals is HALF_UP, as in the Python rule.
                _result(F.round(F.col(dec) * multiplier, 0), none),
            ).otherwise(bad("a suffixed count has at most one decimal separator")),
        )
        .when(F.col(num).rlike(r"^[0-9]+$"), _result(F.col(num).try_cast("decimal(38,0)"), none))
        .when(
            F.col(num).rlike(_GROUPED),
            _result(F.regexp_replace(num, r"[^0-9]", "").try_cast("decimal(38,0)"), none),
        )
        .when(
            F.col(num).rlike(_DECIMAL),
            F.when(F.col(dec) == F.floor(dec), _result(F.col(dec), none)).otherwise(
                bad("fractional count without a K/M/B suffix")
            ),
        )
        .otherwise(bad("malformed digit groups"))
    )
    missing = F.col(raw).isNull() | F.lower(s).isin(sorted(MISSING_TOKENS))
    # Digits beyond what bigint holds parse to null; that is an error, never "missing".
    overflow = parsed.value.isNull() & parsed.error.isNull() & ~missing
    checked = F.when(overflow, bad("count out of range")).otherwise(parsed)
    return staged.withColumn(out, checked).drop(s, num, suf, dec)


def with_percent(df: DataFrame, raw: str, out: str) -> DataFrame:
    """Add ``out``: struct<value: double, error: string>; "1.39%" -> 0.0139."""
    s = f"__{out}_s"
    staged = df.withColumn(s, _trim(F.col(raw).cast("string")))
    bare = _trim(F.regexp_replace(s, "%$", ""))
    ratio = (
        F.regexp_replace(F.regexp_extract(s, _PERCENT, 1), ",", ".").try_cast("decimal(38,6)") / 100
    )
    missing = (
        F.col(raw).isNull()
        | F.lower(s).isin(sorted(MISSING_TOKENS))
        | F.lower(bare).isin(sorted(MISSING_TOKENS))
    )
    none = F.lit(None).cast("string")
    parsed = (
        F.when(missing, F.struct(F.lit(None).cast("double").alias("value"), none.alias("error")))
        .when(
            F.col(s).rlike(_PERCENT),
            F.struct(ratio.cast("double").alias("value"), none.alias("error")),
        )
        .otherwise(
            F.struct(
                F.lit(None).cast("double").alias("value"), F.lit("not a percentage").alias("error")
            )
        )
    )
    return staged.withColumn(out, parsed).drop(s)
