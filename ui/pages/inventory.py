"""Inventory page: mercury used and released with ranges, published estimates side by side,
trends against the National Action Plan targets, register counts, a small map, the roll-up per
admin unit with its choropleth, the assumptions and factor sources, CSV and report downloads.
Wiring only: the numbers come from the HgWatch service (``services.hgwatch``, which runs
``render.report.tables``) and ``services.rollups``.
"""
from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo.errors import HgWatchError
from geo.inventory import METRICS
from render.report import charts
from render.report.areamap import area_groups, area_svg, classes_for
from render.report.document import report_bytes, resurvey_lines, summary_lines
from render.report.tables import TABLE_TITLES, assumptions, select_area, table_csv, tables_zip
from services.areas import AREA_LAYER
from services.rollups import MEASURES, default_level, service_rollup, unit_levels, unit_map
from ui import sidebar as chrome

ALL = "All areas"
KG = st.column_config.NumberColumn(format="%.1f")  # kg a year: a Monte Carlo percentile to 4 decimals is false precision


def kg_columns(frame: pd.DataFrame) -> dict[str, Any]:
    """Column formats for a table of kilograms (``*_kg``, ``*_low``, ``*_high``, ``hg_*``): one decimal on screen;
    the CSV downloads keep every digit."""
    return {c: KG for c in frame.columns if frame[c].dtype.kind == "f"
            and (c.endswith(("_kg", "_low", "_high")) or c in ("hg_central",))}


SHARE = st.column_config.NumberColumn(format="percent")  # a share 0-1 as '46.21%', not 0.4621
SHARES = ("value", "target_value", *METRICS)


def share_columns(frame: pd.DataFrame, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Column formats showing the shares of ``frame`` (targets and metrics, 0-1) as percentages."""
    return {**(base or {}), **{c: SHARE for c in frame.columns if c in SHARES}}


def kg_text(value: float) -> str:
    """A total in whole kilograms, or "not estimable" where no site has a figure (NaN, never "nan")."""
    return f"{value:,.0f}" if value == value else "not estimable"


def range_help(totals: pd.Series, quantity: str, lo: int, hi: int) -> str:
    """The percentile range of a total, or why there is none."""
    if totals[f"{quantity}_kg"] != totals[f"{quantity}_kg"]:
        return "no site has a gold or a mercury figure"
    return f"{lo}th-{hi}th percentile {kg_text(totals[f'{quantity}_low'])} to {kg_text(totals[f'{quantity}_high'])}"


def totals_chart(table: pd.DataFrame, group: str) -> None:
    """The chart of a totals table, or a line saying why there is none: with no site of any group
    estimable, the chart was an empty frame whose axis read 0.000000 (national footprints, no figures)."""
    if not len(table) or table["used_kg"].isna().all():
        st.info("No site in these groups has a gold or a mercury figure, so there is no range to chart: the"
                " table counts them as not estimable (n_not_estimable). Import gold_kg_per_year or"
                " mercury_kg_per_year to estimate them.")
    else:
        st.altair_chart(charts.totals_chart(table, group), width="stretch")


st.title("Mercury inventory and National Action Plan tracking")
svc = chrome.service()
sites, water = svc.frames().get("mining_sites"), svc.frames().get("water_bodies")
if sites is None:
    st.warning(f"The workspace {chrome.plain(svc.store.path)} holds no mining_sites layer. "
               f"{chrome.import_on_page(svc, 'one')}, or run `make demo`.")
    st.stop()

choice = st.selectbox("Area", [ALL, *svc.choices("admin_area")], key="inv_area")
area = None if choice == ALL else choice
try:
    with st.spinner("Running the Monte Carlo..."):
        inv = svc.inventory(area, date.today())
except HgWatchError as exc:
    st.error("The inventory cannot be computed:")
    st.code(str(exc), language=None)
    st.stop()

t = inv.tables["totals"].iloc[0]
lo, hi = (int(p) for p in inv.factors.percentiles)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Mercury used, kg a year", kg_text(t["used_kg"]), help=range_help(t, "used", lo, hi))
c2.metric("Released, kg a year", kg_text(t["released_kg"]), help=range_help(t, "released", lo, hi))
c3.metric("Sites", f"{int(t['n_sites']):,}")
c4.metric("Not estimable", f"{int(t['n_not_estimable']):,}",
          help="no gold figure and no measured mercury: counted, not taken as zero")
pairs = inv.tables["resurveys"]
# the report's line on the pairs is said once, in the warning above their table (it was also a plain line)
pairs_line = resurvey_lines(inv)[-1] if len(pairs) else None
for line in summary_lines(inv):
    if line != pairs_line:
        st.write(line)
st.caption(f"Data date (latest survey): {inv.data_date}. Ranges are the {lo}th-{hi}th "
           f"percentile of {inv.factors.draws} Monte Carlo draws over the factor ranges.")
if pairs_line:  # before any figure is published: each pair may be one site counted twice
    st.warning(f"{pairs_line} Once linked, import the layer again.")
    st.dataframe(pairs, hide_index=True, key="inv_resurveys",
                 column_config={"distance_m": st.column_config.NumberColumn("distance, m", format="%.1f"),
                                "within_m": st.column_config.NumberColumn("searched within, m", format="%.1f")})
    st.download_button("Possible re-surveys (CSV)", data=partial(table_csv, pairs), key="inv_resurveys_csv",
                       on_click="ignore", file_name="hgwatch_possible_resurveys.csv", mime="text/csv")

left, right = st.columns([3, 2])
with left:
    st.subheader("Our estimate beside the published ones")
    st.altair_chart(charts.comparison_chart(inv.tables["comparison"]), width="stretch")
    st.dataframe(inv.tables["comparison"], hide_index=True, column_config=kg_columns(inv.tables["comparison"]))
with right:
    st.subheader("Map")
    est = inv.tables["sites"]
    classes = classes_for(est["basis"], est["route"])
    # drawn again only when the store or the day changes (each click reruns the page: 2.3 s at 5,382 sites)
    st.image(svc.kept("inventory map", (area, date.today()), lambda: area_svg(
        select_area(sites, area), classes, water=water)), width="stretch")
if area is None:
    st.subheader("A small map per area")
    st.caption("Each dot is a site, coloured by its release route as in the legend of the map above; water in blue.")
    grid = st.columns(3)
    small = svc.kept("inventory area maps", date.today(), lambda: [
        (name, area_svg(part, cls, water=water, width=250, height=160, legend=False))
        for name, part, cls in area_groups(sites, classes)])
    for i, (name, svg) in enumerate(small):
        with grid[i % 3]:
            st.caption(name)
            st.image(svg, width="stretch")

tab_area, tab_method, tab_round, tab_trend, tab_register, tab_sites = st.tabs(
    ["By area", "By method", "By survey round", "Trends and targets", "Register", "Sites"])
with tab_area:
    totals_chart(inv.tables["by_area"], "admin_area")
    st.dataframe(inv.tables["by_area"], hide_index=True, column_config=kg_columns(inv.tables["by_area"]))
with tab_method:
    totals_chart(inv.tables["by_method"], "amalgamation")
    st.dataframe(inv.tables["by_method"], hide_index=True, column_config=kg_columns(inv.tables["by_method"]))
with tab_round:
    totals_chart(inv.tables["by_round"], "survey_round")
    st.dataframe(inv.tables["by_round"], hide_index=True, column_config=kg_columns(inv.tables["by_round"]))
with tab_trend:
    targets = {tg.metric: tg.value for tg in inv.factors.targets}
    metric = st.selectbox("Measure", list(METRICS), format_func=lambda k: METRICS[k], key="inv_metric")
    st.altair_chart(charts.trend_chart(inv.tables["trends"], metric, targets.get(metric)),
                    width="stretch")
    st.dataframe(inv.tables["targets"], hide_index=True, column_config=share_columns(inv.tables["targets"]))
    st.dataframe(inv.tables["trends"], hide_index=True,
                 column_config=share_columns(inv.tables["trends"], kg_columns(inv.tables["trends"])))
with tab_register:
    st.dataframe(inv.tables["register"], hide_index=True)
    if len(inv.tables["inspection"]):  # issue 12: cases per area (services.inspection)
        st.caption(TABLE_TITLES["inspection"])
        st.dataframe(inv.tables["inspection"], hide_index=True, key="inv_inspection")
with tab_sites:
    st.dataframe(inv.tables["sites"], hide_index=True, column_config=kg_columns(inv.tables["sites"]))

st.subheader("By admin unit")
levels = unit_levels(svc.frames().get(AREA_LAYER))
level = st.selectbox("Level", levels, index=levels.index(default_level(levels) or levels[0]),
                     key="inv_unit_level") if levels else None
try:
    units = service_rollup(svc, today=date.today(), level=level)
except HgWatchError as exc:
    st.error(chrome.plain(exc))
else:
    st.caption(f"Every site of the workspace (the Area choice above does not apply), by {units.basis}.")
    for note in units.notes:
        st.info(chrome.plain(note))
    st.dataframe(units.table, hide_index=True, key="inv_units", column_config=kg_columns(units.table))
    st.caption(chrome.plain(units.source))
    measure = st.radio("Colour the units by", list(MEASURES), format_func=lambda k: MEASURES[k].label,
                       horizontal=True, key="inv_unit_measure")
    unit_fmap = unit_map(units, measure)
    if unit_fmap is not None:
        st_folium(unit_fmap, height=480, use_container_width=True, returned_objects=[], key="inv_unit_map")
    with st.expander("Targets by unit"):
        st.dataframe(units.targets, hide_index=True, key="inv_unit_targets", column_config=share_columns(units.targets))
    st.download_button("Units table (CSV)", data=partial(table_csv, units.table), key="inv_units_csv", on_click="ignore",
                       file_name=f"hgwatch_units_{units.level or 'admin_area'}.csv", mime="text/csv")

st.subheader("Assumptions")
for text in assumptions(inv.factors):
    st.markdown(f"- {text}")
st.subheader("Factors and their sources")
st.dataframe(inv.tables["factors"], hide_index=True)

st.subheader("Downloads")
cols = st.columns(4)
# the files are made when asked for (on_click="ignore" and a callable): made on every run, the zip of every
# table (the sites' one a row per site) and two CSVs cost 0.3 s a click at 10,614 sites
cols[0].download_button("Every table (CSV, zip)", data=partial(tables_zip, inv), key="inv_zip", on_click="ignore",
                        file_name="hgwatch_inventory_tables.zip", mime="application/zip")
stem = f"hgwatch_inventory_{(area or 'all').replace(' ', '_')}"
chosen = select_area(sites, area)
made_up = any(i.synthetic for i in svc.layers() if i.layer == "mining_sites")  # the demo says so in its report
cols[1].download_button(
    "Report (PDF)", key="inv_pdf", mime="application/pdf", file_name=f"{stem}.pdf",
    on_click="ignore", data=lambda: report_bytes(inv, ".pdf", sites=chosen, water=water,
                                                 data_source=svc.source_label(), synthetic=made_up))
cols[2].download_button(
    "Report (HTML)", key="inv_html", mime="text/html", file_name=f"{stem}.html",
    on_click="ignore", data=lambda: report_bytes(inv, ".html", sites=chosen, water=water,
                                                 data_source=svc.source_label(), synthetic=made_up))
name = cols[3].selectbox("One table", list(TABLE_TITLES), format_func=lambda k: TABLE_TITLES[k],
                         key="inv_table")
cols[3].download_button("Download it (CSV)", data=partial(table_csv, inv.tables[name]), key="inv_csv",
                        on_click="ignore", file_name=f"{stem}_{name}.csv", mime="text/csv")
