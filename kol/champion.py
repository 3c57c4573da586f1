"""The registry's champion models, as every layer reaches them: MLflow logged in with the
platform's credentials, ``name@alias`` resolved to a version, and a version's artifacts found in
the registry's own store. Training and batch scoring (ml), the live trust scores (streaming) and
the API's predictions (api) all load models through here."""

from __future__ import annotations

import os
from typing import Any

from kol.settings import Settings

# Artifacts the tracking server named in the settings serves itself (``--serve-artifacts``).
REGISTRY_SCHEMES = ("mlflow-artifacts",)


def mlflow_session(settings: Settings, *, retries: int = 2, timeout_s: int = 30) -> Any:
    """The ``mlflow`` module, logged in to the platform's tracking server (tracking and
    registry URIs set). ``retries`` and ``timeout_s`` bound each request: a scoring path must
    not wait minutes of retries for an absent server. The first caller in a process sets them."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", str(retries))
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(timeout_s))
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    uri = settings.mlflow_login()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return mlflow


def champion_version(client: Any, name: str, alias: str) -> str | None:
    """The version ``name@alias`` points at; None when there is no such model or alias (any
    other failure, such as an unreachable server, raises)."""
    try:
        mv = client.get_model_version_by_alias(name, alias)
    except Exception as exc:
        text = str(exc)
        if "RESOURCE_DOES_NOT_EXIST" in text or "not found" in text.lower():
            return None
        raise
    return str(mv.version)


def check_artifact_uri(name: str, version: str, uri: str) -> str:
    """``uri`` if it is in the registry's own artifact store, else a ValueError: loading a
    model unpickles it, and a version whose source points anywhere else (a file on this host,
    another server) would run whatever is there."""
    scheme = uri.split(":", 1)[0] if ":" in uri else "file"
    if scheme not in REGISTRY_SCHEMES:
        raise ValueError(
            f"{name} v{version} is stored outside the registry ({scheme}: artifacts); "
            f"only {', '.join(REGISTRY_SCHEMES)} URIs are loaded"
        )
    return uri


def version_uri(client: Any, name: str, version: str) -> str:
    """Where a version's artifacts are, checked to be in the registry's own store."""
    return check_artifact_uri(name, version, client.get_model_version_download_uri(name, version))
