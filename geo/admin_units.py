"""Administrative units of features by containment, the free-text attribute as a fallback.

Each feature gets, at every level of the ``admin_areas`` layer (country, region, province,
district, commune: the order is the caller's), the unit that contains it: its ``area_code`` in
``admin_<level>`` and its name in ``admin_<level>_name``. Containment is exact with geodesic
edges and the boundary inside (``geo.distance.points_inside``); a line or polygon feature is
placed by a point on its surface (shapely ``point_on_surface`` in lon/lat, always inside it). A
point on the boundary between two units of one level (exactly on it, to 1 micrometre) goes to
the unit with the smaller ``area_code``, so the answer never depends on row order.

Where no unit of any level contains a feature, its free-text attribute (``admin_area``) is the
fallback: matched, ignoring case and surrounding spaces, to a unit's name or code, and that unit
and its parents (``parent_code``) are filled in. An attribute that names no unit is left as text.

``attribute_conflicts`` lists the features whose attribute names a unit other than the ones that
contain them, naming both, so that an import can warn.
"""
from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.distance import PolygonSet, points_inside

__all__ = ["attribute_conflicts", "report_levels", "unit_columns", "unit_labels", "units_of"]

_TOP = ("region", "province")  # the level a NAP reports by first (Kyrgyzstan: region; Cambodia: province)
_SUB = ("district", "commune")  # and the level within it


def unit_columns(levels: Sequence[str]) -> list[str]:
    """The columns ``units_of`` adds, in order: ``admin_<level>``, ``admin_<level>_name`` per level."""
    return [c for lev in levels for c in (f"admin_{lev}", f"admin_{lev}_name")]


def _key(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), "").astype(str).str.strip().str.casefold()


def units_of(features: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, levels: Sequence[str], *,
             attribute: str = "admin_area") -> pd.DataFrame:
    """The admin unit of every feature at every level (see the module), aligned with ``features``.

    Parameters
    ----------
    features : any layer with a CRS; rows without a geometry get only the fallback.
    areas : the ``admin_areas`` layer (``area_code``, ``name``, ``level``, ``parent_code``), any CRS.
    levels : the levels, top first (e.g. ``layers.catalogue.ADMIN_LEVELS``).
    attribute : the free-text field used where no unit contains a feature.

    Returns
    -------
    DataFrame with ``unit_columns(levels)`` and ``admin_basis`` ("containment", "attribute" or
    None), index = ``features.index``.
    """
    out = pd.DataFrame(None, index=features.index, columns=[*unit_columns(levels), "admin_basis"], dtype=object)
    if not len(features):
        return out
    areas = areas.to_crs(4326).reset_index(drop=True)
    geoms = features.to_crs(4326).geometry.to_numpy() if features.crs is not None else features.geometry.to_numpy()
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    points = np.full(len(geoms), None, dtype=object)
    points[ok] = np.where(shapely.get_type_id(geoms[ok]) == 0, geoms[ok], shapely.point_on_surface(geoms[ok]))
    codes = areas["area_code"].astype(str).to_numpy()
    names = areas["name"].to_numpy(dtype=object) if "name" in areas else np.full(len(areas), None, object)
    found = points_inside(points, PolygonSet.of(areas.geometry.to_numpy()))
    found = found.assign(code=codes[found["polygon"].to_numpy()],
                         level=areas["level"].to_numpy(dtype=object)[found["polygon"].to_numpy()])
    found = found.sort_values(["point", "level", "code"]).drop_duplicates(["point", "level"])
    rows = features.index.to_numpy()
    for lev in levels:
        hit = found[found["level"] == lev]
        at = rows[hit["point"].to_numpy()]
        out.loc[at, f"admin_{lev}"] = hit["code"].to_numpy()
        out.loc[at, f"admin_{lev}_name"] = names[hit["polygon"].to_numpy()]
    contained = out[[f"admin_{lev}" for lev in levels]].notna().any(axis=1)
    out.loc[contained, "admin_basis"] = "containment"
    if attribute in features.columns:
        _fallback(out, features[attribute], ~contained, areas, levels)
    return out


def _fallback(out: pd.DataFrame, attr: pd.Series, missing: pd.Series, areas: gpd.GeoDataFrame,
              levels: Sequence[str]) -> None:
    """Fill the units of ``missing`` rows from the attribute: the named unit and its parents."""
    by_key: dict[str, int] = {}
    for n, (code, name) in enumerate(zip(areas["area_code"].astype(str), _key(areas.get("name", areas["area_code"])),
                                         strict=True)):
        by_key.setdefault(code.strip().casefold(), n)
        by_key.setdefault(name, n)
    parents = areas.get("parent_code", pd.Series(None, index=areas.index, dtype=object))
    parent = dict(zip(areas["area_code"].astype(str), parents, strict=True))
    position = {c: i for i, c in enumerate(areas["area_code"].astype(str))}
    for row, key in _key(attr)[missing].items():
        i: int | None = by_key.get(key) if key else None
        seen: set[str] = set()
        while i is not None:
            code = str(areas["area_code"].iloc[i])
            lev = areas["level"].iloc[i]
            if code in seen:
                break
            seen.add(code)
            if lev in levels:
                out.loc[row, f"admin_{lev}"] = code
                out.loc[row, f"admin_{lev}_name"] = areas["name"].iloc[i] if "name" in areas else None
                out.loc[row, "admin_basis"] = "attribute"
            up = parent.get(code)
            i = position.get(str(up)) if up is not None and not pd.isna(up) else None


def attribute_conflicts(attr: pd.Series, units: pd.DataFrame, levels: Sequence[str]) -> pd.DataFrame:
    """Rows whose free-text attribute names none of the units that contain them.

    Returns ``row`` (index label), ``attribute`` (the text) and ``contained`` (the containing
    units as "name (code)", top level first, joined with " / "). Rows with an empty attribute or
    no containing unit are never conflicts.
    """
    key = _key(attr.reindex(units.index))
    contained = units["admin_basis"].eq("containment")
    rows = []
    for row in units.index[contained & key.ne("")]:
        held = [(units.at[row, f"admin_{lev}"], units.at[row, f"admin_{lev}_name"]) for lev in levels
                if isinstance(units.at[row, f"admin_{lev}"], str)]
        known = {str(c).strip().casefold() for c, _ in held} | {str(n).strip().casefold() for _, n in held if n}
        if key[row] not in known:
            rows.append({"row": row, "attribute": attr[row],
                         "contained": " / ".join(f"{n} ({c})" if n else str(c) for c, n in held)})
    return pd.DataFrame(rows, columns=["row", "attribute", "contained"])


def report_levels(frame: pd.DataFrame) -> tuple[str, str] | None:
    """The (top, sub) levels a NAP table rolls up by, among those ``frame``'s unit columns fill:
    region or province, then district or commune; None when either is missing."""
    present = {c[len("admin_"):] for c in frame.columns
               if c.startswith("admin_") and not c.endswith(("_name", "_basis")) and frame[c].notna().any()}
    top = next((lev for lev in _TOP if lev in present), None)
    sub = next((lev for lev in _SUB if lev in present), None)
    return (top, sub) if top and sub else None


def unit_labels(frame: pd.DataFrame, levels: Sequence[str]) -> pd.DataFrame:
    """Per row, the unit's name (its code when unnamed) at each of ``levels``; "(not located)" when none."""
    out = pd.DataFrame(index=frame.index)
    for lev in levels:
        none = pd.Series(None, index=frame.index, dtype=object)
        name, code = frame.get(f"admin_{lev}_name", none), frame.get(f"admin_{lev}", none)
        out[lev] = name.where(name.notna(), code).where(lambda s: s.notna(), "(not located)")
    return out
