"""Score and label mapping, calibration, and one score for a creator on every path."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ml.features import FEATURES, frame_matrix, matrix
from ml.scoring import (
    SUCCESS_BANDS,
    TRUST_BANDS,
    Scorer,
    ScoreSpec,
    band_label,
    calibrate,
    percentile_score,
)


@pytest.mark.parametrize(
    ("score", "label"),
    [
        (100.0, "Highly Trusted"),
        (80.0, "Highly Trusted"),
        (79.99, "Trusted"),
        (60.0, "Trusted"),
        (40.0, "Moderate"),
        (20.0, "Low Trust"),
        (19.99, "Untrusted"),
        (0.0, "Untrusted"),
    ],
)
def test_trust_bands(score: float, label: str) -> None:
    assert band_label(score, TRUST_BANDS) == label


def test_success_bands_and_unknown() -> None:
    assert [band_label(s, SUCCESS_BANDS) for s in (85, 60, 45, 20, 5)] == [
        "Excellent",
        "Strong",
        "Average",
        "Weak",
        "Poor",
    ]
    assert band_label(None, TRUST_BANDS) is None
    assert band_label(float("nan"), TRUST_BANDS) is None


def test_calibration_maps() -> None:
    margin = np.array([-10.0, 0.0, 10.0])
    np.testing.assert_allclose(calibrate(margin, None), [4.54e-05, 0.5, 0.9999546], rtol=1e-3)
    iso = {"method": "isotonic", "x": [-1.0, 1.0], "y": [0.1, 0.9]}
    assert calibrate(margin, iso).tolist() == [0.1, 0.5, 0.9]  # flat outside, linear inside
    sig = {"method": "sigmoid", "a": 2.0, "b": 0.0}
    assert calibrate(np.array([0.0]), sig)[0] == 0.5
    with pytest.raises(ValueError, match="unknown calibration"):
        calibrate(margin, {"method": "magic"})


def test_percentile_score() -> None:
    anchors = [0.0, 1.0, 2.0, 3.0, 4.0]
    assert percentile_score(np.array([-1.0, 0.0, 2.0, 3.5, 9.0]), anchors).tolist() == [
        0.0,
        0.0,
        50.0,
        87.5,
        100.0,
    ]
    assert percentile_score(np.array([1.0]), [2.0, 2.0]).tolist() == [50.0]


def test_spec_round_trip() -> None:
    spec = ScoreSpec(
        "success",
        "log_target",
        FEATURES,
        SUCCESS_BANDS,
        None,
        {"shop": [0.0, 1.0]},
        horizon_days=7,
        base_center={"shop": 1.5},
    )
    assert ScoreSpec.from_dict(spec.to_dict()) == spec


def test_trust_is_one_minus_the_calibrated_probability(trust_classifier: Any) -> None:
    scorer = trust_classifier.scorer("kol_trust", "3")
    from tests.unit.ml.conftest import synthetic_rows

    rows = synthetic_rows(12, 1, seed=5)
    m = frame_matrix(rows)
    s = scorer.score(m)
    margin = trust_classifier.booster.predict(m, raw_score=True)
    p = calibrate(margin, trust_classifier.spec.calibration)
    np.testing.assert_allclose(s.scores, np.round(100 * (1 - p), 2))
    bad = rows["label"].to_numpy() == 1
    assert s.scores[bad].max() < s.scores[~bad].min()  # bought followers score lower
    assert s.labels == [band_label(x, TRUST_BANDS) for x in s.scores]
    # Reasons: the contributions (sign flipped to "raises trust") sum to -(margin - bias).
    full = trust_classifier.booster.predict(m, pred_contrib=True)
    np.testing.assert_allclose(s.contributions, -full[:, :-1])
    reasons = scorer.reasons(m, s, 3)
    assert 1 <= len(reasons[0]) <= 3
    assert {"factor", "value", "effect", "text"} <= set(reasons[0][0])
    worst = int(np.argmin(s.scores))
    assert reasons[worst][0]["effect"] < 0 and "lowers" in reasons[worst][0]["text"]


def test_one_creator_scores_identically_in_training_batch_and_api(
    trust_classifier: Any, tmp_path: Any
) -> None:
    """Training-time evaluation (frame from Gold), batch scoring (ml.batch) and the API's
    loaded MLflow model (request body) give the same score, label and reasons."""
    import mlflow

    from api.models import MlflowModel
    from api.schemas import KolFeatures
    from kol.settings import ApiSettings
    from ml.batch import score_features
    from ml.scoring import SPEC_KEY
    from ml.train import score_frame
    from tests.unit.ml.conftest import synthetic_rows

    rows = synthetic_rows(6, 1, seed=9)
    rows["date_day"] = date(2026, 3, 1)
    scorer = trust_classifier.scorer("kol_trust", "1")
    training = score_frame(scorer, rows, reasons=True)
    batch = score_features(rows, {"trust": scorer, "success": None}, reasons_top_n=3)

    path = tmp_path / "model"
    mlflow.lightgbm.save_model(
        trust_classifier.booster, str(path), metadata={SPEC_KEY: trust_classifier.spec.to_dict()}
    )
    api_model = MlflowModel(
        "kol_trust",
        "1",
        mlflow.pyfunc.load_model(str(path)),
        mlflow.lightgbm.load_model(str(path)),
        ApiSettings(reasons_top_n=3),
    )
    bodies = [
        KolFeatures(**{k: (None if pd.isna(v) else v) for k, v in r.items() if k in FEATURES})
        for r in rows.to_dict("records")
    ]
    online = api_model.predict(bodies)
    assert [o.score for o in online] == training.scores.tolist() == batch["trust_score"].tolist()
    assert [o.label for o in online] == training.labels == batch["trust_label"].tolist()
    import orjson

    assert [o.reasons for o in online] == [orjson.loads(r) for r in batch["trust_reasons"]]
    np.testing.assert_array_equal(matrix(bodies), frame_matrix(rows))


def test_success_scores_are_percentiles_within_kind() -> None:
    import lightgbm as lgb

    rng = np.random.default_rng(1)
    x = np.full((200, len(FEATURES)), np.nan)
    x[:, FEATURES.index("has_shop")] = np.repeat([0.0, 1.0], 100)
    x[:, FEATURES.index("followers")] = rng.uniform(0, 1, 200)
    y = x[:, FEATURES.index("followers")] * 3
    booster = lgb.train(
        {"objective": "regression", "verbosity": -1, "min_data_in_leaf": 5},
        lgb.Dataset(x, y, feature_name=list(FEATURES)),
        num_boost_round=20,
    )
    pred = booster.predict(x)
    shop = x[:, FEATURES.index("has_shop")]
    anchors = {
        k: list(np.quantile(pred[shop == v], np.linspace(0, 1, 11)))
        for k, v in (("shop", 1.0), ("engagement", 0.0))
    }
    spec = ScoreSpec("success", "log_target", FEATURES, SUCCESS_BANDS, None, anchors)
    s = Scorer(booster, spec).score(x)
    assert s.scores.min() >= 0 and s.scores.max() <= 100
    for v in (0.0, 1.0):
        kind = s.scores[shop == v]
        assert kind.min() == 0.0 and kind.max() == 100.0  # each kind spans the range
    np.testing.assert_allclose(s.value, np.expm1(pred))


def test_a_booster_whose_features_differ_from_its_spec_is_refused(trust_classifier: Any) -> None:
    spec = ScoreSpec("trust", "inauthentic_probability", ("followers",), TRUST_BANDS)
    with pytest.raises(ValueError, match="differ from its spec"):
        Scorer(trust_classifier.booster, spec)


def test_the_stream_scores_a_champion_through_the_same_scorer(trust_classifier: Any) -> None:
    """streaming.trust with a spec'd champion: profile features as dbt computes them, the
    same Scorer; equal to the API's score for a body with only those features."""
    from api.schemas import KolFeatures
    from kol.settings import Settings, StreamSettings
    from ml.features import profile_features
    from streaming.trust import TrustScorer

    scorer = trust_classifier.scorer("kol_trust", "1")
    stream = TrustScorer(Settings(_env_file=None), StreamSettings(_env_file=None))
    stream.model = scorer
    live = pd.DataFrame(
        {
            "followers": [10_000.0, 250_000.0],
            "following": [100.0, np.nan],
            "likes": [300_000.0, 20_000.0],
            "posts": [40.0, 12.0],
            "verified": [False, None],
        }
    )
    got = stream(live)
    bodies = [
        KolFeatures(
            **{
                k: v
                for k, v in profile_features(
                    followers=f,
                    following=None if np.isnan(g) else g,
                    total_likes=lk,
                    posts=p,
                    is_verified=False if i == 0 else None,
                ).items()
                if v is not None
            }
        )
        for i, (f, g, lk, p) in enumerate(
            live[["followers", "following", "likes", "posts"]].itertuples(index=False)
        )
    ]
    expected = scorer.score(scorer.matrix(bodies), reasons=False).scores
    assert got.tolist() == expected.tolist()


def test_the_stream_does_not_run_a_model_that_needs_gold_features(trust_classifier: Any) -> None:
    import lightgbm as lgb

    from ml.features import PROFILE_FEATURES
    from streaming.trust import not_streamable

    assert "windowed features" in (not_streamable(trust_classifier.scorer()) or "")
    x = np.random.default_rng(0).random((60, len(PROFILE_FEATURES)))
    booster = lgb.train(
        {"objective": "binary", "verbosity": -1, "min_data_in_leaf": 5},
        lgb.Dataset(x, (x[:, 0] > 0.5).astype(int), feature_name=list(PROFILE_FEATURES)),
        num_boost_round=5,
    )
    profile_only = ScoreSpec("trust", "inauthentic_probability", PROFILE_FEATURES, TRUST_BANDS)
    assert not_streamable(Scorer(booster, profile_only)) is None
    assert not_streamable(object()) is None  # other models: the signature decides


def test_the_stream_scores_the_account_component_of_a_profile_event(
    account_classifier: Any,
) -> None:
    """A profile event through the stream's parse, engine and TrustScorer gets the account
    score batch scoring gives the same profile (ml.account.account_features on both paths)."""
    import orjson

    from kol.settings import Settings, StreamSettings
    from kol.topics import PROFILES_TOPIC
    from ml.account import account_features
    from streaming.engine import TrendEngine
    from streaming.events import Record, event_frame
    from streaming.trust import TrustScorer, not_streamable

    scorer = account_classifier.scorer("kol_trust_account", "1")
    assert not_streamable(scorer) is None
    ss = StreamSettings(_env_file=None)
    stream = TrustScorer(Settings(_env_file=None), ss)
    stream.model = scorer
    profiles = [
        (
            "maya.cooks",
            "Maya Cooks",
            "Recipes | maya.example.com",
            "https://a/1.jpg",
            "52.3K",
            "310",
        ),
        ("user84461092", "user84461092", "", "", "12", "4,803"),
    ]
    records = [
        Record(
            PROFILES_TOPIC,
            0,
            i,
            1_790_000_000_000,
            orjson.dumps(
                {
                    "event_id": f"e{i}",
                    "event_time": "2026-09-21T14:13:20Z",
                    "event_type": "profile",
                    "platform": "tiktok",
                    "username": u,
                    "nickname": n,
                    "bio": b,
                    "avatar_url": a,
                    "followers_raw": f,
                    "following_raw": g,
                }
            ),
        )
        for i, (u, n, b, a, f, g) in enumerate(profiles)
    ]
    frame, rejected = event_frame(records)
    assert rejected == []
    result = TrendEngine(ss).process(frame, 0, stream)
    live = {u["username"]: u["trust_score"] for u in result.updates}
    batch = scorer.score(
        scorer.matrix(
            [
                account_features(
                    u,
                    n,
                    b,
                    a,
                    float(f.replace("K", "")) * 1000 if "K" in f else float(f),
                    float(g.replace(",", "")),
                )
                for u, n, b, a, f, g in profiles
            ]
        ),
        reasons=False,
    ).scores
    assert [live["maya.cooks"], live["user84461092"]] == [round(float(x), 2) for x in batch]
    assert live["maya.cooks"] > 60 > live["user84461092"]
