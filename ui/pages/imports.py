"""Import data: upload a file, see every validation problem in file order (a table per severity), add it to the
workspace."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from geo.errors import HgWatchError, InputError, Problem
from geo.words import counted
from layers.catalogue import CATALOGUE
from layers.io.readers import Loaded
from layers.store.base import store_name
from services.arguments import set_values
from services.imports import appended_provenance, load_upload, set_source, upload_layers
from services.problem_tables import by_severity
from ui import sidebar as chrome

view = chrome.current()
st.title("Import data")
# what the readers accept (layers.io.sniff.KINDS), and the server's upload limit (Streamlit's
# server.maxUploadSize, 200 MB unless .streamlit/config.toml sets it): the intro once omitted zipped
# Shapefiles, GeoParquet, KMZ and the limit
st.write("Upload a layer: GeoJSON (.geojson, .json), GeoPackage (.gpkg), an ESRI Shapefile zipped with its .shx "
         "and .dbf (.zip), GeoParquet (.parquet, .geoparquet), KML or KMZ (.kml, .kmz), CSV (.csv, .txt) or Excel "
         f"(.xlsx) with coordinates; at most {int(st.get_option('server.maxUploadSize')):,} MB a file (a larger one: "
         "`python cli.py import`). Every "
         "problem in the file is listed at once, by row, field and value, so it can be fixed "
         "in one pass. Nothing is stored until the file is clean and you press 'Add'.")
upload = st.file_uploader("Layer file", key="imp_file")
auto = "(from the file name)"
layer = st.selectbox("Layer type", [auto, *CATALOGUE], key="imp_layer",
                     format_func=lambda k: k if k == auto else f"{CATALOGUE[k].title} ({k})")
crs = st.text_input("CRS, only if the file declares none (e.g. EPSG:32630)", key="imp_crs")
repair = st.checkbox("Repair invalid geometries with make_valid (--repair); each repair is listed",
                     key="imp_repair")
filled = st.text_area("Fill fields the file lacks (--set), one FIELD=VALUE a line, e.g. kind=river. They are "
                      "recorded as set at import, assumed and not observed", key="imp_set", height=80)
inside = upload_layers(upload.name, upload.getvalue()) if upload is not None else []
part = st.selectbox("Layer or sheet in the file", inside, key="imp_part") if inside else None


def _show(problems: list[Problem], *, errors: bool) -> None:
    """A table per severity, rows in file order, headed by the count the command line prints ("2 errors")."""
    for heading, table in by_severity(problems):
        with st.expander(heading, expanded=errors):
            st.dataframe(table, hide_index=True, width="stretch", placeholder="")


loaded: Loaded | None = None
if upload is not None:
    name = Path(upload.name).name or "upload"
    try:
        given = set_values(line.strip() for line in filled.splitlines() if line.strip())
        loaded = load_upload(name, upload.getvalue(), None if layer == auto else layer,
                             crs=crs.strip() or None, source_layer=part,
                             admin_areas=view.service.frames().get("admin_areas"),
                             repair=repair, set_values=given)
    except InputError as exc:
        errors = [p for p in exc.problems if p.severity == "error"]
        st.error(f"{chrome.plain(name)} was not imported: {counted(len(errors), 'problem')} to fix."
                 if exc.problems else f"{chrome.plain(name)} was not imported.")
        if not exc.problems:
            st.code(exc.message, language=None)
        _show(exc.problems, errors=True)
    except HgWatchError as exc:
        st.error(f"{chrome.plain(name)} was not imported.")
        st.code(str(exc), language=None)
if upload is not None and loaded is not None:
    spec = CATALOGUE[loaded.layer]
    st.success(f"{chrome.plain(name)}: {len(loaded.gdf):,} {spec.title.lower()} are valid.")
    if loaded.warnings:
        st.warning(f"{counted(len(loaded.warnings), 'warning')}; the layer can still be added.")
        _show(loaded.warnings, errors=False)
    st.dataframe(loaded.gdf.drop(columns="geometry").head(20), hide_index=True)
    if st.session_state.get("imp_for") != name:  # another file: its own provenance, never the last file's
        st.session_state.update(imp_for=name, imp_source=name, imp_licence="unknown", imp_accuracy=0.0,
                                imp_accuracy_note="")
    source = st.text_input("Source (who made the data, when)", key="imp_source")
    licence = st.text_input("Licence", key="imp_licence")
    accuracy = st.number_input("Expected position error (m), 0 if unknown", min_value=0.0, key="imp_accuracy")
    accuracy_note = st.text_input("How the error was judged (e.g. GSHHG: hundreds of metres)",
                                  key="imp_accuracy_note")
    held = next((i for i in view.infos if i.layer == loaded.layer), None)
    append = held is not None and st.checkbox(
        f"Add these rows to the {held.rows:,} stored {loaded.layer} (--append; rivers, then lakes) instead of "
        "replacing them; the layer keeps both sources and the larger expected error", key="imp_append")
    meta: dict[str, object] = {"source": set_source(source, given, loaded.filled), "licence": licence,
                               "accuracy_m": accuracy or None, "accuracy_note": accuracy_note}
    consent = True
    if not append:
        change = view.service.replacement(loaded.layer, len(loaded.gdf))
        if change.needs_replace_all:  # most of the stored layer would go: ask, naming how much
            st.warning(change.message(name).replace("Pass --replace-all to replace them.", "").strip())
            consent = st.checkbox(f"Yes, replace all {change.stored:,} stored {loaded.layer}: "
                                  f"{counted(change.lost, 'row')} will go", key="imp_replace_all")
    else:
        meta = appended_provenance(held, source=set_source(source, given, loaded.filled), licence=licence,
                                   accuracy_m=accuracy or None, accuracy_note=accuracy_note)
    verb = "adds to" if append else "replaces"
    if st.button(f"Add to workspace ({verb} {loaded.layer})", key="imp_add", disabled=not consent):
        try:
            view.service.add_layers([loaded], append=append, replace_all=consent and not append, **meta)
            st.success(f"Added {counted(len(loaded.gdf), 'feature')} to {chrome.plain(store_name(view.service.store))}."
                       " The map and rules use them from now on.")
        except HgWatchError as exc:
            st.error(f"{chrome.plain(name)} was not added.")
            st.code(str(exc), language=None)
