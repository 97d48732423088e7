"""Download files for partners: the filtered view and the violations in GeoJSON (RFC 7946),
GeoPackage, CSV and KML through ``layers.io.export`` (profiles internal / partner / public), and the
stand-alone HTML map. No Streamlit here; the page passes these as lazy download callbacks.
"""
from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import pandas as pd
import shapely

from layers.catalogue import CATALOGUE
from layers.io import export
from layers.store.workspace import LayerInfo
from render.map.symbology import VIOLATION_SPEC

FORMATS: dict[str, tuple[str, str]] = {  # fmt -> (file suffix, MIME type)
    "geojson": (".geojson", "application/geo+json"),
    "gpkg": (".gpkg", "application/geopackage+sqlite3"),
    "csv": (".csv", "text/csv"),
    "kml": (".kml", "application/vnd.google-earth.kml+xml"),
}


def provenance(infos: Iterable[LayerInfo], layers: Iterable[str]) -> list[export.Provenance]:
    """Source and licence of each of ``layers``, from the workspace's provenance table."""
    wanted = set(layers)
    return [export.Provenance(i.layer, i.source, i.licence, i.synthetic)
            for i in infos if i.layer in wanted]


def layer_file(gdf: gpd.GeoDataFrame, layer: str, fmt: str, *, profile: str,
               infos: Iterable[LayerInfo]) -> bytes:
    """One catalogue layer of the view as a ``fmt`` file made under ``profile``."""
    return export.to_bytes(gdf, fmt, spec=CATALOGUE[layer], profile=profile,
                           provenance=provenance(infos, [layer]))


def violations_frame(violations: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Violations with one geometry (the flagged feature) and the line to the nearest
    feature as WKT text in ``nearest_line_wkt``, so every format can hold it."""
    out = violations.copy()
    if "nearest_line" in out:
        lines = out["nearest_line"]
        out["nearest_line_wkt"] = [None if g is None or (isinstance(g, float) and pd.isna(g))
                                   else shapely.to_wkt(g, rounding_precision=7) for g in lines]
        out = out.drop(columns="nearest_line")
    return gpd.GeoDataFrame(out, geometry="geometry", crs=4326)


def violations_file(violations: gpd.GeoDataFrame, fmt: str, *, profile: str,
                    infos: Iterable[LayerInfo], layers: Iterable[str]) -> bytes:
    """The violations as a ``fmt`` file; provenance names every layer the rules read."""
    return export.to_bytes(violations_frame(violations), fmt, spec=VIOLATION_SPEC,
                           profile=profile, provenance=provenance(infos, layers))
