"""Platform: KPIs per platform and day, pipeline freshness and the models in use.

KPIs and the last Gold day come from the API (``/api/v1/stats/platform``), the daily pipeline's
runs from Airflow's REST API, the served models and their holdout metrics from
``/api/v1/models``.
"""

from __future__ import annotations

from concurrent.futures import Future
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Literal

import pandas as pd
import streamlit as st

from api.schemas import ModelInfo, ModelList, PlatformStats, PlatformStatsList, Readiness
from dashboard import charts, ui
from dashboard.client import AirflowClient, DagRun, DagRunList, KolClient

# KPI -> (title, formatter); the order is the display order.
KPIS: dict[str, tuple[str, str]] = {
    "creators_observed": ("Creators observed", "count"),
    "total_followers": ("Total followers", "count"),
    "followers_gained": ("Followers gained", "count"),
    "creators_with_follower_jump": ("Creators with a follower jump", "count"),
    "videos_published": ("Videos published", "count"),
    "views_gained": ("Views gained", "count"),
    "engagement_rate": ("Engagement rate", "pct"),
    "near_duplicate_share": ("Near-duplicate comments", "pct"),
    "units_sold": ("Units sold", "count"),
    "gmv_usd": ("GMV (USD)", "money"),
}
# The KPIs shown as metrics for each platform (all of them are in the table below).
HEADLINE = ["creators_observed", "followers_gained", "views_gained", "engagement_rate", "gmv_usd"]
TREND_DAYS = [7, 14, 30]
# Gold is built daily; older than this means the pipeline has stopped.
STALE_AFTER_DAYS = 2
StateColor = Literal["green", "red", "blue", "gray"]
STATE_COLORS: dict[str, StateColor] = {
    "success": "green",
    "failed": "red",
    "running": "blue",
    "queued": "blue",
}


def fmt(kind: str, value: float | None) -> str:
    if kind == "pct":
        return ui.pct(value)
    if kind == "money":
        return ui.money(value)
    return ui.compact(value)


def render(client: KolClient, airflow: AirflowClient, dag_id: str) -> None:
    st.title("Platform")
    st.caption("What the daily pipeline built, when it last ran, and which models score creators.")
    c = st.columns([2, 2, 6])
    day = c[0].date_input("Day", value=None, key="platform.day", help="Empty: the latest in Gold")
    trend_days = c[1].selectbox("Trend over", TREND_DAYS, format_func=lambda d: f"{d} days")

    latest = ui.submit(lambda: client.platform_stats())
    chosen = ui.submit(lambda: client.platform_stats(day=day)) if day else latest
    runs = ui.submit(lambda: airflow.dag_runs(dag_id, limit=10))
    models = ui.submit(client.models)
    ready = ui.submit(client.readiness)

    kpi_tab, fresh_tab, model_tab = st.tabs(["KPIs", "Pipeline freshness", "Models"])
    with kpi_tab:
        stats = ui.shown(chosen, "Platform KPIs")
        if stats is not None:
            kpis(stats)
            if stats.date_day is not None and stats.items:
                trend(client, stats.date_day, int(trend_days))
    with fresh_tab:
        freshness(ui.shown(latest, "Last Gold day"), ui.shown(runs, "Pipeline runs"), dag_id)
    with model_tab:
        model_list = ui.shown(models, "Models")
        if model_list is not None:
            show_models(model_list)
        else:
            readiness_models(ready)


# ---- KPIs ----------------------------------------------------------------------------------------
def kpis(stats: PlatformStatsList) -> None:
    if not stats.items:
        st.info("No platform KPIs for this day in Gold.")
        return
    st.subheader(f"KPIs on {stats.date_day}")
    for item in stats.items:
        with st.container(border=True):
            st.markdown(f"**{ui.platform_name(item.platform)}**")
            cols = st.columns(len(HEADLINE))
            for col, field in zip(cols, HEADLINE, strict=True):
                title, kind = KPIS[field]
                col.metric(title, fmt(kind, getattr(item, field)))
    with st.expander("All KPIs"):
        st.dataframe(kpi_table(stats.items), key="platform.kpis")
    metric = st.selectbox(
        "Compare platforms on",
        list(KPIS),
        format_func=lambda k: KPIS[k][0],
        key="platform.metric",
    )
    st.plotly_chart(charts.platform_bars(stats.items, metric), key="platform.bars")


def kpi_table(items: list[PlatformStats]) -> pd.DataFrame:
    """KPIs as rows, platforms as columns, formatted."""
    return pd.DataFrame(
        {
            ui.platform_name(i.platform): [fmt(k, getattr(i, f)) for f, (_, k) in KPIS.items()]
            for i in items
        },
        index=[title for title, _ in KPIS.values()],
    )


def trend(client: KolClient, last: date, days: int) -> None:
    metric = st.session_state.get("platform.metric") or "followers_gained"
    wanted = [last - timedelta(days=n) for n in range(days)]
    requests = {d: ui.submit(partial(client.platform_stats, day=d)) for d in wanted}
    by_day: dict[date, list[PlatformStats]] = {}
    failed = 0
    for d, request in requests.items():
        try:
            by_day[d] = request.result().items
        except Exception:
            failed += 1
    st.markdown(f"**{KPIS[metric][0]}, last {days} days**")
    st.plotly_chart(charts.platform_trend(by_day, metric), key="platform.trend")
    if failed:
        st.info(f"{failed} of {days} days could not be read; the chart leaves them out.")


# ---- freshness -----------------------------------------------------------------------------------
def freshness(latest: PlatformStatsList | None, runs: DagRunList | None, dag_id: str) -> None:
    today = datetime.now(UTC).date()
    c = st.columns(3)
    gold_day = latest.date_day if latest is not None else None
    c[0].metric(
        "Last day in Gold",
        str(gold_day) if gold_day else "—",
        delta=f"{(today - gold_day).days} d before today" if gold_day else None,
        delta_color="off",
        delta_arrow="off",
    )
    last = runs.dag_runs[0] if runs is not None and runs.dag_runs else None
    c[1].metric(
        "Last pipeline run",
        run_day(last) if last else "—",
        delta=last.state if last else None,
        delta_color=STATE_COLORS.get(last.state, "gray") if last else "off",
        delta_arrow="off",
    )
    success = next((r for r in runs.dag_runs if r.state == "success"), None) if runs else None
    c[2].metric(
        "Last successful run",
        run_day(success) if success else "—",
        delta=f"ended {ui.ago(success.end_date)}" if success and success.end_date else None,
        delta_color="off",
        delta_arrow="off",
    )
    if gold_day is not None and (today - gold_day).days > STALE_AFTER_DAYS:
        st.warning(
            f"Gold's latest day is {gold_day}, {(today - gold_day).days} days ago: the daily "
            f"pipeline ({dag_id}) has not built the days since. Check its runs below."
        )
    if latest is not None and gold_day is None:
        st.info("Gold holds no day yet: the daily pipeline has not run.")
    if runs is None:
        return
    st.subheader(f"Latest runs of {dag_id}")
    if not runs.dag_runs:
        st.info(
            f"{dag_id} has no runs yet. It starts paused: unpause it in the Airflow UI, or run a "
            "day with `kol pipeline run --date YYYY-MM-DD`."
        )
        return
    if last is not None and last.state == "failed":
        st.warning(f"The latest run ({last.dag_run_id}) failed: see its task logs in Airflow.")
    st.dataframe(runs_frame(runs), hide_index=True, key="platform.runs")
    st.caption("Day: the day of data a run processed (its data interval's start).")


def run_day(r: DagRun) -> str:
    """The day a run processed: its data interval's start (the DAG is idempotent on it)."""
    when = r.data_interval_start or r.logical_date or r.run_after
    return when.strftime("%Y-%m-%d") if when else "—"


RUN_COLUMNS = [
    "day",
    "state",
    "run type",
    "started (UTC)",
    "ended (UTC)",
    "duration (min)",
    "run id",
]


def runs_frame(runs: DagRunList) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "day": run_day(r),
                "state": r.state,
                "run type": r.run_type,
                "started (UTC)": ui.utc(r.start_date),
                "ended (UTC)": ui.utc(r.end_date),
                "duration (min)": None if r.duration is None else round(r.duration / 60, 1),
                "run id": r.dag_run_id,
            }
            for r in runs.dag_runs
        ],
        columns=RUN_COLUMNS,
    )


# ---- models --------------------------------------------------------------------------------------
def show_models(models: ModelList) -> None:
    if not models.items:
        st.info("The API serves no models.")
    for m in models.items:
        with st.container(border=True):
            show_model(m)


def show_model(m: ModelInfo) -> None:
    st.subheader(f"{m.kind.capitalize()} model · {m.name}")
    if not m.available:
        st.warning(
            f"The {m.kind} model is not served: {m.reason or 'no reason given'}. "
            + (
                "Trust scores fall back to what batch scoring stored."
                if m.kind == "trust"
                else "The best naive forecast is served instead, labelled as such."
            )
        )
    c = st.columns(4)
    c[0].metric("Version", m.version or "—")
    c[1].metric("Alias", m.alias or "—")
    c[2].metric(
        "Trained",
        m.trained_at.strftime("%Y-%m-%d") if m.trained_at else "—",
        delta=ui.ago(m.trained_at) if m.trained_at else None,
        delta_color="off",
        delta_arrow="off",
    )
    c[3].metric("MLflow run", (m.run_id or "—")[:12], help=m.run_id)
    table = metrics_table(m)
    if table.empty:
        st.caption("No holdout metrics were logged with this version.")
        return
    st.dataframe(table, hide_index=True, key=f"platform.metrics.{m.kind}")
    worse = [
        str(row["metric"]) for row in table.to_dict("records") if row.get("verdict") == "worse"
    ]
    if worse:
        st.warning(f"The {m.kind} model does worse than a naive baseline on: {', '.join(worse)}.")
    caption = "Holdout metrics: measured on data the model never trained on."
    if m.baselines:
        caption += (
            " Baselines are the naive forecasts (last week, the creator's own mean) on the same "
            "data; verdict: the model against the best baseline, for error metrics (lower is "
            "better)."
        )
    st.caption(caption)


def metrics_table(m: ModelInfo) -> pd.DataFrame:
    """One row per model metric, with the baselines measuring the same thing beside it.

    The training run logs ``<segment>_model_<metric>`` for the model and
    ``<segment>_<baseline>_<metric>`` for each baseline (e.g. ``all_model_mae`` against
    ``all_last_week_mae``); a metric without that shape (``holdout_roc_auc``) stands alone.
    """
    rows: list[dict[str, object]] = []
    used: set[str] = set()
    for name, value in sorted(m.metrics.items()):
        row: dict[str, object] = {"metric": name, "model": value}
        segment, sep, metric = name.partition("_model_")
        baselines: list[float] = []
        if sep:
            row["metric"] = f"{segment} {metric}"
            for b, bvalue in sorted(m.baselines.items()):
                if b.startswith(f"{segment}_") and b.endswith(f"_{metric}"):
                    kind = b[len(segment) + 1 : -len(metric) - 1]
                    if kind:
                        row[kind.replace("_", " ")] = bvalue
                        baselines.append(bvalue)
                        used.add(b)
        if baselines and metric in LOWER_IS_BETTER:
            row["verdict"] = "better" if value < min(baselines) else "worse"
        rows.append(row)
    rows += [{"metric": b, "baseline": v} for b, v in sorted(m.baselines.items()) if b not in used]
    return pd.DataFrame(rows)


# Error metrics, where a lower value is better (the others, AUC or accuracy, go the other way).
LOWER_IS_BETTER = ("mae", "mae_log", "rmse", "mape", "smape", "brier", "log_loss", "ece")


def readiness_models(ready: Future[Readiness]) -> None:
    """Without /api/v1/models: at least which versions /readyz says are loaded."""
    try:
        result = ready.result()
    except Exception:
        return
    if not result.models:
        return
    st.caption("What the API's readiness check says about its models:")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "model": m.kind,
                    "name": m.name,
                    "alias": m.alias,
                    "available": m.available,
                    "version": m.version,
                    "loaded": m.loaded_at,
                    "detail": m.detail,
                }
                for m in result.models
            ]
        ),
        hide_index=True,
        key="platform.ready_models",
    )


if __name__ == "__main__":  # run by st.navigation as a page
    _s = ui.settings()
    render(ui.api_client(), ui.airflow_client(), _s.dag_id)
