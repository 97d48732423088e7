"""A GeoPackage layer read through Arrow, as the frame pyogrio's feature-by-feature read gives.

``pyogrio.read_dataframe(path, layer=...)`` without Arrow reads 1e6 sites in about 1.3 s; GDAL's
Arrow stream reads them in about 0.2 s. The two frames differ in a few dtypes (a boolean field
with missing values, a text field holding nothing), so this module builds, from the Arrow table,
the columns the feature read would have built: the same names, order, dtypes, values, index,
geometry and CRS. Field types it does not rebuild (dates, times, binary, lists, JSON) make
``read_layer`` fall back to the feature read for that layer.

A read is one snapshot, and waits for a writer's commit as the ``sqlite3`` readers do:

- GDAL's SQLite gives up on a locked file after its ``SQLITE_BUSY_TIMEOUT`` configuration option
  (milliseconds, 5000 by default, applied by GDAL after ``OGR_SQLITE_PRAGMA``, which is why a
  ``busy_timeout`` pragma there changed nothing), and opening a GeoPackage meets a held lock twice.
  A read here waits ``files.READ_WAIT_S`` in all, open and read (``layers.io.gdalwait.within``: the
  option set for the reading thread only, so a user's own file elsewhere keeps GDAL's short wait);
- GDAL reads a layer's Arrow stream in batches of 65,536 rows, each its own SQLite read: a writer
  could commit between two batches, and a read of a larger layer returned old rows followed by new
  ones. The GeoPackage driver's ``PRELUDE_STATEMENTS`` open option sends ``BEGIN`` before anything
  else (``SNAPSHOT``), so the whole read, layer definition included, is one read transaction: a
  commit waits for it (rollback journal) or is not seen by it (WAL);
- a read that still cannot get in raises ``StoreBusy`` (a ``WorkspaceError``) naming the file and the layer;
- a writer killed inside its transaction left a hot journal, which GDAL's read-only open cannot roll
  back ("attempt to write a readonly database"): it is rolled back first (``files.roll_back_dead_writer``).
"""
from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyogrio
import pyogrio.geopandas as pyogrio_geopandas
import shapely
from pyogrio.errors import DataLayerError, DataSourceError

from geo.errors import StoreBusy
from layers.io import gdalwait
from layers.store import files

# (OGR type, OGR subtype) pairs rebuilt here; anything else is read feature by feature
_TEXT = {("OFTString", "OFSTNone")}
_NUMBER = {("OFTInteger", "OFSTNone"), ("OFTInteger", "OFSTInt16"), ("OFTInteger", "OFSTBoolean"),
           ("OFTInteger64", "OFSTNone"), ("OFTReal", "OFSTNone"), ("OFTReal", "OFSTFloat32")}
_DATETIME = {("OFTDateTime", "OFSTNone")}  # read as ISO 8601 text, parsed as the feature read parses it
SNAPSHOT = {"PRELUDE_STATEMENTS": "BEGIN"}  # GPKG open option: the whole read in one SQLite read transaction
T = TypeVar("T")
MISSING_TABLES = "required GeoPackage tables"  # GDAL's open: "At least one of the required GeoPackage tables ..."


def wait_for_writers() -> None:
    """GDAL reads of this process that are not workspace reads (a user's file, a staging file) wait
    ``gdalwait.OTHER_WAIT_S`` for each lock they meet: GDAL's own default, set process-wide so that no
    earlier setting carries over (this module once set the workspace's ``files.READ_WAIT_S`` for the
    whole process, and an import of a file QGIS held waited twice that, silently). The reads here set
    their own wait for the reading thread only."""
    pyogrio.set_gdal_config_options({"SQLITE_BUSY_TIMEOUT": str(round(gdalwait.OTHER_WAIT_S * 1000))})


wait_for_writers()


def read_layer(path: str | os.PathLike[str], layer: str, columns: Sequence[str] | None = None,
               where: str | None = None) -> gpd.GeoDataFrame:
    """``pyogrio.read_dataframe(path, layer=layer, columns=columns, where=where)`` as one snapshot,
    read through Arrow when every field read has a type rebuilt here (text, whole numbers, booleans,
    reals), else feature by feature. Columns the layer lacks are left out; ``where`` is an SQLite
    condition on the layer's columns (rows failing it are never read). Raises ``StoreBusy`` when a
    writer kept the file locked for ``files.READ_WAIT_S`` (the whole read, open included, waits that
    long at most)."""
    files.roll_back_dead_writer(Path(path))
    got = _waiting_for_writers(path, layer, lambda: _arrow(path, layer, columns, where)
                               or pyogrio.read_dataframe(path, layer=layer, columns=columns, where=where, **SNAPSHOT))
    if isinstance(got, pd.DataFrame):
        return got
    table, meta, kinds = got
    return _frame({name: table.column(name) for name in table.column_names}, meta, kinds)


def read_parts(path: str | os.PathLike[str], layer: str, parts: Sequence[tuple[Sequence[str] | None, str | None]]
               ) -> gpd.GeoDataFrame:
    """The rows of ``layer`` that the ``parts`` select, in stored (feature id) order, as ``read_layer``
    would give them were they the whole layer: each part a ``(columns, where)`` read of its own (the
    first reads every column: ``columns`` None), a column a part does not read is empty in its rows,
    never read. The parts are meant to select disjoint rows; each is one snapshot, so a caller that
    needs them to agree checks that nobody committed meanwhile (``Workspace.read_field``). The dtypes
    are those of the rows returned (the Arrow tables are joined before pandas columns are built), so
    they tell nothing of rows not read; a layer with a field type not rebuilt here is read feature by
    feature and joined in pandas."""
    files.roll_back_dead_writer(Path(path))
    if not parts or parts[0][0] is not None:
        raise ValueError("the first part of a read must read every column (columns None)")
    got = [_waiting_for_writers(path, layer, functools.partial(_arrow, path, layer, columns, where, fids=True))
           for columns, where in parts]
    if any(g is None for g in got):
        return _joined([_waiting_for_writers(path, layer, functools.partial(
            pyogrio.read_dataframe, path, layer=layer, columns=columns, where=where, fid_as_index=True, **SNAPSHOT))
            for columns, where in parts])
    read = [g for g in got if g is not None]
    first, meta, kinds = read[0]
    fid = meta["fid_column"] or "fid"
    ids = np.concatenate([t.column(fid).to_numpy() for t, _, _ in read])
    order = pa.array(np.argsort(ids, kind="stable"))
    data: dict[str, pa.ChunkedArray] = {}
    for name in first.column_names:
        if name == fid:
            continue
        chunks = [c for t, _, _ in read for c in (t.column(name).chunks if name in t.column_names
                                                 else [pa.nulls(t.num_rows, first.schema.field(name).type)])]
        data[name] = pa.chunked_array(chunks, first.schema.field(name).type).take(order)
    return _frame(data, meta, kinds)


def _joined(frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """Feature reads of parts (feature ids as index; the first with every column) as one frame in
    feature id order, a column a part did not read empty in its rows."""
    first = frames[0]
    held = [f for f in frames if len(f)] or [first]
    out = pd.concat([f.reindex(columns=first.columns) for f in held]).sort_index(kind="stable")
    out = out.reset_index(drop=True)
    if isinstance(first, gpd.GeoDataFrame):
        return gpd.GeoDataFrame(out, geometry=first.geometry.name, crs=first.crs)
    return out


def _frame(columns: dict[str, pa.ChunkedArray], meta: dict[str, Any], kinds: dict[str, tuple[str, str]]
           ) -> gpd.GeoDataFrame:
    """The frame the feature read gives, from the Arrow columns of a read (its fields and geometry)."""
    fields = list(kinds)
    frame = pd.DataFrame({name: _column(columns[name], kinds[name]) for name in fields}, columns=fields)
    name = meta["geometry_name"] or "wkb_geometry"
    if name not in columns:
        return frame
    frame["geometry"] = shapely.from_wkb(columns[name].to_numpy(zero_copy_only=False))
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=meta["crs"])


def _arrow(path: str | os.PathLike[str], layer: str, columns: Sequence[str] | None, where: str | None, *,
           fids: bool = False) -> tuple[pa.Table, dict[str, Any], dict[str, tuple[str, str]]] | None:
    """(the Arrow table, pyogrio's layer description, each field's OGR type) of ``layer`` (``fids``: with
    the feature ids, in column ``fid_column``); None when a field has a type not rebuilt here (the layer
    is then read feature by feature)."""
    with pyogrio.raw.open_arrow(path, layer=layer, columns=columns, where=where, datetime_as_string=True,
                                use_pyarrow=True, return_fids=fids, **SNAPSHOT) as (meta, stream):
        fields = [str(f) for f in meta["fields"]]
        kinds = dict(zip(fields, zip(meta["ogr_types"], meta["ogr_subtypes"])))
        if meta["encoding"].upper() != "UTF-8" or any(kinds[c] not in _TEXT | _NUMBER | _DATETIME for c in fields):
            return None
        table = stream.read_all()
        if any(kinds[c] in _DATETIME and not pa.types.is_string(table.column(c).type) for c in fields):
            return None  # not the ISO 8601 text the feature read parses: read feature by feature
        return table, meta, kinds


def field_names(path: str | os.PathLike[str], layer: str) -> list[str]:
    """The attribute fields of ``layer`` in GeoPackage ``path``, as stored (no geometry); waits for a
    writer's commit and fails as ``read_layer`` does."""
    files.roll_back_dead_writer(Path(path))
    return _waiting_for_writers(path, layer, lambda: [str(f) for f in pyogrio.read_info(path, layer=layer)["fields"]])


def _waiting_for_writers(path: str | os.PathLike[str], layer: str, read: Callable[[], T]) -> T:
    """``read()`` of workspace ``path``, waiting ``files.READ_WAIT_S`` in all for a writer's lock
    (``gdalwait.within``), then ``StoreBusy`` naming the file and the layer; any other error as it is."""
    verdicts: list[bool] = []  # what ``_busy`` said of each failed try

    def busy(exc: BaseException, *, waited: bool) -> bool:
        verdicts.append(_busy(exc, waited=waited))
        return verdicts[-1]
    try:
        return gdalwait.within(files.READ_WAIT_S, read, busy)
    except (DataSourceError, DataLayerError):
        if not verdicts or not verdicts[-1]:
            raise
        raise StoreBusy(f"workspace {path} is busy: a write kept it locked for more than {files.READ_WAIT_S:g} s,"
                        f" so layer {layer!r} could not be read; nothing was changed. Try again in a"
                        f" minute") from None


def _busy(exc: BaseException, *, waited: bool) -> bool:
    """Whether GDAL's error on a workspace came from another program's lock: "database is locked", or,
    after a try that waited a whole lock wait (``waited``), GDAL's open saying the file lacks the
    GeoPackage tables. The second is what the open says when its look at the schema met a lock it did
    not get past (seen under another program committing in a tight loop, rollback journal: 2 of 95
    reads with a 100 ms wait, 18bd24d); a file that really lacks them says so at once, and is not waited for."""
    return gdalwait.locked(exc) or (waited and MISSING_TABLES in str(exc))


def _column(values: pa.ChunkedArray, kind: tuple[str, str]) -> object:
    """What the feature read gives for one field: a numpy array (text as Python strings, a number
    or boolean field with missing values as float64 with NaN), or, for text holding at least one
    value, the pandas ``str`` column pandas infers from those strings, built without them. A date-time
    field is GDAL's ISO 8601 text, as the feature read gets it, parsed by pyogrio's own parser (its
    ``datetime64[ms]``, time zones as it treats them; a private function of the pinned pyogrio, which
    ``tests/test_read_arrow_datetime.py`` holds to the feature read)."""
    if kind in _DATETIME:
        text = pd.Series(values.to_numpy(zero_copy_only=False), dtype=object)
        return pyogrio_geopandas._try_parse_datetime(text, datetime_as_string=False, mixed_offsets_as_utc=True)
    if kind in _TEXT:
        if values.null_count == len(values):  # nothing to infer a string dtype from: an object column
            return np.full(len(values), None, dtype=object)
        return pd.Series(pd.arrays.ArrowStringArray(values.cast(pa.large_string())), dtype=pd.StringDtype(na_value=np.nan))
    if values.null_count == 0:
        return values.to_numpy()
    if pa.types.is_floating(values.type):
        return pc.fill_null(values, np.nan).to_numpy()
    out = pc.fill_null(values, pa.scalar(False if pa.types.is_boolean(values.type) else 0, values.type)
                       ).to_numpy().astype("float64")  # numpy's rounding of a 64-bit whole number
    out[pc.is_null(values).to_numpy()] = np.nan
    return out
