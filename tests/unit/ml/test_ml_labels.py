"""Trust labels: generator ground truth (with the purchase day) and user CSVs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import orjson
import pandas as pd
import pytest

from ml.labels import LabelError, csv_labels, label_rows, load_labels


def write_generator(path: Path) -> Path:
    rows = [
        {
            "key": "tiktok:buyer",
            "behaviours": ["bought_followers"],
            "pod_id": None,
            "bought_followers_steps": [
                {"at": "2026-03-03T12:00:00Z", "followers_added": 5000},
                {"at": "2026-03-02T12:00:00Z", "followers_added": 5000},
            ],
        },
        {
            "key": "tiktok:pod",
            "behaviours": ["engagement_pod"],
            "pod_id": 1,
            "bought_followers_steps": None,
        },
        {
            "key": "tiktok:viral",
            "behaviours": ["viral_breakout"],
            "pod_id": None,
            "bought_followers_steps": None,
        },
        {"key": "tiktok:plain", "behaviours": [], "pod_id": None, "bought_followers_steps": None},
    ]
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
    return path


def test_generator_labels_and_the_purchase_day(tmp_path: Path) -> None:
    labels = load_labels([write_generator(tmp_path / "labels-seed1.jsonl")])
    by = labels.set_index("kol_id")
    assert by["label"].to_dict() == {
        "tiktok:buyer": 1,
        "tiktok:pod": 1,
        "tiktok:viral": 0,
        "tiktok:plain": 0,
    }
    assert by.loc["tiktok:buyer", "since"] == date(2026, 3, 2)  # the first package
    feats = pd.DataFrame(
        {
            "kol_id": ["tiktok:buyer"] * 3 + ["tiktok:pod", "tiktok:unknown"],
            "date_day": [date(2026, 3, d) for d in (1, 2, 3)] + [date(2026, 3, 1)] * 2,
        }
    )
    rows = label_rows(feats, labels)
    assert rows["kol_id"].tolist() == ["tiktok:buyer"] * 3 + ["tiktok:pod"]  # unlabelled: out
    assert rows["label"].tolist() == [0, 1, 1, 1]  # genuine before the purchase
    # The truth rides along for evaluations per fraud type (ml.evaluate.holdout_creators).
    assert rows["true_behaviours"].tolist() == list(
        labels.set_index("kol_id").loc[rows["kol_id"], "true_behaviours"]
    )


def test_user_csv_overrides_and_validates(tmp_path: Path) -> None:
    gen = write_generator(tmp_path / "labels-seed1.jsonl")
    csv = tmp_path / "mine.csv"
    csv.write_text("\ufeffplatform,username,label\r\nTikTok,plain,FAKE\r\ninstagram,x,genuine\r\n")
    labels = load_labels([gen], [csv]).set_index("kol_id")
    assert labels.loc["tiktok:plain", "label"] == 1 and labels.loc["instagram:x", "label"] == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("platform,username,label\ntiktok,a,maybe\n")
    with pytest.raises(LabelError, match=r"bad.csv:2: label 'maybe'"):
        csv_labels(bad)
    nohead = tmp_path / "nohead.csv"
    nohead.write_text("tiktok,a,1\n")
    with pytest.raises(LabelError, match="header"):
        csv_labels(nohead)
