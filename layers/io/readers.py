"""Read what users actually have into validated lon/lat layers.

Formats: GeoJSON, GeoPackage (several layers in one file), zipped Shapefile, GeoParquet, KML or
KMZ (through pyogrio/GDAL), and CSV or XLSX with coordinate columns (through pandas; see
``layers.io.coordinates`` for the column names understood).

CRS policy (``layers.io.crs``): any CRS goes in and everything comes out in EPSG:4326; a CRS is
never guessed, and a ``crs=`` that conflicts with the file's own CRS is refused.

A KML or KMZ with several folders is read whole: every placemark of every folder (nested folders
included), with the folder each came from in a ``folder`` column. ``source_layer=`` reads one.

Errors: only the errors that mean the file is bad (``READ_ERRORS``) become "cannot read the file";
any other exception is a bug in HgWatch and propagates as one.
"""
from __future__ import annotations

import csv
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import ParseError

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import shapely
from openpyxl.utils.exceptions import InvalidFileException
from pyproj.exceptions import CRSError as ProjCRSError

from geo.errors import InputError, Problem
from layers.catalogue import CATALOGUE, spec_for
from layers.io.coordinates import find_geometry
from layers.io.crs import place_crs
from layers.io.safefile import restore_formula
from layers.io.validate import ROW, validate

VECTOR = {".geojson", ".json", ".gpkg", ".zip", ".shp", ".kml", ".kmz", ".fgb", ".gml"}
TABLE = {".csv", ".txt", ".xlsx", ".xls"}
PARQUET = {".parquet", ".geoparquet"}
# The errors that mean "this file is bad", from GDAL (pyogrio), pandas, pyarrow and the csv and
# zipfile modules. ValueError covers UnicodeDecodeError, pandas' ParserError and EmptyDataError
# and pyarrow's ArrowInvalid; OSError covers pyarrow's ArrowIOError. KeyError, IndexError,
# AttributeError and TypeError are not here: from HgWatch's own code they are bugs.
READ_ERRORS: tuple[type[Exception], ...] = (
    pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,  # and its Field/Geometry/CRS/Feature
    OSError, ValueError, zipfile.BadZipFile, csv.Error, ParseError,
    ProjCRSError,  # a damaged CRS in the file's metadata (GeoParquet PROJJSON)
)
# openpyxl turns a damaged workbook into these as well: a missing zip member is a KeyError, a
# garbled XML attribute a TypeError. They are caught around the openpyxl call only.
_EXCEL_ERRORS: tuple[type[Exception], ...] = READ_ERRORS + (
    InvalidFileException, KeyError, TypeError, EOFError, NotImplementedError, zlib.error)
FOLDER = "folder"  # column naming the KML folder a placemark came from
_KML_DEFAULTS = ("Name", "description", "timestamp", "begin", "end", "altitudeMode",
                 "tessellate", "extrude", "visibility", "drawOrder", "icon")
_KML_EMPTY = ("", None, -1, 0, "clampToGround")
_KEYWORDS = {
    "mining_sites": ("mining_site", "mine", "site", "asgm", "galamsey", "footprint"),
    "water_bodies": ("water", "river", "lake", "stream", "hydro", "gshhg"),
    "residential_areas": ("residential", "settlement", "village", "place", "town", "population"),
    "tailings": ("tailing",),
    "deposits": ("deposit", "occurrence"),
    "samples": ("sample", "measurement", "monitoring"),
}


@dataclass
class Loaded:
    """A validated layer and the warnings that did not block it."""

    layer: str
    gdf: gpd.GeoDataFrame
    warnings: list[Problem]
    source: str


def infer_layer(path: str | Path) -> str | None:
    """The layer type a file name says (e.g. 'rivers.geojson' -> water_bodies), else None."""
    stem = Path(path).stem.lower()
    for name in CATALOGUE:
        if name in stem:
            return name
    hits = [name for name, words in _KEYWORDS.items() if any(w in stem for w in words)]
    return hits[0] if len(hits) == 1 else None


def source_layers(path: str | Path) -> list[str]:
    """Names of the layers inside a multi-layer file (GeoPackage, KML); [] for tables."""
    path = Path(path)
    if path.suffix.lower() not in VECTOR:
        return []
    try:
        return [str(n) for n in pyogrio.list_layers(_gdal_source(path))[:, 0]]
    except READ_ERRORS as exc:
        raise InputError(f"{path.name}: cannot open the file: {_gdal_message(exc)}") from None


def read_raw(path: str | Path, *, source_layer: str | None = None,
             crs: str | None = None) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Read ``path`` into a GeoDataFrame in EPSG:4326 with a ``_row`` column, unvalidated."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL notes such as renumbered fids
            if suffix in TABLE:
                gdf, problems = _read_table(path, crs)
            elif suffix in PARQUET:
                gdf, problems = place_crs(gpd.read_parquet(path), path, crs)
            elif suffix in VECTOR:
                gdf, problems = place_crs(_read_vector(path, source_layer), path, crs)
            else:
                raise InputError(
                    f"{path.name}: unknown file type {suffix!r}; expected one of "
                    f"{sorted(VECTOR | TABLE | PARQUET)}")
    except READ_ERRORS as exc:
        raise InputError(f"{path.name}: cannot read the file: {_gdal_message(exc)}") from None
    except Exception as exc:  # pyarrow raises its own hierarchy on corrupt Parquet
        if type(exc).__module__.startswith("pyarrow"):
            raise InputError(f"{path.name}: cannot read the file as GeoParquet: {exc}") from None
        raise
    gdf = _tidy(gdf)
    gdf[ROW] = np.arange(1, len(gdf) + 1)
    return gdf, problems


def _tidy(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """2D geometries; drop export metadata columns and KML's empty default columns."""
    drop = [c for c in gdf.columns if str(c).startswith("hgw_")]
    for col in _KML_DEFAULTS:
        if col in gdf.columns and gdf[col].map(lambda v: v in _KML_EMPTY or pd.isna(v)).all():
            drop.append(col)
    if "id" in gdf.columns and gdf["id"].astype(str).str.fullmatch(r".+\.\d+").all() \
            and "tessellate" in gdf.columns:
        drop.append("id")  # LIBKML's generated '<layer>.<n>' placemark ids
    gdf = gdf.drop(columns=drop)
    geom = gdf.geometry.name
    gdf[geom] = shapely.force_2d(gdf.geometry.to_numpy())
    return gdf


def load_layer(path: str | Path, layer: str | None = None, *, source_layer: str | None = None,
               crs: str | None = None, repair: bool = False,
               set_values: dict[str, str] | None = None) -> Loaded:
    """Read and validate one layer; raise InputError listing every error found.

    Parameters
    ----------
    path : the user's file.
    layer : layer type; inferred from the file or layer name when None.
    source_layer : which layer of a multi-layer file (GeoPackage, KML) to read.
    crs : the CRS of a file that declares none (e.g. "EPSG:32630"); never guessed.
    repair : repair invalid geometries with make_valid, reporting each repair.
    set_values : constant values for fields the file lacks, e.g. {"kind": "river"}.
    """
    path = Path(path)
    layer = layer or infer_layer(source_layer or path) or (infer_layer(path) if source_layer else None)
    if layer is None:
        raise InputError(f"{path.name}: cannot tell the layer type from the file name; "
                         f"pass --layer with one of {sorted(CATALOGUE)}")
    spec = spec_for(layer)
    if source_layer is None and path.suffix.lower() == ".gpkg" and layer in source_layers(path):
        source_layer = layer
    gdf, problems = read_raw(path, source_layer=source_layer, crs=crs)
    for key, value in (set_values or {}).items():
        if spec.field(key) is None:
            raise InputError(f"--set {key}={value}: {spec.name} has no field {key!r}; expected one "
                             f"of {list(spec.field_names)}")
        if key not in gdf.columns:
            gdf[key] = value
        else:
            gdf[key] = gdf[key].where(gdf[key].notna(), value)
    gdf, found = validate(gdf, spec, source=path.name, repair=repair)
    problems += found
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(f"{path.name}: {len(errors)} problem(s); nothing was imported", problems)
    return Loaded(layer, gdf.drop(columns=[ROW]), [p for p in problems if p.severity != "error"],
                  path.name)


def _gdal_source(path: Path) -> Path | bytes:
    """``path`` itself, or its bytes when its name holds '!', which GDAL reads as archive syntax."""
    return path.read_bytes() if "!" in str(path) else path


def _read_vector(path: Path, source_layer: str | None) -> gpd.GeoDataFrame:
    source = _gdal_source(path)
    layers = list(pyogrio.list_layers(source)[:, 0])
    if source_layer is not None and source_layer not in layers:
        raise InputError(f"{path.name}: has no layer {source_layer!r}; it holds {layers}")
    if not layers:
        raise InputError(f"{path.name}: holds no layer; nothing to read")
    if source_layer is None and len(layers) > 1:
        if path.suffix.lower() in (".kml", ".kmz"):
            return _read_kml_folders(source, layers)
        raise InputError(f"{path.name}: holds several layers {layers}; name one with --source-layer")
    return _read_gdal(source, source_layer)


def _read_gdal(source: Path | bytes, layer: str | None) -> gpd.GeoDataFrame:
    """``pyogrio.read_dataframe``, with pyogrio 0.13's own failure on undecodable text as data error.

    pyogrio fails on a CRS whose text is not UTF-8 (a Latin-1 ``.prj``) with an
    UnboundLocalError raised while handling the UnicodeDecodeError; only that case is turned
    into a UnicodeDecodeError (one of ``READ_ERRORS``), any other UnboundLocalError propagates.
    """
    try:
        return pyogrio.read_dataframe(source, layer=layer)
    except UnboundLocalError as exc:
        if isinstance(exc.__context__, UnicodeDecodeError):
            raise exc.__context__ from None
        raise


def _read_kml_folders(source: Path | bytes, folders: list[str]) -> gpd.GeoDataFrame:
    """Every placemark of every KML folder, in file order, with its folder in ``FOLDER``.

    GDAL's LIBKML driver gives one layer per folder (a nested folder is a layer of its own, named
    by its own name; placemarks outside any folder form a layer named after the document).
    """
    frames = []
    for name in folders:
        frame = _read_gdal(source, name)
        if len(frame):
            if FOLDER not in frame.columns:
                frame[FOLDER] = name
            frames.append(frame)
    if not frames:
        return _read_gdal(source, folders[0])
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)


def _read_table(path: Path, crs: str | None) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    if path.suffix.lower() == ".xls":
        raise InputError(f"{path.name}: old Excel 97-2003 (.xls) workbooks are not read; "
                         "save it as .xlsx or .csv")
    if path.suffix.lower() == ".xlsx":
        try:
            df = pd.read_excel(path, dtype=object, engine="openpyxl")
        except _EXCEL_ERRORS as exc:
            raise InputError(f"{path.name}: cannot read the file as an Excel workbook: "
                             f"{_gdal_message(exc)}") from None
    else:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                         sep=None, engine="python").map(restore_formula)
    found = find_geometry(df)
    if found is None:
        raise InputError(
            f"{path.name}: no coordinate columns found in {list(map(str, df.columns))}; expected "
            "'lat'/'lon', 'latitude'/'longitude', 'y'/'x', KoBoToolbox '_<field>_latitude'/"
            "'_<field>_longitude' or '_geolocation', or a WKT column named 'geometry'")
    problems = [Problem(path.name, i + 1, col, value, expected, kind="type")
                for i, col, value, expected in found.bad_rows]
    problems.append(Problem(path.name, None, None, None,
                            f"coordinates read from {found.description}", "info", kind="coordinates"))
    gdf = gpd.GeoDataFrame(df.drop(columns=list(found.used_columns)), geometry=found.geometries)
    gdf, crs_problems = place_crs(gdf, path, crs)
    return gdf, problems + crs_problems


def _gdal_message(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return (f"it holds text that is not UTF-8 (byte {exc.object[exc.start:exc.start + 1]!r} "
                f"at position {exc.start}); save it as UTF-8")
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.replace(" or file not found", "")
