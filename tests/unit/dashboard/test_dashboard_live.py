"""The Live page against a fake API: the ranking in order with labels, alerts, stream health."""

from __future__ import annotations

import pandas as pd
from streamlit.testing.v1 import AppTest

from dashboard.client import KolClient
from kol.settings import DashboardSettings
from tests.unit.dashboard.conftest import (
    READY_REDIS_DOWN,
    FakeApi,
    Runner,
    down,
    metrics,
    no_crash,
    texts,
)


def _frame(at: AppTest, column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_live_lists_the_ranking_in_order_with_labels_and_the_alerts(open_page: Runner) -> None:
    at = open_page("live")
    no_crash(at)
    assert [t.value for t in at.title] == ["Live"]
    ranking = _frame(at, "rank")
    assert list(ranking["creator"]) == ["@chef.lan", "@minh.anh", "@quiet.one"]
    assert list(ranking["label"]) == ["Viral", "Hot", "Cooling"]
    assert list(ranking["score"]) == [88.5, 71.2, 31.0]
    alerts = _frame(at, "alert")
    assert list(alerts["alert"]) == ["Follower jump"]
    assert list(alerts["creator"]) == ["@minh.anh"]
    m = metrics(at)
    assert m["Redis"] == ["up"]
    assert m["Ranked creators"] == ["57"]
    assert m["Recent alerts"] == ["12"]
    assert m["Viral"] == ["1"] and m["Stable"] == ["40"]
    assert "57 creators ranked in all" in texts(at)


def test_live_asks_for_the_chosen_platform(open_page: Runner, fake_api: FakeApi) -> None:
    at = open_page("live")
    at.segmented_control(key="live.platform").set_value("tiktok").run()
    no_crash(at)
    last = fake_api.asked("/api/v1/trending")[-1]
    assert last.url.params["platform"] == "tiktok"
    assert fake_api.asked("/api/v1/alerts")[-1].url.params["platform"] == "tiktok"
    assert "Trending now · TikTok" in texts(at)


def test_live_with_redis_down_warns_and_names_redis(open_page: Runner, fake_api: FakeApi) -> None:
    reason = "redis at 127.0.0.1:6379: Connection refused"
    for path in ("/api/v1/trending", "/api/v1/alerts"):
        fake_api.fail[path] = down("redis", reason)
    fake_api.fail["/readyz"] = (503, READY_REDIS_DOWN)
    fake_api.fail["/api/v1/stats/summary"] = down("gold", "not built yet")
    at = open_page("live")
    no_crash(at)
    warnings = [w.value for w in at.warning]
    assert any("Redis" in w and "GET /api/v1/trending" in w and reason in w for w in warnings)
    assert any("Redis is down" in w for w in warnings)
    assert not at.dataframe


def test_live_with_the_api_refusing_connections_says_so(
    open_page: Runner, refused: DashboardSettings
) -> None:
    at = open_page("live", api=KolClient(refused))
    no_crash(at)
    warnings = " ".join(w.value for w in at.warning)
    assert f"The KOL API at {refused.api_url} is not reachable" in warnings
    assert "ConnectError" in warnings


def test_live_with_no_ranked_creator_says_the_stream_has_not_scored(
    open_page: Runner, fake_api: FakeApi
) -> None:
    fake_api.routes["/api/v1/trending"] = {
        "platform": None,
        "label": None,
        "total_ranked": 0,
        "items": [],
    }
    at = open_page("live")
    no_crash(at)
    assert any("kol stream start" in i.value for i in at.info)
