"""Where a micro-batch's results go: Redis (scores, rankings, the engine's state) and Kafka.

Redis layout (``P`` = ``KOL_STREAM_REDIS_PREFIX``, default ``kol:``)::

    P trending:<platform>:<username>   hash   latest score, label and window metrics (TTL)
    P trending:rank:<platform>         zset   creators by trending score, one per platform
    P trending:rank:all                zset   across platforms
    P alerts                           stream recent alerts (field "alert": JSON), capped
    P stream:stats                     hash   counters: events, rejects by reason, late, ...
    P stream:<query id>:commit         string last micro-batch whose effects are in Redis
    P stream:<query id>:c:<key>        hash   one creator's engine state (meta, buckets, videos)
    P stream:<query id>:s:<bucket>     set    comment event-id hashes of a bucket (duplicates)
    P stream:<query id>:d:<bucket>     list   near-duplicate comment pairs of a bucket, an
                                              entry per batch (see streaming.engine)
    P stream:<query id>:g              hash   global engine state (latest event time, format)

Everything a batch changes in Redis, outputs *and* state *and* the commit marker, goes in one
``MULTI``/``EXEC`` transaction, so Redis always holds the effects of a whole number of batches.
The commit marker is ``WATCH``ed: a second job writing with the same checkpoint fails instead
of interleaving.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import orjson
import redis

from ingestion.producer import (
    dlq_record,
    make_rdkafka_producer,
    rdkafka_send,
    route,
)
from kol.redis_keys import RedisKeys
from kol.settings import IngestSettings, Settings, StreamSettings
from kol.topics import DLQ_TOPIC, topic_name
from streaming.engine import BatchResult, TrendEngine
from streaming.state import STATE_FORMAT

if TYPE_CHECKING:
    from streaming.events import Record

log = logging.getLogger(__name__)

# Fields of the score hash that change with the wall clock; everything else is a function of the
# input events only (the restart test compares those).
WALL_CLOCK_FIELDS = ("updated_at",)


def redis_client(settings: Settings) -> redis.Redis:
    return redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=30,
        socket_connect_timeout=10,
        health_check_interval=30,
    )


# One batch's score hashes, written by Redis itself. redis-py packs each command argument in
# Python, about 1 us apiece, and a score hash has ~22 fields: a HSET per creator cost ~50 us
# of the driver's time, the largest share of the commit at 20k events/s. Here a creator is one
# argument, its update as JSON. Numbers are rounded to 6 decimals as ``_fmt`` does and printed
# the way Lua prints them (%.14g), so whole numbers read "50", not "50.0"; null fields are left
# out, as before.
_SCORE_HASHES = """
local decode, null, floor, str, call = cjson.decode, cjson.null, math.floor, tostring, redis.call
local ttl, now = ARGV[1], ARGV[2]
for i, name in ipairs(KEYS) do
  local flat, n = {'updated_at', now}, 2
  for f, v in pairs(decode(ARGV[i + 2])) do
    if v ~= null and f ~= 'key' then
      if type(v) == 'number' and v ~= floor(v) then
        v = floor(v * 1e6 + 0.5) / 1e6
      end
      flat[n + 1], flat[n + 2], n = f, str(v), n + 2
    end
  end
  call('HSET', name, unpack(flat))
  call('EXPIRE', name, ttl)
end
"""
# Creators per script call: bounds one call's argument list, not the transaction's length.
_SCRIPT_CHUNK = 2000

# One batch's engine state, the same way: a HSET, a HDEL and an EXPIRE per creator queued in
# the transaction were two or three commands per creator for redis-py to build, pack and read
# a reply for. Here the arguments stay what they were, each creator laid out as
# (fields set, fields deleted, field, value, ..., deleted field, ...), and 1,000 creators are
# one command. unpack() is bounded by Lua's C stack (~8000 values): long runs go in slices.
_STATE_HASHES = """
local call, ttl, at, min = redis.call, ARGV[1], 2, math.min
local function apply(cmd, name, first, last)
  for lo = first, last, 4000 do
    call(cmd, name, unpack(ARGV, lo, min(lo + 3999, last)))
  end
end
for _, name in ipairs(KEYS) do
  local nset, ndel = tonumber(ARGV[at]), tonumber(ARGV[at + 1])
  at = at + 2
  apply('HSET', name, at, at + 2 * nset - 1)
  at = at + 2 * nset
  apply('HDEL', name, at, at + ndel - 1)
  at = at + ndel
  call('EXPIRE', name, ttl)
end
"""
_STATE_CHUNK = 1000


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return repr(round(value, 6))
    return str(value)


class RedisStore:
    def __init__(self, client: redis.Redis, ss: StreamSettings, query_id: str) -> None:
        self.r = client
        self.ss = ss
        self.keys = RedisKeys(ss.redis_prefix, query_id, ss.alerts_key)

    def committed_batch(self) -> int | None:
        raw = self.r.get(self.keys.commit)
        return None if raw is None else int(raw)

    def load(self, engine: TrendEngine) -> int | None:
        """Fill ``engine`` with the state of the last committed batch; returns that batch id."""
        engine.reset()
        k = self.keys
        committed = self.committed_batch()
        if committed is None:
            return None
        glob = self.r.hgetall(k.glob)
        if b"max_ms" in glob:
            engine.max_ms = int(glob[b"max_ms"])
        found = int(glob.get(b"format", 1))
        if found > STATE_FORMAT:
            raise RuntimeError(
                f"the engine state under {k.ns} is in format {found}, newer than this version's "
                f"{STATE_FORMAT}: run the version that wrote it"
            )
        creator_prefix = f"{k.ns}:c:"
        names = [n.decode() for n in self.r.scan_iter(match=f"{creator_prefix}*", count=1000)]
        for chunk in _chunks(names, 500):
            pipe = self.r.pipeline(transaction=False)
            for name in chunk:
                pipe.hgetall(name)
            for name, fields in zip(chunk, pipe.execute(), strict=True):
                if fields and b"meta" in fields:
                    engine.load_creator(name[len(creator_prefix) :], fields)
        seen_prefix = f"{k.ns}:s:"
        for name in self.r.scan_iter(match=f"{seen_prefix}*", count=1000):
            engine.load_seen(int(name.decode()[len(seen_prefix) :]), self.r.smembers(name))
        dups_prefix = f"{k.ns}:d:"
        for name in self.r.scan_iter(match=f"{dups_prefix}*", count=1000):
            engine.load_dups(int(name.decode()[len(dups_prefix) :]), self.r.lrange(name, 0, -1))
        engine.committed()
        log.info(
            "state of batch %s loaded: %d creators, watermark %s",
            committed,
            len(engine.creators),
            engine.watermark_ms,
        )
        return committed

    def commit(
        self,
        result: BatchResult,
        rejected: Counter[str],
        extra_stats: dict[str, Any] | None = None,
    ) -> bool:
        """Apply one batch atomically; False if it was already applied (a replay after a crash)."""
        k = self.keys
        ss = self.ss
        batch_id = result.batch_id
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        with self.r.pipeline(transaction=True) as pipe:
            pipe.watch(k.commit)
            raw = pipe.get(k.commit)
            if raw is not None and int(raw) >= batch_id:
                return False
            pipe.multi()
            self._state(pipe, result)
            ranks: dict[str, dict[str, float]] = {}
            for chunk in _chunks(result.updates, _SCRIPT_CHUNK):
                pipe.eval(
                    _SCORE_HASHES,
                    len(chunk),
                    *[k.trending(up["key"]) for up in chunk],
                    ss.hash_ttl_wall_s,
                    now,
                    *[orjson.dumps(up) for up in chunk],
                )
            for up in result.updates:
                ranks.setdefault(up["platform"], {})[up["key"]] = up["score"]
            # One ZADD per ranking: a command per creator cost more than its hash write.
            for platform, scores in ranks.items():
                pipe.zadd(k.rank(platform), cast(Any, scores))
                pipe.zadd(k.rank(), cast(Any, scores))
            # In the batch's transaction: a replayed batch cannot add its alerts twice.
            for alert in result.alerts:
                pipe.xadd(
                    k.alerts,
                    {"alert": orjson.dumps(alert)},
                    maxlen=ss.alerts_maxlen,
                    approximate=True,
                )
            for key, platform in result.unranked:
                pipe.zrem(k.rank(platform), key)
                pipe.zrem(k.rank(), key)
            for platform in {up["platform"] for up in result.updates}:
                pipe.expire(k.rank(platform), ss.hash_ttl_wall_s)
            if result.updates:
                pipe.expire(k.rank(), ss.hash_ttl_wall_s)
            counters = Counter(result.counters)
            counters.update({f"rejected:{code}": n for code, n in rejected.items()})
            counters["rejected"] += sum(rejected.values())
            counters["batches"] += 1
            for name, n in counters.items():
                if n:
                    pipe.hincrby(k.stats, name, int(n))
            stats = {"last_batch": batch_id, "last_commit_at": now, **(extra_stats or {})}
            if result.watermark_ms is not None:
                stats["watermark_ms"] = result.watermark_ms
            pipe.hset(k.stats, mapping=cast(Any, {f: _fmt(v) for f, v in stats.items()}))
            pipe.set(k.commit, batch_id)
            pipe.execute()
        return True

    def _state(self, pipe: Any, result: BatchResult) -> None:
        k = self.keys
        ttl = self.ss.state_ttl_wall_s
        delta = result.state
        for chunk in _chunks(delta.creators.items(), _STATE_CHUNK):
            names: list[str] = []
            args: list[Any] = []
            for key, cd in chunk:
                names.append(k.creator(key))
                fields: list[Any] = [] if cd.meta is None else ["meta", cd.meta]
                for b, raw in cd.buckets.items():
                    fields += (f"b:{b}", raw)
                for vid, raw in cd.videos.items():
                    fields += (f"v:{vid}", raw)
                gone = [f"b:{b}" for b in cd.gone_buckets] + [f"v:{v}" for v in cd.gone_videos]
                args += (len(fields) // 2, len(gone), *fields, *gone)
            pipe.eval(_STATE_HASHES, len(names), *names, ttl, *args)
        for key in delta.removed:
            pipe.delete(k.creator(key))
        for b, hashes in delta.seen_added.items():
            for chunk in _chunks(hashes, 5000):
                pipe.sadd(k.seen(b), *chunk)
            pipe.expire(k.seen(b), ttl)
        for b in delta.seen_removed:
            pipe.delete(k.seen(b))
        for b, entry in delta.dups_added.items():
            pipe.rpush(k.dups(b), entry)
            pipe.expire(k.dups(b), ttl)
        for b in delta.dups_removed:
            pipe.delete(k.dups(b))
        if delta.max_ms is not None:
            pipe.hset(k.glob, mapping={"max_ms": delta.max_ms, "format": STATE_FORMAT})
            pipe.expire(k.glob, ttl)


class KafkaOut:
    """Scores, alerts and dead letters, sent and flushed before the Redis commit.

    Delivery is at-least-once: a crash between the flush and the Redis commit replays the batch
    and sends its records again, with the same ids (``score_id``, ``alert_id``, the DLQ
    record's source offset), so consumers deduplicate on them.

    librdkafka (:func:`~ingestion.producer.make_rdkafka_producer`) rather than kafka-python:
    a batch sends one score record per creator it touched, ~19k at 20k events/s, and
    kafka-python's send costs ~40 us of the driver's time each.
    """

    FLUSH_S = 60.0

    def __init__(self, settings: Settings, ingest: IngestSettings, ss: StreamSettings) -> None:
        self.producer = make_rdkafka_producer(
            settings, ingest, **{"client.id": "kol-stream", "linger.ms": 5}
        )
        self.scores = topic_name(ss.scores_topic, ingest)
        self.alerts = topic_name(ss.alerts_topic, ingest)
        self.dlq = topic_name(DLQ_TOPIC, ingest)

    def send(
        self,
        result: BatchResult,
        dead: list[tuple[str | None, bytes]],
        computed_at: str,
    ) -> None:
        failed: list[str] = []

        def delivered(err: Any, msg: Any) -> None:
            if err is not None:
                failed.append(f"{msg.topic()}: {err}")

        def produce(topic: str, key: str | None, value: bytes) -> None:
            encoded = None if key is None else key.encode()
            rdkafka_send(self.producer, topic, value, encoded, on_delivery=delivered)

        for up in result.updates:
            record = {"score_id": f"{up['key']}:{result.batch_id}", **up}
            record["batch_id"] = result.batch_id
            record["computed_at"] = computed_at
            produce(self.scores, up["key"], orjson.dumps(record))
        for alert in result.alerts:
            produce(self.alerts, alert["key"], orjson.dumps(alert))
        for key, value in dead:
            produce(self.dlq, key, value)
        left = self.producer.flush(self.FLUSH_S)
        if left:
            raise RuntimeError(
                f"{left} record(s) for {self.scores}, {self.alerts} or {self.dlq} not delivered "
                f"to Kafka within {self.FLUSH_S:.0f} s: is the broker up?"
            )
        if failed:
            raise RuntimeError(f"{len(failed)} record(s) not delivered to Kafka: {failed[0]}")

    def close(self) -> None:
        self.producer.flush(10)


def dead_letter(
    topic: str, payload: bytes, spark_reason: str, partition: int, offset: int
) -> tuple[str | None, bytes, str]:
    """(key, DLQ record, reason code) for an event the stream rejected.

    The reason code comes from the pydantic contract (the same codes as the producers' DLQ
    records) when it rejects the payload too; otherwise ``stream_check`` with Spark's reason.
    """
    routed = route(topic, payload, source="kol-stream")
    if routed.reason is not None:
        record = orjson.loads(routed.value)
        code = routed.reason
    else:
        code = "stream_check"
        value = dlq_record(topic, payload, code, spark_reason, "kol-stream", routed.key)
        record = orjson.loads(value)
    record["stream_reason"] = spark_reason
    record["source_partition"] = partition
    record["source_offset"] = offset
    return routed.key, orjson.dumps(record), code


def dead_letters(
    rejected: Iterable[tuple[Record, str]],
) -> tuple[list[tuple[str | None, bytes]], Counter[str]]:
    """DLQ (key, record) pairs for the records a batch rejected, and a count per reason code."""
    dead: list[tuple[str | None, bytes]] = []
    codes: Counter[str] = Counter()
    for rec, reason in rejected:
        key, value, code = dead_letter(
            rec.topic, rec.payload or b"", reason, rec.partition, rec.offset
        )
        dead.append((key, value))
        codes[code] += 1
    return dead, codes


def _chunks(items: list[Any] | Iterable[Any], size: int) -> Iterable[list[Any]]:
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i : i + size]
