"""The real-data check: the trust recipe on the labelled Instagram fake/genuine accounts."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from kol.settings import REPO_ROOT, MlSettings
from ml.external import FEATURE_SETS, evaluate, read_split

DATA = REPO_ROOT.parent / "shared" / "data" / "external" / "instagram_fake_spammer"
pytestmark = pytest.mark.skipif(not DATA.exists(), reason=f"{DATA} is not there")


def test_reading_maps_the_columns_to_profile_features() -> None:
    train, test = read_split(DATA / "train.csv"), read_split(DATA / "test.csv")
    assert (len(train), len(test)) == (576, 120)  # CRLF and no final newline both read
    assert (train["label"].sum(), test["label"].sum()) == (288, 60)
    assert set(FEATURE_SETS["account+private"]) <= set(train.columns)
    assert train["profile_completeness"].between(0, 1).all()
    row = train.iloc[0]  # 1000 followers, 955 follows, 32 posts
    assert (row["followers"], row["following"], row["posts"]) == (1000, 955, 32)
    assert row["follower_following_ratio"] == pytest.approx(1000 / 955)


def test_roc_auc_on_the_test_split_reaches_the_goal() -> None:
    ml = MlSettings(optuna_trials=3, optuna_timeout_s=120)
    results = {r.feature_set: r for r in evaluate(ml, DATA, ("platform", "account"))}
    assert results["account"].test_metrics["roc_auc"] >= 0.95
    assert results["platform"].test_metrics["roc_auc"] >= 0.93
    assert results["account"].test_metrics["accuracy"] >= 0.88
    assert results["account"].train_rows == 576 and results["account"].test_rows == 120


def test_the_ml_commands_are_mounted() -> None:
    from shell.cli import app

    result = CliRunner().invoke(app, ["ml", "--help"])
    assert result.exit_code == 0
    assert {"train", "score", "evaluate-external"} <= set(result.output.split())
