"""Champion promotion: only a challenger that beats the champion on the same holdout."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from ml.registry import SUCCESS_PROMOTION, TRUST_PROMOTION, decide, should_promote


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


def _unreachable(_: Any) -> dict[str, float]:
    raise AssertionError("a champion that failed to load is never scored")


def test_a_champion_that_cannot_be_loaded_is_kept() -> None:
    def outage() -> None:
        raise ConnectionError("MLflow at 127.0.0.1:5000 refused the connection")

    d = decide(outage, _unreachable, {"roc_auc": 0.99, "brier": 0.01}, TRUST_PROMOTION)
    assert not d.promote
    assert "could not be loaded" in d.reason and "ConnectionError" in d.reason


def test_a_champion_that_cannot_score_the_holdout_is_kept() -> None:
    def no_spec(_: Any) -> dict[str, float]:
        raise ValueError("model kol_trust v3 has no score spec")

    champ = SimpleNamespace(version="3")
    d = decide(lambda: champ, no_spec, {"roc_auc": 0.99}, TRUST_PROMOTION)  # type: ignore[arg-type,return-value]
    assert not d.promote and "no score spec" in d.reason


@pytest.mark.parametrize(("challenger", "promoted"), [(0.97, True), (0.90, False)])
def test_decide_compares_with_a_loaded_champion(challenger: float, promoted: bool) -> None:
    champ = SimpleNamespace(version="7")
    d = decide(
        lambda: champ,  # type: ignore[arg-type,return-value]
        lambda _: {"roc_auc": 0.95},
        {"roc_auc": challenger},
        TRUST_PROMOTION,
    )
    assert d.promote is promoted
    assert d.champion_version == "7" and d.champion == {"roc_auc": 0.95}


def test_no_champion_yet_promotes_the_first_model() -> None:
    d = decide(lambda: None, _unreachable, {"roc_auc": 0.6}, TRUST_PROMOTION)
    assert d.promote and "no champion" in d.reason
