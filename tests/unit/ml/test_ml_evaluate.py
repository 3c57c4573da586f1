"""The evaluation's figures: fraud types, the 90 %-precision threshold, per-type recall."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from ml import evaluate as E
from ml.labels import generator_labels


def test_variants_count_under_their_own_type_and_plain_fraud_under_the_base() -> None:
    assert E.fraud_types("bought_followers") == {"bought_followers"}
    assert E.fraud_types("bought_followers,drip_fed,stealth_bots") == {"drip_fed", "stealth_bots"}
    assert E.fraud_types("engagement_pod,stealth_pod,viral_breakout") == {"stealth_pod"}
    assert E.fraud_types("organic_spike,weak_engagement") == set()
    assert E.fraud_types("") == set()


def test_threshold_keeps_precision_and_takes_the_most_recall() -> None:
    y = np.array([1, 1, 1, 0, 1, 0, 0, 0, 0, 0])
    p = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1])
    # >= 0.8: 3 of 3 right; >= 0.6: 4 of 5 (80 %) -> 90 % stops at 0.8.
    assert E.threshold_at_precision(y, p, 0.9) == pytest.approx(0.8)
    assert E.threshold_at_precision(y, p, 0.8) == pytest.approx(0.6)
    assert E.threshold_at_precision(np.zeros(4, dtype=int), p[:4], 0.9) is None
    # The top score is a genuine creator: no threshold reaches 90 %.
    assert (
        E.threshold_at_precision(np.array([0, 1, 0, 1]), np.array([0.9, 0.8, 0.7, 0.1]), 0.9)
        is None
    )


def test_trust_report_recall_per_type_and_false_alarms_on_lookalikes() -> None:
    creators = pd.DataFrame(
        {
            "true_label": [1, 1, 1, 0, 0, 0, 0],
            "true_behaviours": [
                "bought_followers",
                "bought_followers,drip_fed",
                "engagement_pod,stealth_pod",
                "organic_spike",
                "organic_spike",
                "weak_engagement",
                "",
            ],
            "p_inauthentic": [0.9, 0.2, 0.8, 0.85, 0.1, 0.3, 0.05],
        }
    )
    r = E.trust_report(creators, precision=0.65)
    # Threshold 0.8 flags the plain purchase, the stealth pod and one organic spike (2/3).
    assert r["threshold_p90"] == pytest.approx(0.8)
    assert r["recall_p90"] == pytest.approx(2 / 3)
    assert r["recall_p90_bought_followers"] == 1.0 and r["n_bought_followers"] == 1
    assert r["recall_p90_drip_fed"] == 0.0
    assert r["recall_p90_stealth_pod"] == 1.0
    assert np.isnan(r["recall_p90_stealth_bots"]) and r["n_stealth_bots"] == 0
    assert r["flagged_organic_spike"] == 0.5 and r["flagged_weak_engagement"] == 0.0
    assert 0.5 < r["roc_auc"] < 1.0


def test_holdout_creators_keep_each_creators_latest_day() -> None:
    holdout = pd.DataFrame(
        {
            "kol_id": ["a", "a", "b"],
            "date_day": [date(2024, 3, 5), date(2024, 3, 6), date(2024, 3, 5)],
            "true_label": [0, 1, 0],
            "true_behaviours": ["bought_followers"] * 2 + [""],
        }
    )
    out = E.holdout_creators(holdout, np.array([0.1, 0.7, 0.2]))
    assert out.set_index("kol_id")["p_inauthentic"].to_dict() == {"a": 0.7, "b": 0.2}


def test_success_report_compares_with_the_best_baseline() -> None:
    r = E.success_report(
        {"all_model_mae": 90.0, "all_last_week_mae": 120.0, "all_creator_mean_mae": 100.0}
    )
    assert r["best_baseline_mae"] == 100.0
    assert r["mae_gain_vs_best_baseline"] == pytest.approx(0.10)


def test_world_names_keep_topics_schemas_and_labels_apart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    easy, hard = E.default_worlds(300, 35, 7)
    assert easy.schema != hard.schema and easy.topic_prefix != hard.topic_prefix
    assert easy.schema.isidentifier()
    # Not where training looks for the generator's labels (data/generator/labels*.jsonl).
    assert hard.labels_path(tmp_path).parent == tmp_path / "evaluation"
    steps = dict(E.world_steps(hard, tmp_path))
    assert steps["generate"][steps["generate"].index("--preset") + 1] == "hard"
    # Event ids derive from the generator's seed and Silver deduplicates on them: the worlds
    # must not share one (the hard world lost 222 of its 300 creators when they did).
    easy_seed = dict(E.world_steps(easy, tmp_path))["generate"]
    seeds = {s[s.index("--seed") + 1] for s in (easy_seed, steps["generate"])}
    assert len(seeds) == 2 and hard.name != easy.name.replace("easy", "hard")
    assert steps["bronze"][-1] == "2024-04-10T00:00:00+00:00"  # 35 days + 2 for late records


def test_generator_labels_carry_the_truth_beside_the_written_label(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "labels.jsonl"
    rows = [
        {"key": "tiktok:a", "behaviours": ["organic_spike"],
         "true_behaviours": ["bought_followers", "drip_fed"]},
        {"key": "tiktok:b", "behaviours": ["engagement_pod"]},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(r) for r in rows))
    labels = generator_labels([path]).set_index("kol_id")
    assert labels.loc["tiktok:a", "label"] == 0 and labels.loc["tiktok:a", "true_label"] == 1
    assert labels.loc["tiktok:a", "true_behaviours"] == "bought_followers,drip_fed"
    assert labels.loc["tiktok:b", "true_behaviours"] == "engagement_pod"
