"""Drift monitoring: PSI against the training reference, the score summary, what batch scoring
records (and that a monitoring failure never loses the scores)."""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest

from kol.settings import MlSettings
from ml import batch, monitoring
from ml.features import FEATURES
from ml.monitoring import (
    DriftRecord,
    feature_psi,
    feature_reference,
    latest_records,
    psi,
    reference,
    score_summary,
    training_reference,
)
from ml.scoring import TRUST_BANDS, Scorer
from tests.unit.ml.conftest import synthetic_rows

DAY = date(2026, 3, 5)
rng = np.random.default_rng(11)
TRAIN = rng.normal(10.0, 2.0, 5000)


def test_psi_formula() -> None:
    # (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5)
    assert psi([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.2747, abs=1e-4)
    assert psi([0.2, 0.8], [0.2, 0.8]) == 0.0
    with pytest.raises(ValueError):
        psi([0.5, 0.5], [1.0])


def test_identical_and_same_distribution_samples_are_stable() -> None:
    ref = feature_reference(TRAIN)
    assert len(ref["shares"]) == 11 and sum(ref["shares"]) + ref["missing"] == pytest.approx(1)
    assert feature_psi(ref, TRAIN) == pytest.approx(0.0, abs=1e-12)
    fresh = np.random.default_rng(12).normal(10.0, 2.0, 3000)
    assert feature_psi(ref, fresh) < 0.02


def test_a_shifted_sample_drifts() -> None:
    ref = feature_reference(TRAIN)
    shifted = np.random.default_rng(13).normal(11.5, 2.0, 3000)  # +0.75 sd
    assert feature_psi(ref, shifted) > 0.25
    wider = np.random.default_rng(14).normal(10.0, 5.0, 3000)
    assert feature_psi(ref, wider) > 0.25
    below = np.full(100, TRAIN.min() - 1)  # under anything seen in training: its own bin
    assert feature_psi(ref, below) > 1.0


def test_missing_values_are_their_own_bin() -> None:
    train = TRAIN.copy()
    train[:500] = np.nan  # 10% missing
    ref = feature_reference(train)
    assert ref["missing"] == pytest.approx(0.1)
    same = np.random.default_rng(15).normal(10.0, 2.0, 3000)
    same[:300] = np.nan
    assert feature_psi(ref, same) < 0.02
    mostly_missing = same.copy()
    mostly_missing[:1500] = np.nan  # 50% missing, the known values unchanged in shape
    assert feature_psi(ref, mostly_missing) > 0.25
    never_known = feature_reference(np.full(50, np.nan))
    assert never_known["min"] is None and never_known["missing"] == 1.0
    assert feature_psi(never_known, np.full(20, np.nan)) == 0.0
    assert feature_psi(never_known, np.ones(20)) > 1.0  # a feature that suddenly has values


def test_constant_features() -> None:
    ref = feature_reference(np.zeros(1000))
    assert ref["cuts"] == [0.0] and ref["shares"] == [0.0, 1.0, 0.0]
    assert feature_psi(ref, np.zeros(200)) == 0.0
    some_ones = np.r_[np.zeros(140), np.ones(60)]
    assert feature_psi(ref, some_ones) > 0.25
    assert feature_psi(ref, np.full(200, -1.0)) > 1.0  # below the constant is caught too
    binary = feature_reference(np.r_[np.zeros(700), np.ones(300)])
    assert feature_psi(binary, np.r_[np.zeros(70), np.ones(30)]) == pytest.approx(0, abs=1e-12)
    assert feature_psi(binary, np.r_[np.zeros(30), np.ones(70)]) > 0.25


def test_empty_sample_and_infinite_values() -> None:
    ref = feature_reference(np.r_[TRAIN, np.inf])
    assert all(math.isfinite(c) for c in ref["cuts"])
    assert math.isnan(feature_psi(ref, np.array([])))
    assert math.isfinite(feature_psi(ref, np.array([np.inf, -np.inf, 1.0])))


def test_reference_is_plain_json_and_one_row_per_creator() -> None:
    rows = synthetic_rows(30, 4)
    ref = training_reference(rows, FEATURES, bins=5)
    assert ref["rows"] == 30 and ref["bins"] == 5  # each creator's latest day only
    assert list(ref["features"]) == list(FEATURES)
    json.dumps(ref, allow_nan=False)  # storable in the MLmodel metadata (no NaN / inf)
    assert len(ref["features"]["followers"]["cuts"]) <= 4


def test_score_summary() -> None:
    s = score_summary(np.array([10.0, 30.0, 50.0, 70.0, 90.0, np.nan]), TRUST_BANDS)
    assert s["rows"] == 6 and s["scored"] == 5 and s["mean"] == 50.0 and s["p50"] == 50.0
    assert s["min"] == 10.0 and s["max"] == 90.0 and s["p25"] == 30.0
    assert s["bands"] == {
        "Highly Trusted": 0.2, "Trusted": 0.2, "Moderate": 0.2, "Low Trust": 0.2, "Untrusted": 0.2
    }  # fmt: skip
    empty = score_summary(np.array([None, None]), TRUST_BANDS)
    assert empty["scored"] == 0 and empty["mean"] is None and empty["bands"]["Trusted"] == 0.0


# ---- one scoring run ----------------------------------------------------------------------
def scorers_for(trust_classifier: Any, with_reference: bool) -> dict[str, Scorer | None]:
    ref = None
    if with_reference:
        ref = training_reference(synthetic_rows(), FEATURES)
    s = Scorer(trust_classifier.booster, trust_classifier.spec, "kol_trust", "4", reference=ref)
    return {"trust": s, "success": None}


def day_features(shift: float = 1.0) -> pd.DataFrame:
    df = synthetic_rows(60, 1, seed=3)
    df["date_day"] = DAY
    df["likes_per_follower"] *= shift
    df["days_since_first_seen"] = 400.0  # ages drift by design: ignored by default
    return df


def test_measure_drift_and_scores(trust_classifier: Any) -> None:
    ml = MlSettings()
    scorers = scorers_for(trust_classifier, True)
    df = day_features()
    rows = batch.score_features(df, scorers)
    mon = monitoring.measure(ml, DAY, df, rows, scorers)
    assert list(mon.models) == ["trust"]
    mm = mon.models["trust"]
    assert mm.model == "kol_trust" and mm.version == "4" and mm.reference_rows == 60
    assert [d.feature for d in mm.drift] == list(FEATURES)
    by = {d.feature: d.psi for d in mm.drift}
    assert by["days_since_first_seen"] > 1.0  # recorded ...
    assert mm.psi_max_feature != "days_since_first_seen"  # ... but not counted
    assert mm.psi_max == max(v for k, v in by.items() if k != "days_since_first_seen")
    assert mm.scores["scored"] == 60 and sum(mm.scores["bands"].values()) == pytest.approx(1)
    drifted = monitoring.measure(ml, DAY, day_features(0.02), rows, scorers).models["trust"]
    assert drifted.psi_max_feature == "likes_per_follower" and drifted.psi_max > 1.0
    assert drifted.drifted >= 1 and mon.psi_max["trust"] is not None


def test_a_model_without_reference_skips_drift(
    trust_classifier: Any, caplog: pytest.LogCaptureFixture
) -> None:
    scorers = scorers_for(trust_classifier, False)
    df = day_features()
    rows = batch.score_features(df, scorers)
    with caplog.at_level(logging.INFO, logger="kol.ml"):
        mon = monitoring.measure(MlSettings(), DAY, df, rows, scorers)
    mm = mon.models["trust"]
    assert mm.drift == [] and mm.psi_max is None and mm.reference_rows is None
    assert mm.scores["scored"] == 60
    assert "no feature reference" in caplog.text and "drift skipped" in caplog.text
    drift_rows, stats = monitoring.gold_frames(MlSettings(), mon, datetime.now(UTC))
    assert drift_rows.empty and len(stats) == 1 and pd.isna(stats["psi_max"].iloc[0])


def test_gold_rows_fit_their_tables(trust_classifier: Any) -> None:
    import pyarrow as pa

    scorers = scorers_for(trust_classifier, True)
    df = day_features()
    rows = batch.score_features(df, scorers)
    mon = monitoring.measure(MlSettings(), DAY, df, rows, scorers)
    mon.models["trust"].run_id = "abc"
    computed = datetime(2026, 3, 6, 1, tzinfo=UTC)
    drift_rows, stats = monitoring.gold_frames(MlSettings(), mon, computed)
    d = pa.Table.from_pandas(drift_rows, schema=monitoring.drift_schema(), preserve_index=False)
    s = pa.Table.from_pandas(stats, schema=monitoring.stats_schema(), preserve_index=False)
    assert d.num_rows == len(FEATURES) and s.num_rows == 1
    assert list(drift_rows.columns) == monitoring.drift_schema().names
    assert list(stats.columns) == monitoring.stats_schema().names
    row = stats.iloc[0]
    assert row["model"] == "kol_trust" and row["model_version"] == "4"
    assert row["mlflow_run_id"] == "abc" and row["psi_threshold"] == 0.25
    assert row["scored_at"] == batch.day_end(DAY) and row["computed_at"] == computed
    assert json.loads(row["band_shares"]).keys() == {b for b, _ in TRUST_BANDS}
    assert drift_rows["reference_rows"].eq(60).all() and drift_rows["rows"].eq(60).all()


class FakeMlflow:
    def __init__(self) -> None:
        self.runs: dict[str, dict[str, Any]] = {}
        self.experiments: dict[str, str] = {}

    def get_experiment_by_name(self, name: str) -> Any:
        if name not in self.experiments:
            return None
        return type("E", (), {"experiment_id": self.experiments[name]})()

    def create_experiment(self, name: str) -> str:
        self.experiments[name] = str(len(self.experiments) + 1)
        return self.experiments[name]

    def create_run(self, exp_id: str, run_name: str, tags: dict[str, str]) -> Any:
        run_id = f"r{len(self.runs)}"
        self.runs[run_id] = {"exp": exp_id, "name": run_name, "tags": dict(tags)}
        info = type("I", (), {"run_id": run_id})()
        return type("R", (), {"info": info})()

    def log_batch(self, run_id: str, metrics: Any, params: Any, tags: Any) -> None:
        self.runs[run_id]["metrics"] = {m.key: m.value for m in metrics}
        self.runs[run_id]["params"] = {p.key: p.value for p in params}

    def log_dict(self, run_id: str, d: dict[str, Any], name: str) -> None:
        self.runs[run_id][name] = json.loads(json.dumps(d, default=str))

    def set_terminated(self, run_id: str) -> None:
        self.runs[run_id]["done"] = True


def test_mlflow_run_per_model(trust_classifier: Any) -> None:
    ml = MlSettings()
    scorers = scorers_for(trust_classifier, True)
    df = day_features(0.02)
    rows = batch.score_features(df, scorers)
    mm = monitoring.measure(ml, DAY, df, rows, scorers).models["trust"]
    client = FakeMlflow()
    run_id = monitoring.log_mlflow(ml, DAY, mm, client)
    run = client.runs[run_id]
    assert client.experiments == {"kol_monitoring": "1"} and run["done"]
    assert run["tags"]["kol.model"] == "kol_trust" and run["tags"]["kol.model_version"] == "4"
    assert run["tags"]["kol.day"] == "2026-03-05"
    assert run["tags"]["kol.psi_max_feature"] == "likes_per_follower"
    m = run["metrics"]
    assert m["psi_max"] == mm.psi_max and m["psi_likes_per_follower"] == mm.psi_max
    assert m["score_p50"] == mm.scores["p50"] and m["scored"] == 60.0
    assert {f"psi_{f}" for f in FEATURES} <= set(m) and "band_highly_trusted" in m
    assert len(run["monitoring.json"]["drift"]) == len(FEATURES)


# ---- batch scoring with fakes ---------------------------------------------------------------
@pytest.fixture
def no_services(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """score_day without Iceberg, Redis or MLflow: the sinks record what they were given."""
    seen: dict[str, Any] = {}
    monkeypatch.setattr(batch.F, "read_features", lambda ml, day=None: day_features(0.02))

    def iceberg(ml: MlSettings, rows: pd.DataFrame, day: date) -> int:
        seen["scores"] = rows
        return len(rows)

    monkeypatch.setattr(batch, "write_iceberg", iceberg)
    monkeypatch.setattr(batch, "write_redis", lambda ml, rows: len(rows))
    monkeypatch.setattr(monitoring, "log_mlflow", lambda ml, day, mm: f"run-{mm.kind}")

    def gold(ml: MlSettings, mon: Any, computed_at: datetime) -> tuple[int, int]:
        seen["gold"] = monitoring.gold_frames(ml, mon, computed_at)
        return 0, 0

    monkeypatch.setattr(monitoring, "write_gold", gold)
    return seen


def test_score_day_records_monitoring(trust_classifier: Any, no_services: dict[str, Any]) -> None:
    run = batch.score_day(MlSettings(), DAY, scorers_for(trust_classifier, True))
    assert run.iceberg_rows == 60 and run.redis_hashes == 60 and not run.monitoring_errors
    out = run.as_dict()
    assert out["psi_max"]["trust"] > 1.0 and "success" not in out["psi_max"]
    drift_rows, stats = no_services["gold"]
    assert stats["mlflow_run_id"].tolist() == ["run-trust"]
    assert round(stats["psi_max"].iloc[0], 4) == out["psi_max"]["trust"]
    assert len(drift_rows) == len(FEATURES)


def test_a_monitoring_failure_keeps_the_scores(
    trust_classifier: Any,
    no_services: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*_: Any) -> Any:
        raise OSError("catalog unreachable")

    monkeypatch.setattr(monitoring, "write_gold", broken)
    monkeypatch.setattr(monitoring, "log_mlflow", broken)
    with caplog.at_level(logging.INFO, logger="kol.ml"):
        run = batch.score_day(MlSettings(), DAY, scorers_for(trust_classifier, True))
    assert run.iceberg_rows == 60 and len(no_services["scores"]) == 60
    assert set(run.monitoring_errors) == {"gold", "mlflow:trust"}
    assert "catalog unreachable" in run.monitoring_errors["gold"]
    assert run.as_dict()["psi_max"]["trust"] > 1.0  # measured even though not recorded
    assert "writing gold.ml_drift / gold.ml_score_stats failed" in caplog.text


# ---- reading back -----------------------------------------------------------------------
def test_latest_records_per_model() -> None:
    t = pd.Timestamp("2026-03-06T01:00", tz="UTC")
    stats = pd.DataFrame(
        [
            ("kol_trust", "3", date(2026, 3, 4), 0.1, "followers", t),
            ("kol_trust", "4", date(2026, 3, 5), 0.4, "likes_per_follower", t),
            ("kol_trust", "3", date(2026, 3, 1), 0.9, "posts", t + pd.Timedelta(days=9)),
            ("kol_success", "2", date(2026, 3, 5), None, None, t),
        ],
        columns=["model", "model_version", "date_day", "psi_max", "psi_max_feature", "computed_at"],
    )
    got = {r.model: r for r in latest_records(stats)}
    assert got["kol_trust"] == DriftRecord("kol_trust", "4", date(2026, 3, 5), 0.4,
                                           "likes_per_follower")  # fmt: skip
    assert got["kol_success"].psi_max is None and got["kol_success"].feature is None
    assert latest_records(stats.iloc[:0]) == []


def test_reference_helpers_cover_every_column() -> None:
    m = np.c_[TRAIN[:100], np.zeros(100)]
    ref = reference(m, ["a", "b"], bins=4)
    assert ref["rows"] == 100 and set(ref["features"]) == {"a", "b"}
    assert len(ref["features"]["a"]["cuts"]) == 3


# ---- the reference travels with the model (a local MLflow, no server) --------------------------
def test_reference_is_stored_with_the_model_and_loaded_with_the_champion(
    trust_classifier: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow
    from mlflow import MlflowClient

    from kol.settings import Settings
    from ml import registry
    from ml.scoring import load_scorer

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setattr(Settings, "mlflow_tracking_uri", property(lambda _: uri))
    monkeypatch.chdir(tmp_path)
    # Inferring pip requirements loads the model in a subprocess: not what is tested here.
    monkeypatch.setattr(mlflow.models, "infer_pip_requirements", lambda *a, **k: [])
    ml = MlSettings()
    MlflowClient(uri).create_experiment("t", artifact_location=(tmp_path / "art").as_uri())
    rows = synthetic_rows(20, 2)
    x = pd.DataFrame(rows[list(FEATURES)].to_numpy()[:3], columns=list(FEATURES))
    ref = training_reference(rows, FEATURES)

    def log(reference: dict[str, Any] | None) -> str:
        return registry.log_model_run(
            ml, experiment="t", model_name="m", booster=trust_classifier.booster,
            spec=trust_classifier.spec, params={}, metrics={}, artifacts={}, files=None,
            input_example=x, compare=lambda s: {"roc_auc": 0.5},
            challenger_metrics={"roc_auc": 1.0}, promotion=registry.TRUST_PROMOTION,
            reference=reference,
        ).version  # fmt: skip

    old = log(None)  # a model trained before drift monitoring
    assert load_scorer(uri, "m", old).reference is None
    new = log(ref)
    champion = load_scorer(uri, "m", "champion")
    assert champion.version == new and champion.reference == ref
