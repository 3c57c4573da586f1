"""Trust labels: the generator's ground truth plus labels teams supply.

A creator's audience is *inauthentic* when followers were bought or its engagement comes from a
pod (the generator's ``bought_followers`` and ``engagement_pod``). Bought followers arrive on a
known day: rows before it describe a still-genuine account, so they are labelled genuine (a
``since`` day per creator). Variants (``drip_fed``, ``stealth_pod``, ...) come with the behaviour
they vary. A hard world's labels are written with mistakes (``label_noise``): ``label`` is the
label as written, what a model trains on; ``true_label`` is the truth, to score against
(the same as ``label`` for files without ``true_behaviours`` and for user CSVs), and
``true_behaviours`` what the creator really did, for evaluations per fraud type.

User CSV: ``platform,username,label`` with label 1/0, true/false, fake/genuine,
inauthentic/authentic (case-insensitive); it applies to every day of the creator and overrides
the generator's label. Unknown label words are an error naming the line, never skipped.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

import orjson
import pandas as pd

POSITIVE = {"1", "true", "fake", "inauthentic", "bought", "yes"}
NEGATIVE = {"0", "false", "genuine", "authentic", "real", "no"}
INAUTHENTIC_BEHAVIOURS = ("bought_followers", "engagement_pod")
COLUMNS = ["kol_id", "label", "since", "behaviours", "source", "true_label", "true_behaviours"]


class LabelError(ValueError):
    pass


def generator_labels(paths: Iterable[Path]) -> pd.DataFrame:
    """One row per creator from generator label files (later files win)."""
    rows: dict[str, dict] = {}
    for path in paths:
        with path.open("rb") as fh:
            for line in fh:
                if not line.strip():
                    continue
                r = orjson.loads(line)
                behaviours = list(r.get("behaviours") or [])
                truth = r.get("true_behaviours", behaviours) or []
                since: date | None = None
                if r.get("bought_followers_steps") and r.get("pod_id") is None:
                    first = min(s["at"] for s in r["bought_followers_steps"])
                    since = datetime.fromisoformat(first.replace("Z", "+00:00")).date()
                rows[r["key"]] = {
                    "kol_id": r["key"],
                    "label": _inauthentic(behaviours),
                    "since": since,
                    "behaviours": ",".join(behaviours),
                    "source": path.name,
                    "true_label": _inauthentic(truth),
                    "true_behaviours": ",".join(truth),
                }
    return pd.DataFrame(list(rows.values()), columns=COLUMNS)


def _inauthentic(behaviours: Iterable[str]) -> int:
    return int(any(b in INAUTHENTIC_BEHAVIOURS for b in behaviours))


def parse_label(text: str) -> int:
    t = text.strip().lower()
    if t in POSITIVE:
        return 1
    if t in NEGATIVE:
        return 0
    raise LabelError(f"label {text!r} is none of {sorted(POSITIVE | NEGATIVE)}")


def csv_labels(path: Path) -> pd.DataFrame:
    """``platform,username,label`` rows -> labels (header required)."""
    rows = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        need = {"platform", "username", "label"}
        if not need <= set(reader.fieldnames or []):
            raise LabelError(f"{path}: the header must name {sorted(need)}")
        for n, r in enumerate(reader, start=2):
            platform, username = (r["platform"] or "").strip(), (r["username"] or "").strip()
            if not platform or not username:
                raise LabelError(f"{path}:{n}: platform and username are required")
            try:
                label = parse_label(r["label"] or "")
            except LabelError as exc:
                raise LabelError(f"{path}:{n}: {exc}") from None
            rows.append(
                {
                    "kol_id": f"{platform.lower()}:{username}",
                    "label": label,
                    "since": None,
                    "behaviours": "user_label",
                    "source": path.name,
                    "true_label": label,
                    "true_behaviours": "user_label",
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def load_labels(generator_files: Iterable[Path], user_csvs: Iterable[Path] = ()) -> pd.DataFrame:
    """All labels, one row per creator; user CSVs override the generator's."""
    frames = [generator_labels(generator_files), *(csv_labels(p) for p in user_csvs)]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    out = pd.concat(frames, ignore_index=True)
    return out.drop_duplicates("kol_id", keep="last").reset_index(drop=True)


def label_rows(features: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Feature rows of labelled creators with their label for that day (``label`` column, and
    ``true_label`` when the labels have it), their behaviours (and ``true_behaviours``)."""
    targets = [c for c in ("label", "true_label") if c in labels.columns]
    truth = ["true_behaviours"] if "true_behaviours" in labels.columns else []
    lab = labels[["kol_id", *targets, "since", "behaviours", *truth]]
    out = features.merge(lab, on="kol_id", how="inner")
    since = pd.to_datetime(out["since"])
    before = since.notna() & (pd.to_datetime(out["date_day"]) < since)
    for col in targets:
        out[col] = out[col].astype(int).where(~before, 0)
    return out.drop(columns=["since"])
