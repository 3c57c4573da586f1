"""Scoring speed of the trust model, in process: single-creator latency and batch throughput.

    uv run python -m bench.bench_ml [--calls 5000] [--creators 200000] [--threads 2]
                                    [--synthetic] [--json]

The model is the registered champion ``kol_trust@champion`` when MLflow has one (as the API
and batch scoring load it), else a model trained here by the same recipe (ml.train) on
synthetic creator-days (``--synthetic`` forces that). Measured:

* online: one creator per call, p50/p99 over ``--calls`` calls after a warm-up, two ways:
  the API's model (``api.models.MlflowModel.predict`` on a validated ``KolFeatures``: matrix,
  score, label, 3 SHAP reasons) and the bare scorer on a feature dict (no reasons);
* batch: ``--creators`` creators in one matrix, creators/s, for the score alone (what ranks
  and labels need), the score with SHAP contributions, and the full kol_scores rows as batch
  scoring writes them (reasons as JSON text).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, get_args

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from ml.features import FEATURES

err = Console(stderr=True)


def synthetic(n: int, seed: int = 0) -> pd.DataFrame:
    """Creator rows with plausible ranges (a third inauthentic: weak likes, jumps, bots)."""
    rng = np.random.default_rng(seed)
    bad = rng.random(n) < 0.15
    followers = np.exp(rng.uniform(np.log(1e3), np.log(5e6), n))
    df = pd.DataFrame({f: rng.random(n) for f in FEATURES})
    df["followers"] = followers.round()
    df["followers_log10"] = np.log10(followers + 1)
    df["likes_per_follower"] = np.where(bad, rng.uniform(0.1, 1, n), rng.uniform(2, 30, n))
    df["max_followers_delta_pct_7d"] = np.where(
        bad, rng.uniform(0.3, 2, n), rng.uniform(0, 0.05, n)
    )
    df["near_duplicate_share_7d"] = np.where(bad, rng.uniform(0.1, 0.6, n), rng.uniform(0, 0.05, n))
    for c in ("has_shop", "is_verified"):
        df[c] = (rng.random(n) < 0.4).astype(float)
    for c in ("follower_jump_days_7d", "active_days_7d"):
        df[c] = rng.integers(0, 8, n).astype(float)
    for c in (
        "following",
        "total_likes",
        "posts",
        "views_gained_7d",
        "comments_sampled_7d",
        "videos_published_7d",
        "discoveries_7d",
        "trending_discoveries_7d",
        "products_listed_7d",
        "units_sold_7d",
        "days_since_first_seen",
    ):
        df[c] = rng.integers(0, 10_000, n).astype(float)
    df["followers_delta"] = rng.integers(-1000, 1000, n).astype(float)
    df["followers_gained_7d"] = rng.integers(-1000, 5000, n).astype(float)
    df["kol_id"] = [f"tiktok:bench{i}" for i in range(n)]
    df["platform"] = "tiktok"
    df["date_day"] = pd.Timestamp("2026-03-01").date()
    df["label"] = bad.astype(int)
    return df


def train_synthetic() -> Any:
    from kol.settings import MlSettings
    from ml.train import fit_classifier

    rows = synthetic(4000, seed=1)
    rows["kol_id"] = [f"tiktok:c{i // 4}" for i in range(len(rows))]  # 4 days per creator
    ml = MlSettings(optuna_trials=3, optuna_timeout_s=60)
    x = rows[list(FEATURES)].to_numpy(dtype="float64")
    clf = fit_classifier(x, rows["label"].to_numpy(), rows["kol_id"].to_numpy(), FEATURES, ml)
    return clf


def load_models(force_synthetic: bool) -> tuple[Any, Any, str]:
    """(ml Scorer, API MlflowModel, where from)."""
    import mlflow

    from api.models import MlflowModel, mlflow_loader
    from kol.settings import ApiSettings

    api_settings = ApiSettings(reasons_top_n=3)
    if not force_synthetic:
        try:
            from kol.settings import get_ml_settings
            from ml.batch import champions

            scorers, _ = champions(get_ml_settings())
            scorer = scorers.get("trust")
            if scorer is not None:
                model = mlflow_loader(api_settings)(scorer.name, scorer.version)
                return scorer, model, f"MLflow {scorer.name} v{scorer.version}"
        except Exception as exc:
            err.print(f"no champion from MLflow ({type(exc).__name__}): training a synthetic one")
    import tempfile

    from ml.scoring import SPEC_KEY

    clf = train_synthetic()
    path = tempfile.mkdtemp() + "/model"
    mlflow.lightgbm.save_model(clf.booster, path, metadata={SPEC_KEY: clf.spec.to_dict()})
    model = MlflowModel(
        "kol_trust",
        "bench",
        mlflow.pyfunc.load_model(path),
        mlflow.lightgbm.load_model(path),
        api_settings,
    )
    return clf.scorer("kol_trust", "bench"), model, "trained here on synthetic creator-days"


def percentiles(samples: list[float]) -> dict[str, float]:
    a = np.asarray(samples) * 1000.0
    return {
        "p50_ms": float(np.percentile(a, 50)),
        "p99_ms": float(np.percentile(a, 99)),
        "mean_ms": float(a.mean()),
    }


def bench_online(scorer: Any, model: Any, calls: int) -> dict[str, dict[str, float]]:
    from api.schemas import KolFeatures

    rows = synthetic(calls, seed=2)
    dicts = [
        {k: (None if pd.isna(v) else v) for k, v in r.items() if k in FEATURES}
        for r in rows.to_dict("records")
    ]
    # The request model says which features are integers or booleans; the frame holds floats.
    for name, f in KolFeatures.model_fields.items():
        kind = next(
            (t for t in (bool, int) if t in get_args(f.annotation) or f.annotation is t),
            None,
        )
        if kind is not None and name in FEATURES:
            for d in dicts:
                d[name] = kind(d[name])
    bodies = [KolFeatures(**d) for d in dicts]
    out: dict[str, dict[str, float]] = {}
    for name, fn in (
        ("api_model_with_reasons", lambda i: model.predict([bodies[i]])),
        ("scorer_score_only", lambda i: scorer.score(scorer.matrix([dicts[i]]), reasons=False)),
    ):
        for i in range(min(200, calls)):  # warm-up
            fn(i)
        samples = []
        for i in range(calls):
            t0 = time.perf_counter()
            fn(i)
            samples.append(time.perf_counter() - t0)
        out[name] = percentiles(samples)
    return out


def bench_batch(scorer: Any, creators: int, threads: int) -> dict[str, dict[str, float]]:
    from ml.batch import score_features
    from ml.features import frame_matrix

    df = synthetic(creators, seed=3)
    out: dict[str, dict[str, float]] = {}

    def timed(name: str, fn: Any, n: int = creators) -> None:
        fn()  # warm-up (allocations, thread pool)
        t0 = time.perf_counter()
        fn()
        s = time.perf_counter() - t0
        out[name] = {"seconds": s, "creators_per_s": n / s}

    m = frame_matrix(df, scorer.columns)
    timed("score_only", lambda: scorer.score(m, reasons=False, threads=threads))
    timed("score_and_shap", lambda: scorer.score(m, reasons=True, threads=threads))
    timed("matrix_from_frame", lambda: frame_matrix(df, scorer.columns))
    timed(
        "kol_scores_rows_with_reasons",
        lambda: score_features(df, {"trust": scorer}, reasons_top_n=3, threads=threads),
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--creators", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--synthetic", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with err.status("loading the trust model ..."):
        scorer, model, source = load_models(args.synthetic)
    trees = scorer.booster.num_trees()
    with err.status(f"online: {args.calls} single-creator calls ..."):
        online = bench_online(scorer, model, args.calls)
    with err.status(f"batch: {args.creators} creators ..."):
        batch = bench_batch(scorer, args.creators, args.threads)
    result = {
        "model": source,
        "trees": trees,
        "features": len(scorer.columns),
        "online": online,
        "batch": batch,
        "threads": args.threads,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    out = Console(width=None if sys.stdout.isatty() else 120)
    out.print(f"trust model: {source}, {trees} trees, {len(scorer.columns)} features")
    t = Table(title="online: one creator per call (goal p99 < 1 ms)")
    for c in ("path", "p50 ms", "p99 ms", "mean ms"):
        t.add_column(c)
    for name, v in online.items():
        t.add_row(name, f"{v['p50_ms']:.3f}", f"{v['p99_ms']:.3f}", f"{v['mean_ms']:.3f}")
    out.print(t)
    t = Table(
        title=f"batch: {args.creators:,} creators, {args.threads} threads "
        "(goal > 200,000 creators/s)"
    )
    for c in ("step", "seconds", "creators/s"):
        t.add_column(c)
    for name, v in batch.items():
        t.add_row(name, f"{v['seconds']:.3f}", f"{v['creators_per_s']:,.0f}")
    out.print(t)


if __name__ == "__main__":
    main()
