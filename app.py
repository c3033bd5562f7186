"""Classifier Output Explorer: the router and the shared sidebar.

Run with ``make run`` (or ``streamlit run app.py``). Each page is a thin script in
``pages/``; all logic lives in ``cls_core``.
"""

from __future__ import annotations

import streamlit as st

from pages import _shared

st.set_page_config(
    page_title="Classifier Output Explorer",
    # An emoji becomes an inline SVG favicon; a :material/...: icon would be fetched from
    # fonts.gstatic.com, which fails offline.
    page_icon="📊",
    layout="wide",
    # "auto": open on wide screens, collapsed on phones (an expanded sidebar covers the page).
    initial_sidebar_state="auto",
)

PAGES = [
    st.Page("pages/playground.py", title="Playground", icon=":material/keyboard:", default=True),
    st.Page(
        "pages/lesson.py", title="Scores → labels", icon=":material/school:", url_path="lesson"
    ),
    st.Page(
        "pages/signature.py",
        title="Signature inspector",
        icon=":material/data_object:",
        url_path="signature",
    ),
    st.Page(
        "pages/thresholds.py",
        title="Threshold tuning",
        icon=":material/tune:",
        url_path="thresholds",
    ),
]

page = st.navigation(PAGES)
_shared.render_sidebar(page.title)
page.run()
