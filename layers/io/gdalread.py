"""GDAL (pyogrio) reads of uploads that ``layers.io.sniff`` has checked, with GDAL's network off.

Only four kinds of upload reach GDAL, each through a connection string that leaves GDAL no
driver to choose where it can be told one:

- GeoJSON: ``GeoJSON:<path>`` (the GeoJSON driver only), read with ``ARRAY_AS_STRING=YES``: a property
  that is an array in one feature and text in the others stays a text column (GDAL would otherwise
  make the whole column a list, every value a one-item list), and ``read`` turns back into a list
  (or an object) each value GDAL wrote as JSON, for ``layers.io.nested`` to refuse (or flatten) by row;
- GeoPackage: ``GPKG:<path>``, opened read-only and immutable (no lock, no journal written); one
  with a non-empty ``-wal`` beside it (QGIS's saved edits) as a private copy holding the ``-wal``'s
  committed pages (``layers.io.containers.with_wal``), since immutable mode ignores a ``-wal``;
- zipped Shapefile: ``/vsizip/{<path>}/<member>.shp``, one checked member, never the archive;
- KML: ``<path>``, or ``/vsizip/{<path>}/<member>.kml`` for a KMZ (checked: root element <kml>).

``lock_network`` sets GDAL options so that no read can reach the network: ``/vsicurl`` accepts
no file extension, and GDAL's HTTP client goes through a closed loopback port, once, briefly.

Geometries are decoded by ``geo.geomcheck.decode_wkb``: a polygon ring left open or a geometry
GEOS cannot build becomes a note in the ``OPEN_RING``/``UNREADABLE`` columns for the validation
to report, never an exception.
"""
from __future__ import annotations

import contextlib
import json
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyogrio
import pyogrio.raw
import shapely

from geo import geomcheck
from layers.io.containers import pending_wal, shared_copy, with_wal
from layers.io.sniff import Sniffed
from layers.io.validate import OPEN_RING, UNREADABLE

NO_NETWORK = {
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".hgwatch-reads-no-url",  # no file has it: /vsicurl opens nothing
    "GDAL_HTTP_PROXY": "127.0.0.1:9",  # the discard port, closed here: any HTTP request fails at once
    "GDAL_HTTPS_PROXY": "127.0.0.1:9",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "GDAL_VRT_ENABLE_PYTHON": "NO",
}
ARRAY_AS_STRING = "ARRAY_AS_STRING"
# How GDAL (json-c, spaced) writes a JSON array or object as text: '[ 1, "a" ]', '[ ]', '{ "k": 1 }'.
_GDAL_JSON = re.compile(r"\[ (?:.* )?\]|\{ (?:.* )?\}", re.DOTALL)
FOLDER = "folder"  # column naming the KML folder a placemark came from
# A path GDAL and pyogrio take as a plain file: absolute, no '!' (pyogrio's archive syntax), no ':'
# (GDAL's 'DRIVER:path:layer'), no backslash or control character, no archive or /vsi part in it.
_PLAIN = re.compile(r"/[^!:\\\x00-\x1f{}]*")
_ARCHIVE_PART = re.compile(r"\.(zip|kmz|tar|tgz|gz|7z)/|^/vsi", re.IGNORECASE)


def lock_network() -> None:
    """Turn GDAL's network access off for every read in this process (idempotent)."""
    pyogrio.set_gdal_config_options(NO_NETWORK)


@contextlib.contextmanager
def plain_path(path: Path) -> Iterator[str]:
    """``path`` as GDAL must see it: itself when plain, else a copy named 'upload<suffix>'; an SQLite
    file with a non-empty ``-wal`` beside it is always a copy, with the ``-wal``'s committed pages in it
    (inside ``containers.shared_copies``, the one copy every step of the read shares)."""
    if pending_wal(path) is not None or shared_copy(path) is not None:
        with with_wal(path, f"upload{path.suffix.lower()}") as copy:
            yield str(copy)
        return
    text = str(path.resolve())
    if _PLAIN.fullmatch(text) and not _ARCHIVE_PART.search(text):
        yield text
        return
    with tempfile.TemporaryDirectory(prefix="hgwatch-") as folder:
        copy = Path(folder) / f"upload{path.suffix.lower()}"
        shutil.copyfile(path, copy)
        yield str(copy)


def sources(plain: str, sniffed: Sniffed) -> dict[str, str]:
    """GDAL connection strings of an upload; for a zip, one per .shp keyed by its layer name."""
    if sniffed.kind == "geojson":
        return {"": f"GeoJSON:{plain}"}
    if sniffed.kind == "gpkg":
        return {"": f"GPKG:{plain}"}
    if sniffed.kind == "kml":
        return {"": plain}
    if sniffed.kind == "kmz":
        return {"": f"/vsizip/{{{plain}}}/{sniffed.members[0]}"}
    if sniffed.kind == "shapefile":
        return {PurePosixPath(m).stem: f"/vsizip/{{{plain}}}/{m}" for m in sniffed.members}
    raise ValueError(f"{sniffed.kind} is not read through GDAL")


def open_options(sniffed: Sniffed) -> dict[str, str]:
    """GDAL open options: a GeoPackage is read immutable (no lock taken, nothing written; what a
    ``-wal`` beside it holds is read from the copy ``plain_path`` makes); a GeoJSON's arrays as JSON
    text (see the module's docstring)."""
    if sniffed.kind == "gpkg":
        return {"IMMUTABLE": "YES"}
    return {ARRAY_AS_STRING: "YES"} if sniffed.kind == "geojson" else {}


def _json_values(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each text cell GDAL wrote from a JSON array or object (json-c's spaced form,
    ``[ "a", "b" ]``, ``{ "k": 1 }``) given back as the list or dict it was.

    A column holding arrays in some features and text in others is a text column under
    ``ARRAY_AS_STRING``, and one holding objects and text is one whatever the options: GDAL
    writes the array or object of such a cell as JSON text. Text of that exact form typed by a
    user in such a column cannot be told from it, and is read as the array it spells.
    """
    for col in frame.columns:
        series = frame[col]
        if series.dtype != object and not isinstance(series.dtype, pd.StringDtype):
            continue
        texts = series[series.map(lambda v: isinstance(v, str))]
        marked = texts[texts.str.fullmatch(_GDAL_JSON)]
        if marked.empty:
            continue
        parsed = {i: _loaded(v) for i, v in marked.items()}
        parsed = {i: v for i, v in parsed.items() if isinstance(v, list | dict)}
        if parsed:
            values = series.astype(object).where(series.notna(), None)
            frame[col] = values.where(~values.index.isin(list(parsed)), pd.Series(parsed, dtype=object))
    return frame


def _loaded(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return None


def list_layers(source: str) -> list[str]:
    """The layer names GDAL sees in ``source``."""
    lock_network()
    return [str(n) for n in pyogrio.list_layers(source)[:, 0]]


def read(source: str, layer: str | None, options: dict[str, str], *, skip_features: int = 0,
         max_features: int | None = None, use_arrow: bool | None = None) -> gpd.GeoDataFrame:
    """One layer (``max_features`` of it from ``skip_features``: a page of a chunked read, which
    also reads through Arrow); geometries GEOS cannot build as written are noted, not raised.

    pyogrio 0.13 fails on a CRS whose text is not UTF-8 (a Latin-1 ``.prj``) with an
    UnboundLocalError raised while handling the UnicodeDecodeError; only that case is turned
    into the UnicodeDecodeError (a bad-file error), any other UnboundLocalError propagates.
    """
    lock_network()
    try:
        with warnings.catch_warnings():  # a JSON column of arrays and text: pyogrio leaves it text
            warnings.filterwarnings("ignore", "Could not parse column", UserWarning)
            frame = pyogrio.read_dataframe(source, layer=layer, on_invalid="ignore", skip_features=skip_features,
                                           max_features=max_features, use_arrow=use_arrow, **options)
        if options.get(ARRAY_AS_STRING) == "YES":
            frame = _json_values(frame)
        geoms = frame.geometry.to_numpy() if isinstance(frame, gpd.GeoDataFrame) else np.array([])
        if not shapely.is_missing(geoms).any():
            return frame
        blobs = pyogrio.raw.read(source, layer=layer, columns=[], read_geometry=True, skip_features=skip_features,
                                 max_features=max_features or 0, **options)[2]
    except UnboundLocalError as exc:
        if isinstance(exc.__context__, UnicodeDecodeError):
            raise exc.__context__ from None
        raise
    return _decoded(frame, blobs)


@contextlib.contextmanager
def _pyogrio_errors() -> Iterator[None]:
    """pyogrio 0.13's UnboundLocalError on a CRS whose text is not UTF-8 as the UnicodeDecodeError it
    hides (see ``read``); any other UnboundLocalError propagates."""
    try:
        yield
    except UnboundLocalError as exc:
        if isinstance(exc.__context__, UnicodeDecodeError):
            raise exc.__context__ from None
        raise


def stream(source: str, options: dict[str, str], rows: int) -> Iterator[gpd.GeoDataFrame]:
    """The layer of ``source``, ``rows`` features at a time (the last chunk the rest; an empty layer
    one empty chunk), read once through GDAL's Arrow stream (``pyogrio.open_arrow``): GDAL opens
    the file once and reads on, where a page read (``read`` with ``skip_features``) opens it again
    and reads it from its start for every page. Only the chunk being converted is held as Arrow.

    Each chunk is the frame ``read(source, None, options, skip_features=.., max_features=rows,
    use_arrow=True)`` gives for the same rows: the Arrow table converted as
    ``pyogrio.read_dataframe(use_arrow=True)`` converts it (``arrow_frame``), geometries GEOS
    cannot build noted from the chunk's own WKB (no second read); except that a column whose type
    a whole read decides from all its values (``whole_columns``: one more pass over those columns,
    no geometry) has that type in every chunk, so that the chunks are the whole read's rows."""
    lock_network()
    with contextlib.ExitStack() as stack:
        with _pyogrio_errors():
            meta, reader = stack.enter_context(pyogrio.open_arrow(
                source, batch_size=rows, use_pyarrow=True, datetime_as_string=True, **options))
        schema = reader.schema
        whole = whole_columns(source, options, meta, schema)
        empty = True
        held: list[pa.RecordBatch] = []
        count = 0
        for batch in reader:  # GDAL gives batches of ``rows``; gathered or cut to ``rows`` if not
            held.append(batch)
            count += len(batch)
            while count >= rows:
                table = pa.Table.from_batches(held, schema=schema)
                rest = table.slice(rows)
                held, count = rest.to_batches(), len(rest)
                empty = False
                yield arrow_frame(meta, table.slice(0, rows), options, whole)
                del table
        if count or empty:
            yield arrow_frame(meta, pa.Table.from_batches(held, schema=schema), options, whole)


@dataclass(frozen=True)
class WholeColumns:
    """What a whole read of a layer makes of the columns whose type depends on all their values.

    floats : integer columns with a missing value (float64 in a whole read; a chunk with none: int).
    objects : true/false columns with a missing value (object; a chunk with none: bool).
    parsed : JSON-subtype columns (GDAL: numbers in some features, text in others): the dtype of
        the column parsed as JSON when every value parses, None when one does not (kept text).
    marked : text columns with a cell GDAL wrote from a JSON array or object (``_json_values``
        makes the column object, missing values None).
    utc : date-time columns with more than one offset (or none in some values): UTC in a whole
        read, where a chunk of one offset kept it.
    sample : per date-time column, one of its values: a chunk where the column is empty takes the
        dtype that value parses to (a whole read of one offset is zoned, an empty chunk was not).
    """

    floats: frozenset[str] = frozenset()
    objects: frozenset[str] = frozenset()
    parsed: dict[str, Any] = field(default_factory=dict)
    marked: frozenset[str] = frozenset()
    utc: frozenset[str] = frozenset()
    sample: dict[str, str] = field(default_factory=dict)


def whole_columns(source: str, options: dict[str, str], meta: dict[str, Any], schema: pa.Schema) -> WholeColumns:
    """The ``WholeColumns`` of ``source``'s layer, from one pass over those columns (no geometry):
    GDAL's Arrow stream, a batch at a time; Python touches only the JSON columns' values and the text
    cells that look like GDAL's JSON (told by Arrow's RE2)."""
    names = set(meta["fields"])
    counted = [f.name for f in schema if f.name in names and (pa.types.is_integer(f.type) or pa.types.is_boolean(f.type))]
    subtypes = dict(zip(meta["fields"], meta["ogr_subtypes"], strict=True))
    json_cols = [n for n in meta["fields"] if subtypes[n] == "OFSTJSON"]
    texts = [f.name for f in schema if f.name in names and _is_text(f.type)] if options.get(ARRAY_AS_STRING) == "YES" else []
    times = [n for n, d in zip(meta["fields"], meta["dtypes"], strict=True)
             if d is not None and d.startswith("datetime") and d != "datetime64[D]"]
    offsets: dict[str, set[str]] = {n: set() for n in times}
    sample: dict[str, str] = {}
    if not (counted or json_cols or texts or times):
        return WholeColumns()
    nulls: set[str] = set()
    samples: dict[str, dict[object, str]] = {n: {} for n in json_cols}  # per JSON column: a text per kind
    failed: set[str] = set()
    marked: set[str] = set()
    columns = list(dict.fromkeys(counted + json_cols + texts + times))
    with _pyogrio_errors(), pyogrio.open_arrow(source, columns=columns, read_geometry=False, batch_size=65536,
                                                use_pyarrow=True, datetime_as_string=True, **options) as (_, reader):
        for batch in reader:
            for name in columns:
                values = batch.column(name)
                if values.null_count:
                    nulls.add(name)
                if isinstance(values, pa.ExtensionArray):
                    values = values.storage
                if name in samples and name not in failed and not _sampled(values, samples[name]):
                    failed.add(name)
                if name in texts and name not in marked and _has_gdal_json(values):
                    marked.add(name)
                if name in offsets and len(offsets[name]) < 2:
                    offsets[name].update(pc.unique(pc.replace_substring_regex(
                        values.drop_null(), _OFFSET_RE2, r"\1")).to_pylist())
                if name in offsets and name not in sample and len(values) > values.null_count:
                    sample[name] = str(values.drop_null()[0].as_py())
    parsed: dict[str, Any] = {}
    for name in json_cols:
        if name in failed:
            parsed[name] = None
            continue
        kinds = list(samples[name].values()) + ([None] if name in nulls else [])
        parsed[name] = _parsed_dtype(kinds, schema.field(name).type)
    kinds_of = {f.name: f.type for f in schema}
    return WholeColumns(frozenset(n for n in counted if n in nulls and pa.types.is_integer(kinds_of[n])),
                        frozenset(n for n in counted if n in nulls and pa.types.is_boolean(kinds_of[n])),
                        parsed, frozenset(n for n in marked if n not in parsed or parsed[n] is None),
                        frozenset(n for n in times if len(offsets[n]) > 1), sample)


def _parsed_dtype(texts: list[str | None], kind: pa.DataType) -> Any:
    """The dtype pyogrio's parse of a JSON column gives to one holding ``texts`` (a text of each kind
    of value in the whole column, None for a missing one), converted from Arrow as the layer is."""
    storage = kind.storage_type if isinstance(kind, pa.ExtensionType) else kind
    values = pa.array(texts, type=storage)
    if isinstance(kind, pa.ExtensionType):
        values = pa.ExtensionArray.from_storage(kind, values)
    column = pa.table({"c": values}).to_pandas()["c"]
    return column.map(json.loads, na_action="ignore").dtype


def _is_text(kind: pa.DataType) -> bool:
    if isinstance(kind, pa.ExtensionType):
        kind = kind.storage_type
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _sampled(values: pa.Array, kinds: dict[object, str]) -> bool:
    """Add to ``kinds`` a text of each kind of JSON value in ``values`` (the smallest and largest
    integer: pandas types a column of large ones otherwise); False when one is not JSON."""
    for text in values.drop_null().to_pylist():
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            return False
        kind: object = type(value)
        if kind is int:
            low, high = kinds.get("low"), kinds.get("high")
            if low is None or value < json.loads(low):
                kinds["low"] = text
            if high is None or value > json.loads(high):
                kinds["high"] = text
            continue
        kinds.setdefault(kind, text)
    return True


_GDAL_JSON_RE2 = r"(?s)^(?:\[ (?:.* )?\]|\{ (?:.* )?\})$"  # _GDAL_JSON for Arrow's RE2
_OFFSET_RE2 = r"^.*?(Z|[+-]\d\d:?\d\d)?$"  # a date-time text's offset, '' when it has none


def _has_gdal_json(values: pa.Array) -> bool:
    """Whether a cell of the text array ``values`` is GDAL's JSON text of an array or object."""
    found = pc.match_substring_regex(values, _GDAL_JSON_RE2)
    if not pc.any(found).as_py():
        return False
    return any(isinstance(_loaded(t), list | dict) for t in pc.filter(values, found).to_pylist())


def _as_whole(frame: pd.DataFrame, whole: WholeColumns) -> pd.DataFrame:
    """``frame``'s int, bool and JSON-subtype columns typed as a whole read types them."""
    for name in whole.floats:
        frame[name] = frame[name].astype("float64")
    for name in whole.objects:
        frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    for name, dtype in whole.parsed.items():
        if dtype is None:
            continue
        values = [v if v is None or (isinstance(v, float) and np.isnan(v)) else json.loads(v) for v in frame[name]]
        column = pd.Series(values, index=frame.index, dtype=object)
        frame[name] = column if str(dtype) == "object" else column.astype(dtype)
    return frame


def arrow_frame(meta: dict[str, Any], table: pa.Table, options: dict[str, str],
                whole: WholeColumns | None = None) -> gpd.GeoDataFrame:
    """An Arrow table of ``pyogrio.open_arrow`` (``datetime_as_string=True``) as the frame
    ``read(..., use_arrow=True)`` gives: ``pyogrio.read_dataframe``'s conversion of its table (no fid
    index, date-times parsed as ISO 8601 to milliseconds, mixed offsets in UTC, JSON text columns
    parsed), the geometry last, GDAL's JSON cells given back (``_json_values``), and a geometry GEOS
    cannot build as written noted in ``OPEN_RING``/``UNREADABLE``."""
    name = meta["geometry_name"] or "wkb_geometry"
    blobs = None
    if name in table.column_names:
        blobs = table.column(name).to_numpy(zero_copy_only=False)
        table = table.drop_columns([name])
    frame = table.to_pandas()
    del table
    for dtype, column in zip(meta["dtypes"], meta["fields"], strict=True):
        if dtype is not None and dtype.startswith("datetime") and dtype != "datetime64[D]":
            frame[column] = _datetimes(frame[column], utc=whole is not None and column in whole.utc)
            if whole is not None and column in whole.sample and not frame[column].notna().any():
                frame[column] = _empty_as_whole(frame[column], whole.sample[column], column in whole.utc)
    if whole is not None:
        frame = _as_whole(frame, whole)
    for subtype, column in zip(meta["ogr_subtypes"], meta["fields"], strict=True):
        if whole is not None and column in whole.parsed:
            continue
        if subtype == "OFSTJSON" and pd.api.types.infer_dtype(frame[column]) == "string":
            with contextlib.suppress(ValueError, TypeError):  # pyogrio leaves it text (a warning)
                frame[column] = frame[column].map(json.loads, na_action="ignore")
    if blobs is None:
        return gpd.GeoDataFrame(frame)
    frame["geometry"] = shapely.from_wkb(blobs, on_invalid="ignore")
    gdf = gpd.GeoDataFrame(frame, geometry="geometry", crs=meta["crs"])
    if options.get(ARRAY_AS_STRING) == "YES":
        gdf = _json_values(gdf)
    for name in whole.marked if whole is not None else ():
        if gdf[name].dtype != object:  # no array or object in this chunk's cells: as _json_values leaves it
            gdf[name] = gdf[name].astype(object).where(gdf[name].notna(), None)
    if not shapely.is_missing(gdf.geometry.to_numpy()).any():
        return gdf
    return _decoded(gdf, blobs)


def _decoded(frame: gpd.GeoDataFrame, blobs: object) -> gpd.GeoDataFrame:
    """``frame`` with its geometries made again from their WKB ``blobs`` by ``geomcheck.decode_wkb``: an
    open ring or a geometry GEOS cannot build noted for validation (``OPEN_RING``, ``UNREADABLE``)."""
    decoded = geomcheck.decode_wkb(np.asarray(blobs, dtype=object))
    frame = frame.set_geometry(gpd.GeoSeries(decoded.geoms, index=frame.index, crs=frame.crs))
    if any(decoded.open_rings):
        frame[OPEN_RING] = decoded.open_rings
    if any(decoded.unreadable):
        frame[UNREADABLE] = decoded.unreadable
    return frame


def _empty_as_whole(empty: pd.Series, sample: str, utc: bool) -> pd.Series:
    """A chunk's date-time column with no value, in the dtype the whole file's values parse to (``sample``:
    one of them): a file whose one value is "...Z" reads as UTC whole, and its empty chunks did not."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a sample that does not parse leaves the chunk as it is
        model = _datetimes(pd.Series([sample], dtype=object), utc=utc)
    if model.dtype.kind != "M" or model.dtype == empty.dtype:
        return empty
    return pd.Series(pd.NaT, index=empty.index, dtype=model.dtype)


def _datetimes(texts: pd.Series, *, utc: bool = False) -> pd.Series:
    """A date-time column GDAL gave as ISO 8601 text, parsed as ``pyogrio.read_dataframe`` parses it
    (pyogrio 0.13, ``datetime_as_string=False``, ``mixed_offsets_as_utc=True``): milliseconds,
    mixed offsets in UTC, the text kept (with pyogrio's warning) when it does not parse; ``utc``: the
    whole file's values have mixed offsets, so UTC (as the whole read parses them) whatever this chunk's."""
    warning = "Error parsing datetimes, original strings are returned: {}"
    if utc:
        try:
            return pd.to_datetime(texts, utc=True, format="ISO8601").dt.as_unit("ms")
        except Exception as exc:  # as pyogrio: any failure keeps the text
            warnings.warn(warning.format(exc), stacklevel=3)
            return texts
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*parsing datetimes with mixed time zones will raise.*", FutureWarning)
        try:
            parsed = pd.to_datetime(texts, format="ISO8601")
        except Exception as exc:  # as pyogrio: any failure keeps the text
            if not (isinstance(exc, ValueError) and "Mixed timezones detected" in str(exc)):
                warnings.warn(warning.format(exc), stacklevel=3)
                return texts
            try:
                parsed = pd.to_datetime(texts, utc=True, format="ISO8601")
            except Exception as again:
                warnings.warn(warning.format(again), stacklevel=3)
                return texts
    if parsed.dtype in ("object", "string"):
        try:
            parsed = pd.to_datetime(texts, utc=True, format="ISO8601")
        except Exception as exc:
            warnings.warn(warning.format(exc), stacklevel=3)
    return parsed.dt.as_unit("ms") if parsed.dtype.kind == "M" else parsed


def read_kml_folders(source: str, folders: list[str]) -> gpd.GeoDataFrame:
    """Every placemark of every KML folder, in file order, with its folder in ``FOLDER``.

    GDAL's LIBKML driver gives one layer per folder (a nested folder is a layer of its own, named
    by its own name; placemarks outside any folder form a layer named after the document).
    """
    frames = []
    for name in folders:
        frame = read(source, name, {})
        if len(frame):
            if FOLDER not in frame.columns:
                frame[FOLDER] = name
            frames.append(frame)
    if not frames:
        return read(source, folders[0], {})
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs)
