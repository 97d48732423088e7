"""Map page: headline figures, the map of the filtered view, and downloads for partners."""
from __future__ import annotations

from datetime import date
from functools import partial

import streamlit as st
from streamlit_folium import st_folium

from geo.errors import HgWatchError
from geo.words import counted
from render.map.assets import installed
from render.map.standalone import standalone_html
from services.auth import LOCAL, profiles_for
from services.exports import FORMATS
from services.rollups import MEASURES, overlay, service_rollup
from ui import sidebar as chrome

view = chrome.current()
st.title("HgWatch: mercury in small-scale gold mining")
if view.problem:
    st.error("The rule file could not be used, so no violations are shown.")
    st.code(view.problem, language=None)
if not view.infos:
    st.warning(f"The workspace {chrome.plain(view.service.store.path)} holds no layers yet. "
               f"{chrome.import_on_page(view.service, 'data')}, or run `make demo` for the demo workspace.")
chrome.headline_row(view)
# a national workspace without tailings, zones, licences or receptors gave seven notes, one warning box each,
# that pushed the map below the fold: more than two are folded under one line naming their rules
FOLD_NOTES = 2
if len(view.notes) > FOLD_NOTES:
    rules = list(dict.fromkeys(n.split(":", 1)[0] for n in view.notes))
    with st.expander(f"{len(view.notes)} notes: {counted(len(rules), 'rule')} did not run, or ran without a layer or"
                     " field they need; open to see which", icon=":material/warning:"):
        st.markdown("\n".join(f"- {chrome.plain(note)}" for note in view.notes))
        st.caption(chrome.import_on_page(view.service, "the missing layers or fields") + ", or leave these rules"
                   " out under 'Rules to check' in the sidebar.")
else:
    for note in view.notes:
        st.warning(chrome.plain(note))
if not installed():
    st.error("The offline Leaflet files are missing from static/vendor; run `make install` "
             "(scripts/install_assets.py). The map cannot draw without them.")

try:
    with st.spinner("Drawing the map..."):
        m = view.service.map(view.query)  # framed on what the filters keep
except HgWatchError as exc:  # a bad HGWATCH_TILES_ABOVE / HGWATCH_BASEMAP value
    st.error(chrome.plain(exc))
    st.stop()
drawn = st.container()  # the map comes first, its shading choice under it: on a laptop screen the map stays in sight
shade = st.selectbox("Shade admin units by", ["none", "sites", "open_cases"], key="map_units",
                     format_func=lambda k: "nothing" if k == "none" else MEASURES[k].label + " (sites in view)")
if shade != "none":
    try:
        units = service_rollup(view.service, today=date.today(), filters=view.filters)
    except HgWatchError as exc:
        st.warning(chrome.plain(exc))
    else:
        m = overlay(m, units, shade)
        for note in units.notes:
            st.caption(chrome.plain(note))
with drawn:
    st_folium(m, height=620, use_container_width=True, returned_objects=[], key="main_map")
st.caption("Basemaps: OpenStreetMap and Esri World Imagery when online. With no internet the "
           "tiles stay blank, a note appears on the map, and every layer still draws; choose "
           "'No basemap (offline)' in the layer switcher for a plain background. Lines and "
           "shapes are simplified to one screen pixel at this zoom and rounded to 6 decimals. "
           "A layer with more features than the vector-tile threshold (HGWATCH_TILES_ABOVE) "
           "arrives as vector tiles served by this app: every feature is drawn at every zoom, "
           "and a click on one opens its popup.")

st.subheader("Downloads")
offered = profiles_for(view.service.identity or LOCAL)  # a partner is never offered internal
profile = st.radio("Export profile", offered, index=offered.index("partner"), horizontal=True, key="dl_profile",
                   help="internal: every field. partner and public drop restricted fields "
                   "(people, contacts); public also drops free text. Every file names its "
                   "profile and the source and licence of each layer.")
svc, query, has_sites = view.service, view.query, "mining_sites" in view.frames
cols = st.columns(len(FORMATS) + 1)
for col, (fmt, (suffix, mime)) in zip(cols, FORMATS.items()):
    if has_sites:
        col.download_button(
            f"Sites in view ({fmt})", key=f"dl_sites_{fmt}", mime=mime, on_click="ignore",
            file_name=f"hgwatch_sites_{profile}{suffix}",
            data=partial(svc.layer_file, query.filters, "mining_sites", fmt, profile))
    if len(view.violations):
        col.download_button(
            f"Violations ({fmt})", key=f"dl_viol_{fmt}", mime=mime, on_click="ignore",
            file_name=f"hgwatch_violations_{profile}{suffix}",
            data=partial(svc.violations_file, query, fmt, profile))
cols[-1].download_button(
    "Map (stand-alone HTML)", key="dl_map_html", mime="text/html", on_click="ignore",
    file_name="hgwatch_map.html", data=lambda: standalone_html(svc.map(query), title="HgWatch map"))
st.caption("The stand-alone map is one self-contained file (Leaflet inlined) for a laptop in "
           "the field; it shows no restricted fields.")
