"""HgWatch dashboard: `streamlit run app.py`. Wires pages to the shared chrome; no logic here."""
from __future__ import annotations

import streamlit as st

import chrome

st.set_page_config(page_title="HgWatch", layout="wide")

# ---- PAGES: one line per page; add yours here -------------------------------------------
PAGES = [
    st.Page("pages/map.py", title="Map", default=True),
    st.Page("pages/violations.py", title="Violations workbench"),
    st.Page("pages/provenance.py", title="Provenance & accuracy"),
    st.Page("pages/imports.py", title="Import data"),
    st.Page("pages/inventory.py", title="Mercury inventory"),
    st.Page("pages/overlays.py", title="Contamination overlays"),
]
# ---- end of PAGES -------------------------------------------------------------------------

page = st.navigation(PAGES)
chrome.sidebar()
page.run()
