"""Inventory page: mercury used and released with ranges, published estimates side by side,
trends against the National Action Plan targets, register counts, a small map, the assumptions
and factor sources, CSV and report downloads. Wiring only: the numbers come from render.report.tables.
"""
from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import geopandas as gpd
import streamlit as st

from geo.errors import HgWatchError
from geo.inventory.targets import METRICS
from layers.store.workspace import DEFAULT_PATH, Workspace
from render.report import charts
from render.report.areamap import area_groups, area_map, classes_for, map_svg
from render.report.document import report_bytes, summary_lines
from render.report.tables import (
    TABLE_TITLES,
    Inventory,
    assumptions,
    inventory_tables,
    select_area,
    table_csv,
    tables_zip,
)
from settings.factors import load_factors

ALL = "All areas"


def _workspace_path() -> Path:
    return Path(os.environ.get("HGWATCH_WORKSPACE") or DEFAULT_PATH)


@st.cache_resource(show_spinner="Reading the sites...")
def _layers(path: str, mtime: float) -> tuple[gpd.GeoDataFrame | None, gpd.GeoDataFrame | None]:
    ws = Workspace(path)
    read = {layer: ws.read(layer) if ws.has(layer) else None
            for layer in ("mining_sites", "water_bodies")}
    return read["mining_sites"], read["water_bodies"]


@st.cache_resource(show_spinner="Running the Monte Carlo...")
def _inventory(path: str, mtime: float, area: str | None, today: date) -> Inventory | str:
    sites, _ = _layers(path, mtime)
    try:
        return inventory_tables(sites, load_factors(), area=area, today=today)
    except HgWatchError as exc:
        return str(exc)


st.title("Mercury inventory and National Action Plan tracking")
path = _workspace_path()
mtime = path.stat().st_mtime if path.exists() else 0.0
sites, water = _layers(str(path), mtime) if path.exists() else (None, None)
if sites is None:
    st.warning(f"The workspace {path} holds no mining_sites layer. Import one on the "
               "'Import data' page, or run `make demo`.")
    st.stop()

areas = sorted({str(a) for a in sites["admin_area"].dropna()}) if "admin_area" in sites else []
choice = st.selectbox("Area", [ALL, *areas], key="inv_area")
area = None if choice == ALL else choice
inv = _inventory(str(path), mtime, area, date.today())
if isinstance(inv, str):
    st.error("The inventory cannot be computed:")
    st.code(inv, language=None)
    st.stop()

t = inv.tables["totals"].iloc[0]
lo, hi = (int(p) for p in inv.factors.percentiles)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Mercury used, kg a year", f"{t['used_kg']:,.0f}",
          help=f"{lo}th-{hi}th percentile {t['used_low']:,.0f} to {t['used_high']:,.0f}")
c2.metric("Released, kg a year", f"{t['released_kg']:,.0f}",
          help=f"{lo}th-{hi}th percentile {t['released_low']:,.0f} to {t['released_high']:,.0f}")
c3.metric("Sites", int(t["n_sites"]))
c4.metric("Not estimable", int(t["n_not_estimable"]),
          help="no gold figure and no measured mercury: counted, not taken as zero")
for line in summary_lines(inv):
    st.write(line)
st.caption(f"Data date (latest survey): {inv.data_date}. Ranges are the {lo}th-{hi}th "
           f"percentile of {inv.factors.draws} Monte Carlo draws over the factor ranges.")

left, right = st.columns([3, 2])
with left:
    st.subheader("Our estimate beside the published ones")
    st.altair_chart(charts.comparison_chart(inv.tables["comparison"]), width="stretch")
    st.dataframe(inv.tables["comparison"], hide_index=True)
with right:
    st.subheader("Map")
    est = inv.tables["sites"]
    classes = classes_for(est["basis"], est["route"])
    st.image(map_svg(area_map(select_area(sites, area), classes, water=water)), width="stretch")
if area is None:
    st.subheader("A small map per area")
    grid = st.columns(3)
    for i, (name, part, cls) in enumerate(area_groups(sites, classes)):
        with grid[i % 3]:
            st.caption(name)
            st.image(map_svg(area_map(part, cls, water=water, width=250, height=160,
                                      legend=False)), width="stretch")

tab_area, tab_method, tab_round, tab_trend, tab_register, tab_sites = st.tabs(
    ["By area", "By method", "By survey round", "Trends and targets", "Register", "Sites"])
with tab_area:
    st.altair_chart(charts.totals_chart(inv.tables["by_area"], "admin_area"),
                    width="stretch")
    st.dataframe(inv.tables["by_area"], hide_index=True)
with tab_method:
    st.altair_chart(charts.totals_chart(inv.tables["by_method"], "amalgamation"),
                    width="stretch")
    st.dataframe(inv.tables["by_method"], hide_index=True)
with tab_round:
    st.altair_chart(charts.totals_chart(inv.tables["by_round"], "survey_round"),
                    width="stretch")
    st.dataframe(inv.tables["by_round"], hide_index=True)
with tab_trend:
    targets = {tg.metric: tg.value for tg in inv.factors.targets}
    metric = st.selectbox("Measure", list(METRICS), format_func=METRICS.get, key="inv_metric")
    st.altair_chart(charts.trend_chart(inv.tables["trends"], metric, targets.get(metric)),
                    width="stretch")
    st.dataframe(inv.tables["targets"], hide_index=True)
    st.dataframe(inv.tables["trends"], hide_index=True)
with tab_register:
    st.dataframe(inv.tables["register"], hide_index=True)
with tab_sites:
    st.dataframe(inv.tables["sites"], hide_index=True)

st.subheader("Assumptions")
for text in assumptions(inv.factors):
    st.markdown(f"- {text}")
st.subheader("Factors and their sources")
st.dataframe(inv.tables["factors"], hide_index=True)

st.subheader("Downloads")
cols = st.columns(4)
cols[0].download_button("Every table (CSV, zip)", data=tables_zip(inv), key="inv_zip",
                        file_name="hgwatch_inventory_tables.zip", mime="application/zip")
stem = f"hgwatch_inventory_{(area or 'all').replace(' ', '_')}"
chosen = select_area(sites, area)
cols[1].download_button(
    "Report (PDF)", key="inv_pdf", mime="application/pdf", file_name=f"{stem}.pdf",
    on_click="ignore", data=lambda: report_bytes(inv, ".pdf", sites=chosen, water=water,
                                                 data_source=str(path)))
cols[2].download_button(
    "Report (HTML)", key="inv_html", mime="text/html", file_name=f"{stem}.html",
    on_click="ignore", data=lambda: report_bytes(inv, ".html", sites=chosen, water=water,
                                                 data_source=str(path)))
name = cols[3].selectbox("One table", list(TABLE_TITLES), format_func=TABLE_TITLES.get,
                         key="inv_table")
cols[3].download_button("Download it (CSV)", data=table_csv(inv.tables[name]), key="inv_csv",
                        file_name=f"{stem}_{name}.csv", mime="text/csv")
