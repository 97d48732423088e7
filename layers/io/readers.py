"""Read what users actually have into validated lon/lat layers.

Formats: GeoJSON, GeoPackage (several layers in one file), zipped Shapefile, KML or KMZ (through
pyogrio/GDAL), GeoParquet (pyarrow), and CSV or XLSX with coordinate columns (pandas, openpyxl;
see ``layers.io.coordinates`` for the column names understood).

Hostile uploads: ``layers.io.sniff`` checks every file before a reader opens it. Only the reader
that its extension AND its content agree on may open it (a VRT named ``.geojson`` is refused),
GDAL is told its driver where it can be (``layers.io.gdalread``) and has no network. A nested
object (a GeoJSON property holding one) becomes a column per leaf, ``interview.informant_name``;
a list is an error (``layers.io.nested``): nothing nested is stored as JSON text.

CRS policy (``layers.io.crs``): any CRS goes in and everything comes out in EPSG:4326; a CRS is
never guessed, and a ``crs=`` that conflicts with the file's own CRS is refused. A GeoJSON
without a ``crs`` member declares nothing (GDAL's WGS84 is its default), so ``crs=`` is used.

A KML or KMZ with several folders is read whole: every placemark of every folder (nested folders
included), with the folder each came from in a ``folder`` column. ``source_layer=`` reads one.
An XLSX with several sheets holding data needs ``source_layer=`` to name the sheet.

Errors: only the errors that mean the file is bad (``READ_ERRORS``) become "cannot read the file";
any other exception is a bug in HgWatch and propagates as one.
"""
from __future__ import annotations

import csv
import gc
import json
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import ParseError

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyogrio.errors
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError as ProjCRSError

from geo import geomcheck
from geo.errors import CRSError, InputError, Problem
from geo.words import counted, listed
from layers.catalogue import CATALOGUE, LayerSpec, spec_for
from layers.io import gdalread, gdalwait, tables
from layers.io.containers import LOCKED, ZIP_ERRORS, check_gpkg_layer
from layers.io.coordinates import find_geometry
from layers.io.crs import crs_name, place_crs
from layers.io.geoparquet import read_geoparquet
from layers.io.nested import flatten_nested, settle
from layers.io.sniff import Sniffed, sniff
from layers.io.validate import EMPTY, OPEN_RING, ROW, UNREADABLE, in_file_order, plain, validate

# The errors that mean "this file is bad", from GDAL (pyogrio), pandas, pyarrow and the csv and
# zipfile modules. ValueError covers UnicodeDecodeError, pandas' ParserError and EmptyDataError
# and pyarrow's ArrowInvalid; OSError covers pyarrow's ArrowIOError. KeyError, IndexError,
# AttributeError and TypeError are not here: from HgWatch's own code they are bugs.
READ_ERRORS: tuple[type[Exception], ...] = (
    pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,  # and its Field/Geometry/CRS/Feature
    OSError, ValueError, zipfile.BadZipFile, csv.Error, ParseError, *ZIP_ERRORS,
    ProjCRSError,  # a damaged CRS in the file's metadata (GeoParquet PROJJSON)
)
FOLDER = gdalread.FOLDER
_KML_DEFAULTS = ("Name", "description", "timestamp", "begin", "end", "altitudeMode",
                 "tessellate", "extrude", "visibility", "drawOrder", "icon")
_KML_EMPTY = ("", None, -1, 0, "clampToGround")
_KEYWORDS = {
    "mining_sites": ("mining_site", "mine", "site", "asgm", "galamsey", "footprint", "gold_mining", "dredge", "mineria"),
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
    filled: dict[str, int] = field(default_factory=dict)  # --set FIELD: how many rows it filled (the file lacked)


def infer_layer(path: str | Path) -> str | None:
    """The layer type a file name says (e.g. 'rivers.geojson' -> water_bodies), else None."""
    stem = Path(path).stem.lower()
    for name in CATALOGUE:
        if name in stem:
            return name
    hits = [name for name, words in _KEYWORDS.items() if any(w in stem for w in words)]
    return hits[0] if len(hits) == 1 else None


def source_layers(path: str | Path) -> list[str]:
    """Names of the layers inside a file: GeoPackage or KML layers, zipped Shapefiles, workbook
    sheets; [] for CSV and GeoParquet."""
    path = _existing(path)
    try:
        found = sniff(path)
        if found.kind == "xlsx":
            return tables.sheet_names(path)
        if found.kind in ("csv", "parquet"):
            return []
        with gdalread.plain_path(path) as plain:
            named = gdalread.sources(plain, found)
            if found.kind == "shapefile":
                return list(named)
            return gdalread.list_layers(named[""])
    except READ_ERRORS as exc:
        raise InputError(f"{path.name}: cannot open the file: {_gdal_message(exc)}") from None


_FROZEN_AFTER_LOAD = [False]  # set inside ``frozen_after_load``


@contextmanager
def frozen_after_load() -> Iterator[None]:
    """Inside: each layer ``load_layer`` builds is moved out of the cyclic collector's reach once it
    is built (``gc.freeze``, with every object alive at that moment; reference counting still frees
    them). For a command whose process ends right after it (``cli.py check`` run as a program), the
    way ``cli.py`` freezes its imported modules: a layer of 1e6 geometries is never cyclic garbage,
    yet the collector's next young, middle and full passes each walked all of it (issue 13: ~0.13 s
    of a check's 0.22 s of collections). Not for a process that goes on: an object frozen there
    that later becomes cyclic garbage is never collected."""
    was = _FROZEN_AFTER_LOAD[0]
    _FROZEN_AFTER_LOAD[0] = True
    try:
        yield
    finally:
        _FROZEN_AFTER_LOAD[0] = was


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside (restored as it was on leaving, whatever happens).

    Building a layer makes one Python object per geometry and none of them is cyclic garbage;
    while they pile up, the collector ran again and again, each full pass walking every geometry
    made so far (issue 13: shapely.from_wkb of 1e6 points 0.58 s with it, 0.24 s without).
    Reference counting still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_raw(path: str | Path, *, source_layer: str | None = None, crs: str | None = None,
             geometry_optional: bool = False) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Read ``path`` into a GeoDataFrame in EPSG:4326 with a ``_row`` column, unvalidated.

    ``geometry_optional``: a CSV or XLSX without coordinate columns is read as records without
    geometry (a layer whose spec says ``geometry_optional``, such as a register)."""
    with gc_paused():
        return _read_raw(Path(path), source_layer, crs, geometry_optional)


def _read_raw(path: Path, source_layer: str | None, crs: str | None,
              geometry_optional: bool) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    path = _existing(path)
    try:
        found = sniff(path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL notes such as renumbered fids
            if found.kind in ("csv", "xlsx"):
                gdf, problems = _read_table(path, found, source_layer, crs, geometry_optional)
            elif found.kind == "parquet":
                gdf, problems = place_crs(_read_parquet(path), path, crs)
            else:
                gdf, problems = place_crs(_read_vector(path, found, source_layer, crs), path, crs)
    except READ_ERRORS as exc:
        raise InputError(f"{path.name}: cannot read the file: {_gdal_message(exc)}") from None
    except Exception as exc:  # pyarrow raises its own hierarchy on corrupt Parquet
        if type(exc).__module__.startswith("pyarrow"):
            raise InputError(f"{path.name}: cannot read the file as GeoParquet: {exc}") from None
        raise
    gdf = tidy(gdf)
    gdf[ROW] = np.arange(1, len(gdf) + 1)
    gdf, nested = flatten_nested(gdf, path.name)  # objects become columns; lists are refused
    return gdf, found.notes + problems + nested


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; expected a file (GeoJSON, GeoPackage, zipped "
                         "Shapefile, GeoParquet, KML/KMZ, CSV or XLSX)")
    return path


def tidy(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
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
    if (geomcheck.known(gdf.geometry.to_numpy()).dims > 2).any():  # rebuilt only when one has Z
        gdf[geom] = shapely.force_2d(gdf.geometry.to_numpy())
    return gdf


def load_layer(path: str | Path, layer: str | None = None, *, source_layer: str | None = None,
               crs: str | None = None, repair: bool = False,
               set_values: dict[str, str] | None = None,
               refused: str = "the file was not used") -> Loaded:
    """Read and validate one layer; raise InputError listing every error found.

    Parameters
    ----------
    path : the user's file.
    layer : layer type; inferred from the file or layer name when None.
    source_layer : which layer of a multi-layer file (GeoPackage, KML) to read.
    crs : the CRS of a file that declares none (e.g. "EPSG:32630"); never guessed.
    repair : repair invalid geometries with make_valid, reporting each repair.
    set_values : constant values for fields the file lacks, e.g. {"kind": "river"}.
    refused : what the error message says happened to the file ("nothing was imported").
    """
    path = Path(path)
    layer = layer or infer_layer(source_layer or path) or (infer_layer(path) if source_layer else None)
    if layer is None:
        raise InputError(f"{path.name}: cannot tell the layer type from the file name; "
                         f"pass --layer with one of: {', '.join(sorted(CATALOGUE))}")
    spec = spec_for(layer)
    if source_layer is None and path.suffix.lower() == ".gpkg" and layer in source_layers(path):
        source_layer = layer
    # the read and the checks make no cyclic garbage (see gc_paused); each whole-column fact of the geometries
    # (bounds, type ids, None or empty, coordinate dimension) is computed once for the read and its validation
    with gc_paused(), geomcheck.sharing():
        gdf, problems = read_raw(path, source_layer=source_layer, crs=crs, geometry_optional=spec.geometry_optional)
        lacking = {k: gdf[ROW][gdf[k].isna()] if k in gdf.columns else gdf[ROW] for k in (set_values or {})}
        gdf = set_fields(gdf, spec, set_values)
        read = gdf
        gdf, found = validate(gdf, spec, source=path.name, repair=repair)
        found = settle(problems, found, read, spec)
        del read
        filled = {k: int(rows.isin(gdf[ROW]).sum()) for k, rows in lacking.items()}  # of the rows kept
        if _FROZEN_AFTER_LOAD[0]:
            gc.freeze()  # before the collector runs again: its first young pass would walk the whole layer
    problems = in_file_order(problems + found, spec.field_names)  # one order for every command
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(f"{path.name}: {counted(len(errors), 'problem')}; {refused}", problems)
    return Loaded(layer, gdf.drop(columns=[ROW]), [p for p in problems if p.severity != "error"],
                  path.name, {k: n for k, n in filled.items() if n})


def set_fields(gdf: gpd.GeoDataFrame, spec: LayerSpec, set_values: dict[str, str] | None) -> gpd.GeoDataFrame:
    """``gdf`` with each ``--set FIELD=VALUE`` filled in where the field is absent or missing."""
    for key, value in (set_values or {}).items():
        if spec.field(key) is None:
            raise InputError(f"--set {key}={value}: {spec.name} has no field {key!r}; expected one "
                             f"of: {', '.join(spec.field_names)}")
        if key not in gdf.columns:
            gdf[key] = value
        else:
            gdf[key] = gdf[key].where(gdf[key].notna(), value)
    return gdf


def _read_vector(path: Path, found: Sniffed, source_layer: str | None,
                 crs: str | None) -> gpd.GeoDataFrame:
    """A GeoJSON, GeoPackage, zipped Shapefile, KML or KMZ layer, through ``layers.io.gdalread``."""
    with gdalread.plain_path(path) as plain:
        named = gdalread.sources(plain, found)
        options = gdalread.open_options(found)
        if found.kind == "shapefile":
            layers = list(named)
            source = named[source_layer] if source_layer in named else named[layers[0]]
        else:
            source = named[""]
            layers = gdalread.list_layers(source)
        if source_layer is not None and source_layer not in layers:
            raise InputError(f"{path.name}: has no layer {source_layer!r}; it holds {listed(layers) or 'none'}")
        if not layers:
            raise InputError(f"{path.name}: holds no layer; nothing to read")
        if source_layer is None and len(layers) > 1:
            if found.kind in ("kml", "kmz"):
                return gdalread.read_kml_folders(source, layers)
            raise InputError(f"{path.name}: holds several layers ({listed(layers)}); name one with --source-layer")
        if found.gpkg is not None:
            check_gpkg_layer(path, found.gpkg, source_layer or layers[0])
        gdf = gdalread.read(source, None if found.kind == "shapefile" else source_layer, options)
    if found.kind == "geojson":
        gdf = _geojson_crs(gdf, path, found, crs)
    return gdf


def _geojson_crs(gdf: gpd.GeoDataFrame, path: Path, found: Sniffed, crs: str | None) -> gpd.GeoDataFrame:
    """The CRS a GeoJSON states: its ``crs`` member, else none when ``crs=`` names one.

    GDAL gives every GeoJSON without a ``crs`` member WGS84; that is a default, not the file's
    statement, so the user's ``crs=`` is honoured. With a member, GDAL must have read the CRS
    that the member names (checked by ``layers.io.sniff``), else the file is refused.
    """
    if not found.crs_member:
        return gdf.set_crs(None, allow_override=True) if crs is not None else gdf
    declared = found.crs
    if declared is not None and (gdf.crs is None or not CRS(gdf.crs).equals(declared, ignore_axis_order=True)):
        got = crs_name(CRS(gdf.crs)) if gdf.crs is not None else "none"
        raise CRSError(f"{path.name}: its 'crs' member names {crs_name(declared)} but GDAL read {got}; "
                       "HgWatch will not pick one. Re-export the file with its CRS")
    return gdf


def _read_parquet(path: Path) -> gpd.GeoDataFrame:
    """A GeoParquet file; a geometry GEOS cannot build (an open ring) is noted, not raised."""
    try:
        return read_geoparquet(path)
    except shapely.errors.GEOSException:
        pass  # read it again, decoding the WKB record by record
    table = pq.read_table(path)
    meta = json.loads((table.schema.metadata or {}).get(b"geo", b"{}"))
    column = meta.get("primary_column") if isinstance(meta, dict) else None
    info = meta.get("columns", {}).get(column) if column in table.column_names else None
    if not isinstance(info, dict) or str(info.get("encoding", "WKB")).upper() != "WKB":
        raise InputError(f"{path.name}: cannot read the file as GeoParquet: its geometries cannot be built")
    crs = info.get("crs", "OGC:CRS84")  # GeoParquet: an absent crs is OGC:CRS84, a null one unknown
    decoded = geomcheck.decode_wkb(np.asarray(table.column(column).to_pylist(), dtype=object))
    gdf = gpd.GeoDataFrame(table.drop_columns([column]).to_pandas(), geometry=decoded.geoms, crs=None if crs is None
                           else CRS.from_json_dict(crs) if isinstance(crs, dict) else CRS.from_user_input(crs))
    gdf[OPEN_RING], gdf[UNREADABLE] = decoded.open_rings, decoded.unreadable
    return gdf


def _read_table(path: Path, found: Sniffed, sheet: str | None, crs: str | None,
                geometry_optional: bool = False) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    if found.kind == "xlsx":
        df, problems = tables.read_xlsx(path, sheet)
    else:
        df, problems = tables.read_csv(path)
    found_geometry = find_geometry(df)
    if found_geometry is None and geometry_optional:
        note = Problem(path.name, None, None, None, "no coordinate columns: the records have no location",
                       "info", kind="coordinates")
        return gpd.GeoDataFrame(df, geometry=np.full(len(df), None, dtype=object), crs="EPSG:4326"), [*problems, note]
    if found_geometry is None:
        raise InputError(
            f"{path.name}: no coordinate columns found among its columns {', '.join(repr(str(c)) for c in df.columns)};"
            " expected "
            "'lat'/'lon', 'latitude'/'longitude', 'y'/'x', one pair named alike but for x/y or lat/lon "
            "('POINT_X'/'POINT_Y', 'gps_lat'/'gps_lon'), KoBoToolbox '_<field>_latitude'/"
            "'_<field>_longitude' or '_geolocation', or a WKT column named 'geometry'" + _header_below(df))
    problems += [Problem(path.name, i + 1, col, plain(value), expected, kind="type")
                 for i, col, value, expected in found_geometry.bad_rows]
    problems.append(Problem(path.name, None, None, None,
                            f"coordinates read from {found_geometry.description}", "info", kind="coordinates"))
    gdf = gpd.GeoDataFrame(df.drop(columns=list(found_geometry.used_columns)),
                           geometry=found_geometry.geometries)
    if any(found_geometry.open_rings):
        gdf[OPEN_RING] = found_geometry.open_rings
    if any(note is not None for note in found_geometry.empty):  # an empty coordinate cell, named by its column
        gdf[EMPTY] = list(found_geometry.empty)
    gdf, crs_problems = place_crs(gdf, path, crs)
    return gdf, problems + crs_problems


def _header_below(df: pd.DataFrame, rows: int = 10) -> str:
    """When one of the first ``rows`` records of a table without coordinate columns names them (a title
    row, or a few, above the real header: 'Mining sites survey, 2024'), what to do; else ''. The header is
    not guessed: the user removes the rows above it."""
    for k in range(min(rows, len(df))):
        names = [str(v).strip() for v in df.iloc[k].tolist() if isinstance(v, str) and v.strip()]
        if len(names) >= 2 and len(set(names)) == len(names) and find_geometry(pd.DataFrame(columns=names)) is not None:
            shown = ", ".join(repr(n) for n in names[:8]) + (", ..." if len(names) > 8 else "")
            return (f". The row holding {shown} looks like the header: remove the rows above it (a title), so that"
                    " the header is the first row")
    return ""


def _gdal_message(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return (f"it holds text that is not UTF-8 (byte {exc.object[exc.start:exc.start + 1]!r} "
                f"at position {exc.start}); save it as UTF-8")
    if gdalwait.locked(exc):  # a program began saving into the file after ``containers.not_being_saved`` looked
        return LOCKED
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.replace(" or file not found", "")
