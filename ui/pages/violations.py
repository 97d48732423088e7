"""Violations workbench for field coordinators: table, detail, zoom, CSV and field lists."""
from __future__ import annotations

import streamlit as st
from streamlit_folium import st_folium

from geo.errors import HgWatchError
from services import people, workbench
from ui import sidebar as chrome

view = chrome.current()
svc = view.service
st.title("Violations workbench")
if view.problem:
    st.error("The rule file could not be used, so there are no violations to list.")
runs = svc.runs()
table = workbench.violations_table(view.violations, view.frames.get("mining_sites"),
                                   workbench.change_status(view.violations, runs),
                                   view.frames.get("tailings"))
if runs:
    st.caption(f"New / persisting compare with the run recorded at {runs[0]['ran_at']}.")
else:
    st.caption("No run has been recorded in this workspace yet, so nothing is new or "
               "persisting. Record one below or with `python cli.py check`.")

c1, c2, c3, c4 = st.columns(4)
shown = workbench.narrow(
    table, severities=c1.multiselect("Severity", workbench.options(table, "severity"), key="wb_sev"),
    rules=c2.multiselect("Rule", workbench.options(table, "rule_id"), key="wb_rule"),
    changes=c3.multiselect("Since last run", workbench.options(table, "change"), key="wb_change"),
    text=c4.text_input("Site or water body contains", key="wb_text"))

st.write(f"{len(shown):,} of {len(table):,} violations. Click a row to zoom the map to it.")
event = st.dataframe(
    shown, key="wb_table", on_select="rerun", selection_mode="single-row", hide_index=True,
    column_config={"distance_m": st.column_config.NumberColumn("distance (m)", format="%.2f"),
                   "threshold_m": st.column_config.NumberColumn("rule distance (m)",
                                                                format="%.0f"),
                   "lat": st.column_config.NumberColumn("lat (deg)", format="%.6f"),
                   "lon": st.column_config.NumberColumn("lon (deg)", format="%.6f")})
rows = event.selection.rows if event is not None else []
chosen = shown.iloc[rows[0]] if rows and rows[0] < len(shown) else None

left, right = st.columns([3, 2])
with left:
    st_folium(svc.map(view.query), height=480, use_container_width=True,
              returned_objects=[], key="wb_map",
              center=(chosen["lat"], chosen["lon"]) if chosen is not None else None,
              zoom=17 if chosen is not None else None)
with right:
    if chosen is None:
        st.info("Select a violation in the table to see its detail here.")
    else:
        record = view.violations[view.violations["violation_id"] == chosen["violation_id"]]
        st.subheader(str(chosen["rule_id"]))
        st.text(f"{chosen['title']}\nsite {chosen['site']} {chosen['site_name'] or ''}\n"
                f"distance {chosen['distance_m']} m (rule {chosen['threshold_m']} m)\n"
                f"nearest water: {chosen['nearest_water']}\nchange: {chosen['change']}")
        source = people.violation_source(record.iloc[0]) if len(record) else None
        if source is not None:
            figure = svc.people(view.filters)
            if isinstance(figure, str):
                st.caption("People downstream: the exposure settings could not be used.")
            else:
                down = svc.downstream(view.filters)
                intakes = people.intakes_downstream(down, svc.frames().get("receptors"), svc.settings.exposure)
                found = people.source_people(down, source, intakes=intakes)
                st.text("\n".join(people.detail_lines(found, figure)))
        if len(record):
            detail = record.drop(columns=["geometry", "nearest_line"], errors="ignore").iloc[0]
            st.dataframe(detail.astype(str).rename("value"), width="stretch")

st.subheader("Exports")
e1, e2, e3 = st.columns(3)
e1.download_button("Table (CSV)", key="wb_csv", mime="text/csv", on_click="ignore",
                   file_name="hgwatch_violations_table.csv",
                   data=lambda: workbench.csv_text(shown, header_lines=[
                       "HgWatch violations table; distances in metres on the WGS84 ellipsoid"]))
fl = workbench.field_list(shown)
area = e2.selectbox("Field list for", ["all areas", *sorted(fl["area"].astype(str).unique())],
                    key="wb_area")
part = fl if area == "all areas" else fl[fl["area"].astype(str) == area]
e2.download_button(f"Field list: {area} (CSV)", key="wb_field", mime="text/csv",
                   on_click="ignore", file_name="hgwatch_field_list.csv",
                   data=lambda: workbench.csv_text(part, header_lines=[
                       f"HgWatch field list: sites to visit, {area}; lat/lon in degrees "
                       "(WGS84), closest_m in metres"]))
st.dataframe(part, hide_index=True, key="wb_field_table")
if e3.button("Record a full run now", key="wb_record",
             help="Runs every rule on the whole workspace and records it, so the next "
                  "run can say what is new and what persists."):
    try:
        outcome = svc.check(record=True)
        st.success(f"Recorded run {outcome.run_id}: "
                   f"{len(outcome.evaluation.violations):,} violations.")
    except HgWatchError as exc:
        st.error("The run could not be recorded.")
        st.code(str(exc), language=None)
