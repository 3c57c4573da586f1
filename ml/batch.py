"""Batch scoring: every creator of a Gold day, with the champion models, into
``<gold>.kol_scores`` (Iceberg) and the Redis score hashes the API reads.

Idempotent on the day: the day's rows in ``kol_scores`` are replaced in one Iceberg commit
(``overwrite`` filtered on ``date_day``), and ``scored_at`` is the end of the day the features
describe (not the wall clock; ``computed_at`` has that), so re-running a day rewrites the same
rows. Redis keeps each creator's newest day: a backfill of an older day does not overwrite a
newer score. After both sinks, :func:`ml.monitoring.monitor_run` records the score distribution
and feature drift of the run (MLflow, ``gold.ml_drift`` / ``gold.ml_score_stats``).

Redis: ``<prefix>scores:<kol_id>`` hash with ``trust_score``, ``trust_label``,
``trust_model_version``, ``trust_reasons`` (JSON), ``trust_scored_at`` and the same for
``success_``, plus ``date_day`` (see api.live / api.scoring); trust also has ``trust_basis`` and
``trust_components`` (JSON: each component's score, label, model version and reasons).

Trust is put together from its components (:func:`ml.scoring.combine_trust`): the audience
component (the ``trust`` champion, ``kol_trust``, on Gold's features) and the account component
(``kol_trust_account``, on each creator's profile as it stood that day, ``dim_kols``).
``trust_model_version`` stays the audience model's version.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import numpy as np
import orjson
import pandas as pd

from kol.iceberg import day_filter
from kol.redis_keys import RedisKeys
from kol.settings import MlSettings
from ml import features as F
from ml.account import read_profiles, with_account_features
from ml.features import frame_matrix
from ml.monitoring import monitor_run
from ml.scoring import (
    ACCOUNT,
    AUDIENCE,
    TRUST_BANDS,
    Scorer,
    combine_trust,
    labels_for,
    load_scorer,
)

log = logging.getLogger("kol.ml")

KINDS = ("trust", "success")
SCORE_COLUMNS = (
    "kol_id",
    "platform",
    "date_day",
    "scored_at",
    "computed_at",
    "trust_score",
    "trust_label",
    "trust_model_version",
    "trust_probability",
    "trust_reasons",
    "trust_basis",
    "trust_audience_score",
    "trust_account_score",
    "trust_components",
    "success_score",
    "success_label",
    "success_model_version",
    "success_prediction",
    "success_target_kind",
    "success_reasons",
    "success_basis",
)


def arrow_schema() -> Any:
    import pyarrow as pa

    ts = pa.timestamp("us", tz="UTC")
    s, d = pa.string(), pa.float64()
    return pa.schema(
        [
            pa.field("kol_id", s, nullable=False),
            pa.field("platform", s),
            pa.field("date_day", pa.date32(), nullable=False),
            pa.field("scored_at", ts, nullable=False),
            pa.field("computed_at", ts),
            pa.field("trust_score", d),
            pa.field("trust_label", s),
            pa.field("trust_model_version", s),
            pa.field("trust_probability", d),
            pa.field("trust_reasons", s),
            pa.field("trust_basis", s),
            pa.field("trust_audience_score", d),
            pa.field("trust_account_score", d),
            pa.field("trust_components", s),
            pa.field("success_score", d),
            pa.field("success_label", s),
            pa.field("success_model_version", s),
            pa.field("success_prediction", d),
            pa.field("success_target_kind", s),
            pa.field("success_reasons", s),
            pa.field("success_basis", s),
        ]
    )


def day_end(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), dtime.min, tzinfo=UTC) - timedelta(
        microseconds=1
    )


def score_features(
    df: pd.DataFrame,
    scorers: dict[str, Scorer | None],
    reasons_top_n: int = 3,
    threads: int = 1,
    computed_at: datetime | None = None,
) -> pd.DataFrame:
    """Feature rows (one per creator) -> kol_scores rows. The same :class:`Scorer` call as
    the API and training, on the same matrix (:func:`ml.features.frame_matrix`). The
    ``account`` scorer reads :data:`ml.account.ACCOUNT_FEATURES` columns of ``df`` (see
    :func:`ml.account.with_account_features`)."""
    computed_at = computed_at or datetime.now(UTC)
    out = pd.DataFrame(
        {
            "kol_id": df["kol_id"].astype(str).to_numpy(),
            "platform": df["platform"].astype(str).to_numpy() if "platform" in df else None,
            "date_day": df["date_day"].to_numpy(),
        }
    )
    out["scored_at"] = [day_end(d) for d in df["date_day"]]
    out["computed_at"] = computed_at
    for kind in (*KINDS, ACCOUNT):
        scorer = scorers.get(kind)
        for c in ("score", "label", "model_version", "reasons"):
            out[f"{kind}_{c}"] = None
        out[f"{kind}_value"] = np.nan
        if scorer is None or df.empty or not set(scorer.columns) <= set(df.columns):
            continue
        m = frame_matrix(df, scorer.columns)
        scored = scorer.score(m, reasons=reasons_top_n > 0, threads=threads)
        out[f"{kind}_score"] = scored.scores
        out[f"{kind}_label"] = scored.labels
        out[f"{kind}_model_version"] = str(scorer.version)
        reasons = scorer.reasons(m, scored, reasons_top_n)
        out[f"{kind}_reasons"] = [orjson.dumps(r).decode() for r in reasons]
        out[f"{kind}_value"] = scored.value
        if kind == "success":
            out["success_prediction"] = scored.value
            out["success_target_kind"] = np.where(scorer.shop_mask(m), "shop", "engagement")
            out["success_basis"] = scorer.spec.basis
    for c in ("success_prediction", "success_target_kind", "success_basis"):
        if c not in out:
            out[c] = None
    return out.assign(**trust_columns(out))[list(SCORE_COLUMNS)]


def trust_columns(out: pd.DataFrame) -> dict[str, Any]:
    """The audience (``trust_*``) and account (``account_*``) component columns -> trust as
    :func:`ml.scoring.combine_trust` puts it together, with each component kept."""
    audience = pd.to_numeric(out["trust_score"], errors="coerce").to_numpy(dtype="float64")
    account = pd.to_numeric(out["account_score"], errors="coerce").to_numpy(dtype="float64")
    trust, setter, basis = combine_trust(audience, account)
    by_account = setter == ACCOUNT
    components = []
    for row in out[
        [
            f"{k}_{c}"
            for k in ("trust", ACCOUNT)
            for c in ("score", "label", "model_version", "reasons")
        ]
    ].itertuples(index=False):
        parts = {}
        for name, (score, label, version, reasons) in (
            (AUDIENCE, row[0:4]),
            (ACCOUNT, row[4:8]),
        ):
            if score is not None and score == score:
                parts[name] = {
                    "score": float(score),
                    "label": label,
                    "model_version": version,
                    "reasons": orjson.loads(reasons) if reasons else [],
                }
        components.append(orjson.dumps(parts).decode() if parts else None)
    has = ~np.isnan(trust)
    p_account = out["account_value"].to_numpy(dtype="float64")
    p_audience = out["trust_value"].to_numpy(dtype="float64")
    return {
        "trust_score": np.where(has, trust, np.nan),
        # From the account alone, the account's own label: a profile cannot show a bought
        # audience, so it never earns a trust band (as the API's /predict/trust answers).
        "trust_label": [
            None if not h else out["account_label"].iloc[i] if b == ACCOUNT else lb
            for i, (lb, h, b) in enumerate(
                zip(labels_for(trust, TRUST_BANDS), has, basis, strict=True)
            )
        ],
        "trust_reasons": np.where(by_account, out["account_reasons"], out["trust_reasons"]),
        "trust_probability": np.where(by_account, p_account, p_audience),
        "trust_basis": basis,
        "trust_audience_score": audience,
        "trust_account_score": account,
        "trust_components": components,
    }


# ---- sinks ------------------------------------------------------------------------------------
def scores_table(ml: MlSettings) -> Any:
    from pyiceberg.exceptions import NoSuchTableError
    from pyiceberg.transforms import IdentityTransform

    from kol.iceberg import catalog

    cat = catalog(ml.core)
    ident = f"{ml.gold_schema}.{ml.scores_table}"
    try:
        table = cat.load_table(ident)
    except NoSuchTableError:
        pass
    else:
        if set(arrow_schema().names) - set(table.schema().column_names):
            # Columns added since the table was made (trust's components): evolved in place.
            with table.update_schema() as update:
                update.union_by_name(arrow_schema())
            table = cat.load_table(ident)
        return table
    cat.create_namespace_if_not_exists(ml.gold_schema)
    table = cat.create_table_if_not_exists(ident, schema=arrow_schema())
    if table.spec().is_unpartitioned():
        with table.update_spec() as spec:
            spec.add_field("date_day", IdentityTransform(), "date_day")
    return cat.load_table(ident)


def write_iceberg(ml: MlSettings, rows: pd.DataFrame, day: date) -> int:
    """Replace the day's rows of kol_scores with ``rows`` (one atomic commit)."""
    import pyarrow as pa

    table = scores_table(ml)
    data = pa.Table.from_pandas(rows, schema=arrow_schema(), preserve_index=False)
    table.overwrite(data, overwrite_filter=day_filter(day=day))
    return len(rows)


def redis_client(ml: MlSettings) -> Any:
    import redis

    c = ml.core
    return redis.Redis.from_url(c.redis_url, socket_timeout=10)


def redis_mapping(row: dict[str, Any]) -> dict[str, str]:
    out = {"date_day": str(row["date_day"])}
    for kind in KINDS:
        if row.get(f"{kind}_score") is None or row[f"{kind}_score"] != row[f"{kind}_score"]:
            continue
        out[f"{kind}_score"] = repr(float(row[f"{kind}_score"]))
        out[f"{kind}_label"] = str(row[f"{kind}_label"])
        out[f"{kind}_model_version"] = str(row[f"{kind}_model_version"])
        out[f"{kind}_reasons"] = str(row[f"{kind}_reasons"])
        out[f"{kind}_scored_at"] = row["scored_at"].isoformat()
    for kind, c in (("trust", "basis"), ("trust", "components"), ("success", "basis")):
        if f"{kind}_score" in out and row.get(f"{kind}_{c}") is not None:
            out[f"{kind}_{c}"] = str(row[f"{kind}_{c}"])
    return out


def write_redis(ml: MlSettings, rows: pd.DataFrame, client: Any = None) -> int:
    """Score hashes; a creator whose hash holds a newer day is left alone. Returns hashes
    written."""
    r = client or redis_client(ml)
    keys = RedisKeys(ml.score_key_prefix)
    written = 0
    records = rows.to_dict("records")
    for i in range(0, len(records), ml.redis_batch):
        chunk = records[i : i + ml.redis_batch]
        pipe = r.pipeline(transaction=False)
        for rec in chunk:
            pipe.hget(keys.scores(rec["kol_id"]), "date_day")
        current = pipe.execute()
        pipe = r.pipeline(transaction=False)
        for rec, cur in zip(chunk, current, strict=True):
            if cur is not None and (cur.decode() if isinstance(cur, bytes) else cur) > str(
                rec["date_day"]
            ):
                continue
            pipe.hset(keys.scores(rec["kol_id"]), mapping=redis_mapping(rec))
            written += 1
        pipe.execute()
    return written


# ---- the job ----------------------------------------------------------------------------------
@dataclass
class ScoreRun:
    day: date | None
    creators: int = 0
    iceberg_rows: int = 0
    redis_hashes: int = 0
    versions: dict[str, str | None] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    # Monitoring (ml.monitoring): largest feature PSI per kind (None: no reference), and what
    # failed to be recorded.
    psi_max: dict[str, float | None] = field(default_factory=dict)
    monitoring_errors: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": str(self.day) if self.day else None,
            "creators": self.creators,
            "iceberg_rows": self.iceberg_rows,
            "redis_hashes": self.redis_hashes,
            "versions": self.versions,
            "missing": self.missing,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "psi_max": self.psi_max,
            "monitoring_errors": self.monitoring_errors,
        }


def champions(ml: MlSettings) -> tuple[dict[str, Scorer | None], dict[str, str]]:
    """Champion scorers by kind; a kind without one maps to None with the reason."""
    scorers: dict[str, Scorer | None] = {}
    missing: dict[str, str] = {}
    names = {
        "trust": ml.trust_model_name,
        "success": ml.success_model_name,
        ACCOUNT: ml.account_model_name,
    }
    for kind, name in names.items():
        try:
            scorers[kind] = load_scorer(ml.core.mlflow_login(), name, ml.alias)
        except Exception as exc:
            scorers[kind] = None
            missing[kind] = f"{name}@{ml.alias}: {type(exc).__name__}: {str(exc)[:200]}"
    return scorers, missing


def score_day(
    ml: MlSettings,
    day: date | None = None,
    scorers: dict[str, Scorer | None] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> ScoreRun:
    """Score every creator with features on ``day`` (default: the latest day in Gold) and
    write both sinks. Without any champion model, nothing is written (the run says why)."""
    step = on_step or (lambda _: None)
    t0 = time.perf_counter()
    day = day or F.latest_day(ml)
    run = ScoreRun(day)
    if day is None:
        run.missing["features"] = f"{ml.gold}.{ml.features_table} is empty"
        return run
    if scorers is None:
        step("loading champion models")
        scorers, run.missing = champions(ml)
    run.versions = {k: (s.version if s else None) for k, s in scorers.items()}
    if not any(scorers.values()):
        log.warning("batch scoring %s: no champion model (%s)", day, run.missing)
        return run
    step(f"reading features of {day}")
    df = F.read_features(ml, day=day)
    if scorers.get(ACCOUNT) is not None:
        df = with_account_features(df, read_profiles(ml, day))
    run.creators = len(df)
    run.seconds["read"] = time.perf_counter() - t0
    step(f"scoring {len(df)} creators")
    t1 = time.perf_counter()
    rows = score_features(df, scorers, ml.reasons_top_n, ml.score_threads)
    run.seconds["score"] = time.perf_counter() - t1
    step("writing gold.kol_scores")
    t1 = time.perf_counter()
    run.iceberg_rows = write_iceberg(ml, rows, day)
    run.seconds["iceberg"] = time.perf_counter() - t1
    step("writing Redis score hashes")
    t1 = time.perf_counter()
    run.redis_hashes = write_redis(ml, rows)
    run.seconds["redis"] = time.perf_counter() - t1
    # After the scores are written: a monitoring failure is logged, never raised.
    step("recording score distribution and feature drift")
    t1 = time.perf_counter()
    mon = monitor_run(ml, day, df, rows, scorers)
    run.psi_max, run.monitoring_errors = mon.psi_max, mon.errors
    run.seconds["monitoring"] = time.perf_counter() - t1
    run.seconds["total"] = time.perf_counter() - t0
    log.info("batch scoring %s: %s", day, run.as_dict())
    return run
