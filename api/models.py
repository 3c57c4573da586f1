"""The trust and success models, served in-process from the MLflow registry.

At start-up and then every ``model_poll_s`` the registry is asked which version the alias
(``champion``) points at; when it moved, that version is loaded (``models:/<name>/<version>``,
so a move during the load cannot mix versions) and swapped in atomically. Until a model is
loaded its routes answer 503 with the reason (no such model or alias, MLflow down, a load
error), and /readyz says the same. A failed reload keeps serving the previous version.

With a version, the metrics its training run logged are read once (the holdout and the naive
baselines it was promoted on, for ``GET /api/v1/models``), not on every request.

Routes depend on :class:`ScoringModel` only; tests use a fake through dependency overrides.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import anyio
import httpx
import numpy as np
import pandas as pd
from prometheus_client import Gauge

from api.errors import InvalidRequest, ServiceUnavailable
from api.schemas import KolFeatures
from kol.champion import mlflow_session, version_uri
from kol.settings import ApiSettings
from ml import features as ml_features
from ml.account import ACCOUNT_FEATURES
from ml.scoring import Scorer, spec_from_metadata, top_reasons
from ml.scoring import band_label as band_label

log = logging.getLogger("kol.api")

# The one feature definition (ml.features); KolFeatures has exactly these fields (tested).
FEATURES: tuple[str, ...] = ml_features.FEATURES
# What a served model may read: the features, and the account component's profile features
# (ml.account.account_features, computed from a request's profile fields).
ACCEPTED: frozenset[str] = frozenset(FEATURES) | frozenset(ACCOUNT_FEATURES)
MODEL_VERSION = Gauge("kol_api_model_version", "Loaded model version (0: none)", ["model"])


@dataclass(frozen=True)
class ModelOutput:
    score: float
    reasons: list[dict[str, Any]] = field(default_factory=list)
    label: str | None = None  # the model's own bands (ml.scoring), when it has a score spec


class ScoringModel(Protocol):
    name: str
    version: str

    def predict(self, rows: Sequence[Any]) -> list[ModelOutput]:
        """One output per row (:class:`KolFeatures`, or mappings of feature values)."""
        ...


def features_matrix(rows: Sequence[KolFeatures], columns: Sequence[str]) -> np.ndarray:
    """Rows -> float64 matrix of ``columns``; unknown values are NaN, booleans 0/1
    (:func:`ml.features.matrix`, the same function batch scoring and training use)."""
    return ml_features.matrix(rows, columns)


def features_frame(rows: Sequence[KolFeatures]) -> pd.DataFrame:
    """Rows -> a float frame with every feature column (unknown values NaN)."""
    return pd.DataFrame(features_matrix(rows, FEATURES), columns=list(FEATURES))


def to_scores(raw: np.ndarray, scale: float) -> np.ndarray:
    """Model output -> 0-100: a 2-D output (class probabilities) uses its last column."""
    raw = np.asarray(raw, dtype="float64")
    if raw.ndim == 2:
        raw = raw[:, -1]
    return np.clip(raw * scale, 0.0, 100.0)


def lightgbm_booster(native: Any) -> Any:
    """The LightGBM Booster inside a native model (Booster or scikit-learn wrapper), or None."""
    try:
        import lightgbm
    except ImportError:
        return None
    if isinstance(native, lightgbm.Booster):
        return native
    booster = getattr(native, "booster_", None)
    return booster if isinstance(booster, lightgbm.Booster) else None


class MlflowModel:
    """A registered model version.

    Models trained by :mod:`ml.train` carry a score spec: they score through
    :class:`ml.scoring.Scorer`, the same function batch scoring and training use (trust =
    100 x (1 - calibrated P(inauthentic)), success = percentile, labels from the model's bands).

    Other LightGBM models are scored with their Booster on a numpy matrix: probabilities for
    classifiers (the LightGBM pyfunc flavor would return class labels, i.e. scores of 0 or 100)
    x ``model_output_scale``, SHAP contributions for the reasons, and no pandas or
    schema-enforcement overhead (about 0.2 ms a row instead of 10). Any other model goes
    through its pyfunc.
    """

    def __init__(
        self, name: str, version: str, pyfunc: Any, native: Any, settings: ApiSettings
    ) -> None:
        self.name = name
        self.version = version
        self.pyfunc = pyfunc
        self.s = settings
        schema = pyfunc.metadata.get_input_schema()
        self.inputs: list[str] = list(schema.input_names()) if schema is not None else []
        self.booster = lightgbm_booster(native)
        self.inline = self.booster is not None
        spec = spec_from_metadata(getattr(pyfunc.metadata, "metadata", None))
        self.scorer: Scorer | None = None
        if spec is not None and self.booster is not None:
            self.scorer = Scorer(self.booster, spec, name, version)
        if self.booster is not None and set(self.booster.feature_name()) <= ACCEPTED:
            self.inputs = list(self.booster.feature_name())  # the training column order
        unknown = [c for c in self.inputs if c not in ACCEPTED]
        if unknown:
            raise ValueError(f"the model needs inputs the API does not accept: {unknown}")
        if not self.inputs:
            self.inputs = list(FEATURES)
        # Integer and boolean inputs of the signature cannot hold NaN: those must be given.
        types: dict[str, str] = {}
        if schema is not None:
            types = dict(zip(schema.input_names(), map(str, schema.input_types()), strict=True))
        self.types = {c: types.get(c, "double") for c in self.inputs}
        self.required = [
            c for c, t in self.types.items() if "long" in t or "integer" in t or "boolean" in t
        ]

    def _matrix(self, rows: Sequence[Any]) -> np.ndarray:
        m = features_matrix(rows, self.inputs)
        for col in self.required:
            if np.isnan(m[:, self.inputs.index(col)]).any():
                raise InvalidRequest(
                    f"features.{col}", f"required by model {self.name} v{self.version}", "body"
                )
        return m

    def _frame(self, m: np.ndarray) -> pd.DataFrame:
        x = pd.DataFrame(m, columns=self.inputs)
        for col in self.required:
            x[col] = x[col].astype("bool" if "boolean" in self.types[col] else "int64")
        return x

    def predict(self, rows: Sequence[Any]) -> list[ModelOutput]:
        m = self._matrix(rows)
        if self.scorer is not None:
            scored = self.scorer.score(m, self.s.reasons_top_n > 0, self.s.model_threads)
            reasons = self.scorer.reasons(m, scored, self.s.reasons_top_n)
            return [
                ModelOutput(float(score), r, label)
                for score, r, label in zip(scored.scores, reasons, scored.labels, strict=True)
            ]
        if self.booster is not None:
            raw = self.booster.predict(m, num_threads=self.s.model_threads)
        else:
            raw = self.pyfunc.predict(self._frame(m))
        scores = to_scores(raw, self.s.model_output_scale)
        contrib = self._contributions(m)
        out = []
        for i, score in enumerate(scores):
            why = (
                top_reasons(self.inputs, m[i], contrib[i], self.s.reasons_top_n)
                if contrib is not None
                else []
            )
            out.append(ModelOutput(round(float(score), 2), why))
        return out

    def _contributions(self, m: np.ndarray) -> np.ndarray | None:
        """Per-feature contributions (SHAP values) of a LightGBM model, else None."""
        if self.booster is None or self.s.reasons_top_n == 0:
            return None
        contrib = np.asarray(
            self.booster.predict(m, pred_contrib=True, num_threads=self.s.model_threads),
            dtype="float64",
        )
        if contrib.ndim != 2 or contrib.shape[1] != len(self.inputs) + 1:
            return None  # multi-class layout: no reasons
        return contrib[:, :-1]  # the last column is the bias


# ---- loading from MLflow ------------------------------------------------------------------
Resolver = Callable[[str, str], str]  # (name, alias) -> version


@dataclass(frozen=True)
class RunInfo:
    """What a model version's training run says about it."""

    run_id: str | None = None
    trained_at: datetime | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    baselines: dict[str, float] = field(default_factory=dict)


Loader = Callable[[str, str], ScoringModel]  # (name, version) -> model
Describer = Callable[[str, str], RunInfo]  # (name, version) -> its run

# The naive forecasts ml.success.success_metrics scores the success model against, logged as
# <all|shop|engagement>_<forecast>_<metric> beside the model's own <kind>_model_<metric>.
NAIVE_FORECASTS = ("last_week", "creator_mean")


def split_metrics(logged: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """A training run's metrics -> (the model's on held-out data, the naive baselines').

    Cross-validation and the old champion's numbers (``champion_*``) are left out: what is
    shown is the evidence the version was promoted on (with ``holdout_rows``, its size).
    """
    metrics: dict[str, float] = {}
    baselines: dict[str, float] = {}
    for name, value in sorted(logged.items()):
        if not math.isfinite(value) or name.startswith("champion_"):
            continue
        if "baseline" in name or "naive" in name or any(f"_{f}_" in name for f in NAIVE_FORECASTS):
            baselines[name] = value
        elif name.startswith(("holdout_", "served_")) or "_model_" in name:
            metrics[name] = value
    return metrics, baselines


def mlflow_resolver(settings: ApiSettings) -> Resolver:
    """Alias -> version through MLflow's REST API: polling must not import mlflow (seconds and
    ~150 MB per worker) while no model exists."""

    # One client for every poll: a new httpx client builds an SSL context (~10 ms of CPU under
    # the GIL, even for http://), which stalled the event loop and showed in the API's p99.
    client = httpx.Client(
        base_url=settings.core.mlflow_tracking_uri, auth=settings.core.mlflow_auth, timeout=5
    )

    def resolve(name: str, alias: str) -> str:
        r = client.get(
            "/api/2.0/mlflow/registered-models/alias", params={"name": name, "alias": alias}
        )
        if r.status_code != 200:
            try:
                message = r.json().get("message", r.text)
            except ValueError:
                message = r.text
            raise LookupError(f"MLflow answered {r.status_code}: {message[:200]}")
        return str(r.json()["model_version"]["version"])

    return resolve


def mlflow_describer(settings: ApiSettings) -> Describer:
    """A version's run id, time and metrics through MLflow's REST API (no mlflow import)."""
    client = httpx.Client(
        base_url=settings.core.mlflow_tracking_uri, auth=settings.core.mlflow_auth, timeout=5
    )

    def get(path: str, **params: str) -> dict[str, Any]:
        r = client.get(path, params=params)
        r.raise_for_status()
        body: dict[str, Any] = r.json()
        return body

    def describe(name: str, version: str) -> RunInfo:
        mv = get("/api/2.0/mlflow/model-versions/get", name=name, version=version)
        mv = mv["model_version"]
        run_id = mv.get("run_id") or None
        if run_id is None:
            return RunInfo(trained_at=_from_ms(mv.get("creation_timestamp")))
        run = get("/api/2.0/mlflow/runs/get", run_id=run_id)["run"]
        logged = {m["key"]: float(m["value"]) for m in run.get("data", {}).get("metrics", [])}
        metrics, baselines = split_metrics(logged)
        # ml.registry opens the run once the model is fitted: its start is the training time.
        started = run.get("info", {}).get("start_time") or mv.get("creation_timestamp")
        return RunInfo(run_id, _from_ms(started), metrics, baselines)

    return describe


def _from_ms(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value) / 1000, UTC) if value else None


def mlflow_loader(settings: ApiSettings) -> Loader:
    def load(name: str, version: str) -> ScoringModel:
        # An absent tracking server must not hold a request thread for minutes of retries.
        mlflow = mlflow_session(settings.core, retries=0, timeout_s=10)
        uri = version_uri(mlflow.MlflowClient(), name, version)
        pyfunc = mlflow.pyfunc.load_model(uri)
        native = None
        if "lightgbm" in pyfunc.metadata.flavors:
            native = mlflow.lightgbm.load_model(uri)
        return MlflowModel(name, version, pyfunc, native, settings)

    return load


@dataclass
class ModelSlot:
    kind: str
    name: str
    alias: str
    model: ScoringModel | None = None
    version: str | None = None
    loaded_at: datetime | None = None
    detail: str = "not checked yet"
    run: RunInfo | None = None  # of ``version``; None until MLflow described it

    def status(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "alias": self.alias,
            "available": self.model is not None,
            "version": self.version,
            "loaded_at": self.loaded_at,
            "detail": self.detail,
        }

    def info(self) -> dict[str, Any]:
        """The served model and its run (:class:`api.schemas.ModelInfo`)."""
        model, version, run = self.model, self.version, self.run
        if model is None:
            return {
                "kind": self.kind,
                "name": self.name,
                "alias": self.alias,
                "available": False,
                "reason": self.detail,
            }
        run = run or RunInfo()
        return {
            "kind": self.kind,
            "name": self.name,
            "alias": self.alias,
            "available": True,
            "version": version,
            "trained_at": run.trained_at,
            "run_id": run.run_id,
            "metrics": run.metrics,
            "baselines": run.baselines,
        }


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:200] if text else ''}"


class ModelRegistry:
    def __init__(
        self,
        settings: ApiSettings,
        resolver: Resolver | None = None,
        loader: Loader | None = None,
        describer: Describer | None = None,
    ) -> None:
        self.s = settings
        self.resolve = resolver or mlflow_resolver(settings)
        self.load = loader or mlflow_loader(settings)
        self.describe = describer or mlflow_describer(settings)
        self.slots = {
            "trust": ModelSlot("trust", settings.trust_model_name, settings.model_alias),
            "success": ModelSlot("success", settings.success_model_name, settings.model_alias),
            "account": ModelSlot("account", settings.account_model_name, settings.model_alias),
        }
        if not settings.models_enabled:
            for slot in self.slots.values():
                slot.detail = "model serving disabled by setting (KOL_API_MODELS_ENABLED)"
        self._lock = threading.Lock()

    def refresh_slot(self, slot: ModelSlot) -> None:
        """Load the alias's version if it moved (blocking: call from a thread)."""
        try:
            version = self.resolve(slot.name, slot.alias)
        except Exception as exc:
            log.warning("model %s: alias lookup failed: %s", slot.kind, _first_line(exc))
            reason = f"no model {slot.name}@{slot.alias} in the registry ({type(exc).__name__})"
            if slot.model is None:
                slot.detail = reason
            else:  # keep serving what is loaded; say why it may be stale
                slot.detail = f"serving v{slot.version}; alias lookup failed: {reason}"
            return
        if version == slot.version and slot.model is not None:
            slot.detail = f"{slot.name}@{slot.alias} = v{version}"
            if slot.run is None:  # MLflow could not describe it last time
                slot.run = self.describe_version(slot, version)
            return
        try:
            model = self.load(slot.name, version)
        except Exception as exc:
            log.warning("model %s: cannot load v%s: %s", slot.kind, version, _first_line(exc))
            reason = f"cannot load {slot.name} v{version} ({type(exc).__name__})"
            slot.detail = reason if slot.model is None else f"serving v{slot.version}; {reason}"
            return
        run = self.describe_version(slot, version)
        with self._lock:
            slot.model, slot.version, slot.run = model, version, run
            slot.loaded_at = datetime.now(UTC)
        slot.detail = f"{slot.name}@{slot.alias} = v{version}"
        MODEL_VERSION.labels(slot.kind).set(float(version) if version.isdigit() else 1.0)
        log.info("model %s: loaded %s v%s", slot.kind, slot.name, version)
        gc.freeze()  # the model and MLflow's modules live as long as the process (see api.main)

    def describe_version(self, slot: ModelSlot, version: str) -> RunInfo | None:
        """The version's run, or None (tried again at the next poll): the metrics are for
        display, so their absence never keeps a model from serving."""
        try:
            return self.describe(slot.name, version)
        except Exception as exc:
            log.warning("model %s: no run metrics for v%s: %s", slot.kind, version, exc)
            return None

    def refresh(self) -> None:
        if not self.s.models_enabled:
            return
        for slot in self.slots.values():
            self.refresh_slot(slot)

    async def run(self) -> None:
        """Poll the aliases for ever (a background task of the app)."""
        while True:
            await anyio.to_thread.run_sync(self.refresh)
            await asyncio.sleep(self.s.model_poll_s)

    def get(self, kind: str) -> ScoringModel:
        slot = self.slots[kind]
        model = slot.model
        if model is None:
            raise ServiceUnavailable("models", f"{kind} model unavailable: {slot.detail}", 60)
        return model

    def find(self, kind: str) -> tuple[ScoringModel | None, str]:
        """The loaded model of ``kind`` or None, and the slot's detail (why, when None)."""
        slot = self.slots[kind]
        return slot.model, slot.detail

    def statuses(self) -> list[dict[str, Any]]:
        return [slot.status() for slot in self.slots.values()]

    def infos(self) -> list[dict[str, Any]]:
        with self._lock:  # a version and its run are swapped together
            return [slot.info() for slot in self.slots.values()]


async def predict(model: ScoringModel, rows: Sequence[Any]) -> list[ModelOutput]:
    """Score rows. A model that says it is fast (``inline``: a LightGBM booster, well under a
    millisecond a row) scores one row on the event loop; everything else runs in a worker
    thread, so a slow model or a big batch cannot stall other requests."""
    if len(rows) == 1 and getattr(model, "inline", False):
        return model.predict(rows)
    return await anyio.to_thread.run_sync(model.predict, rows)
