"""Contamination overlays page: measured surfaces, sample classes, downstream reach and people,
mercury pressure (an estimate) and the monitoring-gap list. Wiring only: the numbers come from
services.contamination and services.exposure.
"""
from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo.errors import HgWatchError, InputError
from render.map import mapview
from render.map import overlays as overlay_map
from services import exposure as ex
from services.contamination import GUIDELINE_NOTE, classed_samples, medium_surface, write_surface
from settings.exposure import load_exposure
from settings.guidelines import load_guidelines
from ui import sidebar as chrome

SURFACE, PRESSURE, NONE = "Measured mercury (interpolated)", "Mercury pressure (estimate)", "None"


@st.cache_resource(show_spinner="Classing the samples...")
def _classed(key: tuple[object, ...], _samples):
    guidelines, settings = load_guidelines()
    try:
        return classed_samples(_samples, guidelines, settings, source="samples layer")
    except InputError as exc:
        return exc


@st.cache_resource(show_spinner="Interpolating...")
def _surface(key: tuple[object, ...], medium: str, method: str, cell_m: float,
             max_distance_m: float, _classed):
    try:
        return medium_surface(_classed, medium=medium, exposure=load_exposure(), method=method,
                              cell_m=cell_m, max_distance_m=max_distance_m)
    except HgWatchError as exc:
        return exc


@st.cache_resource(show_spinner="Tracing downstream...")
def _downstream(key: tuple[object, ...], reach_m: float, buffer_m: float, _frames):
    return ex.downstream(_frames, load_exposure(), reach_m=reach_m, buffer_m=buffer_m)


@st.cache_resource(show_spinner="Spreading estimated mercury use...")
def _pressure(key: tuple[object, ...], kernel_m: float, _sites):
    return ex.pressure(_sites, load_exposure(), kernel_width_m=kernel_m)


def _cog_bytes(surface, medium: str) -> bytes:
    guidelines, _ = load_guidelines()
    with tempfile.TemporaryDirectory() as tmp:
        path = write_surface(surface, Path(tmp) / "surface.tif", medium=medium,
                             guidelines=guidelines)
        return path.read_bytes()


try:
    view = chrome.current()
except KeyError:  # page opened by its own URL before app.py ran: build the shared sidebar
    view = chrome.sidebar()
cfg = load_exposure()
guidelines, class_settings = load_guidelines()
st.title("Contamination overlays and exposure")
st.caption(GUIDELINE_NOTE + " Reach length, settlement distance, kernel width and gap "
           "thresholds are assumptions of this product (config/exposure.toml), not law.")

samples = view.frames.get("samples")
sites = view.frames.get("mining_sites")
classed = None
if samples is not None and len(samples):
    classed = _classed(view.key, samples)
    if isinstance(classed, InputError):
        st.error("Some samples have units that cannot be used; fix them and import again.")
        st.code(str(classed), language=None)
        classed = None

c1, c2, c3, c4 = st.columns(4)
overlay = c1.radio("Overlay", (SURFACE, PRESSURE, NONE), key="ov_overlay")
media = sorted(set(classed["medium"])) if classed is not None else []
medium = c2.selectbox("Medium", media or ["water"], key="ov_medium", disabled=not media,
                      index=media.index("water") if "water" in media else 0)
method = c2.radio("Method", ("idw", "kriging"), horizontal=True, key="ov_method",
                  help="IDW by default; ordinary kriging of ln(Hg) needs "
                       f"{cfg.surface['kriging_min_samples']} samples and adds an uncertainty map")
opacity = c3.slider("Opacity", 0.0, 1.0, 0.6, 0.05, key="ov_opacity")
max_distance = c3.number_input("Blank beyond (m from a sample)", 100.0, 50_000.0,
                               float(cfg.surface["max_distance_m"]), 100.0, key="ov_maxd")
cell_m = c4.number_input("Cell (m)", 20.0, 2000.0, float(cfg.surface["cell_m"]), 10.0,
                         key="ov_cell")
reach_m = c4.number_input("Downstream reach (m)", 1000.0, 200_000.0,
                          float(cfg.downstream["reach_m"]), 1000.0, key="ov_reach")
buffer_m = c4.number_input("Settlements within (m of the reach)", 50.0, 10_000.0,
                           float(cfg.downstream["settlement_buffer_m"]), 50.0, key="ov_buffer")

base = {k: v for k, v in view.frames.items() if k != "samples"}
m = mapview.build_map(base)
surface = None
if overlay == SURFACE and classed is not None and media:
    surface = _surface(view.key, medium, method, cell_m, max_distance, classed)
    if isinstance(surface, HgWatchError):
        st.warning(str(surface))
        surface = None
    elif surface.variance is not None and c2.toggle("Show the kriging uncertainty",
                                                     key="ov_uncertainty"):
        overlay_map.add_uncertainty(m, surface, medium=medium, opacity=opacity)
    else:
        overlay_map.add_surface(m, surface, medium=medium, guideline=guidelines.get(medium),
                                settings=class_settings, opacity=opacity)
elif overlay == PRESSURE and sites is not None and len(sites):
    pressure = _pressure(view.key, float(cfg.pressure["kernel_width_m"]), sites)
    if pressure is not None:
        overlay_map.add_pressure(m, pressure, opacity=opacity)
        st.info(pressure.label + f". Kernel width {pressure.kernel_width_m:g} m.")
if classed is not None:
    overlay_map.add_sample_classes(m, classed)
down = _downstream(view.key, reach_m, buffer_m, view.frames)
if down is not None:
    areas = view.frames.get("residential_areas")
    geoms = {} if areas is None else dict(zip(areas["area_id"].astype(str), areas.geometry))
    overlay_map.add_reaches(m, down.reaches, down.people, reach_m=reach_m, areas=geoms)

people, settlements = down.people_total() if down is not None else (0, 0)
h1, h2, h3 = st.columns(3)
h1.metric("People downstream", f"{people:,}",
          help=f"Known population of {settlements} settlements within {buffer_m:g} m of a "
               f"{reach_m / 1000:g} km reach downstream of a mercury-using site or tailings; "
               "each settlement counted once. Settlements upstream are never counted.")
h2.metric("Sources traced", f"{len(down.reaches) if down else 0:,}",
          help=f"within {cfg.downstream['entry_distance_m']:g} m of a river line "
               f"({cfg.downstream['entry_citation']})")
if classed is not None:
    h3.metric("Samples above guideline",
              f"{int(classed['hg_class'].isin(['above', 'several_times_above']).sum()):,}"
              f" of {len(classed):,}")
st_folium(m, height=600, use_container_width=True, returned_objects=[], key="ov_map")

if surface is not None:
    cv = surface.cross_validation
    st.caption(f"{surface.method.upper()} surface of {surface.n_samples} sample positions, "
               f"{surface.grid.cell_m:g} m cells, blank beyond {surface.max_distance_m:g} m. "
               f"Leave-one-out error: RMSE {cv.rmse:.3g} {surface.unit}, MAE {cv.mae:.3g} "
               f"{surface.unit} ({cv.n} samples could be predicted from others within the "
               f"distance). " + "; ".join(surface.notes) + ".")
    st.download_button("Surface (Cloud-Optimized GeoTIFF)", key="ov_cog", mime="image/tiff",
                       file_name=f"hgwatch_{medium}_{surface.method}.tif", on_click="ignore",
                       data=lambda: _cog_bytes(surface, medium))

st.subheader("People downstream of a site")
if down is None or not down.reaches:
    st.write("No mercury-using site or tailings lies within "
             f"{cfg.downstream['entry_distance_m']:g} m of a river line.")
else:
    ids = [r.source_id for r in down.reaches]
    chosen = st.selectbox("Site or tailings", ids, key="ov_source")
    table = down.people[down.people["source_id"] == chosen]
    by_source = down.people_by_source()
    st.write(f"{int(by_source.get(chosen, 0)):,} people in {len(table)} settlement(s) within "
             f"{buffer_m:g} m of the {reach_m / 1000:g} km downstream of {chosen}.")
    st.dataframe(table[["name", "area_id", "population", "along_river_m",
                        "distance_to_river_m"]].round(1), hide_index=True)

st.subheader("Where to sample next: monitoring gaps")
if sites is not None and len(sites):
    gap_table = ex.gaps(sites, samples, cfg, today=date.today(),
                        people=down.people_by_source() if down is not None else None)
    st.caption(f"Mercury-using sites with no {', '.join(cfg.gaps['media'])} sample within "
               f"{cfg.gaps['max_distance_m'] / 1000:g} km taken in the last "
               f"{cfg.gaps['max_age_years']:g} years, ranked by estimated mercury use "
               "(kg/yr, central with range), then people downstream.")
    st.dataframe(gap_table.round(1), hide_index=True)
if down is not None and down.reaches:
    st.caption("Downstream reaches with no such sample within "
               f"{cfg.gaps['max_distance_m'] / 1000:g} km of the river, ranked by people "
               "downstream.")
    st.dataframe(ex.river_gaps(down, samples, cfg, today=date.today()).round(1),
                 hide_index=True)

if classed is not None:
    st.subheader("Samples against guideline values")
    counts = pd.crosstab(classed["medium"], classed["hg_class"])
    st.dataframe(counts)
    rows = [{"medium": k, "guideline": "none set" if g.value is None else f"{g.value:g} {g.unit}",
             "predatory fish": "" if g.predatory_value is None else f"{g.predatory_value:g} {g.unit}",
             "kind": g.kind, "citation": g.citation or "set a national value"}
            for k, g in guidelines.items()]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.caption(f"Near: from {class_settings.near_fraction:g} x the guideline; several times "
               f"above: from {class_settings.several_times:g} x (assumptions). A value below "
               "the detection limit is shown as '<limit' and classed by what that limit proves.")
