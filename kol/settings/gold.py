"""The Gold section (``KOL_GOLD_*``): where dbt writes, which every reader of Gold follows.

Trino's address, user and catalog come from the core :mod:`kol.settings`; dbt_kol/profiles.yml
reads the same ``KOL_TRINO_*`` variables, so `dbt` run by hand and `kol gold build` agree.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from kol.settings.base import REPO_ROOT, Section, SqlIdentifier


class GoldSettings(Section):
    section = "gold"
    model_config = SettingsConfigDict(
        env_prefix="KOL_GOLD_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # Schema of the marts in the Trino catalog; staging and intermediate views go to
    # <schema>_staging and <schema>_intermediate. Tests and benchmarks use their own.
    # KOL_GOLD_SCHEMA, the variable dbt_kol/profiles.yml reads too; the API, ML and the gates
    # read Gold here.
    schema_name: SqlIdentifier = Field(default="gold", validation_alias="KOL_GOLD_SCHEMA")
    dbt_project_dir: Path = REPO_ROOT / "dbt_kol"
    dbt_target: str = "local"
    # Most of a Gold build's queries are small and wait on Trino's round trips, not on the
    # CPU: 8 threads finished a small day's daily build sooner than 4 or 6 on 2 cores (see
    # bench/README.md).
    dbt_threads: int = 8
    # dbt's unit tests check the models' SQL, which a daily build does not change: they run in
    # `make test` and `kol gold build --unit-tests`, not in every daily run (89 s of the demo's
    # 680 s of dbt node time went to them).
    unit_tests_in_builds: bool = False


@lru_cache
def get_gold_settings() -> GoldSettings:
    return GoldSettings()
