"""The violations and case workbench: the table with each violation's case (status, assignee,
last visit, days open), a "my cases" filter, the detail and zoom of a row, and for the chosen case
the forms that move it (the moves the signed-in role may make), attach a photo, add a comment or
assign it, its timeline with photos and its dossier; by admin unit, the open cases and the sites
flagged per unit with their choropleth (``services.rollups``: counts only). A partner sees only the
number of cases by status and by unit. Widgets only: the logic is in ``services.workbench``, ``services.casework`` and
``services.cases``.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date

import streamlit as st
from streamlit_folium import st_folium

from geo.errors import HgWatchError
from geo.words import counted
from services import audit, cases, casework, dossier, people, rollups, workbench
from services.areas import AREA_LAYER
from services.auth import LOCAL
from ui import sidebar as chrome

PHOTO_TYPES = ["jpg", "jpeg", "png", "gif", "webp", "heic"]
_CASE = "wb_case"  # the violation id of the case worked on (kept while the table changes)
_FLASH = "wb_flash"
_RUN_FLASH = "wb_run_flash"  # what the last "Record a full run now" did, shown after the rerun that shows its cases

UNIT_COLUMNS = ["unit_code", "unit", "within", "sites", "open_cases", "flagged_sites"]  # counts only
# "flagged_sites" counts tailings too, so a unit could show more flagged than it has sites: its header says so
UNIT_HEADERS = {"flagged_sites": st.column_config.NumberColumn(
    "sites and tailings flagged", help="sites and tailings with an open case that the last recorded run still flags")}


def _by_unit() -> None:
    """Open cases and sites flagged per admin unit at a chosen level: the table and the choropleth."""
    with st.expander("By admin unit"):
        if not st.toggle("Show the cases by admin unit", key="wb_units_on",
                         help="open cases and sites flagged per unit, each placed by the unit that contains it"):
            return
        levels = rollups.unit_levels(svc.frames().get(AREA_LAYER))
        level = st.selectbox("Level", levels, index=levels.index(rollups.default_level(levels) or levels[0]),
                             key="wb_unit_level") if levels else None
        try:
            units = rollups.service_rollup(svc, today=date.today(), level=level)
        except HgWatchError as exc:
            st.error(chrome.plain(exc))
            return
        st.caption(f"Every case of the workspace, placed by the {units.basis} of its site (or tailings); open ="
                   " every status but the settled and closed ones (config/cases.toml). Sites and tailings"
                   " flagged: those with an open case the last recorded run still flags.")
        for note in units.notes:
            st.info(chrome.plain(note))
        st.dataframe(units.table[UNIT_COLUMNS], hide_index=True, key="wb_units", column_config=UNIT_HEADERS)
        measure = st.radio("Colour the units by", list(rollups.CASE_MEASURES), horizontal=True, key="wb_unit_measure",
                           format_func=lambda k: rollups.CASE_MEASURES[k].label)
        fmap = rollups.unit_map(units, measure, tooltip=rollups.CASE_TOOLTIP)
        if fmap is not None:
            st_folium(fmap, height=420, use_container_width=True, returned_objects=[], key="wb_unit_map")


view = chrome.current()
svc = view.service
who = svc.identity or LOCAL
store = svc.store
st.title("Violations workbench")
if who.rights.restricted == "none":
    st.caption("Partners see the number of cases by status, never a case's detail.")
    counts = cases.case_counts(store, who, by=("status",))
    st.dataframe(counts, hide_index=True, key="wb_counts")
    _by_unit()
    st.stop()
if view.problem:
    st.error("The rule file could not be used, so there are no violations to list.")
runs = svc.runs()
table = casework.with_cases(
    workbench.violations_table(view.violations, view.frames.get("mining_sites"),
                               workbench.change_status(view.violations, runs), view.frames.get("tailings")),
    cases.list_cases(store, who), today=date.today())
if flash := st.session_state.pop(_RUN_FLASH, None):
    st.success(flash)
if runs:
    st.caption(f"New / persisting compare with the run recorded at {runs[0]['ran_at']}. Each violation of a"
               f" recorded run has a case; status '{casework.NO_CASE}' is a violation with no case you can see"
               " (not flagged by a recorded run yet"
               + (", or outside your areas)." if who.rights.restricted == "areas" else ")."))
else:
    st.caption("No run has been recorded in this workspace yet, so nothing is new or "
               "persisting and no case is open. Record one below or with `python cli.py check`.")

c1, c2, c3, c4 = st.columns(4)
shown = workbench.narrow(
    table, severities=c1.multiselect("Severity", workbench.options(table, "severity"), key="wb_sev"),
    rules=c2.multiselect("Rule", workbench.options(table, "rule_id"), key="wb_rule"),
    changes=c3.multiselect("Since last run", workbench.options(table, "change"), key="wb_change"),
    text=c4.text_input("Site or water body contains", key="wb_text"))
c5, c6 = st.columns([3, 1])
shown = casework.narrow_cases(
    shown, statuses=c5.multiselect("Case status", workbench.options(table, "status"), key="wb_status"),
    mine=who.name if c6.toggle("My cases", key="wb_mine", help=f"cases assigned to {who.name}") else None,
    areas=who.areas if who.rights.restricted == "areas" and c6.toggle(  # a field coordinator starts on its own
        "My areas", value=True, key="wb_my_areas", help=f"only the violations in {', '.join(who.areas)}") else None)

st.write(f"{len(shown):,} of {counted(len(table), 'violation')}. Click a row to zoom the map to it and work its case.")
event = st.dataframe(  # the words for a case's empty assignee and last visit; any other empty cell blank, not "None"
    workbench.on_screen(shown), key="wb_table", on_select="rerun", selection_mode="single-row", hide_index=True,
    placeholder="", column_config={"distance_m": st.column_config.NumberColumn("distance (m)", format="%.2f"),
                   "threshold_m": st.column_config.NumberColumn("rule distance (m)",
                                                                format="%.0f"),
                   "days_open": st.column_config.NumberColumn("days open", format="%d",
                                                              help="blank: no case you can see"),
                   "last_visit": st.column_config.TextColumn("last visit"),
                   "lat": st.column_config.NumberColumn("lat (deg)", format="%.6f"),
                   "lon": st.column_config.NumberColumn("lon (deg)", format="%.6f")})
rows = event.selection.rows if event is not None else []
chosen = shown.iloc[rows[0]] if rows and rows[0] < len(shown) else None
picked = str(chosen["violation_id"]) if chosen is not None and chosen["status"] != casework.NO_CASE else None
if picked is not None and picked != st.session_state.get("wb_row"):  # a newly clicked row: work on its case
    st.session_state[_CASE] = picked
st.session_state["wb_row"] = picked
if chosen is None and st.session_state.get(_CASE):  # a case chosen under "Work on case": its row, if listed
    worked = table[table["violation_id"] == st.session_state[_CASE]]
    chosen = worked.iloc[0] if len(worked) else None


def _pick() -> None:
    st.session_state[_CASE] = st.session_state["wb_pick"]


st.selectbox("Work on case", [v for v, s in zip(shown["violation_id"], shown["status"]) if s != casework.NO_CASE],
             index=None, key="wb_pick", on_change=_pick, placeholder="choose a case, or click its row")

left, right = st.columns([3, 2])
with left:
    try:
        workbench_map = svc.map(view.query)
    except HgWatchError as exc:  # a bad HGWATCH_TILES_ABOVE / HGWATCH_BASEMAP value: the table and the cases still work
        st.error(chrome.plain(exc))
    else:
        st_folium(workbench_map, height=480, use_container_width=True,
                  returned_objects=[], key="wb_map",
                  center=(chosen["lat"], chosen["lon"]) if chosen is not None else None,
                  zoom=17 if chosen is not None else None)
with right:
    if chosen is None:
        st.info("Select a violation in the table to see its detail here.")
    else:
        record = view.violations[view.violations["violation_id"] == chosen["violation_id"]]
        st.subheader(str(chosen["rule_id"]))
        worth = None if view.problem else workbench.worth_text(svc.settings.rules, chosen["rule_id"], svc.layers(), who)
        st.text(f"{chosen['title']}\nsite {chosen['site']} {chosen['site_name'] or ''}\n"
                f"{workbench.distance_text(chosen['distance_m'], chosen['threshold_m'])}\n"
                f"nearest water: {chosen['nearest_water']}\nchange: {chosen['change']}\n"
                f"case: {chosen['status']}")
        if worth:  # beside the distance: what it is worth given the layers' expected error (plain text, never markdown)
            st.text(worth)
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


def _act(done: str, action: Callable[[], object]) -> None:
    """Run a case change as the signed-in account; on success rerun with ``done`` shown."""
    try:
        with audit.acting_as(who.name):
            action()
    except HgWatchError as exc:
        st.error(chrome.plain(exc))
    else:
        st.session_state[_FLASH] = chrome.plain(done)
        st.rerun()


def _case_panel(vid: str) -> None:
    """The chosen case: forms to move it, attach a photo, comment and assign; its timeline; its dossier."""
    try:
        found = cases.case_file(store, who, vid)
    except HgWatchError as exc:
        st.warning(chrome.plain(exc))
        return
    case = found.case
    st.subheader(f"Case {vid}")
    st.text(f"status {case.status}; assignee {case.assignee or '-'}; due {case.due_date or '-'}; "
            f"reason {case.reason or '-'}\nsite {case.site_id} {case.site_name or ''} ({case.admin_area or 'no area'})")
    if flash := st.session_state.pop(_FLASH, None):
        st.success(flash)
    move, note, photo = st.columns(3)
    targets = casework.moves(who, case.status)
    with move.form("case_move", clear_on_submit=True):
        st.markdown(f"**Move** ({who.role})")
        target = st.selectbox("New status", targets, key="case_target", disabled=not targets,
                              help="the moves config/cases.toml allows your role from "
                                   f"{case.status}" + ("" if targets else ": none"))
        reason = st.text_input("Reason", key="case_reason",
                               help="false_positive, not_accessible and some other moves need one")
        comment = st.text_area("Note (kept as a comment)", key="case_note")
        upload = st.file_uploader("Photo (stored with its SHA-256)", type=PHOTO_TYPES, key="case_move_photo")
        if st.form_submit_button("Move the case", disabled=not targets) and target:
            photos = [(upload.name, upload.getvalue())] if upload is not None else []
            _act(f"case moved to {target}", lambda: cases.set_status(
                store, who, vid, str(target), reason=reason or None, note=comment or None, photos=photos))
    with note.form("case_comment", clear_on_submit=True):
        st.markdown("**Comment**")
        text = st.text_area("Comment", key="case_comment_text")
        if st.form_submit_button("Add the comment"):
            _act("comment added", lambda: cases.add_comment(store, who, vid, text))
    with photo.form("case_photo", clear_on_submit=True):
        st.markdown("**Photo**")
        picture = st.file_uploader("Photo (stored with its SHA-256)", type=PHOTO_TYPES, key="case_photo_file")
        if st.form_submit_button("Attach the photo") and picture is not None:
            _act(f"photo {picture.name} attached",
                 lambda: cases.add_photo(store, who, vid, picture.name, picture.getvalue()))
    if casework.may_assign(who):
        takers = cases.assignees(store, case.admin_area)  # None: no accounts, any name goes
        with st.form("case_assign", clear_on_submit=True):
            a1, a2 = st.columns(2)
            if takers is None:
                to = a1.text_input("Assign to (account name)", key="case_assign_to")
            else:  # only the accounts that may take it: enabled, no partner, a field account of its area
                to = a1.selectbox("Assign to", takers, index=None, key="case_assign_to",
                                  placeholder="an account that may take this case") or ""
            due = a2.date_input("Due", value=None, key="case_assign_due")
            if st.form_submit_button("Assign") and to.strip():
                _act(f"case assigned to {to.strip()}", lambda: cases.assign(
                    store, who, vid, to.strip(), due_date=due.isoformat() if due else None))
    d1, d2 = st.columns(2)
    for column, suffix in ((d1, ".pdf"), (d2, ".html")):
        column.download_button(f"Dossier ({suffix[1:].upper()})", key=f"case_dossier{suffix}", on_click="ignore",
                               file_name=f"hgwatch_dossier_{case.rule_id}_{case.site_id}{suffix}",
                               mime="application/pdf" if suffix == ".pdf" else "text/html",
                               data=functools.partial(dossier.dossier_file, store, who, svc.settings, vid, suffix))
    st.markdown("**Timeline**")
    pictures = {p.sha256: p for p in cases.photo_bytes(store, who, vid)}
    for entry in casework.timeline(found):
        st.text(f"{entry.at}  {entry.who}: {entry.what}" + (f" - {entry.detail}" if entry.detail else ""))
        for digest in entry.photos:
            if digest in pictures and casework.viewable(pictures[digest].data):
                st.image(pictures[digest].data, width=240)
                st.caption(chrome.plain(f"{pictures[digest].name}, SHA-256 {digest}"))
            elif digest in pictures:  # cut short on upload, or no image: listed, not drawn (the dossier has its bytes)
                st.caption(chrome.plain(f"{pictures[digest].name}, SHA-256 {digest}: not a readable image, not shown"))


_by_unit()
st.subheader("Case")
if st.session_state.get(_CASE):
    _case_panel(str(st.session_state[_CASE]))
else:
    st.info("Select a violation with a case in the table to work on it.")

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
if not who.rights.record_runs:
    e3.caption("An analyst or an admin records the full runs that open the cases.")
elif e3.button("Record a full run now", key="wb_record",
             help="Runs every rule on the whole workspace and records it, so the next "
                  "run can say what is new and what persists, and opens a case per violation."):
    try:
        with audit.acting_as(who.name):
            outcome = svc.check(record=True)
    except HgWatchError as exc:
        st.error("The run could not be recorded.")
        st.code(str(exc), language=None)
    else:  # run the page again, so the table above shows the run's cases
        st.session_state[_RUN_FLASH] = (f"Recorded run {outcome.run_id}: "
                                        f"{counted(len(outcome.evaluation.violations), 'violation')}.")
        st.rerun()
