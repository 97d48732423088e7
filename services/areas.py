"""Admin units by containment for sites, samples and tailings, the import's warnings, and roll-ups.

Wiring over ``geo.admin_units`` with the workspace's ``admin_areas`` layer and the catalogue's
levels (``layers.catalogue.ADMIN_LEVELS``). ``with_units`` adds ``admin_<level>`` (code) and
``admin_<level>_name`` columns and ``admin_basis`` (containment, or the free-text ``admin_area``
as a fallback). ``unit_warnings`` gives one warning per feature whose ``admin_area`` names a unit
other than the ones that contain it, naming both. The report's roll-up by region and district is
``render.report.tables`` (``geo.admin_units.report_levels``). No Streamlit here.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np

from geo.admin_units import attribute_conflicts, units_of
from geo.errors import Problem
from layers.catalogue import ADMIN_LEVELS, CATALOGUE
from layers.io.validate import ROW
from layers.store.base import Store

AREA_LAYER = "admin_areas"
UNIT_LAYERS = ("mining_sites", "samples", "tailings")  # the layers that get their units
ATTRIBUTE = "admin_area"


def stored_areas(store: Store) -> gpd.GeoDataFrame | None:
    """The workspace's ``admin_areas`` layer, or None when it has none."""
    if not store.exists() or AREA_LAYER not in {i.layer for i in store.layers()}:
        return None
    return store.read(AREA_LAYER)


def area_names(store: Store) -> list[str]:
    """Every ``admin_area`` value the store's layers hold (what a field account's areas are matched
    against: ``services.auth``), sorted; none for an empty store."""
    if not store.exists():
        return []
    found: set[str] = set()
    for info in store.layers():
        if ATTRIBUTE in store.columns(info.layer):
            values = store.read(info.layer, columns=[ATTRIBUTE])[ATTRIBUTE].dropna()
            found.update(str(v) for v in values.unique())
    return sorted(found)


def with_units(frame: gpd.GeoDataFrame, areas: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """``frame`` with its admin unit at every level (see the module); unchanged without areas."""
    if areas is None or not len(areas) or not len(frame):
        return frame
    units = units_of(frame, areas, ADMIN_LEVELS, attribute=ATTRIBUTE)
    return frame.drop(columns=[c for c in units.columns if c in frame.columns]).join(units)


def unit_warnings(frame: gpd.GeoDataFrame, layer: str, areas: gpd.GeoDataFrame | None,
                  file: str) -> list[Problem]:
    """One warning per feature of ``frame`` whose ``admin_area`` disagrees with its containing units."""
    if layer not in UNIT_LAYERS or areas is None or not len(areas) or ATTRIBUTE not in frame.columns:
        return []
    units = units_of(frame, areas, ADMIN_LEVELS, attribute=ATTRIBUTE)
    bad = attribute_conflicts(frame[ATTRIBUTE], units, ADMIN_LEVELS)
    id_field = CATALOGUE[layer].id_field
    return [Problem(file, _file_row(frame, r.row), ATTRIBUTE, r.attribute,
                    f"admin_area names a unit that does not contain the feature; by its location it lies"
                    f" in {r.contained} (the location is used; fix admin_area or the geometry)",
                    severity="warning", kind="admin_area",
                    feature_id=None if id_field not in frame else str(frame.at[r.row, id_field]))
            for r in bad.itertuples(index=False)]


def _file_row(frame: gpd.GeoDataFrame, label: object) -> int:
    """The record number in the file (1-based) of the feature labelled ``label``: the reader's ``_row``
    when the frame still holds it (a chunk), else its label + 1 (a whole read keeps the reader's 0-based
    labels, also when ``--repair`` left a record out), else its place in the frame + 1."""
    if ROW in frame.columns:
        return int(frame.at[label, ROW])
    if isinstance(label, (int, np.integer)):
        return int(label) + 1
    return int(frame.index.get_loc(label)) + 1
