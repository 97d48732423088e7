"""The one writer of violation files (``geo.rules.evaluate`` frames), for the CLI and the dashboard.

One layout per format, whoever asks (``cli.py check --out`` or a download button):

- ``.geojson``: RFC 7946 (no ``crs`` member, lon/lat with 7 decimals, about 1 cm); the geometry
  is the flagged feature, ``nearest_line`` (the shortest line to the nearest feature) is a WKT
  property, and a top-level ``hgwatch`` member names the profile and every source layer.
- ``.gpkg``: layer ``violations`` (flagged geometry), layer ``violations_nearest_line`` (the line
  geometry, one row per violation that has one, same attributes) and the ``hgw_export`` table.
- ``.csv``: one row per violation, both geometries as WKT (``geometry``, ``nearest_line``), and
  ``hgw_profile`` / ``hgw_sources`` columns; formula-like text is defused.
- ``.kml``: the flagged geometry, ``nearest_line`` as WKT, profile and sources in the document.

Writes go to a temporary file renamed into place, so a failed write leaves no half file.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geo.errors import InputError
from geo.rules import LINE_COLUMN
from geo.words import one_of
from layers.catalogue import CATALOGUE, FieldSpec, LayerSpec, Style
from layers.io import export
from layers.io.grid import grid_wkt, round_coordinates
from layers.io.safefile import atomic_path

FORMATS = {".geojson": "geojson", ".gpkg": "gpkg", ".csv": "csv", ".kml": "kml"}
DECIMALS = export.COORD_DECIMALS
LAYER = "violations"
LINE_LAYER = "violations_nearest_line"
_TEXT = pd.Series(["text"]).dtype  # pandas' Arrow-backed text

#: The violations "layer": its fields, units and map style (no restricted fields). Under the
#: partner and public profiles these are the only columns that leave (an allow-list, as for
#: every layer): the columns of ``geo.rules.violations`` and the id field of every layer type.
VIOLATION_SPEC = LayerSpec(
    name=LAYER, title="Rule violation", geometry_types=("Point",), id_field="violation_id",
    style=Style(color="#d7191c", fill_color="#d7191c"),
    fields=(FieldSpec("violation_id"), FieldSpec("rule_id"), FieldSpec("severity"),
            FieldSpec("title"), FieldSpec("citation"), FieldSpec("subject_layer"),
            FieldSpec("subject_id"),
            *(FieldSpec(spec.id_field) for spec in CATALOGUE.values()),
            FieldSpec("distance_m", "float", unit="m"), FieldSpec("threshold_m", "float", unit="m"),
            FieldSpec("distance_basis"), FieldSpec("nearest_layer"), FieldSpec("nearest_id"),
            FieldSpec("nearest_name"), FieldSpec("nearest_source"), FieldSpec("area_m2", "float", unit="m^2"),
            FieldSpec("assumption", "bool"), FieldSpec(LINE_COLUMN),
            FieldSpec("change"), FieldSpec("rule_version")),
)


def write_violations(violations: gpd.GeoDataFrame, path: str | os.PathLike[str], *,
                     profile: str = "internal",
                     provenance: Iterable[export.Provenance] = ()) -> Path:
    """Write ``violations`` to ``path``; the format follows the extension (see the module).

    Parameters
    ----------
    violations : the rule engine's violations (flagged geometry, ``nearest_line`` column), any CRS.
    path : the file to write; ``.geojson``, ``.gpkg``, ``.csv`` or ``.kml``.
    profile : ``internal``, ``partner`` or ``public`` (``layers.io.export.PROFILES``).
    provenance : source and licence of every layer the rules read.

    Raises
    ------
    InputError
        The extension is not one of ``FORMATS``, or the profile is unknown.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"{path.name}: cannot write violations to {suffix or 'no extension'!r};"
                         f" expected {one_of(FORMATS)}")
    frame, lines = _split(violations, lines_too=suffix == ".gpkg", arrow_text=suffix == ".csv")
    with atomic_path(path) as tmp:
        export.write(frame, tmp, spec=VIOLATION_SPEC, profile=profile, provenance=provenance)
        if suffix == ".gpkg" and lines is not None:
            _append_lines(export.apply_profile(frame, VIOLATION_SPEC, profile), lines, tmp)
    return path


def violations_bytes(violations: gpd.GeoDataFrame, fmt: str, *, profile: str = "partner",
                     provenance: Iterable[export.Provenance] = ()) -> bytes:
    """``write_violations`` as bytes, for a download button; ``fmt`` is a key of ``FORMATS``
    without the dot (geojson, gpkg, csv or kml)."""
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / f"{LAYER}.{fmt}"
        return write_violations(violations, target, profile=profile,
                                provenance=provenance).read_bytes()


def _split(violations: gpd.GeoDataFrame, *, lines_too: bool = True,
           arrow_text: bool = False) -> tuple[gpd.GeoDataFrame, gpd.GeoSeries | None]:
    """The frame in EPSG:4326 with ``nearest_line`` as WKT text (7 decimals; pandas' Arrow-backed
    text when ``arrow_text``, for the CSV writer, else objects with None for a missing line), and the
    lines themselves (rounded) for the GeoPackage line layer when ``lines_too``; None when there is
    no line column or they are not asked for."""
    frame = violations.to_crs("EPSG:4326") if violations.crs is not None else violations.copy()
    if LINE_COLUMN not in frame:
        frame[LINE_COLUMN] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
        return frame, None
    raw = gpd.GeoSeries(frame[LINE_COLUMN], index=frame.index, crs="EPSG:4326").to_numpy()
    wkt = grid_wkt(raw)  # the WKT of the rounded lines
    frame[LINE_COLUMN] = pd.Series(pd.array(wkt, dtype=_TEXT), index=frame.index) if arrow_text \
        else pd.Series(wkt.to_numpy(zero_copy_only=False), index=frame.index, dtype=object)
    if not lines_too:
        return frame, None
    return frame, gpd.GeoSeries(round_coordinates(raw), index=frame.index, crs="EPSG:4326")


def _append_lines(frame: gpd.GeoDataFrame, lines: gpd.GeoSeries, path: Path) -> None:
    """Add the ``violations_nearest_line`` layer: the attributes of each violation with a line."""
    has_line = (lines.notna() & ~lines.is_empty).to_numpy()
    if not has_line.any():
        return
    attrs = pd.DataFrame(frame.drop(columns=[frame.geometry.name, LINE_COLUMN])[has_line])
    for col in attrs.columns:
        if pd.api.types.is_datetime64_any_dtype(attrs[col]):
            attrs[col] = attrs[col].dt.strftime("%Y-%m-%d")
    pyogrio.write_dataframe(gpd.GeoDataFrame(attrs, geometry=lines[has_line], crs="EPSG:4326"),
                            path, driver="GPKG", layer=LINE_LAYER, append=True,
                            geometry_type="LineString")
