"""Attribute and bounding-box filters shared by the CLI export and the dashboard."""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from geo.errors import InputError
from layers.catalogue import LayerSpec


def parse_filters(items: list[str], spec: LayerSpec) -> dict[str, list[str]]:
    """Parse ``FIELD=V1,V2`` strings; the field must be declared by the layer."""
    out: dict[str, list[str]] = {}
    for item in items:
        field, sep, values = item.partition("=")
        field = field.strip()
        if not sep or not field:
            raise InputError(f"--filter {item!r}: expected FIELD=VALUE[,VALUE...], e.g. status=active")
        if spec.field(field) is None:
            raise InputError(f"--filter {item!r}: {spec.name} has no field {field!r}; expected one "
                             f"of {list(spec.field_names)}")
        out[field] = [v.strip() for v in values.split(",")]
    return out


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """Parse 'W,S,E,N' in degrees."""
    try:
        w, s, e, n = (float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--bbox {text!r}: expected four numbers W,S,E,N in degrees") from None
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s < n <= 90):
        raise InputError(f"--bbox {text!r}: expected -180<=W,E<=180 and -90<=S<N<=90")
    return w, s, e, n


def apply_filters(gdf: gpd.GeoDataFrame, filters: dict[str, list[str]], *,
                  bbox: tuple[float, float, float, float] | None = None) -> gpd.GeoDataFrame:
    """Rows whose fields match every filter (any listed value), intersecting ``bbox``.

    Values compare as text, case-insensitively, so ``uses_mercury=true`` matches a boolean.
    A ``bbox`` whose west edge is east of its east edge crosses the antimeridian.
    """
    keep = pd.Series(True, index=gdf.index)
    for field, values in filters.items():
        if field not in gdf.columns:
            keep &= False
            continue
        wanted = {v.lower() for v in values}
        keep &= gdf[field].map(lambda v: not pd.isna(v) and str(v).lower() in wanted).astype(bool)
    if bbox is not None:
        w, s, e, n = bbox
        boxes = [shapely.box(w, s, e, n)] if w <= e else [shapely.box(w, s, 180, n),
                                                         shapely.box(-180, s, e, n)]
        hit = pd.Series(False, index=gdf.index)
        for box in boxes:
            hit |= gdf.geometry.intersects(box)
        keep &= hit
    return gdf[keep]
