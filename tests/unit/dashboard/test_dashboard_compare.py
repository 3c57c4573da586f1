"""The Compare page against a fake API: each creator side by side, and the errors."""

from __future__ import annotations

import json

from dashboard.client import KolClient
from kol.settings import DashboardSettings
from tests.unit.dashboard.conftest import FakeApi, Runner, down, metrics, no_crash, texts

TWO = {"kols": "tiktok:minh.anh,youtube:chef.lan"}


def test_compare_shows_each_selected_creator(open_page: Runner) -> None:
    at = open_page("compare", query=TWO)
    no_crash(at)
    assert [t.value for t in at.title] == ["Compare"]
    page = texts(at)
    assert "@minh.anh · TikTok" in page and "@chef.lan · YouTube" in page
    m = metrics(at)
    assert m["Trust"] == ["82.5", "55.0"]
    assert m["Success"] == ["64.0", "47.5"]
    assert m["Trending"] == ["71.2", "88.5"]
    side = next(d.value for d in at.dataframe if "creator" in d.value.columns)
    assert list(side["creator"]) == ["@minh.anh", "@chef.lan"]
    assert list(side["engagement rate"]) == ["6.42%", "6.42%"]
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    scores = charts[0]["data"]
    assert [t["name"] for t in scores] == ["@minh.anh (tiktok)", "@chef.lan (youtube)"]
    assert scores[0]["y"] == [82.5, 64.0, 71.2]
    followers = charts[1]["data"]
    assert [t["name"] for t in followers] == ["@minh.anh (tiktok)", "@chef.lan (youtube)"]


def test_compare_keeps_the_selection_in_the_url(open_page: Runner) -> None:
    at = open_page("compare", query=TWO)
    assert at.multiselect(key="compare.kols").value == ["tiktok:minh.anh", "youtube:chef.lan"]
    at.multiselect(key="compare.kols").unselect("youtube:chef.lan").run()
    no_crash(at)
    assert at.query_params["kols"] == "tiktok:minh.anh"
    assert any("Pick two to four creators" in i.value for i in at.info)


def test_compare_adds_creators_found_by_search(open_page: Runner, fake_api: FakeApi) -> None:
    at = open_page("compare")
    at.text_input(key="compare.q").input("minh").run()
    no_crash(at)
    assert fake_api.asked("/api/v1/search/kols")[-1].url.params["q"] == "minh"
    assert at.multiselect(key="compare.kols").options == ["@minh.anh · TikTok"]


def test_compare_with_gold_down_warns_per_creator(open_page: Runner, fake_api: FakeApi) -> None:
    fake_api.fail["*"] = down("gold", "Gold table(s) dim_kols not built yet")
    at = open_page("compare", query=TWO)
    no_crash(at)
    warnings = [w.value for w in at.warning]
    assert len([w for w in warnings if "Gold" in w and "dim_kols not built" in w]) == 2
    assert not at.metric


def test_compare_with_the_api_refusing_connections_says_so(
    open_page: Runner, refused: DashboardSettings
) -> None:
    at = open_page("compare", query=TWO, api=KolClient(refused))
    no_crash(at)
    assert any("is not reachable" in w.value for w in at.warning)
