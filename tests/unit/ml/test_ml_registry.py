"""Champion promotion: only a challenger that beats the champion on the same holdout."""

from __future__ import annotations

from ml.registry import SUCCESS_PROMOTION, TRUST_PROMOTION, should_promote


def test_first_model_becomes_champion() -> None:
    d = should_promote({"roc_auc": 0.6, "brier": 0.2}, None, TRUST_PROMOTION)
    assert d.promote and "no champion" in d.reason


def test_a_worse_challenger_does_not_become_champion() -> None:
    d = should_promote(
        {"roc_auc": 0.90, "brier": 0.01}, {"roc_auc": 0.95, "brier": 0.2}, TRUST_PROMOTION
    )
    assert not d.promote and "worse" in d.reason and "roc_auc" in d.reason
    d = should_promote(
        {"mae_log": 0.9, "smape": 10.0}, {"mae_log": 0.8, "smape": 90.0}, SUCCESS_PROMOTION
    )
    assert not d.promote  # lower is better for errors


def test_a_better_challenger_is_promoted() -> None:
    d = should_promote(
        {"roc_auc": 0.97, "brier": 0.2}, {"roc_auc": 0.95, "brier": 0.01}, TRUST_PROMOTION
    )
    assert d.promote and d.champion == {"roc_auc": 0.95, "brier": 0.01}
    assert should_promote({"mae_log": 0.7}, {"mae_log": 0.8}, SUCCESS_PROMOTION).promote


def test_ties_fall_through_to_the_next_metric() -> None:
    champ = {"roc_auc": 1.0, "brier": 0.02}
    assert should_promote({"roc_auc": 1.0, "brier": 0.01}, champ, TRUST_PROMOTION).promote
    assert not should_promote({"roc_auc": 1.0, "brier": 0.03}, champ, TRUST_PROMOTION).promote
    d = should_promote(dict(champ), champ, TRUST_PROMOTION)
    assert not d.promote and "ties" in d.reason


def test_min_gain() -> None:
    d = should_promote({"roc_auc": 0.951}, {"roc_auc": 0.95}, TRUST_PROMOTION, min_gain=0.01)
    assert not d.promote and "less than" in d.reason
    assert should_promote({"roc_auc": 0.97}, {"roc_auc": 0.95}, TRUST_PROMOTION, 0.01).promote
