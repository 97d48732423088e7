"""GeoParquet into a GeoDataFrame: ``geopandas.read_parquet``'s frame, made with less work for the
common file (issue 13).

A file whose ``geo`` metadata names one geometry column, WKB-encoded, with no bounding-box covering
and no spherical edges, is read here: the table by ``pyarrow.parquet.ParquetFile.read``, the attributes
by ``Table.to_pandas`` and the geometry column put back where geopandas puts it, as geopandas'
``_arrow_to_geopandas`` does. Three steps cost less than in geopandas:

- the file is read as the one file it is, not as a ``pyarrow.dataset`` of one file (what geopandas and
  ``pyarrow.parquet.read_table`` do): the same table, in one chunk per column instead of one per
  batch, without loading the dataset modules (a check's two files, fresh processes: 68-81 ms against
  80-89 ms wall in most runs).

- points written as 21-byte little-endian WKB records (2D, finite, none null) are made by
  ``shapely.points`` straight from the coordinates in the records, instead of one Python ``bytes``
  object per record handed to ``shapely.from_wkb`` (1e6 sites: ~0.15 s less). Any other geometry, and
  any record not of that form, goes through ``shapely.from_wkb`` exactly as geopandas decodes it.
- the CRS of a PROJJSON member is built once per process and text (building the WGS84 of a file
  written by geopandas takes PROJ ~21 ms, its datum ensemble's members being looked up by name; a
  check reads two such files). Nothing is kept across processes.

Every other file (several geometry columns, GeoArrow encodings, coverings, metadata geopandas would
refuse or warn about) is read by ``geopandas.read_parquet`` itself, which also raises its errors.
``tests/test_check_speed_geoparquet.py`` keeps ``geopandas.read_parquet`` as the oracle.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from geopandas.array import GeometryArray
from pyproj import CRS

from geo import geomcheck
from layers.io import prefetch

_POINT_WKB = 21  # byte order (1), type (4), x (8), y (8)
_CRS: dict[str, CRS | None] = {}  # PROJJSON text (keys sorted) -> its CRS, for this process only


def read_geoparquet(path: Path) -> gpd.GeoDataFrame:
    """``geopandas.read_parquet(path)``, the common file read with less work (see the module)."""
    try:
        with pq.ParquetFile(path) as file:
            metadata = file.schema_arrow.metadata or {}
            column = _plain_geometry_column(metadata)
            if column is not None and column in file.schema_arrow.names:
                ahead = prefetch.take(path)  # read on a side thread while cli.py loaded its modules
                table = file.read() if ahead is None else ahead
            else:
                table = None
    except (pa.ArrowException, OSError, ValueError):  # a damaged file: geopandas reads it and says so, as before
        table = None
    if table is None or column is None:
        return gpd.read_parquet(path)
    info = json.loads(metadata[b"geo"])["columns"][column]
    names = list(table.slice(0, 0).to_pandas().columns)  # where the geometry column goes, as geopandas finds it
    geoms = _points(table.column(column))
    if geoms is None:
        geoms = shapely.from_wkb(np.array(table.column(column)), on_invalid="raise")  # as geopandas decodes WKB
    frame = table.drop_columns([column]).to_pandas()
    # the geometries go in as a Series and the GeoDataFrame takes the frame without a copy: inserting the
    # GeometryArray itself, and geopandas' default copy of a plain frame, each copied the array of 1e6 objects
    # (~15-35 ms each, a reference count written on every geometry; issue 13)
    array = GeometryArray(geoms, crs=_crs(info.get("crs", "OGC:CRS84")))
    frame.insert(names.index(column), column, pd.Series(array, index=frame.index, copy=False))
    if b"PANDAS_ATTRS" in metadata:
        frame.attrs = json.loads(metadata[b"PANDAS_ATTRS"])
    return gpd.GeoDataFrame(frame, geometry=column, copy=False)


def _plain_geometry_column(metadata: dict[bytes, bytes]) -> str | None:
    """The geometry column of a file this module reads itself, else None (geopandas reads it)."""
    try:
        geo = json.loads(metadata[b"geo"])
    except (KeyError, TypeError, ValueError):
        return None
    if not isinstance(geo, dict) or not geo.get("version") or not isinstance(geo.get("columns"), dict):
        return None
    column, columns = geo.get("primary_column"), geo["columns"]
    if not isinstance(column, str) or list(columns) != [column] or not isinstance(columns[column], dict):
        return None
    info = columns[column]
    if info.get("encoding") != "WKB" or "covering" in info or info.get("edges", "planar") != "planar":
        return None
    crs = info.get("crs", "OGC:CRS84")
    return column if crs is None or isinstance(crs, (str, dict)) else None


def _points(column: pa.ChunkedArray) -> np.ndarray | None:
    """The points of a WKB column whose every record is a 2D little-endian point with finite
    coordinates (none null), made from the coordinates in place; None for any other column."""
    if column.null_count or not len(column) or not pa.types.is_binary(column.type) and \
            not pa.types.is_large_binary(column.type):
        return None
    array = column.combine_chunks()
    _, offset_buffer, data_buffer = array.buffers()
    width = np.int64 if pa.types.is_large_binary(array.type) else np.int32
    offsets = np.frombuffer(offset_buffer, dtype=width, count=len(array) + 1, offset=array.offset * np.dtype(width).itemsize)
    if data_buffer is None or not (np.diff(offsets) == _POINT_WKB).all():
        return None
    records = np.frombuffer(data_buffer, dtype=np.uint8)[int(offsets[0]):int(offsets[-1])].reshape(-1, _POINT_WKB)
    kind = np.ascontiguousarray(records[:, 1:5]).view("<u4")[:, 0]
    if not ((records[:, 0] == 1) & (kind == 1)).all():  # little-endian, type 1: a 2D point
        return None
    coords = np.ascontiguousarray(records[:, 5:]).view("<f8")
    if not np.isfinite(coords).all():  # NaN is an empty point in WKB
        return None
    points = np.asarray(shapely.points(coords), dtype=object)
    geomcheck.prime_points(points, coords)  # their bounds, type and dimension known without a pass over them
    return points


def _crs(value: Any) -> CRS | None:
    """The CRS geopandas makes of a column's ``crs`` member (ensemble members' ids dropped, as
    geopandas drops them), each distinct member built once in this process."""
    if value is None:
        return None
    key = json.dumps(value, sort_keys=True)
    if key not in _CRS:
        if isinstance(value, dict):
            value = copy.deepcopy(value)
            _drop_member_ids(value)
        _CRS[key] = CRS.from_user_input(value)
    return _CRS[key]


def _drop_member_ids(node: dict[str, Any]) -> None:
    """geopandas' ``_remove_id_from_member_of_ensembles``: no ``id`` on a datum ensemble's members."""
    for key, value in node.items():
        if isinstance(value, dict):
            _drop_member_ids(value)
        elif key == "members" and isinstance(value, list):
            for member in value:
                if isinstance(member, dict):
                    member.pop("id", None)
