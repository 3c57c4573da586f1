"""The account component of trust: does the profile itself look like a real person's account?

Marketers know audience-quality scores as a sum of parts; this is the part that a profile alone
can carry. It is trained and validated on real labelled accounts
(``instagram_fake_spammer``: train.csv to train, test.csv to validate), not on the generator's
rules, and it scores the platform's creators from the same fields their profile events carry
(``username, nickname, bio, avatar_url`` and the counters), through :func:`account_features`,
the one implementation of these features (batch scoring, the API and the stream call it).

What it cannot see: how an audience behaves. A creator with a clean profile who bought followers
scores well here; the audience component (:mod:`ml.trust`, the trust model on Gold's windowed
features) is the one that sees that.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kol.settings import MlSettings
from ml.features import profile_features
from ml.scoring import calibrate

# The features a profile's text gives.
ACCOUNT_TEXT_FEATURES: tuple[str, ...] = (
    "has_profile_pic",
    "username_digit_share",
    "fullname_words",
    "fullname_digit_share",
    "name_equals_username",
    "bio_length",
    "has_external_url",
)
# The dataset's columns, and ours for the same thing (each computed by account_features): the
# counters, as ml.features.profile_features computes them, then the text features.
ACCOUNT_FEATURES: tuple[str, ...] = (
    "followers",
    "following",
    "posts",
    "followers_log10",
    "follower_following_ratio",
    *ACCOUNT_TEXT_FEATURES,
)
DATASET_COLUMNS = {
    "profile pic": "has_profile_pic",
    "nums/length username": "username_digit_share",
    "fullname words": "fullname_words",
    "nums/length fullname": "fullname_digit_share",
    "name==username": "name_equals_username",
    "description length": "bio_length",
    "external URL": "has_external_url",
    "#posts": "posts",
    "#followers": "followers",
    "#follows": "following",
}
# Labels of the component's own score: it speaks of the account, not of the audience.
ACCOUNT_BANDS: tuple[tuple[str, float], ...] = (
    ("Genuine account", 60.0),
    ("Uncertain account", 40.0),
    ("Likely fake account", 0.0),
)
_URL = re.compile(r"(https?://|www\.)\S+|\b[\w-]+\.(com|net|org|io|me|ly|link|vn|co)\b", re.I)


def _digit_share(text: str | None) -> float | None:
    if text is None:
        return None
    return sum(ch.isdigit() for ch in text) / len(text) if text else 0.0


def _known(v: Any) -> float | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return float(v)


def account_features(
    username: str | None,
    nickname: str | None = None,
    bio: str | None = None,
    avatar_url: str | None = None,
    followers: float | None = None,
    following: float | None = None,
    posts: float | None = None,
) -> dict[str, float | None]:
    """A profile -> :data:`ACCOUNT_FEATURES`, as the labelled dataset defines them: digits per
    character of the username and the full name (nickname), words in the full name, full name
    equal to the username, bio length in characters, a picture, a link in the bio. Unknown
    inputs give unknown (None) features, never 0."""
    counters = profile_features(
        followers=_known(followers), following=_known(following), posts=_known(posts)
    )
    return {
        **{k: counters[k] for k in ACCOUNT_FEATURES[:5]},
        "has_profile_pic": None if avatar_url is None else float(bool(avatar_url.strip())),
        "username_digit_share": _digit_share(username),
        "fullname_words": None if nickname is None else float(len(nickname.split())),
        "fullname_digit_share": _digit_share(nickname),
        "name_equals_username": None
        if nickname is None or username is None
        else float(nickname.strip().lower() == username.strip().lower()),
        "bio_length": None if bio is None else float(len(bio)),
        "has_external_url": None if bio is None else float(bool(_URL.search(bio))),
    }


def profile_account_features(profile: Mapping[str, Any]) -> dict[str, float | None]:
    """A profile mapping (event fields or a dim_kols row) -> :func:`account_features`."""

    def text(key: str) -> str | None:
        v = profile.get(key)
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)

    return account_features(
        username=text("username"),
        nickname=text("nickname"),
        bio=text("bio"),
        avatar_url=text("avatar_url"),
        followers=profile.get("followers"),
        following=profile.get("following"),
        posts=profile.get("posts"),
    )


def read_profiles(ml: MlSettings, day: Any) -> pd.DataFrame:
    """Each creator's profile as it stood at the end of ``day`` (the ``dim_kols`` version valid
    then): kol_id, username, nickname, bio, avatar_url."""
    from datetime import UTC, datetime, time, timedelta

    from kol.iceberg import catalog

    cols = ("kol_id", "username", "nickname", "bio", "avatar_url", "valid_from", "valid_to")
    df = (
        catalog(ml.core)
        .load_table(f"{ml.gold_schema}.dim_kols")
        .scan(selected_fields=cols)
        .to_pandas()
    )
    end = pd.Timestamp(datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC))
    valid_from = pd.to_datetime(df["valid_from"], utc=True)
    valid_to = pd.to_datetime(df["valid_to"], utc=True)
    df = df[(valid_from < end) & (valid_to.isna() | (valid_to >= end))]
    return df.drop(columns=["valid_from", "valid_to"]).drop_duplicates("kol_id", keep="last")


def with_account_features(features: pd.DataFrame, profiles: pd.DataFrame) -> pd.DataFrame:
    """Feature rows (``kol_id`` and the counters) plus :data:`ACCOUNT_FEATURES` from each
    creator's profile (:func:`read_profiles`); a creator without one gets unknowns."""
    merged = features[["kol_id", "followers", "following", "posts"]].merge(
        profiles, on="kol_id", how="left"
    )
    rows = [profile_account_features(r) for r in merged.to_dict("records")]
    acc = pd.DataFrame(rows, columns=list(ACCOUNT_FEATURES), index=features.index)
    extra = [c for c in ACCOUNT_FEATURES if c not in features.columns]
    return pd.concat([features, acc[extra].astype("float64")], axis=1)


def stream_account_rows(frame: pd.DataFrame) -> list[dict[str, float | None]]:
    """The stream's live trust inputs (:func:`streaming.engine.trust_features`: the profile's
    counters and its text features, computed from the event by :func:`account_features`) ->
    :data:`ACCOUNT_FEATURES` rows."""
    out = []
    for row in frame.to_dict("records"):
        f = account_features(
            None,
            followers=row.get("followers"),
            following=row.get("following"),
            posts=row.get("posts"),
        )
        f.update({n: _known(row.get(n)) for n in ACCOUNT_TEXT_FEATURES})
        out.append(f)
    return out


# ---- the real labelled accounts ---------------------------------------------------------------
def read_split(path: Path) -> pd.DataFrame:
    """One CSV of ``instagram_fake_spammer`` -> :data:`ACCOUNT_FEATURES` plus ``label`` (1 = fake)
    and ``is_private`` (kept for the external check; creators on the platform are public)."""
    raw = pd.read_csv(path, encoding="utf-8-sig")
    raw.columns = [c.strip() for c in raw.columns]
    missing = [c for c in (*DATASET_COLUMNS, "fake", "private") if c not in raw.columns]
    if missing:
        raise ValueError(f"{path}: columns {missing} missing (have {list(raw.columns)})")
    df = raw.rename(columns=DATASET_COLUMNS).astype(
        {c: "float64" for c in DATASET_COLUMNS.values()}
    )
    df["followers_log10"] = np.log10(df["followers"].clip(lower=0) + 1)
    df["follower_following_ratio"] = df["followers"] / df["following"].replace(0, np.nan)
    df["label"] = df["fake"].astype(int)
    df["is_private"] = df["private"].astype("float64")
    return df[[*ACCOUNT_FEATURES, "is_private", "label"]].reset_index(drop=True)


def has_labelled_accounts(folder: Path) -> bool:
    return all((folder / name).is_file() for name in ("train.csv", "test.csv"))


@dataclass
class AccountResult:
    classifier: Any  # ml.train.Classifier
    train_rows: int
    test_rows: int
    metrics: dict[str, float]  # cv_* (train folds) and test_* (test.csv)
    test_scores: pd.DataFrame


def train_account(ml: MlSettings, data_dir: Path | None = None) -> AccountResult:
    """The classifier recipe (:func:`ml.train.fit_classifier`) on train.csv; metrics on test.csv."""
    from ml.metrics import classification_metrics
    from ml.train import fit_classifier

    folder = data_dir or ml.external_dir
    if not has_labelled_accounts(folder):
        raise ValueError(
            f"{folder}: the labelled accounts (train.csv, test.csv) are missing; set "
            "KOL_ML_EXTERNAL_DIR to the instagram_fake_spammer folder"
        )
    train, test = read_split(folder / "train.csv"), read_split(folder / "test.csv")
    cols = list(ACCOUNT_FEATURES)
    clf = fit_classifier(
        train[cols].to_numpy(dtype="float64"),
        train["label"].to_numpy(),
        np.arange(len(train)),
        ACCOUNT_FEATURES,
        ml,
        bands=ACCOUNT_BANDS,
        target="P(fake account) from profile fields",
    )
    p = calibrate(
        clf.booster.predict(test[cols].to_numpy(dtype="float64"), raw_score=True),
        clf.spec.calibration,
    )
    metrics = {f"cv_{k}": v for k, v in clf.oof_metrics.items()}
    metrics.update({f"test_{k}": v for k, v in classification_metrics(test["label"], p).items()})
    scores = test.assign(p_fake=p, account_score=np.round(100 * (1 - p), 2))
    return AccountResult(clf, len(train), len(test), metrics, scores)


__all__ = [
    "ACCOUNT_BANDS",
    "ACCOUNT_FEATURES",
    "ACCOUNT_TEXT_FEATURES",
    "AccountResult",
    "account_features",
    "has_labelled_accounts",
    "profile_account_features",
    "read_split",
    "train_account",
]
