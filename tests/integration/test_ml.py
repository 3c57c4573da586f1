"""ML against the real stack: a generated world through Kafka, Spark (Bronze, Silver) and dbt
into a Gold schema of its own; `kol ml train` registers both models in the real MLflow (names
of this run only); `kol ml score` fills gold.kol_scores (Trino) and Redis (a prefix of this
run); the planted bought-follower creators score lower trust than genuine ones on held-out
creators; one creator scores identically at training time, in batch and in the API.
"""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
import redis
from pyspark.sql import SparkSession
from typer.testing import CliRunner

from gold import runner
from ingestion.generator import GeneratorConfig, World
from ingestion.pipeline import run_world
from ingestion.producer import KafkaEventSink, ensure_topics
from kol.interval import Interval
from kol.settings import (
    MlSettings,
    Settings,
    get_gold_settings,
    get_ingest_settings,
    get_ml_settings,
)
from kol.trino import query
from ml.account import ACCOUNT_FEATURES, has_labelled_accounts
from ml.features import FEATURES
from spark_jobs import bronze_to_silver, kafka_to_bronze

pytestmark = pytest.mark.timeout(900)

DAYS = 8
START = datetime(2026, 4, 1, tzinfo=UTC)
LAST_DAY = (START + timedelta(days=DAYS - 1)).date()


@dataclass
class MlWorld:
    ml: MlSettings
    labels: pd.DataFrame  # generator ground truth: kol_id, behaviours
    env: dict[str, str]


@pytest.fixture(scope="module")
def world(
    settings: Settings, spark: SparkSession, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MlWorld]:
    """45 creators over 8 days, a fifth of them with bought followers, landed in Gold."""
    tag = uuid.uuid4().hex[:8]
    mp = pytest.MonkeyPatch()
    mp.setenv("KOL_INGEST_TOPIC_PREFIX", f"itml{datetime.now(UTC):%H%M%S%f}.")
    get_ingest_settings.cache_clear()
    ingest = get_ingest_settings()
    ensure_topics(settings, ingest)
    config = GeneratorConfig(
        creators=45,
        days=DAYS,
        # Silver deduplicates on event_id, which derives from the seed: a seed of its own.
        seed=int(datetime.now(UTC).timestamp() * 1000) % 1_000_000_007 + 11,
        start=START,
        bought_followers_share=0.2,
        pod_share=0.1,
    )
    sink = KafkaEventSink(settings, ingest)
    run_world(config, sink)
    sink.close()
    landed = Interval(START, START + timedelta(days=DAYS + 1))
    kafka_to_bronze.run(landed)
    bronze_to_silver.run(landed)
    labels_dir = tmp_path_factory.mktemp("labels")
    World(config).write_labels(labels_dir / f"labels-seed{config.seed}.jsonl")

    schema = f"gold_mlit{tag}"
    gold = get_gold_settings().model_copy(update={"schema_name": schema})
    target = tmp_path_factory.mktemp("dbt-target")
    for args in (["seed"], ["run"]):
        run = runner.run_dbt(
            args,
            settings=settings,
            gold=gold,
            dbt_vars=runner.gold_vars(None, None, ingest.topic_prefix),
            target_path=target,
        )
        assert run.success, [(n.name, n.message) for n in run.failed] or run.error

    env = {
        "KOL_GOLD_SCHEMA": schema,
        "KOL_ML_LABELS_DIR": str(labels_dir),
        "KOL_ML_TRUST_MODEL_NAME": f"kol_trust_mlit_{tag}",
        "KOL_ML_SUCCESS_MODEL_NAME": f"kol_success_mlit_{tag}",
        "KOL_ML_ACCOUNT_MODEL_NAME": f"kol_trust_account_mlit_{tag}",
        "KOL_ML_TRUST_EXPERIMENT": f"it-ml-trust-{tag}",
        "KOL_ML_SUCCESS_EXPERIMENT": f"it-ml-success-{tag}",
        "KOL_ML_ACCOUNT_EXPERIMENT": f"it-ml-account-{tag}",
        "KOL_STREAM_REDIS_PREFIX": f"itml:{tag}:",
        "KOL_ML_OPTUNA_TRIALS": "3",
        # Eight days: a two-day horizon leaves room for a time-based backtest.
        "KOL_ML_SUCCESS_HORIZON_DAYS": "2",
    }
    for k, v in env.items():
        mp.setenv(k, v)
    get_ml_settings.cache_clear()
    ml = get_ml_settings()
    truth = pd.DataFrame(World(config).labels())[["key", "behaviours"]]
    truth = truth.rename(columns={"key": "kol_id"})
    truth["behaviours"] = truth["behaviours"].map(",".join)
    yield MlWorld(ml, truth, env)

    from ml.registry import mlflow_client

    client = mlflow_client(ml)
    for name in (ml.trust_model_name, ml.success_model_name, ml.account_model_name):
        with contextlib.suppress(Exception):
            client.delete_registered_model(name)
    for exp_name in (ml.trust_experiment, ml.success_experiment, ml.account_experiment):
        exp = client.get_experiment_by_name(exp_name)
        if exp is not None:
            client.delete_experiment(exp.experiment_id)
    r = redis.Redis.from_url(settings.redis_url)
    for key in r.scan_iter(match=f"{ml.score_key_prefix}*", count=1000):
        r.delete(key)
    for suffix in ("", "_staging", "_intermediate"):
        query(settings, f"DROP SCHEMA IF EXISTS {settings.trino_catalog}.{schema}{suffix} CASCADE")
    mp.undo()
    get_ingest_settings.cache_clear()
    get_ml_settings.cache_clear()


def kol(*args: str) -> Any:
    from shell.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    out = result.stdout
    return json.loads(out[min(i for i in (out.find("["), out.find("{")) if i >= 0) :])


@pytest.fixture(scope="module")
def trained(world: MlWorld) -> list[dict[str, Any]]:
    return kol("ml", "train", "--json")


@pytest.fixture(scope="module")
def scored(world: MlWorld, trained: list[dict[str, Any]]) -> dict[str, Any]:
    return kol("ml", "score", "--json")


def run_artifact(ml: MlSettings, run_id: str, name: str) -> str:
    import mlflow

    from ml.registry import mlflow_client

    mlflow_client(ml)
    return str(mlflow.artifacts.load_text(f"runs:/{run_id}/{name}"))


def test_train_registers_both_models_as_champions_with_what_the_run_logged(
    world: MlWorld, trained: list[dict[str, Any]]
) -> None:
    from ml.registry import mlflow_client

    ml = world.ml
    client = mlflow_client(ml)
    by_kind = {r["model"]: r for r in trained}
    # The account component trains on the real labelled accounts, when they are there.
    accounts = has_labelled_accounts(ml.external_dir)
    assert set(by_kind) == {"trust", "success"} | ({"account"} if accounts else set())
    n_features = {
        "trust": len(FEATURES),
        "success": len(FEATURES),
        "account": len(ACCOUNT_FEATURES),
    }
    for kind, name in (
        ("trust", ml.trust_model_name),
        ("success", ml.success_model_name),
        ("account", ml.account_model_name),
    ):
        if kind not in by_kind:
            continue
        r = by_kind[kind]
        assert r["champion"] is True and r["reason"].startswith("no champion to beat")
        assert client.get_model_version_by_alias(name, "champion").version == r["version"]
        run = client.get_run(r["run_id"])
        arts = {a.path for a in client.list_artifacts(r["run_id"])}
        assert {"model_card.md", "features.json", "promotion.json", "optuna_trials.json"} <= arts
        plots = {a.path for a in client.list_artifacts(r["run_id"], "plots")}
        assert any(p.endswith("_importance.png") for p in plots)
        assert int(run.data.params["optuna_trials"]) <= 3
        features = json.loads(run_artifact(ml, r["run_id"], "features.json"))
        assert len(features) == n_features[kind]
    trust = client.get_run(by_kind["trust"]["run_id"]).data.metrics
    assert {"holdout_roc_auc", "holdout_pr_auc", "holdout_brier", "holdout_ece"} <= set(trust)
    assert {"plots/trust_roc.png", "plots/trust_calibration.png"} <= {
        a.path for a in client.list_artifacts(by_kind["trust"]["run_id"], "plots")
    }
    success = client.get_run(by_kind["success"]["run_id"]).data.metrics
    for m in ("model", "last_week", "creator_mean"):
        assert f"all_{m}_mae" in success and f"all_{m}_smape" in success
    if accounts:  # validated on the real accounts' test split
        account = client.get_run(by_kind["account"]["run_id"]).data
        assert account.metrics["test_roc_auc"] >= 0.95 and account.metrics["test_rows"] == 120
        assert account.tags["kol.dataset"] == "instagram_fake_spammer"
    print("\ntrust holdout:", {k: round(v, 3) for k, v in trust.items() if "holdout" in k})
    print("success backtest:", {k: round(v, 2) for k, v in success.items() if k.startswith("all_")})


def test_a_worse_challenger_does_not_become_champion(
    world: MlWorld, trained: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A challenger whose final booster saw no feature values (a constant model): it is
    registered, compared with the champion on the same holdout, and the alias stays."""
    from ml import train as T
    from ml.pipeline import train_trust_model
    from ml.registry import mlflow_client

    ml = world.ml
    champion = next(r for r in trained if r["model"] == "trust")
    real = T.train_booster

    def blind(x: np.ndarray, *args: Any, **kwargs: Any) -> Any:
        return real(np.full_like(x, np.nan), *args, **kwargs)

    monkeypatch.setattr(T, "train_booster", blind)
    outcome = train_trust_model(ml)
    client = mlflow_client(ml)
    assert outcome.promoted is False and "roc_auc" in outcome.reason, outcome.reason
    assert int(outcome.version) > int(champion["version"])
    current = client.get_model_version_by_alias(ml.trust_model_name, "champion").version
    assert current == champion["version"]
    decision = json.loads(run_artifact(ml, outcome.run_id, "promotion.json"))
    assert decision["champion_version"] == champion["version"] and not decision["promote"]
    assert decision["champion"]["roc_auc"] > decision["challenger"]["roc_auc"]
    tags = client.get_run(outcome.run_id).data.tags
    assert tags["kol.promoted"] == "false" and tags["kol.champion_version_before"] == current


def scores_table(world: MlWorld) -> pd.DataFrame:
    rows = query(
        world.ml.core,
        f"SELECT kol_id, date_day, trust_score, trust_label, trust_model_version, trust_reasons,"
        f" success_score, success_label, success_model_version, scored_at, trust_basis,"
        f" trust_audience_score, trust_account_score, trust_components, success_basis"
        f" FROM {world.ml.gold}.kol_scores",
    )
    cols = [
        "kol_id", "date_day", "trust_score", "trust_label", "trust_model_version",
        "trust_reasons", "success_score", "success_label", "success_model_version", "scored_at",
        "trust_basis", "trust_audience_score", "trust_account_score", "trust_components",
        "success_basis",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def test_batch_scoring_fills_gold_and_redis_and_is_idempotent(
    world: MlWorld, settings: Settings, trained: list[dict[str, Any]], scored: dict[str, Any]
) -> None:
    ml = world.ml
    assert scored["day"] == str(LAST_DAY)
    assert scored["creators"] == scored["iceberg_rows"] == scored["redis_hashes"] >= 40
    # Monitoring ran against the champions' training reference, in MLflow and Gold.
    assert not scored["monitoring_errors"], scored["monitoring_errors"]
    assert all(v is not None and v >= 0 for v in scored["psi_max"].values()), scored["psi_max"]
    stats = query(
        world.ml.core,
        f"SELECT model, rows, psi_max FROM {world.ml.gold}.{world.ml.score_stats_table}"
        f" WHERE date_day = DATE '{LAST_DAY}'",
    )
    assert {r[0] for r in stats} == {world.ml.trust_model_name, world.ml.success_model_name}
    drift = query(
        world.ml.core,
        f"SELECT count(DISTINCT feature) FROM {world.ml.gold}.{world.ml.drift_table}"
        f" WHERE date_day = DATE '{LAST_DAY}'",
    )
    assert drift[0][0] >= 30, drift
    table = scores_table(world)
    assert len(table) == scored["creators"] and table["kol_id"].is_unique
    assert (table["date_day"] == LAST_DAY).all()
    versions = {r["model"]: r["version"] for r in trained}
    assert set(table["trust_model_version"]) == {versions["trust"]}
    assert set(table["success_model_version"]) == {versions["success"]}
    assert table["trust_score"].between(0, 100).all()
    assert table["success_score"].between(0, 100).all()
    assert set(table["trust_label"]) <= {
        "Highly Trusted", "Trusted", "Moderate", "Low Trust", "Untrusted"
    }  # fmt: skip
    reasons = json.loads(table["trust_reasons"].iloc[0])
    assert reasons and {"factor", "value", "effect", "text"} <= set(reasons[0])
    # Trust is the weaker of its components, each kept with its own version.
    parts = json.loads(table["trust_components"].iloc[0])
    assert parts["audience"]["score"] == table["trust_audience_score"].iloc[0]
    if "account" in versions:
        assert (table["trust_basis"] == "audience+account").all()
        weaker = table[["trust_audience_score", "trust_account_score"]].min(axis=1)
        assert (table["trust_score"] == weaker).all()
        assert parts["account"]["model_version"] == versions["account"]
    else:
        assert (table["trust_basis"] == "audience").all()
    # Success serves its model or the naive forecast that beat it, and says which.
    from ml.registry import mlflow_client

    forecast = (
        mlflow_client(ml)
        .get_model_version(ml.success_model_name, versions["success"])
        .tags["kol.forecast"]
    )
    assert set(table["success_basis"]) == {"model" if forecast == "model" else f"naive:{forecast}"}

    r = redis.Redis.from_url(settings.redis_url)
    kol_id = table["kol_id"].iloc[0]
    h = {
        k.decode(): v.decode()
        for k, v in r.hgetall(f"{ml.score_key_prefix}scores:{kol_id}").items()
    }
    row = table.set_index("kol_id").loc[kol_id]
    assert float(h["trust_score"]) == row["trust_score"]
    assert h["trust_label"] == row["trust_label"]
    assert h["trust_model_version"] == versions["trust"]
    assert json.loads(h["trust_reasons"]) == json.loads(row["trust_reasons"])
    assert h["trust_scored_at"].startswith(str(LAST_DAY))
    assert float(h["success_score"]) == row["success_score"]
    # The API reads those hashes into its scores response.
    from api.scoring import combine
    from kol.settings import ApiSettings

    combined = combine(kol_id, {}, h, None, None, None, ApiSettings())
    assert combined["trust"]["source"] == "redis"
    assert combined["trust"]["score"] == row["trust_score"]

    # Re-running the day replaces its rows: same table.
    again = kol("ml", "score", "--json", "--date", str(LAST_DAY))
    assert again["iceberg_rows"] == scored["iceberg_rows"]
    after = scores_table(world)
    key = ["kol_id", "trust_score", "success_score"]
    pd.testing.assert_frame_equal(
        after[key].sort_values("kol_id", ignore_index=True),
        table[key].sort_values("kol_id", ignore_index=True),
    )
    # An older day (a backfill) lands in Iceberg but leaves the newer Redis hashes alone.
    older = LAST_DAY - timedelta(days=2)
    back = kol("ml", "score", "--json", "--date", str(older))
    assert back["iceberg_rows"] > 0 and back["redis_hashes"] == 0
    assert r.hget(f"{ml.score_key_prefix}scores:{kol_id}", "date_day").decode() == str(LAST_DAY)
    assert len(scores_table(world)) == len(table) + back["iceberg_rows"]


def test_bought_follower_creators_score_lower_trust_on_held_out_creators(
    world: MlWorld, trained: list[dict[str, Any]], scored: dict[str, Any]
) -> None:
    from sklearn.metrics import roc_auc_score

    run_id = next(r for r in trained if r["model"] == "trust")["run_id"]
    holdout = pd.read_csv(io.StringIO(run_artifact(world.ml, run_id, "holdout_scores.csv")))
    held = set(holdout["kol_id"])
    table = scores_table(world)
    latest = table[table["date_day"] == LAST_DAY].merge(world.labels, on="kol_id")
    latest = latest[latest["kol_id"].isin(held)]
    bought = latest["behaviours"].str.contains("bought_followers")
    genuine = latest["behaviours"].map(
        lambda b: not ({"bought_followers", "engagement_pod"} & set(b.split(",")))
    )
    sel = latest[bought | genuine]
    y = bought[bought | genuine].astype(int)
    assert y.sum() >= 1 and (1 - y).sum() >= 3, "the holdout needs both kinds of creators"
    auc = roc_auc_score(y, -sel["trust_score"])
    print(
        f"\nheld-out creators: {int(y.sum())} bought followers (mean trust "
        f"{sel['trust_score'][y == 1].mean():.1f}) vs {int((1 - y).sum())} genuine (mean "
        f"{sel['trust_score'][y == 0].mean():.1f}); ROC AUC {auc:.3f}"
    )
    assert sel["trust_score"][y == 1].mean() < sel["trust_score"][y == 0].mean()
    assert auc >= 0.8


def test_one_creator_scores_identically_in_training_batch_and_api(
    world: MlWorld, trained: list[dict[str, Any]], scored: dict[str, Any]
) -> None:
    """Training-time scores (the run's holdout_scores.csv), batch scores (gold.kol_scores)
    and the API's model loaded from MLflow agree on the held-out creators' latest day."""
    from api.models import mlflow_loader
    from api.schemas import KolFeatures
    from kol.settings import ApiSettings
    from ml import features as F

    ml = world.ml
    trust_run = next(r for r in trained if r["model"] == "trust")
    holdout = pd.read_csv(io.StringIO(run_artifact(ml, trust_run["run_id"], "holdout_scores.csv")))
    at_training = holdout[holdout["date_day"] == str(LAST_DAY)].set_index("kol_id")["trust"]
    assert len(at_training) >= 5
    batch = scores_table(world)
    batch = batch[batch["date_day"] == LAST_DAY].set_index("kol_id")
    api_settings = ml.core.with_changes(api=ApiSettings(reasons_top_n=3)).api
    model = mlflow_loader(api_settings)(ml.trust_model_name, trust_run["version"])
    feats = F.read_features(ml, day=LAST_DAY).set_index("kol_id").loc[at_training.index]
    bodies = [
        KolFeatures(**{k: (None if pd.isna(v) else v) for k, v in r.items() if k in F.FEATURES})
        for r in feats.reset_index().to_dict("records")
    ]
    online = model.predict(bodies)
    # Batch keeps the audience component (this model) beside trust (the weaker component).
    audience = [json.loads(x)["audience"] for x in batch.loc[at_training.index, "trust_components"]]
    assert [o.score for o in online] == at_training.tolist()
    assert [o.score for o in online] == batch.loc[
        at_training.index, "trust_audience_score"
    ].tolist()
    assert [o.score for o in online] == [a["score"] for a in audience]
    assert [o.label for o in online] == [a["label"] for a in audience]
    assert [o.reasons for o in online] == [a["reasons"] for a in audience]


def test_success_model_is_backtested_against_baselines(
    world: MlWorld, trained: list[dict[str, Any]]
) -> None:
    from ml.registry import mlflow_client

    run_id = next(r for r in trained if r["model"] == "success")["run_id"]
    preds = pd.read_csv(io.StringIO(run_artifact(world.ml, run_id, "backtest_predictions.csv")))
    params = mlflow_client(world.ml).get_run(run_id).data.params
    test_start = date.fromisoformat(params["test_start"])
    # Time-based: every test origin is on or after the test start, none before.
    assert pd.to_datetime(preds["date_day"]).dt.date.min() == test_start
    assert set(preds["target_kind"]) <= {"shop", "engagement"}
    assert (preds["prediction"] >= 0).all() and preds["score"].between(0, 100).all()
    # A model that loses to a naive forecast on the backtest is not what the version serves.
    from ml.success import served_forecast

    client = mlflow_client(world.ml)
    success = next(r for r in trained if r["model"] == "success")
    metrics = client.get_run(run_id).data.metrics
    tag = client.get_model_version(world.ml.success_model_name, success["version"]).tags
    assert tag["kol.forecast"] == served_forecast(metrics, world.ml.promote_min_gain)
    if tag["kol.forecast"] != "model":
        assert metrics["all_model_mae"] >= metrics[f"all_{tag['kol.forecast']}_mae"]
        assert (preds["prediction"] != preds["model_prediction"]).any()


def test_the_level_features_are_the_daily_outcomes_summed(world: MlWorld) -> None:
    """Gold's engagements_7d / engagements_28d / gmv_usd_28d (what the naive forecasts read)
    equal the rolling sums of the daily outcomes the success target is made of."""
    from ml import features as F

    feats = F.read_features(world.ml)
    daily = F.read_daily_outcomes(world.ml)
    daily["date_day"] = pd.to_datetime(daily["date_day"])
    parts = []
    for kol_id, g in daily.groupby("kol_id"):
        g = g.set_index("date_day").sort_index()
        parts.append(
            pd.DataFrame(
                {
                    "kol_id": kol_id,
                    "e7": g["engagements"].rolling("7D").sum(),
                    "e28": g["engagements"].rolling("28D").sum(),
                    "g28": g["gmv_usd"].rolling("28D").sum(),
                }
            ).reset_index()
        )
    sums = pd.concat(parts)
    sums["date_day"] = sums["date_day"].dt.date
    both = feats.merge(sums, on=["kol_id", "date_day"])
    assert len(both) == len(feats) > 100
    assert np.allclose(both["engagements_7d"], both["e7"])
    assert np.allclose(both["engagements_28d"], both["e28"])
    assert np.allclose(both["gmv_usd_28d"], both["g28"], atol=0.01)
