"""The Creators page against a fake API: the list and its filters, search, a creator's report."""

from __future__ import annotations

import json

from dashboard.client import KolClient
from dashboard.views.find_creators import trusted
from kol.settings import DashboardSettings
from tests.unit.dashboard.conftest import FakeApi, Runner, down, metrics, no_crash, texts

MINH = {"platform": "tiktok", "username": "minh.anh"}


def test_the_list_shows_creators_and_asks_with_the_filters(
    open_page: Runner, fake_api: FakeApi
) -> None:
    at = open_page("creators")
    no_crash(at)
    assert [t.value for t in at.title] == ["Creators"]
    table = at.dataframe[0].value
    assert list(table["creator"]) == ["@minh.anh", "@chef.lan"]
    assert list(table["trust label"]) == ["Highly Trusted", "Moderate"]
    assert any("Pick a creator" in i.value for i in at.info)

    at.selectbox(key="creators.platform").set_value("youtube")
    at.text_input(key="creators.niche").input("food")
    at.select_slider(key="creators.followers").set_value((10_000, 1_000_000)).run()
    no_crash(at)
    params = fake_api.asked("/api/v1/kols")[-1].url.params
    assert params["platform"] == "youtube"
    assert params["niche"] == "food"
    assert params["min_followers"] == "10000" and params["max_followers"] == "1000000"


def test_search_uses_the_search_route(open_page: Runner, fake_api: FakeApi) -> None:
    at = open_page("creators")
    at.text_input(key="creators.q").input("minh").run()
    no_crash(at)
    assert fake_api.asked("/api/v1/search/kols")[-1].url.params["q"] == "minh"
    assert list(at.dataframe[0].value["creator"]) == ["@minh.anh"]


def test_minimum_trust_reads_by_trust_until_below_it(fake_api: FakeApi) -> None:
    filters = {"platform": None, "niche": None, "min_followers": None, "max_followers": None}
    items, complete = trusted(fake_api.client(), filters, 60, "followers")
    assert [k.username for k in items] == ["minh.anh"]  # chef.lan's 55 is below 60
    assert complete
    assert fake_api.asked("/api/v1/kols")[-1].url.params["sort"] == "trust"


def test_the_report_shows_scores_labels_reasons_history_and_peers(open_page: Runner) -> None:
    at = open_page("creators", query=MINH)
    no_crash(at)
    m = metrics(at)
    assert m["Trust score"] == ["82.5"]
    assert m["Success score"] == ["64.0"]
    assert m["Trending score"] == ["71.2"]
    assert m["Followers"] == ["120.0K"]
    assert m["Percentile"] == ["78th"] and m["Peers"] == ["312"]
    page = texts(at)
    assert "Minh Anh · @minh.anh" in page
    for label in ("Highly Trusted", "medium", "Hot"):
        assert label in page
    for reason in (
        "Followers grow steadily, without bought bursts",
        "Comments come from many distinct accounts",
        "Sold 1,200 units over the last 7 days",
        "Engagement 2.4x its own baseline",
    ):
        assert f"- {reason}" in page
    assert "Rests on: audience and account; trust is the lower of the two" in page
    assert "Rests on: the creator's own mean over 28 days (no model beats it yet)" in page
    expanders = [e.label for e in at.expander]
    assert "Account (the profile itself): 97.0 (Genuine account)" in expanders
    assert "- A bio of 80 characters" in page
    assert "1 follower jump day(s) marked" in page
    history = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = [t.get("name") for t in history["data"]]
    assert names == ["followers", "following", "follower jump"]
    assert history["data"][2]["x"] == ["2026-02-07"]
    frames = {tuple(d.value.columns): d.value for d in at.dataframe}
    videos = next(v for k, v in frames.items() if "caption" in k)
    assert list(videos["caption"]) == ["Bún chả in 60 seconds"]
    products = next(v for k, v in frames.items() if "product" in k)
    assert list(products["product"]) == ["Chili crisp 200g"]
    alerts = next(v for k, v in frames.items() if "alert" in k)
    assert list(alerts["alert"]) == ["Follower jump"]


def test_the_report_asks_the_creator_routes_with_the_deep_link(
    open_page: Runner, fake_api: FakeApi
) -> None:
    open_page("creators", query=MINH)
    kol = "/api/v1/kols/tiktok/minh.anh"
    for path in (kol, f"{kol}/timeseries", f"{kol}/peers", f"{kol}/videos", f"{kol}/products"):
        assert fake_api.asked(path), path
    params = fake_api.asked("/api/v1/alerts")[-1].url.params
    assert (params["platform"], params["username"]) == ("tiktok", "minh.anh")


def test_an_unknown_creator_is_a_warning(open_page: Runner) -> None:
    at = open_page("creators", query={"platform": "tiktok", "username": "nobody"})
    no_crash(at)
    assert any("unknown creator" in w.value for w in at.warning)


def test_the_report_with_gold_down_warns_and_names_it(open_page: Runner, fake_api: FakeApi) -> None:
    fake_api.fail["/api/v1/kols/tiktok/minh.anh"] = down("trino", "no answer within 15s")
    fake_api.fail["/api/v1/kols"] = down("trino", "no answer within 15s")
    at = open_page("creators", query=MINH)
    no_crash(at)
    warnings = [w.value for w in at.warning]
    assert any("Trino" in w and "no answer within 15s" in w for w in warnings)
    assert not at.metric


def test_a_missing_part_of_the_report_leaves_the_rest(open_page: Runner, fake_api: FakeApi) -> None:
    # The peers route is new: an API without it still shows the report, and says what is missing.
    del fake_api.routes["/api/v1/kols/tiktok/minh.anh/peers"]
    fake_api.fail["/api/v1/kols/tiktok/minh.anh/peers"] = (404, {"detail": "Not Found"})
    at = open_page("creators", query=MINH)
    no_crash(at)
    assert metrics(at)["Trust score"] == ["82.5"]
    missing = "does not serve GET /api/v1/kols/tiktok/minh.anh/peers"
    assert any(missing in w.value for w in at.warning)


def test_the_page_with_the_api_refusing_connections_says_so(
    open_page: Runner, refused: DashboardSettings
) -> None:
    at = open_page("creators", query=MINH, api=KolClient(refused))
    no_crash(at)
    assert any("is not reachable" in w.value for w in at.warning)


def test_closing_the_report_goes_back_to_the_list(open_page: Runner) -> None:
    at = open_page("creators", query=MINH)
    at.button(key="creators.close").click().run()
    no_crash(at)
    assert "platform" not in at.query_params and "username" not in at.query_params
    assert not [m for m in at.metric if m.label == "Trust score"]
    assert any("Pick a creator" in i.value for i in at.info)
