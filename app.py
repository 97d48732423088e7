"""HgWatch dashboard: `streamlit run app.py`. Wires pages to the shared chrome; no logic here.

Sign-in comes first (``ui.login.gate``): a visitor who is not signed in gets only the sign-in
form, at every address. Pages a role may not use are not offered to it (``services.auth.ROLES``).
"""
from __future__ import annotations

import streamlit as st

from ui import login
from ui import sidebar as chrome

st.set_page_config(page_title="HgWatch", layout="wide")
who = login.gate()  # stops here on the sign-in form

# ---- PAGES: one line per page; add yours here -------------------------------------------
PAGES = [
    st.Page("ui/pages/map.py", title="Map", default=True),
    st.Page("ui/pages/violations.py", title="Violations workbench"),
    st.Page("ui/pages/provenance.py", title="Provenance & accuracy"),
    st.Page("ui/pages/imports.py", title="Import data"),
    st.Page("ui/pages/inventory.py", title="Mercury inventory"),
    st.Page("ui/pages/overlays.py", title="Contamination overlays"),
    st.Page("ui/pages/audit.py", title="Audit trail"),
    st.Page("ui/pages/registers.py", title="Registers"),
]
# ---- end of PAGES -------------------------------------------------------------------------
# pages only some roles may open: title -> may this identity open it
ALLOWED = {"Import data": who.rights.may_import, "Audit trail": who.rights.see_audit}

page = st.navigation([p for p in PAGES if ALLOWED.get(p.title, True)])
login.account_box(who)
chrome.sidebar()
page.run()
