"""Creators: find creators (filters and search) and read one creator's report.

The report is deep-linkable: ``/creators?platform=tiktok&username=minh.anh`` opens it directly.
The two halves live in :mod:`dashboard.views.find_creators` and
:mod:`dashboard.views.creator_report`; this module is the page that puts them together.
"""

from __future__ import annotations

import streamlit as st

from dashboard import ui
from dashboard.client import KolClient
from dashboard.views.creator_report import report
from dashboard.views.find_creators import finder


def render(client: KolClient) -> None:
    st.title("Creators")
    current = selected_creator()
    with st.expander("Find creators", expanded=current is None, icon=":material/search:"):
        picked = finder(client)
    if picked is not None and picked != current:
        st.query_params["platform"], st.query_params["username"] = picked
        current = picked
    if current is not None:
        st.button("Close report", icon=":material/close:", on_click=close, key="creators.close")
    if current is None:
        st.info(
            "Pick a creator in the table to open their report, or link to one directly with "
            "`?platform=<platform>&username=<handle>`."
        )
        return
    report(client, *current)


def close() -> None:
    """Back to the list: no creator in the URL, and a fresh table (no row selected)."""
    for name in ("platform", "username"):
        if name in st.query_params:
            del st.query_params[name]
    st.session_state["creators.generation"] = st.session_state.get("creators.generation", 0) + 1


def selected_creator() -> tuple[str, str] | None:
    platform = st.query_params.get("platform")
    username = st.query_params.get("username")
    if not platform or not username:
        return None
    return platform, username.lstrip("@")


if __name__ == "__main__":  # run by st.navigation as a page
    render(ui.api_client())
