"""kol_json_fields reads a payload as Spark's from_json with an all-string schema does."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark_jobs import functions
from spark_jobs.functions import json_fields

NAMES = ["a", "b", "c"]
# Payloads at the edges of JSON, and of what Spark's reader allows by default.
PAYLOADS = [
    '{"a": "x", "b": "y", "c": "z"}',
    '{"c": "last", "a": "first"}',  # order in the payload does not matter
    '{"a": 12, "b": -3.50, "c": 1e3}',  # numbers, as their text
    '{"a": true, "b": false, "c": null}',
    '{"a": -0, "b": 123456789012345678901234567890, "c": 1.0}',
    '{"a": 1.5e-7, "b": 0.1, "c": -2E+2}',
    '{"a": {"n": [1, {"m": "v"}]}, "b": [1, 2], "c": []}',  # nested values, as JSON
    '{"a": "caf\\u00e9 \\"q\\" \\n", "b": "Tiếng Việt 🎉", "c": ""}',  # escapes, UTF-8
    '{"a": "one", "a": "two"}',  # a repeated key: the last one
    '{"other": {"deep": [1, 2, 3]}, "b": "kept"}',  # unknown fields skipped
    "{'a': 'single quotes'}",
    '{"a": NaN, "b": Infinity}',
    "{}",
    '  {"a": "padded"}  ',
    '{"a": "x"} trailing',
    '{"a": "trunc',
    '{"a": }',
    '{"a" "b"}',
    "[1, 2]",
    "123",
    '"a string"',
    "null",
    "",
    "not json",
    None,
]


def _from_json(spark: SparkSession):  # type: ignore[no-untyped-def]
    schema = T.StructType(
        [T.StructField(n, T.StringType()) for n in NAMES]
        + [T.StructField("_corrupt_record", T.StringType())]
    )
    df = spark.createDataFrame([(i, p) for i, p in enumerate(PAYLOADS)], "i INT, v STRING")
    return df.select(
        "i",
        F.from_json("v", schema, {"columnNameOfCorruptRecord": "_corrupt_record"}).alias("s"),
        json_fields(spark, F.col("v"), NAMES).alias("f"),
    ).orderBy("i")


def test_json_fields_agree_with_from_json(spark: SparkSession) -> None:
    rows = _from_json(spark).collect()
    assert len(rows) == len(PAYLOADS)
    mismatches = []
    for row in rows:
        spark_ok = row.s is not None and row.s["_corrupt_record"] is None
        expected = [row.s[n] for n in NAMES] if spark_ok else None
        if row.f != expected:
            mismatches.append((PAYLOADS[row.i], expected, row.f))
    assert not mismatches


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ('{"b": "y", "a": 1}', ["1", "y", None]),
        ('{"a": [1, {"k": "v"}]}', ['[1,{"k":"v"}]', None, None]),
        ('{"a": "x"', None),
        (None, None),
    ],
)
def test_json_fields_by_example(spark: SparkSession, payload: str | None, expected) -> None:  # type: ignore[no-untyped-def]
    df = spark.createDataFrame([(payload,)], "v STRING")
    assert df.select(json_fields(spark, F.col("v"), NAMES)).first()[0] == expected


def test_bytes_that_are_not_utf8_make_the_payload_malformed(spark: SparkSession) -> None:
    # Spark's from_json would have read them as replacement characters; a reject keeps the
    # payload as it came, so nothing is lost.
    df = spark.createDataFrame([(b'{"a": "caf\xe9"}',)], "b BINARY")
    got = df.select(json_fields(spark, F.col("b").cast("string"), NAMES)).first()[0]
    assert got is None


def test_threads_of_one_session_register_the_functions_once() -> None:
    calls: list[str] = []

    def register_java_function(name: str, java_class: str, return_type: str) -> None:
        time.sleep(0.01)  # as slow as a JVM round trip, so unguarded threads would overlap
        calls.append(name)

    class FakeSession:  # weak-referenceable, as a SparkSession is
        udf = SimpleNamespace(registerJavaFunction=register_java_function)

    session = FakeSession()
    threads = [threading.Thread(target=functions.register, args=(session,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(calls) == sorted(functions._FUNCTIONS)
