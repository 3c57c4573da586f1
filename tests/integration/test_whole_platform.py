"""The whole platform as `make demo` leaves it, checked as its users meet it.

`kol demo` runs once for the module (a smaller world than the default, so the suite stays fast):
history through the pipeline's jobs and gates, both models trained, the last day run by Airflow,
the stream and the live producer started. Then the REST API, Airflow's own API, and the
dashboard in Debian's Chromium are checked against each other. Screenshots of every page are
kept under ``$KOL_HOME/screenshots``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashboard import ui
from ingestion.demo_world import load_world
from kol.settings import REPO_ROOT, MlSettings, Settings
from ml.account import has_labelled_accounts
from shell.stack import manager
from shell.stack.services.producer import LiveProducerService

# A world that keeps `kol demo` to a few minutes here, with the live producer's pace scaled to
# its size (about one simulated day per 40 minutes, as the default world's).
DEMO_ENV = {
    "KOL_INGEST_DEMO_CREATORS": "120",
    "KOL_INGEST_DEMO_DAYS": "21",
    "KOL_INGEST_LIVE_RATE": "2",
}
CHROMIUM = "/usr/bin/chromium"
# The account component trains on the real labelled accounts, when they are there.
ACCOUNTS = has_labelled_accounts(MlSettings().external_dir)
# `make test-demo` runs this module alone. The demo in the fixture takes 14-16 min on a fresh
# clone here, past the suite's 900 s default, which counts a test's fixture setup too.
pytestmark = [pytest.mark.demo, pytest.mark.timeout(2400)]


@dataclass
class Demo:
    settings: Settings
    api: str
    key: str
    output: str

    def get(self, path: str, **params: Any) -> Any:
        r = httpx.get(
            f"{self.api}{path}", params=params, headers={"X-API-Key": self.key}, timeout=30
        )
        assert r.status_code == 200, (path, r.status_code, r.text[:500])
        return r.json()


@pytest.fixture(scope="module")
def demo(settings: Settings) -> Iterator[Demo]:
    env = {**os.environ, **DEMO_ENV}
    started = time.monotonic()
    try:
        run = subprocess.run(
            [sys.executable, "-m", "shell.cli", "demo"],
            env=env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
        print(f"kol demo took {time.monotonic() - started:.0f}s")
        key = (settings.home / "demo" / "api_key").read_text().strip()
        yield Demo(settings, settings.api.base_url, key, run.stdout)
    finally:
        # The suite's other modules do not need the live load (and the fault tests count a
        # running producer that delivers nothing as a fault), even when the demo failed.
        manager.down(settings, ["producer", "stream"])


def planted_breakouts(settings: Settings) -> set[str]:
    from shell.demo import live_breakouts

    planted = live_breakouts(settings)
    assert planted, (
        f"the live producer planted no breakout ({LiveProducerService(settings).labels_file})"
    )
    return planted


def test_demo_leaves_every_part_running(demo: Demo) -> None:
    status = {r.service: r for r in manager.status(demo.settings, None)}
    for name in ("api", "dashboard", "stream", "producer", "airflow-scheduler", "trino"):
        assert status[name].healthy, (name, status[name].detail, status[name].log)
    assert "Try this" in demo.output and "curl" in demo.output


def test_both_champions_are_registered(demo: Demo) -> None:
    from shell.demo import champions

    versions = champions(demo.settings)
    kinds = ("trust", "success", "account") if ACCOUNTS else ("trust", "success")
    assert all(versions[k] for k in kinds), versions
    models = {m["kind"]: m for m in demo.get("/api/v1/models")["items"]}
    assert all(models[k]["available"] for k in kinds), models


@pytest.mark.skipif(not ACCOUNTS, reason="no labelled accounts: no account component")
def test_scores_say_what_they_rest_on_and_the_stream_scores_accounts_live(demo: Demo) -> None:
    items = demo.get("/api/v1/trending", limit=50)["items"]
    # The stream scores trust's account component on profile events (its champion exists).
    live = [i["trust_score"] for i in items if i.get("trust_score") is not None]
    assert live and all(0 <= t <= 100 for t in live), items[:3]
    scores = demo.get(f"/api/v1/kols/{items[0]['platform']}/{items[0]['username']}")["scores"]
    trust, success = scores["trust"], scores["success"]
    assert trust["basis"] == "audience+account", trust
    assert set(trust["components"]) == {"audience", "account"}
    assert trust["score"] == min(c["score"] for c in trust["components"].values())
    assert success["basis"] == "model" or success["basis"].startswith("naive:"), success


def test_latest_day_was_run_by_airflow_and_scored(demo: Demo) -> None:
    from shell.demo import gold_has_day
    from shell.stack.services.airflow import AirflowApi

    world = load_world(demo.settings)
    user, password = AirflowApi(demo.settings).credentials()
    base = demo.settings.airflow_url
    token = httpx.post(
        f"{base}/auth/token", json={"username": user, "password": password}, timeout=30
    ).json()["access_token"]
    runs = httpx.get(
        f"{base}/api/v2/dags/kol_daily_pipeline/dagRuns",
        params={"limit": 50},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()["dag_runs"]
    days = {r["data_interval_start"][:10] for r in runs if r["state"] == "success"}
    assert world.last_day.isoformat() in days, runs
    assert gold_has_day(demo.settings, "kol_scores", "date_day", world.last_day)


def test_a_creator_has_all_three_scores(demo: Demo) -> None:
    items = demo.get("/api/v1/trending", limit=50)["items"]
    assert items, "the live ranking is empty"
    complete = []
    for item in items[:20]:
        scores = demo.get(f"/api/v1/kols/{item['platform']}/{item['username']}")["scores"]
        if all(
            (scores.get(k) or {}).get("score") is not None for k in ("trust", "success", "trending")
        ):
            complete.append(item["kol_id"])
    assert complete, "no ranked creator has trust, success and trending scores"


def test_live_ranking_moves_and_shows_the_planted_breakout(demo: Demo) -> None:
    planted = planted_breakouts(demo.settings)
    first = demo.get("/api/v1/trending", limit=20)["items"]
    asked = time.monotonic()
    assert first, "the live ranking is empty"
    # The breakouts start on the live world's second simulated day, minutes after its start.
    deadline = asked + 600
    while True:
        top = [i["kol_id"] for i in demo.get("/api/v1/trending", limit=10)["items"]]
        if planted & set(top):
            break
        assert time.monotonic() < deadline, (top, sorted(planted))
        time.sleep(15)
    time.sleep(max(0.0, 60 - (time.monotonic() - asked)))
    second = demo.get("/api/v1/trending", limit=20)["items"]
    assert [(i["kol_id"], i["score"]) for i in first] != [(i["kol_id"], i["score"]) for i in second]


# ---- the dashboard in a real browser ----------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run `make setup`"
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


def dashboard_url(settings: Settings) -> str:
    (st,) = manager.status(settings, ["dashboard"])
    assert st.healthy, (st.detail, st.log)
    return st.address.rstrip("/")


# The script has finished drawing: no "running" status, no placeholder (skeleton) left.
SETTLED = """() => !document.querySelector(
    '[data-testid="stStatusWidget"], [data-testid="stSkeleton"], [data-testid="stAppSkeleton"]')"""


def open_page(browser: Any, url: str, title: str, shot: Path, wait_text: str | None = None) -> Any:
    """Open a dashboard page and photograph it once drawn: its title heading shown (the sidebar's
    page names would match a plain text search before the script has run), ``wait_text`` if
    given, and the script settled."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=90_000)
    if wait_text is not None:
        # Visible where a person sees it: in a chart or a table cell (the data grid draws on a
        # canvas; its text is in hidden cells for screen readers, which do not count).
        page.get_by_text(wait_text).filter(visible=True).first.wait_for(timeout=90_000)
    page.wait_for_function(SETTLED, timeout=90_000)
    page.wait_for_timeout(1000)
    page.wait_for_function(SETTLED, timeout=90_000)
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    errors = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.all_inner_texts()
    assert page.get_by_text("Page not found").count() == 0, url
    return page


@pytest.mark.parametrize(
    "path,title",
    # Live is the default page: its address is the root.
    [("", "Live"), ("creators", "Creators"), ("compare", "Compare"), ("platform", "Platform")],
)
def test_dashboard_pages_load_without_errors(
    demo: Demo, browser: Any, path: str, title: str
) -> None:
    shots = demo.settings.home / "screenshots"
    page = open_page(
        browser, f"{dashboard_url(demo.settings)}/{path}", title, shots / f"{path or 'live'}.png"
    )
    page.close()


def test_dashboard_live_page_lists_the_planted_breakout(demo: Demo, browser: Any) -> None:
    planted = planted_breakouts(demo.settings)
    ranked = [
        i["username"]
        for i in demo.get("/api/v1/trending", limit=20)["items"]
        if i["kol_id"] in planted
    ]
    assert ranked, "no planted breakout in the API's top 20"
    page = open_page(
        browser,
        f"{dashboard_url(demo.settings)}/",
        "Live",
        demo.settings.home / "screenshots" / "live-breakout.png",
        wait_text=ranked[0],
    )
    page.close()


def test_dashboard_creator_report_shows_the_api_scores(demo: Demo, browser: Any) -> None:
    item = demo.get("/api/v1/trending", limit=1)["items"][0]
    profile = demo.get(f"/api/v1/kols/{item['platform']}/{item['username']}")
    query = f"platform={item['platform']}&username={item['username']}"
    url = f"{dashboard_url(demo.settings)}/creators?{query}"
    page = open_page(
        browser, url, "Creators", demo.settings.home / "screenshots" / "creator.png", "Trust"
    )
    text = page.inner_text("body")
    for kind in ("trust", "success"):
        score = (profile["scores"].get(kind) or {}).get("score")
        assert score is not None, (kind, profile["scores"])
        assert ui.score(score) in text, (kind, score)
    page.close()


def test_api_docs_render_without_internet(demo: Demo, browser: Any) -> None:
    """Swagger UI and ReDoc come from the API itself: the page renders the routes, and no
    request leaves for another host (this machine has no internet to reach a CDN)."""
    elsewhere: list[str] = []

    def outside(request: Any) -> None:
        if request.url.startswith(("http://", "https://")) and not request.url.startswith(demo.api):
            elsewhere.append(request.url)

    for path in ("/docs", "/redoc"):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", outside)
        page.goto(f"{demo.api}{path}")
        # The summary of GET /api/v1/trending: both renderers show it once the spec is drawn.
        summary = page.get_by_text("Creators by live trending score")
        summary.filter(visible=True).first.wait_for(timeout=60_000)
        shot = demo.settings.home / "screenshots" / f"api{path.replace('/', '-')}.png"
        page.screenshot(path=str(shot))
        page.close()
    assert not elsewhere, elsewhere
