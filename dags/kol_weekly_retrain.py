"""
### KOL weekly retraining

Retrains the trust and success models on Gold and re-scores the latest day.

Scheduled weekly (Monday 03:00 UTC) **or** on the `kol_gold_ready` asset the daily pipeline
publishes: a run triggered by Gold trains only when the last training is at least
`KOL_ML_RETRAIN_EVERY_DAYS` (7) old, so fresh Gold after a missed week retrains at once while
daily Gold updates do not retrain daily.

It also trains **early**, on a Gold-triggered run, when a champion's features drifted: batch
scoring records each feature's PSI against the champion's training data in
`gold.ml_drift` / `gold.ml_score_stats` (and the MLflow experiment `kol_monitoring`); when the
largest PSI on a champion's newest scored day reaches `KOL_ML_DRIFT_PSI_THRESHOLD` (0.25), and
the last training started before that day ended, the run trains. Drift measured on an older
champion version, or on a day the last training already saw, does not count.

1. **due** - weekly/manual runs always continue; Gold-triggered runs when training is due
   (by age, or early on drift)
2. **train_trust** - Optuna-tuned, calibrated LightGBM; registered in MLflow, alias `champion`
   only if it beats the current champion on the same holdout
3. **train_success** - next-7-day sales/engagement model, backtested against naive baselines;
   same promotion rule
4. **rescore** - batch scoring of Gold's latest day with the (possibly new) champions, which
   also records the new champions' drift

Logic lives in `ml.tasks`; this file only wires it.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from dags.assets import GOLD_READY
from ml import tasks
from shell import orchestration as orch

# The daily pipeline's asset (same name and URI as in kol_daily_pipeline).


@dag(
    dag_id="kol_weekly_retrain",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 3 * * 1", timezone="UTC"), assets=[GOLD_READY]
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={**orch.DEFAULT_ARGS, "on_failure_callback": orch.on_failure},
    tags=["kol", "ml", "weekly"],
    doc_md=__doc__,
)
def kol_weekly_retrain() -> None:
    @task.short_circuit(
        doc_md="Weekly and manual runs train; Gold-triggered ones when due (age or drift)."
    )
    def due(dag_run=None):
        return tasks.check_due(str(getattr(dag_run, "run_type", "") or "") or None)

    @task(doc_md="Train, log and register the trust model; promote only if it is better.")
    def train_trust():
        return tasks.train_model("trust")

    @task(doc_md="Train, backtest and register the success model; promote only if better.")
    def train_success():
        return tasks.train_model("success")

    @task(doc_md="Batch-score Gold's latest day with the champions (kol_scores, Redis).")
    def rescore():
        return tasks.rescore_latest()

    due() >> train_trust() >> train_success() >> rescore()


kol_weekly_retrain()
