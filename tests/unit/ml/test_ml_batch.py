"""Batch scoring rows: the columns and Redis fields the API reads; newer days win in Redis."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import orjson
import pandas as pd

from api.queries import KOL_SCORES_COLUMNS
from ml.batch import SCORE_COLUMNS, arrow_schema, score_features, write_redis
from ml.settings import MlSettings
from tests.unit.ml.conftest import synthetic_rows


class FakeRedis:
    def __init__(self) -> None:
        self.h: dict[str, dict[str, str]] = {}

    def pipeline(self, transaction: bool = False) -> FakeRedis.Pipe:
        return FakeRedis.Pipe(self)

    class Pipe:
        def __init__(self, r: FakeRedis) -> None:
            self.r, self.ops = r, []

        def hget(self, key: str, field: str) -> None:
            self.ops.append(lambda: self.r.h.get(key, {}).get(field))

        def hset(self, key: str, mapping: dict[str, str]) -> None:
            self.ops.append(lambda: self.r.h.setdefault(key, {}).update(mapping))

        def execute(self) -> list[Any]:
            return [op() for op in self.ops]


def rows_for(day: date, trust_classifier: Any) -> pd.DataFrame:
    df = synthetic_rows(5, 1, seed=2)
    df["date_day"] = day
    return score_features(
        df, {"trust": trust_classifier.scorer("kol_trust", "4"), "success": None},
        computed_at=datetime(2026, 3, 9, tzinfo=UTC),
    )  # fmt: skip


def test_rows_have_the_api_columns_and_the_arrow_schema(trust_classifier: Any) -> None:
    rows = rows_for(date(2026, 3, 5), trust_classifier)
    assert set(KOL_SCORES_COLUMNS) <= set(rows.columns)
    assert list(rows.columns) == list(SCORE_COLUMNS) == arrow_schema().names
    assert rows["scored_at"].iloc[0] == datetime(2026, 3, 5, 23, 59, 59, 999999, tzinfo=UTC)
    assert rows["success_score"].isna().all() and rows["trust_model_version"].eq("4").all()
    assert orjson.loads(rows["trust_reasons"].iloc[0])[0]["factor"]


def test_redis_hashes_and_newer_days_win(trust_classifier: Any) -> None:
    ml = MlSettings(redis_prefix="t:", redis_batch=2)
    r = FakeRedis()
    new = rows_for(date(2026, 3, 5), trust_classifier)
    assert write_redis(ml, new, r) == 5
    key = f"t:scores:{new['kol_id'].iloc[0]}"
    h = r.h[key]
    assert float(h["trust_score"]) == new["trust_score"].iloc[0]
    assert h["trust_label"] == new["trust_label"].iloc[0] and h["trust_model_version"] == "4"
    assert h["trust_scored_at"].startswith("2026-03-05T23:59:59") and "success_score" not in h
    old = rows_for(date(2026, 3, 1), trust_classifier)
    assert write_redis(ml, old, r) == 0  # a backfill does not overwrite newer scores
    assert r.h[key]["date_day"] == "2026-03-05"
    assert write_redis(ml, new, r) == 5  # the same day again: rewritten
