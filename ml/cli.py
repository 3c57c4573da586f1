"""`kol ml`: train the trust and success models, batch-score, check on real data."""

from __future__ import annotations

import json
import logging
import sys
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from ml.settings import MlSettings, get_ml_settings

app = typer.Typer(
    help="Trust and success models: training, batch scoring, real-data check.", no_args_is_help=True
)
console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True)


def _settings(trials: int | None = None, labels: list[Path] | None = None) -> MlSettings:
    ml = get_ml_settings()
    update: dict[str, object] = {}
    if trials is not None:
        update["optuna_trials"] = trials
    if labels:
        update["labels_csv"] = [*ml.labels_csv, *labels]
    return ml.model_copy(update=update) if update else ml


def _quiet() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("mlflow", "alembic", "urllib3", "optuna"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@app.command("train")
def train(
    model: str = typer.Option("all", help="trust, success or all."),
    labels: list[Path] = typer.Option(
        None, "--labels", help="CSV platform,username,label of known cases (repeatable)."
    ),
    start: str = typer.Option(None, help="First feature day (YYYY-MM-DD) [default: all]."),
    end: str = typer.Option(None, help="Day after the last feature day [default: all]."),
    trials: int = typer.Option(None, help="Optuna trials [default: KOL_ML_OPTUNA_TRIALS]."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Train on Gold, log to MLflow, register; promote to champion only if better."""
    from ml.pipeline import train_all

    _quiet()
    ml = _settings(trials, labels)
    models = ("trust", "success") if model == "all" else (model,)
    if not set(models) <= {"trust", "success"}:
        err.print(f"unknown model {model!r}: trust, success or all")
        raise typer.Exit(2)
    outcomes: list = []  # type: ignore[type-arg]
    failed: dict[str, str] = {}
    for kind in models:  # one model's lack of data does not stop the other
        with console.status(f"training {kind} on {ml.gold} ..."):
            try:
                outcomes += train_all(
                    ml,
                    (kind,),
                    date.fromisoformat(start) if start else None,
                    date.fromisoformat(end) if end else None,
                )
            except ValueError as exc:
                failed[kind] = str(exc)
                err.print(f"[red]{kind}: not trained:[/] {exc}", highlight=False)
    keys = {
        "trust": (
            "holdout_roc_auc",
            "holdout_pr_auc",
            "holdout_brier",
            "holdout_ece",
            "holdout_latest_roc_auc",
            "holdout_bought_vs_genuine_auc",
        ),
        "success": (
            "all_model_mae",
            "all_last_week_mae",
            "all_creator_mean_mae",
            "all_model_smape",
            "all_last_week_smape",
            "all_creator_mean_smape",
            "holdout_mae_log",
        ),
    }
    rows = [
        {
            "model": o.kind,
            "name": o.name,
            "version": o.version,
            "champion": o.promoted,
            "reason": o.reason,
            "run_id": o.run_id,
            "metrics": {k: round(o.metrics[k], 4) for k in keys[o.kind] if k in o.metrics},
        }
        for o in outcomes
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        _train_table(rows)
    if failed:
        raise typer.Exit(1)


def _train_table(rows: list[dict]) -> None:  # type: ignore[type-arg]
    table = Table(title="training runs")
    for col in ("model", "version", "champion", "reason", "metrics"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["model"],
            f"{r['name']} v{r['version']}",
            str(r["champion"]),
            r["reason"],
            "\n".join(f"{k}={v}" for k, v in r["metrics"].items()),
        )
    console.print(table)


@app.command("score")
def score(
    day: str = typer.Option(None, "--date", help="Feature day to score [default: latest]."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Score every creator of a Gold day with the champions -> gold.kol_scores and Redis."""
    from ml.batch import score_day

    _quiet()
    ml = get_ml_settings()
    with console.status("batch scoring ...") as status:
        run = score_day(
            ml, date.fromisoformat(day) if day else None, on_step=lambda s: status.update(s)
        )
    if as_json:
        typer.echo(json.dumps(run.as_dict(), indent=2))
    else:
        console.print(run.as_dict())
    if not any(run.versions.values()):
        err.print(f"nothing scored: {run.missing}")
        raise typer.Exit(1)


@app.command("evaluate-external")
def evaluate_external(
    data_dir: Path = typer.Option(None, help="Folder with train.csv and test.csv."),
    trials: int = typer.Option(None, help="Optuna trials [default: KOL_ML_OPTUNA_TRIALS]."),
    log_mlflow: bool = typer.Option(True, "--mlflow/--no-mlflow", help="Log a run to MLflow."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Train the trust recipe on instagram_fake_spammer/train.csv; ROC AUC, accuracy on test."""
    from ml.external import evaluate, log_to_mlflow

    _quiet()
    ml = _settings(trials)
    with console.status("training on the real labelled accounts ..."):
        results = evaluate(ml, data_dir)
    run_id = log_to_mlflow(ml, results) if log_mlflow else None
    rows = [
        {
            "features": r.feature_set,
            "n_features": len(r.features),
            "train": r.train_rows,
            "test": r.test_rows,
            "roc_auc": round(r.test_metrics["roc_auc"], 4),
            "accuracy": round(r.test_metrics["accuracy"], 4),
            "brier": round(r.test_metrics["brier"], 4),
            "calibration": r.calibration,
        }
        for r in results
    ]
    if as_json:
        typer.echo(json.dumps({"results": rows, "mlflow_run_id": run_id}, indent=2))
        return
    table = Table(title="instagram_fake_spammer: test.csv")
    for col in rows[0]:
        table.add_column(col)
    for r in rows:
        table.add_row(*(str(v) for v in r.values()))
    console.print(table)
    if run_id:
        console.print(f"MLflow run {run_id} (experiment {ml.external_experiment})")
