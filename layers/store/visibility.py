"""Which stored columns of a layer a partner may read: the one home of that fact for every back end.

A partner reads exactly what the ``partner`` export profile lets out
(``layers.io.export.apply_profile``): the catalogue's declared, non-restricted fields, plus the
columns an analyst marked shareable, never a person-like name. ``partner_columns`` applies that
profile to a list of column names; the GeoPackage read selects those columns in Python
(``services.auth.read_layer``) and the PostGIS ``partner`` views (``layers.store.pgroles``) are
made from it, so both back ends let out the same columns.

A field coordinator sees every column in the rows of its admin areas (``AREA_FIELD``); in the
other rows, what a partner sees (``outside_areas``): the issue's "export ``internal`` for their
areas, ``partner`` otherwise".

A layer the catalogue marks wholly restricted (``LayerSpec.restricted``) is never seen by a
partner or a field coordinator (``wholly_restricted``) and has no partner view.
"""
from __future__ import annotations

from collections.abc import Collection

import geopandas as gpd
import pandas as pd

from layers.catalogue import spec_for
from layers.io.export import apply_profile

AREA_FIELD = "admin_area"  # the column that names a row's admin area (a field coordinator's areas)


def wholly_restricted(layer: str) -> bool:
    """True when the catalogue marks layer type ``layer`` restricted as a whole (only roles that
    see every restricted field, analyst and admin, see it)."""
    return spec_for(layer).restricted


def partner_columns(layer: str, columns: Collection[str], shareable: Collection[str] = ()) -> list[str]:
    """The names among ``columns`` (attribute columns of ``layer``, in their order) that the
    ``partner`` profile lets out, given the columns marked ``shareable``; none for a wholly
    restricted layer."""
    if wholly_restricted(layer):
        return []
    empty = gpd.GeoDataFrame({str(c): pd.Series([], dtype=object) for c in columns}, geometry=[], crs=4326)
    kept = apply_profile(empty, spec_for(layer), "partner", shareable)
    return [str(c) for c in kept.columns if c != kept.geometry.name]


def outside_areas(layer: str, columns: Collection[str], shareable: Collection[str] = ()) -> list[str]:
    """The names among ``columns`` that a field coordinator sees only in its own admin areas:
    every column the partner profile does not let out."""
    seen = set(partner_columns(layer, columns, shareable))
    return [str(c) for c in columns if c not in seen]
