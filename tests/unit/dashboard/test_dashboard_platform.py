"""The Platform page against a fake API and a fake Airflow: KPIs, runs, models, errors."""

from __future__ import annotations

import pandas as pd
from streamlit.testing.v1 import AppTest

from api.schemas import ModelInfo
from dashboard.client import AirflowClient, KolClient
from dashboard.views.platform import metrics_table
from kol.settings import DashboardSettings
from tests.unit.dashboard.conftest import (
    FakeAirflow,
    FakeApi,
    Runner,
    down,
    metrics,
    no_crash,
    texts,
)


def _frame(at: AppTest, column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_platform_shows_kpis_runs_and_models(open_page: Runner, fake_airflow: FakeAirflow) -> None:
    at = open_page("platform")
    no_crash(at)
    assert [t.value for t in at.title] == ["Platform"]
    m = metrics(at)
    assert m["Creators observed"] == ["120", "80"]
    assert m["GMV (USD)"] == ["$52.0K", "—"]
    assert m["Last day in Gold"] == ["2026-02-10"]
    # Pipeline runs from Airflow, newest first, with their states.
    runs = _frame(at, "state")
    assert list(runs["state"]) == ["failed", "success"]
    assert list(runs["day"]) == ["2026-02-10", "2026-02-09"]
    assert str(runs["started (UTC)"].iloc[1]) == "2026-02-09 00:00:05"
    assert list(runs["duration (min)"]) == [21.0, 21.0]
    assert m["Last pipeline run"] == ["2026-02-10"]
    last_run = next(x for x in at.metric if x.label == "Last pipeline run")
    assert last_run.delta == "failed"
    assert m["Last successful run"] == ["2026-02-09"]
    assert any("scheduled__2026-02-10) failed" in w.value for w in at.warning)
    assert fake_airflow.logins == 1
    # The served models: versions, alias, when trained, metrics against the baselines.
    assert m["Version"] == ["7", "4"]
    assert m["Alias"] == ["champion", "champion"]
    assert m["Trained"] == ["2026-02-08", "2026-02-08"]
    page = texts(at)
    assert "Trust model · kol_trust" in page and "Success model · kol_success" in page
    success = next(d.value for d in at.dataframe if "last week" in d.value.columns)
    row = success[success["metric"] == "all mae"].iloc[0]
    assert (row["model"], row["last week"], row["creator mean"]) == (0.41, 0.62, 0.57)
    assert row["verdict"] == "better"


def test_metrics_are_set_beside_the_baselines_of_the_same_segment() -> None:
    model = ModelInfo(
        kind="success",
        name="kol_success",
        available=True,
        metrics={"shop_model_mae": 1.0, "all_model_smape": 70.0, "holdout_mae_log": 0.5},
        baselines={
            "shop_last_week_mae": 2.0,
            "all_creator_mean_smape": 60.0,
            "engagement_last_week_mae": 9.0,
        },
    )
    table = metrics_table(model)
    rows = {r["metric"]: r for r in table.to_dict("records")}
    assert rows["shop mae"]["model"] == 1.0 and rows["shop mae"]["last week"] == 2.0
    assert rows["shop mae"]["verdict"] == "better"
    assert rows["all smape"]["verdict"] == "worse"
    assert rows["holdout_mae_log"]["model"] == 0.5 and pd.isna(rows["holdout_mae_log"]["verdict"])
    assert rows["engagement_last_week_mae"]["baseline"] == 9.0


def test_a_model_not_served_is_a_warning_with_its_reason(
    open_page: Runner, fake_api: FakeApi
) -> None:
    fake_api.routes["/api/v1/models"] = {
        "items": [
            {
                "kind": "trust",
                "name": "kol_trust",
                "available": False,
                "reason": "no model kol_trust@champion in MLflow",
            }
        ]
    }
    at = open_page("platform")
    no_crash(at)
    assert any(
        "trust model is not served: no model kol_trust@champion in MLflow" in w.value
        for w in at.warning
    )


def test_an_api_without_the_models_route_falls_back_to_readyz(
    open_page: Runner, fake_api: FakeApi
) -> None:
    del fake_api.routes["/api/v1/models"]
    at = open_page("platform")
    no_crash(at)
    assert any("does not serve GET /api/v1/models" in w.value for w in at.warning)
    ready = _frame(at, "loaded")
    assert ready["version"].iloc[0] == "3" and list(ready["available"]) == [True, False]


def test_platform_with_trino_down_and_airflow_refusing_says_which(
    open_page: Runner, fake_api: FakeApi, refused: DashboardSettings
) -> None:
    fake_api.fail["/api/v1/stats/platform"] = down("trino", "no answer within 15s")
    at = open_page("platform", airflow=AirflowClient(refused))
    no_crash(at)
    warnings = [w.value for w in at.warning]
    assert any("Trino" in w and "GET /api/v1/stats/platform" in w for w in warnings)
    assert any(w.startswith("Pipeline runs: Airflow at") and "not reachable" in w for w in warnings)
    assert metrics(at)["Version"] == ["7", "4"]  # the rest of the page still shows


def test_platform_with_airflow_credentials_missing_says_how_to_set_them(
    open_page: Runner,
) -> None:
    no_login = AirflowClient(DashboardSettings(airflow_url="http://airflow.test"))
    at = open_page("platform", airflow=no_login)
    no_crash(at)
    assert any("KOL_DASHBOARD_AIRFLOW_PASSWORD" in w.value for w in at.warning)


def test_platform_with_the_api_refusing_connections_says_so(
    open_page: Runner, refused: DashboardSettings
) -> None:
    at = open_page("platform", api=KolClient(refused), airflow=AirflowClient(refused))
    no_crash(at)
    warnings = " ".join(w.value for w in at.warning)
    assert "The KOL API at" in warnings and "Airflow at" in warnings
