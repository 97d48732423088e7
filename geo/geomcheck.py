"""Geometry checks on lon/lat layers: nulls, validity, type, coordinate range, swapped axes.

All functions take numpy arrays of shapely geometries in lon/lat degrees and return one
entry per geometry, so that the caller can report every problem row by row.
"""
from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray


def geometry_kinds(geoms: NDArray[np.object_]) -> NDArray[np.str_]:
    """Geometry type names ('Point', 'Polygon', ...); '' for None."""
    types = shapely.get_type_id(geoms)
    names = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint",
                      "MultiLineString", "MultiPolygon", "GeometryCollection"])
    return np.where(types < 0, "", names[np.clip(types, 0, 7)])


def missing_mask(geoms: NDArray[np.object_]) -> NDArray[np.bool_]:
    """True where a geometry is None or empty."""
    return shapely.is_missing(geoms) | shapely.is_empty(geoms)


def invalid_reasons(geoms: NDArray[np.object_]) -> list[str | None]:
    """GEOS's reason for each invalid geometry (e.g. 'Self-intersection[...]'), else None."""
    valid = shapely.is_valid(geoms) | missing_mask(geoms)
    reasons = shapely.is_valid_reason(geoms)
    return [None if ok else str(r) for ok, r in zip(valid, reasons)]


def coordinate_bounds(geoms: NDArray[np.object_]) -> NDArray[np.float64]:
    """Per geometry (minx, miny, maxx, maxy) in degrees; NaN for missing geometries."""
    return np.asarray(shapely.bounds(geoms), dtype=float)


def out_of_range_mask(geoms: NDArray[np.object_]) -> NDArray[np.bool_]:
    """True where a coordinate lies outside longitude [-180, 180] or latitude [-90, 90]."""
    b = coordinate_bounds(geoms)
    with np.errstate(invalid="ignore"):
        return (b[:, 0] < -180) | (b[:, 2] > 180) | (b[:, 1] < -90) | (b[:, 3] > 90)


def swapped_mask(geoms: NDArray[np.object_]) -> NDArray[np.bool_]:
    """True where the geometry is out of range as (lon, lat) but in range as (lat, lon).

    That is the signature of latitude and longitude written in each other's place.
    """
    b = coordinate_bounds(geoms)
    with np.errstate(invalid="ignore"):
        lat_bad = (b[:, 1] < -90) | (b[:, 3] > 90)
        fits_swapped = (b[:, 0] >= -90) & (b[:, 2] <= 90) & (b[:, 1] >= -180) & (b[:, 3] <= 180)
    return lat_bad & fits_swapped


def fits_lonlat(bounds: tuple[float, float, float, float]) -> bool:
    """True when a layer's total bounds (minx, miny, maxx, maxy) can be lon/lat degrees."""
    minx, miny, maxx, maxy = bounds
    return bool(-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90)


def repair(geoms: NDArray[np.object_], wanted_types: tuple[str, ...]) -> NDArray[np.object_]:
    """``shapely.make_valid`` keeping only the parts whose dimension the layer accepts.

    A bow-tie polygon becomes a MultiPolygon; stray lines or points produced by the repair of
    a polygon layer are dropped so that the repaired geometry keeps the layer's type.
    """
    fixed = shapely.make_valid(geoms, method="structure", keep_collapsed=False)
    dims = {"Point": 0, "MultiPoint": 0, "LineString": 1, "MultiLineString": 1,
            "Polygon": 2, "MultiPolygon": 2}
    keep = {dims[t] for t in wanted_types if t in dims}
    out = []
    for g in fixed:
        if g is not None and g.geom_type == "GeometryCollection":
            parts = [p for p in shapely.get_parts(g) if shapely.get_dimensions(p) in keep]
            g = shapely.union_all(parts) if parts else shapely.Point()
        out.append(g)
    return np.array(out, dtype=object)
