"""Small synthetic data and a tiny trained trust scorer for the ML unit tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from kol.settings import MlSettings
from ml.features import FEATURES


@pytest.fixture
def ml() -> MlSettings:
    return MlSettings(optuna_trials=2, optuna_timeout_s=60, cv_folds=2, num_threads=1)


def synthetic_rows(n_creators: int = 60, days: int = 4, seed: int = 0) -> pd.DataFrame:
    """Creator-days where a third of the creators have bought followers: low likes per
    follower, follower jumps, near-duplicate comments."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_creators):
        bad = c % 3 == 0
        followers = float(rng.integers(1_000, 500_000))
        for d in range(days):
            row: dict[str, Any] = {f: np.nan for f in FEATURES}
            row.update(
                kol_id=f"tiktok:c{c}",
                platform="tiktok",
                date_day=pd.Timestamp("2026-03-01").date() + pd.Timedelta(days=d),
                followers=followers,
                followers_log10=np.log10(followers + 1),
                likes_per_follower=rng.uniform(0.1, 0.5) if bad else rng.uniform(2, 20),
                max_followers_delta_pct_7d=rng.uniform(0.5, 2) if bad else rng.uniform(0, 0.05),
                near_duplicate_share_7d=rng.uniform(0.2, 0.6) if bad else rng.uniform(0, 0.05),
                engagement_rate=rng.uniform(0.01, 0.1),
                has_shop=float(c % 2),
                gmv_usd_7d=rng.uniform(0, 1000) if c % 2 else 0.0,
                views_gained_7d=float(rng.integers(1_000, 100_000)),
                like_rate_7d=0.08,
                comment_rate_7d=0.004,
                share_rate_7d=0.002,
                days_since_first_seen=float(d),
                is_verified=0.0,
            )
            row["label"] = int(bad)
            row["behaviours"] = "bought_followers" if bad else ""
            rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture(scope="session")
def trust_classifier() -> Any:
    from ml.train import fit_classifier

    rows = synthetic_rows()
    ml = MlSettings(optuna_trials=2, optuna_timeout_s=60, cv_folds=2, num_threads=1)
    x = rows[list(FEATURES)].to_numpy(dtype="float64")
    return fit_classifier(x, rows["label"].to_numpy(), rows["kol_id"].to_numpy(), FEATURES, ml)


@pytest.fixture(scope="session")
def account_classifier() -> Any:
    """The account component's recipe on the real labelled accounts (2 trials)."""
    from ml.account import ACCOUNT_BANDS, ACCOUNT_FEATURES, has_labelled_accounts, read_split
    from ml.train import fit_classifier

    ml = MlSettings(optuna_trials=2, optuna_timeout_s=60, cv_folds=2, num_threads=1)
    if not has_labelled_accounts(ml.external_dir):
        pytest.skip(f"the labelled accounts are not in {ml.external_dir}")
    train = read_split(ml.external_dir / "train.csv")
    x = train[list(ACCOUNT_FEATURES)].to_numpy(dtype="float64")
    y = train["label"].to_numpy()
    return fit_classifier(x, y, np.arange(len(train)), ACCOUNT_FEATURES, ml, ACCOUNT_BANDS)
