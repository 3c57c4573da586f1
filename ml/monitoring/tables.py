"""Monitoring in Gold: ``ml_drift`` (one row per day, model and feature) and ``ml_score_stats``
(one row per day and model), written per scoring day and read back for the retrain decision."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
import pandas as pd

from kol.iceberg import day_filter
from kol.settings import MlSettings
from ml.monitoring.measure import QUANTILES, Monitoring

DRIFT_COLUMNS = (
    "date_day",
    "model",
    "model_version",
    "kind",
    "feature",
    "psi",
    "rows",
    "reference_rows",
    "missing_share",
    "reference_missing_share",
    "scored_at",
    "computed_at",
)
STATS_COLUMNS = (
    "date_day",
    "model",
    "model_version",
    "kind",
    "rows",
    "scored",
    "score_mean",
    "score_std",
    "score_min",
    "score_p05",
    "score_p25",
    "score_p50",
    "score_p75",
    "score_p95",
    "score_max",
    "band_shares",
    "psi_max",
    "psi_max_feature",
    "drifted_features",
    "psi_threshold",
    "reference_rows",
    "mlflow_run_id",
    "scored_at",
    "computed_at",
)


def gold_tables(ml: MlSettings) -> tuple[str, str]:
    return f"{ml.gold_schema}.{ml.drift_table}", f"{ml.gold_schema}.{ml.score_stats_table}"


def drift_schema() -> Any:
    import pyarrow as pa

    ts, s, d = pa.timestamp("us", tz="UTC"), pa.string(), pa.float64()
    return pa.schema(
        [
            pa.field("date_day", pa.date32(), nullable=False),
            pa.field("model", s, nullable=False),
            pa.field("model_version", s),
            pa.field("kind", s),
            pa.field("feature", s, nullable=False),
            pa.field("psi", d),
            pa.field("rows", pa.int64()),
            pa.field("reference_rows", pa.int64()),
            pa.field("missing_share", d),
            pa.field("reference_missing_share", d),
            pa.field("scored_at", ts, nullable=False),
            pa.field("computed_at", ts),
        ]
    )


def stats_schema() -> Any:
    import pyarrow as pa

    ts, s, d, i = pa.timestamp("us", tz="UTC"), pa.string(), pa.float64(), pa.int64()
    fields = [
        pa.field("date_day", pa.date32(), nullable=False),
        pa.field("model", s, nullable=False),
        pa.field("model_version", s),
        pa.field("kind", s),
        pa.field("rows", i),
        pa.field("scored", i),
    ]
    fields += [pa.field(c, d) for c in STATS_COLUMNS if c.startswith("score_")]
    fields += [
        pa.field("band_shares", s),
        pa.field("psi_max", d),
        pa.field("psi_max_feature", s),
        pa.field("drifted_features", i),
        pa.field("psi_threshold", d),
        pa.field("reference_rows", i),
        pa.field("mlflow_run_id", s),
        pa.field("scored_at", ts, nullable=False),
        pa.field("computed_at", ts),
    ]
    return pa.schema(fields)


def gold_frames(
    ml: MlSettings, mon: Monitoring, computed_at: datetime
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pure: the day's rows of ml_drift and ml_score_stats."""
    from ml.batch import day_end

    scored_at = day_end(mon.day)
    drift_rows, stats_rows = [], []
    for mm in mon.models.values():
        base = {"date_day": mon.day, "model": mm.model, "model_version": mm.version}
        base["kind"] = mm.kind
        for d in mm.drift:
            drift_rows.append(
                {
                    **base,
                    "feature": d.feature,
                    "psi": d.psi if math.isfinite(d.psi) else None,
                    "rows": d.rows,
                    "reference_rows": d.reference_rows,
                    "missing_share": d.missing_share,
                    "reference_missing_share": d.reference_missing_share,
                    "scored_at": scored_at,
                    "computed_at": computed_at,
                }
            )
        sc = mm.scores
        stats_rows.append(
            {
                **base,
                "rows": sc["rows"],
                "scored": sc["scored"],
                **{f"score_{k}": sc.get(k) for k in ("mean", "std", "min", *dict(QUANTILES))},
                "score_max": sc.get("max"),
                "band_shares": orjson.dumps(sc["bands"]).decode(),
                "psi_max": mm.psi_max,
                "psi_max_feature": mm.psi_max_feature,
                "drifted_features": mm.drifted if mm.reference_rows is not None else None,
                "psi_threshold": ml.drift_psi_threshold,
                "reference_rows": mm.reference_rows,
                "mlflow_run_id": mm.run_id,
                "scored_at": scored_at,
                "computed_at": computed_at,
            }
        )
    return (
        pd.DataFrame(drift_rows, columns=list(DRIFT_COLUMNS)),
        pd.DataFrame(stats_rows, columns=list(STATS_COLUMNS)),
    )


def gold_table(ml: MlSettings, name: str, schema: Any) -> Any:
    """``<gold>.<name>`` (pyiceberg), created partitioned by ``date_day`` if missing, as
    :func:`ml.batch.scores_table` creates kol_scores."""
    from pyiceberg.exceptions import NoSuchTableError
    from pyiceberg.transforms import IdentityTransform

    from kol.iceberg import catalog

    cat = catalog(ml.core)
    ident = f"{ml.gold_schema}.{name}"
    try:
        return cat.load_table(ident)
    except NoSuchTableError:
        pass
    cat.create_namespace_if_not_exists(ml.gold_schema)
    table = cat.create_table_if_not_exists(ident, schema=schema)
    if table.spec().is_unpartitioned():
        with table.update_spec() as spec:
            spec.add_field("date_day", IdentityTransform(), "date_day")
    return cat.load_table(ident)


def write_gold(ml: MlSettings, mon: Monitoring, computed_at: datetime) -> tuple[int, int]:
    """Replace the day's rows of ml_drift and ml_score_stats (one commit each)."""
    import pyarrow as pa

    drift_rows, stats_rows = gold_frames(ml, mon, computed_at)
    for name, schema, rows in (
        (ml.drift_table, drift_schema(), drift_rows),
        (ml.score_stats_table, stats_schema(), stats_rows),
    ):
        data = pa.Table.from_pandas(rows, schema=schema, preserve_index=False)
        gold_table(ml, name, schema).overwrite(data, overwrite_filter=day_filter(day=mon.day))
    return len(drift_rows), len(stats_rows)


# ---- reading back (the retrain decision) ------------------------------------------------------
@dataclass(frozen=True)
class DriftRecord:
    """A model's drift on its newest scored day (one ml_score_stats row)."""

    model: str
    version: str
    day: date
    psi_max: float | None
    feature: str | None


def latest_records(stats: pd.DataFrame) -> list[DriftRecord]:
    """Pure: per model, the row of its newest day (the latest computed on that day)."""
    if stats.empty:
        return []
    newest = stats.sort_values(["model", "date_day", "computed_at"]).groupby("model").tail(1)
    return [
        DriftRecord(
            str(r["model"]),
            str(r["model_version"]),
            r["date_day"],
            None if pd.isna(r["psi_max"]) else float(r["psi_max"]),
            None if pd.isna(r["psi_max_feature"]) else str(r["psi_max_feature"]),
        )
        for r in newest.to_dict("records")
    ]


def latest_drift(ml: MlSettings, models: Sequence[str]) -> list[DriftRecord]:
    """The newest ml_score_stats row of each of ``models`` (none before the table exists)."""
    from pyiceberg.exceptions import NoSuchTableError

    from kol.iceberg import catalog

    if not models:
        return []
    try:
        table = catalog(ml.core).load_table(f"{ml.gold_schema}.{ml.score_stats_table}")
    except NoSuchTableError:
        return []
    cols = ("model", "model_version", "date_day", "psi_max", "psi_max_feature", "computed_at")
    names = ", ".join("'" + m.replace("'", "''") + "'" for m in sorted(set(models)))
    df = table.scan(row_filter=f"model IN ({names})", selected_fields=cols).to_pandas()
    return latest_records(df)
