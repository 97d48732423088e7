"""Contamination overlays page: measured surfaces, sample classes, downstream reach and people,
mercury pressure (an estimate) and the monitoring-gap list. Widgets and drawing only: the numbers
come from the HgWatch service (``services.hgwatch``), computed once there.
"""
from __future__ import annotations

import pickle
from datetime import date
from functools import partial

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo.errors import HgWatchError, InputError
from geo.words import counted
from render.map import overlays as overlay_map
from services.contamination import (
    GUIDELINE_NOTE,
    above_figure,
    guideline_table,
    medium_surface,
    surface_bytes,
    usable_classed,
)
from services.tiles import draw_map
from services.view import map_focus
from ui import sidebar as chrome

SURFACE, PRESSURE, NONE = "Measured mercury (interpolated)", "Mercury pressure (estimate)", "None"

view = chrome.current()
svc, filters = view.service, view.filters
cfg = svc.settings.exposure
guidelines, class_settings = svc.settings.guidelines
st.title("Contamination overlays and exposure")
st.caption(GUIDELINE_NOTE + " Reach length, settlement distance, kernel width and gap "
           "thresholds are assumptions of this product (config/exposure.toml), not law.")

sites = view.frames.get("mining_sites")
refused: HgWatchError | None = None
try:
    with st.spinner("Classing the samples..."):
        classed = svc.classed_samples(filters)
except HgWatchError as exc:  # a unit refused row by row: the other samples are still classed
    classed, refused = None, exc
    if isinstance(exc, InputError) and view.frames.get("samples") is not None:
        classed, refused = usable_classed(view.frames["samples"], guidelines, class_settings,
                                          source="samples layer")
    left_out = counted(len(refused.problems), "sample") if isinstance(refused, InputError) else "Some samples"
    st.error(f"{left_out} left out of the classes, the figures and the surfaces below: a unit or medium that"
             " cannot be used. Fix them and import again.")
    st.code(str(refused), language=None)

c1, c2, c3, c4 = st.columns(4)
overlay = c1.radio("Overlay", (SURFACE, PRESSURE, NONE), key="ov_overlay")
media = sorted(set(classed["medium"])) if classed is not None else []
medium = c2.selectbox("Medium", media or ["water"], key="ov_medium", disabled=not media,
                      index=media.index("water") if "water" in media else 0)
method = c2.radio("Method", ("idw", "kriging"), horizontal=True, key="ov_method",
                  help="IDW by default; ordinary kriging of ln(Hg) needs "
                       f"{counted(cfg.surface['kriging_min_samples'], 'sample')} and adds an uncertainty map")
opacity = c3.slider("Opacity", 0.0, 1.0, 0.6, 0.05, key="ov_opacity")
max_distance = c3.number_input("Blank beyond (m from a sample)", 100.0, 50_000.0,
                               float(cfg.surface["max_distance_m"]), 100.0, key="ov_maxd")
cell_m = c4.number_input("Cell (m)", 20.0, 2000.0, float(cfg.surface["cell_m"]), 10.0,
                         key="ov_cell")
reach_m = c4.number_input("Downstream reach (m)", 1000.0, 200_000.0,
                          float(cfg.downstream["reach_m"]), 1000.0, key="ov_reach")
buffer_m = c4.number_input("Settlements within (m of the bank along the reach)", 50.0, 10_000.0,
                           float(cfg.downstream["settlement_buffer_m"]), 50.0, key="ov_buffer")

drawn = {k: v for k, v in view.frames.items() if k != "samples"}
# built again only when the view's layers change (each click reruns the page: 1.4 s at 5,382 sites), kept
# pickled as HgWatch.map keeps the Map page's: st_folium rewrites element ids, so a Map never renders twice
# drawn as the Map page draws (services.tiles.draw_map): the basemap HGWATCH_BASEMAP names (an office with no
# internet asked OpenStreetMap for tiles here) and a national layer as vector tiles, not 10^4 rows; framed on the
# sites as the Map page is (a national places layer put them in a corner at the map's bottom edge)
try:
    m = pickle.loads(svc.kept("overlays map", filters,
                              lambda: pickle.dumps(draw_map(drawn, violations=None, zone_m=None,  # our own bytes
                                                            focus=map_focus(rules_narrowed=False, flagged=0)))))
except HgWatchError as exc:  # a bad HGWATCH_TILES_ABOVE / HGWATCH_BASEMAP value
    st.error(chrome.plain(exc))
    st.stop()
surface = None
try:
    if overlay == SURFACE and classed is not None and media:
        with st.spinner("Interpolating..."):
            surface = svc.surface(filters, medium, method, cell_m, max_distance) if refused is None \
                else medium_surface(classed, medium=medium, exposure=cfg, method=method, cell_m=cell_m,
                                    max_distance_m=max_distance, source="samples layer")
        if surface.variance is not None and c2.toggle("Show the kriging uncertainty",
                                                      key="ov_uncertainty"):
            overlay_map.add_uncertainty(m, surface, medium=medium, opacity=opacity)
        else:
            overlay_map.add_surface(m, surface, medium=medium, guideline=guidelines.get(medium),
                                    settings=class_settings, opacity=opacity)
    elif overlay == PRESSURE and sites is not None and len(sites):
        with st.spinner("Spreading estimated mercury use..."):
            pressure = svc.pressure(filters, float(cfg.pressure["kernel_width_m"]))
        if pressure is not None:
            overlay_map.add_pressure(m, pressure, opacity=opacity)
            st.info(pressure.label + f". Kernel width {pressure.kernel_width_m:g} m.")
except HgWatchError as exc:
    st.warning(chrome.plain(exc))
if classed is not None:
    overlay_map.add_sample_classes(m, classed)
with st.spinner("Tracing downstream..."):
    down = svc.downstream(filters, reach_m, buffer_m)
    figure = svc.people(filters, reach_m, buffer_m)
if down is not None:
    areas = svc.frames().get("residential_areas")  # settlements wherever they lie
    geoms = {} if areas is None else dict(zip(areas["area_id"].astype(str), areas.geometry))
    overlay_map.add_reaches(m, down.reaches, down.people, reach_m=reach_m, areas=geoms,
                            buffer_m=buffer_m)

h1, h2, h3 = st.columns(3)
h1.metric("People downstream", "n/a" if isinstance(figure, str) else f"{figure.people:,}",
          help=figure if isinstance(figure, str) else figure.help())  # the sidebar's figure
h2.metric("Sources traced", f"{len(down.reaches) if down else 0:,}",
          help=f"within {cfg.downstream['entry_distance_m']:g} m of a river line "
               f"({cfg.downstream['entry_citation']})")
if classed is not None:
    shown, told = above_figure(classed)
    if isinstance(refused, InputError):
        told += f" Left out besides, their unit or medium cannot be used: {counted(len(refused.problems), 'sample')}."
    h3.metric("Samples above guideline", shown, help=told)
st_folium(m, height=600, use_container_width=True, returned_objects=[], key="ov_map")

if surface is not None:
    loo = surface.loo_text()
    st.caption(f"{surface.method.upper()} surface of {counted(surface.n_samples, 'sample position')}, "
               f"{surface.grid.cell_m:g} m cells, blank beyond {surface.max_distance_m:g} m: an "
               f"interpolation, an estimate between samples. {loo[:1].upper() + loo[1:]}. "
               + "; ".join(surface.notes) + ".")
    st.download_button("Surface (Cloud-Optimized GeoTIFF)", key="ov_cog", mime="image/tiff",
                       file_name=f"hgwatch_{medium}_{surface.method}.tif", on_click="ignore",
                       data=partial(surface_bytes, surface, medium=medium, guidelines=guidelines))

st.subheader("People downstream of a site")
if down is None or not down.reaches:
    st.write("No mercury-using site or tailings lies within "
             f"{cfg.downstream['entry_distance_m']:g} m of a river line.")
else:
    chosen = st.selectbox("Site or tailings", [r.source_id for r in down.reaches], key="ov_source")
    table = down.people[down.people["source_id"] == chosen]
    st.write(f"{int(down.people_by_source().get(chosen, 0)):,} people in {counted(len(table), 'settlement')} "
             f"within {buffer_m:g} m of the {reach_m / 1000:g} km downstream of {chrome.plain(chosen)}.")
    st.dataframe(table[["name", "area_id", "population", "along_river_m",
                        "distance_to_river_m"]].round(1), hide_index=True)

st.subheader("Where to sample next: monitoring gaps")
by_site, by_reach = svc.gaps(filters, date.today(), reach_m, buffer_m)
if by_site is not None:
    st.caption(f"Mercury-using sites with no {', '.join(cfg.gaps['media'])} sample within "
               f"{cfg.gaps['max_distance_m'] / 1000:g} km taken in the last "
               f"{cfg.gaps['max_age_years']:g} years, ranked by estimated mercury use "
               "(kg/yr, central with range), then people downstream.")
    st.dataframe(by_site.round(1), hide_index=True)
if by_reach is not None:
    st.caption("Downstream reaches with no such sample within "
               f"{cfg.gaps['max_distance_m'] / 1000:g} km of the river, ranked by people "
               "downstream.")
    st.dataframe(by_reach.round(1), hide_index=True)

if classed is not None:
    st.subheader("Samples against guideline values")
    st.dataframe(pd.crosstab(classed["medium"], classed["hg_class"]))
    st.dataframe(guideline_table(guidelines), hide_index=True)
    st.caption(f"Near: from {class_settings.near_fraction:g} x the guideline; several times "
               f"above: from {class_settings.several_times:g} x (assumptions). A value below "
               "the detection limit is shown as '<limit' and classed by what that limit proves.")
