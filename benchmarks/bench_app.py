"""A minimal Streamlit page for benchmarks/bench_map.py: one status filter and one map.

BENCH_WORKSPACE names the workspace; BENCH_VARIANT is "hgwatch" (render.map.mapview.build_map,
every layer as rows), "tiles" (the same with vector tiles above the dashboard's threshold, built
into static/tiles/BENCH_TILES, served at /app/static/tiles/BENCH_TILES) or "naive" (a
folium.GeoJson of every raw layer, the same local Leaflet files, no simplification, no rounding,
every column).
"""
from __future__ import annotations

import os
import pickle

import folium
import geopandas as gpd
import streamlit as st
from streamlit_folium import st_folium

from layers.store.workspace import Workspace
from render.map import assets
from render.map.mapview import MapOptions, build_map
from render.map.tiles import TileStore
from services.tiles import TILES_DIR, TILES_URL, tiles_above

VARIANT = os.environ.get("BENCH_VARIANT", "hgwatch")


@st.cache_resource
def frames(path: str) -> dict[str, gpd.GeoDataFrame]:
    ws = Workspace(path)
    return {i.layer: ws.read(i.layer) for i in ws.layers()}


def naive(layers: dict[str, gpd.GeoDataFrame]) -> folium.Map:
    m = folium.Map(tiles="OpenStreetMap")
    m.default_js = assets.js_urls("leaflet")
    m.default_css = assets.css_urls("leaflet")
    for name, gdf in layers.items():
        folium.GeoJson(gdf.assign(**{c: gdf[c].astype(str) for c in gdf.columns
                                     if c != "geometry" and gdf[c].dtype.kind in "mMO"}),
                       name=name).add_to(m)
    b = gpd.GeoSeries(gpd.pd.concat([g.geometry for g in layers.values()]), crs=4326).total_bounds
    m.fit_bounds([[b[1], b[0]], [b[3], b[2]]])
    folium.LayerControl().add_to(m)
    return m


@st.cache_resource(max_entries=4)
def map_bytes(path: str, status: str) -> bytes:
    layers = dict(frames(path))
    if status != "all":
        sites = layers["mining_sites"]
        layers["mining_sites"] = sites[sites["status"].astype(str) == status]
    if VARIANT == "naive":
        return pickle.dumps(naive(layers))
    if VARIANT == "tiles":
        sub = os.environ.get("BENCH_TILES", "bench")
        store = TileStore(TILES_DIR / sub, f"{TILES_URL}/{sub}")
        return pickle.dumps(build_map(layers, options=MapOptions(tiles=store, tiles_above=tiles_above())))
    return pickle.dumps(build_map(layers))


def the_map(path: str, status: str) -> folium.Map:
    """A fresh map each run (st_folium rewrites ids while rendering), built once per filter."""
    return pickle.loads(map_bytes(path, status))


if os.environ.get("BENCH_RUNLOG"):
    with open(os.environ["BENCH_RUNLOG"], "a") as fh:
        fh.write("run\n")
status = st.radio("Status", ["all", "active"], horizontal=True, key="status")
st_folium(the_map(os.environ["BENCH_WORKSPACE"], status), height=620,
          use_container_width=True, returned_objects=[], key="bench_map")
