"""MLflow: log a training run, register the model, promote it only if it beats the champion.

Promotion (:func:`should_promote`) compares challenger and champion on the *same* holdout rows,
metric by metric in order of priority: the first metric on which they differ decides (ties go
to the next one); a challenger must be better by more than ``min_gain``. No champion yet, and the
challenger is promoted. Promotion fails closed (:func:`decide`): a champion that cannot be loaded
or cannot score the holdout stays champion, and the run says why. Every decision and its numbers
are logged to the challenger's run (``promotion.json``, tags).
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tenacity import retry, stop_after_attempt, wait_exponential

from kol.champion import champion_version, mlflow_session
from kol.settings import MlSettings
from ml.scoring import REFERENCE_KEY, SPEC_KEY, Scorer, ScoreSpec, load_scorer

log = logging.getLogger("kol.ml")

Metric = tuple[str, bool]  # (name, higher is better)
TRUST_PROMOTION: tuple[Metric, ...] = (("roc_auc", True), ("brier", False))
SUCCESS_PROMOTION: tuple[Metric, ...] = (("mae_log", False), ("smape", False))


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    challenger: dict[str, float]
    champion: dict[str, float] | None
    champion_version: str | None = None


def should_promote(
    challenger: dict[str, float],
    champion: dict[str, float] | None,
    metrics: Sequence[Metric],
    min_gain: float = 0.0,
    tie: float = 1e-9,
) -> Decision:
    """Pure: does the challenger beat the champion (see the module docstring)?"""
    if champion is None:
        return Decision(True, "no champion to beat", challenger, None)
    for name, higher in metrics:
        c, k = challenger.get(name), champion.get(name)
        if c is None or k is None:
            continue
        gain = (c - k) if higher else (k - c)
        if abs(gain) <= tie:
            continue
        if gain > min_gain:
            return Decision(
                True, f"{name}: {c:.6g} beats the champion's {k:.6g}", challenger, champion
            )
        worse = "worse than" if gain < 0 else f"better by less than {min_gain} than"
        return Decision(
            False, f"{name}: {c:.6g} is {worse} the champion's {k:.6g}", challenger, champion
        )
    return Decision(False, "ties the champion on every metric", challenger, champion)


def decide(
    load_champion: Callable[[], Scorer | None],
    compare: Callable[[Scorer], dict[str, float]],
    challenger: dict[str, float],
    metrics: Sequence[Metric],
    min_gain: float = 0.0,
) -> Decision:
    """Promote the challenger or keep the champion, failing closed.

    An error loading the champion or scoring the holdout with it (an outage, a model logged
    without its score spec) keeps the champion: an unknown is not a win for the challenger.
    """
    try:
        current = load_champion()
        champ_metrics = None if current is None else compare(current)
    except Exception as exc:
        reason = (
            f"the champion could not be loaded or scored ({type(exc).__name__}: {exc}); it stays "
            "champion (to replace it anyway, move the alias in MLflow's registry)"
        )
        return Decision(False, reason, challenger, None)
    if current is None:
        return should_promote(challenger, None, metrics, min_gain)
    d = should_promote(challenger, champ_metrics, metrics, min_gain)
    return Decision(d.promote, d.reason, challenger, champ_metrics, current.version)


def mlflow_client(ml: MlSettings) -> Any:
    return mlflow_session(ml.core).MlflowClient()


def champion(ml: MlSettings, name: str) -> Scorer | None:
    """The current champion as a scorer; None if there is none. A champion without a score
    spec raises ``ValueError`` (the caller decides)."""
    version = champion_version(mlflow_client(ml), name, ml.alias)
    if version is None:
        return None
    return load_scorer(ml.core.mlflow_login(), name, version)


@retry(stop=stop_after_attempt(3), wait=wait_exponential(min=1, max=10), reraise=True)
def _set_alias(ml: MlSettings, name: str, version: str) -> None:
    mlflow_client(ml).set_registered_model_alias(name, ml.alias, version)


@dataclass
class Registered:
    name: str
    version: str
    run_id: str
    decision: Decision
    promoted: bool


def log_model_run(
    ml: MlSettings,
    *,
    experiment: str,
    model_name: str,
    booster: Any,
    spec: ScoreSpec,
    params: dict[str, Any],
    metrics: dict[str, float],
    artifacts: dict[str, Any],
    files: dict[str, Path] | None,
    input_example: Any,
    compare: Callable[[Scorer], dict[str, float]],
    challenger_metrics: dict[str, float],
    promotion: Sequence[Metric],
    tags: dict[str, str] | None = None,
    reference: dict[str, Any] | None = None,
) -> Registered:
    """One MLflow run: params, metrics, artifacts (JSON/text by name, files), the model with
    its score spec (and the features' training ``reference`` for drift monitoring, see
    :mod:`ml.monitoring`); then registration and the champion decision (logged to the same
    run)."""
    import mlflow
    from mlflow.models import infer_signature

    mlflow_client(ml)
    mlflow.set_experiment(experiment)
    with mlflow.start_run() as run, tempfile.TemporaryDirectory() as tmp:
        mlflow.set_tags({"kol.model": model_name, **(tags or {})})
        mlflow.log_params({k: v for k, v in params.items() if v is not None})
        finite = {k: float(v) for k, v in metrics.items() if v == v and abs(v) != float("inf")}
        mlflow.log_metrics(finite)
        for name, value in artifacts.items():
            path = Path(tmp) / name
            path.write_text(
                value if isinstance(value, str) else json.dumps(value, indent=2, default=str)
            )
            mlflow.log_artifact(str(path))
        for path in (files or {}).values():
            mlflow.log_artifact(str(path), artifact_path="plots")
        signature = infer_signature(input_example, booster.predict(input_example))
        metadata: dict[str, Any] = {SPEC_KEY: spec.to_dict()}
        if reference:
            metadata[REFERENCE_KEY] = reference
        info = mlflow.lightgbm.log_model(
            booster,
            name="model",
            signature=signature,
            metadata=metadata,
            registered_model_name=model_name,
        )
        version = str(info.registered_model_version)
        # The champion, scored on the same holdout as the challenger.
        decision = decide(
            lambda: champion(ml, model_name),
            compare,
            challenger_metrics,
            promotion,
            ml.promote_min_gain,
        )
        current_version, champ_metrics = decision.champion_version, decision.champion
        path = Path(tmp) / "promotion.json"
        path.write_text(json.dumps({"challenger_version": version, **asdict(decision)}, indent=2))
        mlflow.log_artifact(str(path))
        mlflow.set_tags(
            {
                "kol.promoted": str(decision.promote).lower(),
                "kol.promotion_reason": decision.reason[:500],
                "kol.champion_version_before": current_version or "none",
            }
        )
        if champ_metrics:
            mlflow.log_metrics(
                {f"champion_{k}": float(v) for k, v in champ_metrics.items() if v == v}
            )
        client = mlflow_client(ml)
        client.set_model_version_tag(model_name, version, "kol.run_id", run.info.run_id)
        for key, value in (tags or {}).items():  # e.g. kol.forecast: what the version serves
            client.set_model_version_tag(model_name, version, key, value)
        client.set_model_version_tag(
            model_name, version, "kol.promoted", str(decision.promote).lower()
        )
        if decision.promote:
            _set_alias(ml, model_name, version)
        log.info(
            "%s v%s: %s (%s)",
            model_name,
            version,
            "champion" if decision.promote else "not promoted",
            decision.reason,
        )
        return Registered(model_name, version, run.info.run_id, decision, decision.promote)
