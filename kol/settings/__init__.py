"""The one place every setting of the platform comes from: :class:`Settings`.

The core (addresses, paths and credentials of every service) reads ``KOL_*`` variables
(``KOL_HOME``, ``KOL_KAFKA_BOOTSTRAP``, ``KOL_TRINO_PORT`` ...); each layer has a section of its
own (``settings.api``, ``settings.ml`` ...) read from ``KOL_<SECTION>_*``. A value two layers
share is declared once, in one section, and read from there by the others. Defaults describe
the local single-machine stack; pointing the platform at real clusters is a matter of setting
these variables, never of editing code.
"""

from kol.settings.api import ApiSettings, get_api_settings
from kol.settings.base import (
    REPO_ROOT,
    Section,
    SqlIdentifier,
    identifier,
    installation_secret,
    secret,
)
from kol.settings.dashboard import DashboardSettings, get_dashboard_settings
from kol.settings.gold import GoldSettings, get_gold_settings
from kol.settings.ingest import IngestSettings, get_ingest_settings
from kol.settings.ml import MlSettings, get_ml_settings
from kol.settings.quality import QualitySettings
from kol.settings.root import SECTIONS, Settings, get_settings
from kol.settings.stream import StreamSettings, get_stream_settings

__all__ = [
    "REPO_ROOT",
    "SECTIONS",
    "ApiSettings",
    "DashboardSettings",
    "GoldSettings",
    "IngestSettings",
    "MlSettings",
    "QualitySettings",
    "Section",
    "Settings",
    "SqlIdentifier",
    "StreamSettings",
    "get_api_settings",
    "get_dashboard_settings",
    "get_gold_settings",
    "get_ingest_settings",
    "get_ml_settings",
    "get_settings",
    "get_stream_settings",
    "identifier",
    "installation_secret",
    "secret",
]
