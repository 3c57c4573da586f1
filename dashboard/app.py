"""Entry point of the dashboard: ``streamlit run dashboard/app.py``.

Pages are the modules under ``views/``, registered with ``st.navigation``; each renders itself
from the session's API client (see :mod:`dashboard.ui`). Not ``pages/``: Streamlit lists that
folder's files in the sidebar by itself, before the script has run.
"""

from __future__ import annotations

import streamlit as st

from dashboard import ui

st.set_page_config(page_title="KOL Analytics", page_icon=":material/insights:", layout="wide")

PAGES = [
    st.Page("views/live.py", title="Live", icon=":material/bolt:", url_path="live", default=True),
    st.Page("views/creators.py", title="Creators", icon=":material/person_search:"),
    st.Page("views/compare.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page("views/platform.py", title="Platform", icon=":material/monitoring:"),
]

page = st.navigation(PAGES)
ui.sidebar(ui.settings())
page.run()
