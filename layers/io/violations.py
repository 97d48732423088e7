"""Write a violations frame (``geo.rules.evaluate``) to GeoJSON, GeoPackage or CSV.

- ``.geojson``: RFC 7946 (no ``crs`` member, lon/lat with 7 decimals, about 1 cm); the geometry
  is the subject, and ``nearest_line`` (the shortest line to the nearest feature) is a WKT
  property, since a GeoJSON feature holds one geometry.
- ``.gpkg``: layer ``violations`` (subject geometry) and layer ``violations_nearest_line`` (the
  line geometry, one row per violation that has one, same attributes).
- ``.csv``: one row per violation, both geometries as WKT (``geometry``, ``nearest_line``).

Writes go to a temporary file renamed into place, so a failed write leaves no half file.
"""
from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from geo.errors import InputError
from geo.rules.violations import LINE_COLUMN
from layers.io.safefile import atomic_path, defuse_formula

FORMATS = (".geojson", ".gpkg", ".csv")
DECIMALS = 7
LAYER = "violations"
LINE_LAYER = "violations_nearest_line"


def write_violations(violations: gpd.GeoDataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``violations`` to ``path``; the format follows the extension (.geojson .gpkg .csv).

    Raises
    ------
    InputError
        The extension is not one of ``FORMATS``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"{path.name}: cannot write violations to {suffix or 'no extension'!r};"
                         f" expected one of {list(FORMATS)}")
    frame = _rounded(violations)
    with atomic_path(path) as tmp:
        if suffix == ".geojson":
            _geojson(frame, tmp)
        elif suffix == ".gpkg":
            _gpkg(frame, tmp)
        else:
            _csv(frame, tmp)
    return path


def _rounded(violations: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy in EPSG:4326 with both geometries rounded to ``DECIMALS`` decimal degrees."""
    out = violations.to_crs("EPSG:4326") if violations.crs is not None else violations.copy()
    grid = 10.0 ** -DECIMALS
    out[out.geometry.name] = shapely.set_precision(
        shapely.force_2d(out.geometry.to_numpy()), grid, mode="pointwise")
    if LINE_COLUMN in out:
        lines = gpd.GeoSeries(out[LINE_COLUMN]).to_numpy()
        out[LINE_COLUMN] = gpd.GeoSeries(shapely.set_precision(lines, grid, mode="pointwise"),
                                         index=out.index, crs="EPSG:4326")
    return out


def _line_wkt(frame: gpd.GeoDataFrame) -> pd.Series:
    if LINE_COLUMN not in frame:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)
    lines = gpd.GeoSeries(frame[LINE_COLUMN]).to_numpy()
    wkt = shapely.to_wkt(lines, rounding_precision=DECIMALS, trim=True)
    return pd.Series(wkt, index=frame.index, dtype=object)


def _geojson(frame: gpd.GeoDataFrame, path: Path) -> None:
    out = frame.drop(columns=[LINE_COLUMN], errors="ignore")
    out[LINE_COLUMN] = _line_wkt(frame)
    pyogrio.write_dataframe(out, path, driver="GeoJSON", layer=LAYER,
                            layer_options={"RFC7946": "YES", "WRITE_NAME": "NO",
                                           "COORDINATE_PRECISION": str(DECIMALS)})


def _gpkg(frame: gpd.GeoDataFrame, path: Path) -> None:
    attrs = frame.drop(columns=[LINE_COLUMN], errors="ignore")
    pyogrio.write_dataframe(attrs, path, driver="GPKG", layer=LAYER, geometry_type="Unknown")
    if LINE_COLUMN not in frame:
        return
    has_line = gpd.GeoSeries(frame[LINE_COLUMN]).notna().to_numpy()
    lines = gpd.GeoDataFrame(
        pd.DataFrame(attrs.drop(columns=attrs.geometry.name)[has_line]),
        geometry=gpd.GeoSeries(frame[LINE_COLUMN][has_line], crs="EPSG:4326"))
    pyogrio.write_dataframe(lines, path, driver="GPKG", layer=LINE_LAYER, append=True,
                            geometry_type="LineString")


def _csv(frame: gpd.GeoDataFrame, path: Path) -> None:
    df = pd.DataFrame(frame.drop(columns=[frame.geometry.name, LINE_COLUMN], errors="ignore"))
    for col in df.columns:
        if df[col].dtype == object or pd.api.types.is_string_dtype(df[col]):
            df[col] = df[col].map(defuse_formula)
    df["geometry"] = shapely.to_wkt(frame.geometry.to_numpy(), rounding_precision=DECIMALS,
                                    trim=True)
    df[LINE_COLUMN] = _line_wkt(frame)
    df.to_csv(path, index=False)


