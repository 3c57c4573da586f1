"""What Spark's streaming checkpoint says a micro-batch read: its Kafka offset range.

The job commits a batch to Redis in the background while Spark plans and reads the next one
(:class:`streaming.handler.BatchHandler`), so after a crash Spark's commit log can be one batch
ahead of Redis. That batch is not re-run by Spark; the job reads its offsets here and
replays it itself, from Kafka, before the batch Spark hands it.

Layout (Spark 4, one Kafka source), all text:
    ``offsets/<batch>``: ``v1``, a line of batch metadata, then the end offsets as JSON,
    ``{"topic": {"partition": offset}}``; the start of batch *N* is the end of *N - 1*.
    ``sources/0/0``: the offsets the query started from (the start of batch 0), after a
    version line that Spark prefixes with a byte for old readers.
"""

from __future__ import annotations

import json
from pathlib import Path

Offsets = dict[str, dict[str, int]]
EARLIEST = -2  # Spark's Kafka source: "earliest" for one partition in an offsets JSON


def _offsets_json(path: Path) -> Offsets:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: not in the checkpoint (was it cleaned?)") from None
    if not lines or not lines[-1].lstrip().startswith("{"):
        raise ValueError(f"{path}: no offsets JSON in its last line")
    raw = json.loads(lines[-1])
    return {t: {str(p): int(o) for p, o in parts.items()} for t, parts in raw.items()}


def batch_end(checkpoint: Path, batch_id: int) -> Offsets:
    """End offsets (exclusive) of ``batch_id``, from the offset log."""
    return _offsets_json(checkpoint / "offsets" / str(batch_id))


def batch_range(checkpoint: Path, batch_id: int) -> tuple[Offsets, Offsets]:
    """(start, end) offsets of ``batch_id``, over the same partitions.

    A partition the batch read that its predecessor did not (one added to a topic) starts at
    :data:`EARLIEST`, as Spark's source starts a new partition.
    """
    end = batch_end(checkpoint, batch_id)
    before = (
        _offsets_json(checkpoint / "sources" / "0" / "0")
        if batch_id == 0
        else batch_end(checkpoint, batch_id - 1)
    )
    start = {t: {p: before.get(t, {}).get(p, EARLIEST) for p in parts} for t, parts in end.items()}
    return start, end


def last_finished_batch(checkpoint: Path) -> int | None:
    """The highest batch in Spark's commit log (ran to the end of ``foreachBatch``), if any."""
    commits = checkpoint / "commits"
    ids = [int(p.name) for p in commits.iterdir() if p.name.isdigit()] if commits.is_dir() else []
    return max(ids, default=None)
