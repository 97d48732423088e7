"""The audit trail: who changed what and when, with the values before and after, and whether the
hash chain is whole. Shown to admins and analysts (and to the local user of the single-user
mode); a field coordinator or a partner is told the page is not for their role."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from geo.errors import HgWatchError
from geo.words import counted
from services import audit, auth
from ui import login
from ui import sidebar as chrome

view = chrome.current()
svc = view.service
st.title("Audit trail")
identity = login.signed_in() or svc.identity or auth.LOCAL
if not identity.rights.see_audit:
    st.error(f"The audit trail is shown to admins and analysts; {identity.name} signed in as {identity.role}.")
    st.stop()
st.write("Every import, rule run, share mark, account change and export or download is recorded "
         "here, with who did it and the values before and after. Each row carries the SHA-256 of "
         "its content and of the row before it, so a row edited or deleted afterwards breaks the "
         "chain. On PostGIS, edits made from outside HgWatch (psql, QGIS) are recorded by the "
         "database as `db:<user>`.")
try:
    verdict = audit.verify(svc.store)
    rows = audit.trail(svc.store)
except HgWatchError as exc:
    st.error(str(exc))
    st.stop()
if verdict.ok:
    st.success(f"The chain is whole: {counted(verdict.rows, 'row')}.")
else:
    st.error(f"The chain is broken at {verdict.reason}. Rows from there on cannot be trusted.")
cols = st.columns(2)
since = cols[0].date_input("Since (UTC day)", value=None, key="audit_since")
names = sorted({r.who for r in rows})
user = cols[1].selectbox("By", ["everyone", *names], key="audit_user")
shown = audit.trail(svc.store, since=since if isinstance(since, dt.date) else None,
                    user=None if user == "everyone" else user)
if not shown:
    st.info("No audit rows" + (" match these filters." if rows else " yet."))
else:
    st.dataframe(pd.DataFrame([{"#": r.seq, "when (UTC)": r.at, "who": r.who, "action": r.action,
                                "what": r.target, "before": r.before, "after": r.after}
                               for r in reversed(shown)]), hide_index=True, width="stretch")
