"""The account component of trust: one feature function for the real accounts and ours."""

from __future__ import annotations

import pytest

from kol.settings import REPO_ROOT
from ml.account import ACCOUNT_FEATURES, account_features, profile_account_features, read_split

DATA = REPO_ROOT.parent / "shared" / "data" / "external" / "instagram_fake_spammer"


def test_features_follow_the_datasets_definitions() -> None:
    f = account_features(
        username="anna.b1992",
        nickname="Anna B",
        bio="travel + food | shop: www.anna.example",
        avatar_url="https://cdn.example/a.jpg",
        followers=999,
        following=0,
        posts=12,
    )
    assert set(f) == set(ACCOUNT_FEATURES)
    assert f["username_digit_share"] == pytest.approx(4 / 10)
    assert (f["fullname_words"], f["fullname_digit_share"]) == (2.0, 0.0)
    assert f["name_equals_username"] == 0.0
    assert f["bio_length"] == 38.0 and f["has_external_url"] == 1.0
    assert f["has_profile_pic"] == 1.0
    assert f["followers_log10"] == pytest.approx(3.0)
    assert f["follower_following_ratio"] is None  # following 0: no ratio, as in dbt


def test_unknown_fields_stay_unknown_not_zero() -> None:
    f = profile_account_features({"username": "x", "followers": float("nan")})
    assert f["followers"] is None and f["followers_log10"] is None
    assert f["bio_length"] is None and f["has_profile_pic"] is None
    assert f["fullname_words"] is None and f["name_equals_username"] is None
    assert f["username_digit_share"] == 0.0


def test_empty_avatar_and_name_equal_to_username() -> None:
    f = account_features(username="Bob", nickname="bob", bio="", avatar_url=" ")
    assert f["has_profile_pic"] == 0.0 and f["name_equals_username"] == 1.0
    assert f["bio_length"] == 0.0 and f["has_external_url"] == 0.0


@pytest.mark.skipif(not DATA.exists(), reason=f"{DATA} is not there")
def test_reading_the_real_split_gives_the_same_feature_names() -> None:
    df = read_split(DATA / "test.csv")
    assert list(df.columns[: len(ACCOUNT_FEATURES)]) == list(ACCOUNT_FEATURES)
    assert len(df) == 120 and df["label"].sum() == 60
    assert df["has_profile_pic"].isin([0.0, 1.0]).all()


def test_a_split_without_its_columns_names_them(tmp_path) -> None:
    bad = tmp_path / "train.csv"
    bad.write_text("profile pic,fake\n1,0\n")
    with pytest.raises(ValueError, match="#followers"):
        read_split(bad)
