"""HgWatch dashboard: `streamlit run app.py`. Wires pages to the shared chrome; no logic here."""
from __future__ import annotations

import streamlit as st

from ui import sidebar as chrome

st.set_page_config(page_title="HgWatch", layout="wide")

# ---- PAGES: one line per page; add yours here -------------------------------------------
PAGES = [
    st.Page("ui/pages/map.py", title="Map", default=True),
    st.Page("ui/pages/violations.py", title="Violations workbench"),
    st.Page("ui/pages/provenance.py", title="Provenance & accuracy"),
    st.Page("ui/pages/imports.py", title="Import data"),
    st.Page("ui/pages/inventory.py", title="Mercury inventory"),
    st.Page("ui/pages/overlays.py", title="Contamination overlays"),
]
# ---- end of PAGES -------------------------------------------------------------------------

page = st.navigation(PAGES)
chrome.sidebar()
page.run()
