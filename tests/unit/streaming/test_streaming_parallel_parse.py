"""The micro-batch check split over processes gives what one pass gives, in the same order."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pyarrow as pa
import pytest

from ingestion.generator import GeneratorConfig, World
from streaming.events import STREAM_TOPICS, ParallelParser, Record, ipc_bytes, parse_table

TOPIC_OF = {f"x.{t}": t for t in STREAM_TOPICS}


def kafka_rows(records: list[Record]) -> pa.Table:
    """The Kafka source's columns, as the job selects them."""
    return pa.table(
        {
            "topic": [f"x.{r.topic}" for r in records],
            "partition": pa.array([r.partition for r in records], pa.int32()),
            "offset": [r.offset for r in records],
            "kafka_ms": [r.kafka_ms for r in records],
            "value": pa.array([r.payload for r in records], pa.binary()),
        }
    )


@pytest.fixture(scope="module")
def table() -> pa.Table:
    config = GeneratorConfig(creators=60, days=2, seed=4, malformed_rate=0.05)
    events = [ev for ev in World(config).events() if ev.topic in STREAM_TOPICS]
    records = [
        Record(ev.topic, i % 3, i, 1_900_000_000_000, ev.encode()) for i, ev in enumerate(events)
    ]
    records.append(Record(STREAM_TOPICS[0], 0, len(records), 1_900_000_000_000, None))
    return kafka_rows(records)


@pytest.fixture(scope="module")
def parser() -> Iterator[ParallelParser]:
    p = ParallelParser(TOPIC_OF, 3600, workers=2)
    yield p
    p.close()


def test_split_parse_equals_one_pass(table: pa.Table, parser: ParallelParser) -> None:
    assert table.num_rows >= ParallelParser.MIN_SPLIT  # really split, in three
    expected, expected_rejects = parse_table(table, TOPIC_OF, 3600)

    frame, rejected = parser(table)

    pd.testing.assert_frame_equal(frame, expected)
    assert len(expected_rejects) > 20
    assert rejected == expected_rejects


def test_a_slice_is_sent_without_the_rest_of_its_table(table: pa.Table) -> None:
    half = table.slice(table.num_rows // 2)

    data = ipc_bytes(half)

    assert pa.ipc.open_stream(data).read_all().equals(half)
    assert data.size < 0.7 * ipc_bytes(table).size


def test_a_dead_worker_costs_the_batch_nothing(table: pa.Table) -> None:
    p = ParallelParser(TOPIC_OF, 3600, workers=1)
    try:
        assert p._pool is not None
        for proc in p._pool._processes.values():
            proc.kill()
            proc.join()
        expected, _ = parse_table(table, TOPIC_OF, 3600)
        frame, _ = p(table)  # parsed in the caller, pool replaced
        pd.testing.assert_frame_equal(frame, expected)
        frame, _ = p(table)  # and the new pool works
        pd.testing.assert_frame_equal(frame, expected)
    finally:
        p.close()
