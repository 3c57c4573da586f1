"""Live trust scoring of profile updates with the MLflow champion model, when there is one.

The model is ``models:/<KOL_ML_ACCOUNT_MODEL_NAME>@<KOL_ML_ALIAS>`` (default
``kol_trust_account@champion``: trust's account component, which needs only what a profile
event carries, see :mod:`ml.account`) loaded as an MLflow pyfunc. It is given, for every
creator whose profile changed in a micro-batch, the columns its input signature names, from
:func:`streaming.engine.trust_features` (profile counters of the latest snapshot and the current
window's metrics). Its prediction times ``trust_output_scale`` (default 100: the model predicts
the probability that the audience is genuine; set 1 for a model that predicts 0-100) is the
trust score, clipped to 0-100; a 2-D output (class probabilities) uses its last column.

A champion trained by :mod:`ml.train` (it carries a score spec) is scored through the one
scoring function, :class:`ml.scoring.Scorer`, so its scores mean what the API's and batch
scoring's mean (trust = 100 x (1 - calibrated P(inauthentic))), from the profile features the
stream knows (:func:`ml.account.stream_account_rows` for the account component,
:func:`ml.features.stream_profile_rows` for a model of the profile counters) - when the model
needs nothing else. A model that needs Gold's windowed features (the trust model ml.trust builds)
is not run on the profile alone: live trust stays off with the reason in the status, and the
API shows batch scores.

No champion, no MLflow, or a signature asking for a column the stream does not have: the job
runs without trust scores and says why once. The registry is asked again every
``trust_refresh_wall_s`` seconds (from the job's heartbeat, never inside a micro-batch), so a
newly promoted champion is picked up without a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import numpy as np
import pandas as pd

from kol.champion import champion_version, mlflow_session, version_uri
from kol.settings import Settings, StreamSettings
from ml.account import ACCOUNT_FEATURES, stream_account_rows
from ml.features import PROFILE_FEATURES, stream_profile_rows
from ml.scoring import Scorer, load_scorer, spec_from_metadata

log = logging.getLogger(__name__)


class TrustScorer:
    def __init__(self, settings: Settings, ss: StreamSettings) -> None:
        self.settings = settings
        self.ss = ss
        self.model: Any = None
        self.inputs: list[str] | None = None
        self.version: str | None = None
        self.status = "off: not checked yet" if ss.trust_enabled else "off: disabled by setting"
        self._checked = 0.0
        self._said: set[str] = set()
        self._lock = threading.Lock()

    def _say_once(self, message: str) -> None:
        if self.model is None:
            self.status = f"off: {message}"
        if message not in self._said:
            self._said.add(message)
            log.warning("live trust scoring: %s (said once)", message)

    def refresh(self, force: bool = False) -> None:
        """Load the current champion if it changed; cheap when called often."""
        if not self.ss.trust_enabled:
            return
        now = time.monotonic()
        if not force and now - self._checked < self.ss.trust_refresh_wall_s:
            return
        self._checked = now
        name, alias = self.ss.trust_model_name, self.ss.trust_model_alias
        try:
            # An absent or slow tracking server must not hold the job up for minutes of retries.
            mlflow = mlflow_session(self.settings, retries=0, timeout_s=10)
            client = mlflow.MlflowClient()
            version = champion_version(client, name, alias)
        except Exception as exc:
            self._say_once(f"no model {name}@{alias} ({type(exc).__name__}: {_first_line(exc)})")
            return
        if version is None:
            self._say_once(f"no model {name}@{alias}")
            return
        if version == self.version:
            return
        try:
            model = mlflow.pyfunc.load_model(version_uri(client, name, version))
            schema = model.metadata.get_input_schema()
            inputs = schema.input_names() if schema is not None else None
            if spec_from_metadata(getattr(model.metadata, "metadata", None)) is not None:
                model = load_scorer(self.settings.mlflow_tracking_uri, name, version)
                inputs = None
        except Exception as exc:
            self._say_once(f"cannot load {name} v{version} ({type(exc).__name__}: {exc})")
            return
        why = not_streamable(model)
        if why:
            with self._lock:
                self.model, self.inputs, self.version = None, None, version
            self._say_once(f"{name} v{version} {why}")
            return
        with self._lock:
            self.model, self.inputs, self.version = model, inputs, version
        self.status = f"on: {name}@{alias} = v{version}"
        log.info("live trust scoring with %s v%s (inputs: %s)", name, version, inputs)

    def __call__(self, features: pd.DataFrame) -> np.ndarray | None:
        with self._lock:
            model, inputs = self.model, self.inputs
        if model is None:
            return None
        if isinstance(model, Scorer):
            if set(model.columns) <= set(ACCOUNT_FEATURES):
                rows = stream_account_rows(features)
            else:
                rows = stream_profile_rows(features)
            return model.score(model.matrix(rows), reasons=False).scores
        cols = inputs or list(features.columns)
        missing = [c for c in cols if c not in features.columns]
        if missing:
            self._say_once(f"the champion needs {missing}, which the stream does not compute")
            with self._lock:
                self.model = None
            return None
        try:
            raw = np.asarray(model.predict(features[cols]), dtype="float64")
        except Exception as exc:
            # Kept loaded: a batch the model cannot take (NaN where it wants none) must not
            # switch trust scoring off for the batches it can.
            self._say_once(f"prediction failed ({type(exc).__name__}: {_first_line(exc)})")
            return None
        return to_trust_score(raw, self.ss.trust_output_scale)


def not_streamable(model: Any) -> str | None:
    """Why the stream must not run this model, or None.

    Measured: the trust model ml.trust builds, given the profile alone (its windowed Gold
    features unknown), ranks inauthentic creators barely better than chance (ROC AUC 0.54,
    against 1.0 with its features). A number that means nothing is worse than none: live trust
    stays off and the API shows batch scores."""
    if isinstance(model, Scorer) and not (
        set(model.columns) <= set(PROFILE_FEATURES) or set(model.columns) <= set(ACCOUNT_FEATURES)
    ):
        return (
            "needs Gold's windowed features, not only the profile: live trust stays off "
            "(batch scoring writes trust scores)"
        )
    return None


def to_trust_score(raw: np.ndarray, scale: float) -> np.ndarray:
    """Model output -> 0-100 (see the module docstring)."""
    if raw.ndim == 2:
        raw = raw[:, -1]
    return np.clip(raw.astype("float64") * scale, 0.0, 100.0)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else ""
