"""Request and response models of every route (the OpenAPI schema at /docs is built from these).

One module per resource, as ``api/routes``: ``health``, ``models``, ``scores``, ``creators``,
``trending``, ``predict``, ``search``, ``stats``, ``alerts``; ``common`` holds the base model and
the shared labels, ``errors`` the error body. Clients (the dashboard, the tests) read them all
from here.
"""

from __future__ import annotations

from api.schemas.alerts import Alert, AlertList
from api.schemas.common import JSON, ModelKind, Out, Page, ServedKind, TrendLabel
from api.schemas.creators import (
    KolMetrics,
    KolProduct,
    KolProfile,
    KolRanks,
    KolSummary,
    PeerBenchmark,
    Timeseries,
    TimeseriesPoint,
    Video,
)
from api.schemas.errors import ERROR_RESPONSES, NOT_FOUND, ErrorBody, FieldError
from api.schemas.health import Check, Liveness, ModelStatus, Readiness
from api.schemas.models import ModelInfo, ModelList
from api.schemas.predict import (
    BatchItem,
    BatchRequest,
    BatchResult,
    BatchResultItem,
    KolFeatures,
    Prediction,
    PredictRequest,
    ProfileFields,
    TrendPrediction,
    TrendRequest,
)
from api.schemas.scores import BASIS_DOC, Component, Reason, Score, Scores
from api.schemas.search import KolHit, ProductHit, SearchResult
from api.schemas.stats import LiveSummary, PlatformStats, PlatformStatsList, Summary
from api.schemas.trending import TrendingItem, TrendingList

__all__ = [
    "BASIS_DOC",
    "ERROR_RESPONSES",
    "JSON",
    "NOT_FOUND",
    "Alert",
    "AlertList",
    "BatchItem",
    "BatchRequest",
    "BatchResult",
    "BatchResultItem",
    "Check",
    "Component",
    "ErrorBody",
    "FieldError",
    "KolFeatures",
    "KolHit",
    "KolMetrics",
    "KolProduct",
    "KolProfile",
    "KolRanks",
    "KolSummary",
    "LiveSummary",
    "Liveness",
    "ModelInfo",
    "ModelKind",
    "ModelList",
    "ModelStatus",
    "Out",
    "Page",
    "PeerBenchmark",
    "PlatformStats",
    "PlatformStatsList",
    "PredictRequest",
    "Prediction",
    "ProductHit",
    "ProfileFields",
    "Readiness",
    "Reason",
    "Score",
    "Scores",
    "SearchResult",
    "ServedKind",
    "Summary",
    "Timeseries",
    "TimeseriesPoint",
    "TrendLabel",
    "TrendPrediction",
    "TrendRequest",
    "TrendingItem",
    "TrendingList",
    "Video",
]
