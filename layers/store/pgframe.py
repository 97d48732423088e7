"""GeoDataFrames to and from the rows of a PostGIS layer table.

A layer table has one typed column per catalogue field (text, bigint, double precision, boolean,
date), a JSONB column ``extra`` for every other column of the file, and ``geom`` (EPSG:4326, 2D).
``hgw_layers.columns`` keeps the frame's column order and, for each column kept in ``extra``, the
kind of its values, so that a layer reads back with the columns, order and dtypes the GeoPackage
store gives: declared fields in their declared dtypes (``coerce_types``), other columns as
``str``, ``int``, ``float``, ``bool``, ``datetime``, ``Int64`` or ``boolean``.
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.catalogue import FieldSpec, LayerSpec
from layers.io.coerce import coerce_types

DECLARED = "declared"  # the kind of a column stored in its own typed column
EXTRA = "extra"  # the JSONB column of the columns the catalogue does not declare
GEOM = "geom"
_NOTHING: dict[str, Any] = {}  # the extra values of a row that has none (read only)


@dataclass(frozen=True)
class Prepared:
    """A frame ready for ``COPY``: its column layout, the table columns filled, and the rows."""

    columns: list[list[str]]  # [name, kind] in the frame's order, for ``hgw_layers.columns``
    table_columns: list[str]  # the typed columns filled, then "extra" and "geom"
    rows: list[tuple[object, ...]]


def kind_of(values: pd.Series) -> str:
    """The kind an undeclared column is kept as, from its dtype."""
    dtype = values.dtype
    if isinstance(dtype, pd.BooleanDtype):
        return "boolean"
    if isinstance(dtype, pd.Int64Dtype) or (pd.api.types.is_extension_array_dtype(dtype)
                                            and pd.api.types.is_integer_dtype(dtype)):
        return "Int64"
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "str"


def _natives(values: pd.Series) -> list[Any]:
    """Python values with None for every missing one (NaN, NA, NaT, non-finite floats)."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        stamps = values.dt.tz_convert("UTC").dt.tz_localize(None) if values.dt.tz is not None else values
        return [None if pd.isna(v) else v.to_pydatetime() for v in stamps]
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iub":  # numpy ints and booleans: never missing
        return values.to_numpy().tolist()
    if isinstance(values.dtype, np.dtype) and values.dtype.kind == "f":  # NaN and the infinities are missing
        numbers = values.to_numpy()
        cells = numbers.astype(object)
        cells[~np.isfinite(numbers)] = None
        return cells.tolist()
    out = values.astype(object).where(values.notna(), None).tolist()
    return [None if isinstance(v, float) and not math.isfinite(v) else
            v.item() if isinstance(v, np.generic) else v for v in out]


def _json_value(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        return value.isoformat()
    if kind == "str":
        return value if isinstance(value, str) else str(value)
    return value


def prepare(gdf: gpd.GeoDataFrame, spec: LayerSpec, typed: Iterable[str]) -> Prepared:
    """The rows of ``gdf`` for a table with the typed columns ``typed``; declared fields are given
    their declared dtype first (leniently, as a read would: a bad value becomes NULL)."""
    typed = set(typed)
    frame = coerce_types(pd.DataFrame(gdf.drop(columns=gdf.geometry.name)), spec)
    names = [str(c) for c in frame.columns]
    columns = [[n, DECLARED if n in typed else kind_of(frame[n])] for n in names]
    declared = [n for n, k in columns if k == DECLARED]
    extras = [(n, k) for n, k in columns if k != DECLARED]
    data = {n: _natives(frame[n]) for n in names}
    for n in declared:
        if spec.field(n) is not None and spec.field(n).dtype == "date":  # type: ignore[union-attr]
            data[n] = [v.date() if isinstance(v, datetime) else v for v in data[n]]
    extra_rows = [json.dumps({n: _json_value(data[n][i], k) for n, k in extras if data[n][i] is not None},
                             ensure_ascii=False) for i in range(len(frame))] if extras else ["{}"] * len(frame)
    geoms = shapely.force_2d(np.asarray(gdf.geometry.to_numpy(), dtype=object))
    wkb = shapely.to_wkb(shapely.set_srid(geoms, 4326), hex=True, include_srid=True)
    rows = list(zip(*(data[n] for n in declared), extra_rows, wkb.tolist())) if len(frame) else []
    return Prepared(columns, declared + [EXTRA, GEOM], rows)


def _restore(values: list[Any], kind: str) -> Any:
    """An undeclared column's values (from JSON) in its kept kind."""
    if kind == "int":
        return np.asarray(values, dtype="int64") if None not in values else pd.array(values, dtype="Int64")
    if kind == "bool":
        return np.asarray(values, dtype=bool) if None not in values else pd.array(values, dtype="boolean")
    if kind == "float":
        return np.asarray([np.nan if v is None else v for v in values], dtype="float64")
    if kind == "datetime":
        return pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601").astype("datetime64[ms]")
    if kind in ("Int64", "boolean"):
        return pd.array(values, dtype=kind)
    return pd.array([None if v is None else str(v) for v in values], dtype="str")


def frame(rows: Sequence[Sequence[Any]], columns: Sequence[Sequence[str]], typed: Sequence[str],
          spec: LayerSpec) -> gpd.GeoDataFrame:
    """The layer from ``rows`` (the ``typed`` columns, then ``extra`` and the WKB of ``geom``),
    with the column order and kinds of ``columns`` and its declared fields coerced."""
    def column(k: int) -> list[Any]:  # one column of the rows, without a tuple of every row as arguments
        return list(map(itemgetter(k), rows))

    by_name = {name: k for k, name in enumerate(typed)}
    extras: list[dict[str, Any]] = []
    if any(kind != DECLARED or name not in by_name for name, kind in columns):
        extras = [e or _NOTHING for e in column(len(typed))]  # NULL: a row without extra values
    data: dict[str, Any] = {}
    for name, kind in columns:
        if kind == DECLARED and name in by_name:
            data[name] = _declared(column(by_name[name]), spec.field(name))
        else:
            data[name] = _restore([e.get(name) for e in extras], "str" if kind == DECLARED else kind)
    wkb = column(len(typed) + 1)
    if not set(map(type, wkb)) <= {bytes, type(None)}:
        wkb = [g if g is None or isinstance(g, bytes) else bytes(g) for g in wkb]
    geometry = shapely.from_wkb(np.asarray(wkb, dtype=object))
    out = pd.DataFrame({n: (v.reset_index(drop=True) if isinstance(v, pd.Series) else v)
                        for n, v in data.items()}, index=pd.RangeIndex(len(rows)))
    out = coerce_types(out, spec)
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geometry, crs=4326), crs=4326)


def _declared(values: list[Any], field: FieldSpec | None) -> Any:
    """A typed column's values for ``coerce_types``: a date column as datetime64; a boolean column of
    booleans (and NULLs) as pandas booleans, a number column of Python floats or ints (and NULLs) as
    float64 with NaN, which ``coerce_types`` parses whole and would otherwise parse one value at a
    time into the same values; anything else as Python objects."""
    dtype = field.dtype if field is not None else "str"
    if dtype == "date":
        return pd.to_datetime(pd.Series(values, dtype=object)).astype("datetime64[ms]")
    kinds = set(map(type, values)) - {type(None)}
    if dtype == "bool" and kinds <= {bool}:
        return pd.array(values, dtype="boolean")
    if dtype in ("float", "int") and kinds <= {float, int}:
        return np.asarray(values, dtype="float64")  # None as NaN; an int as Python's float(int)
    return pd.Series(values, dtype=object)


def merged(old: Sequence[Sequence[str]], new: Sequence[Sequence[str]]) -> list[list[str]]:
    """The column layout after appending ``new`` rows to ``old`` ones: old columns first; a
    column kept as two different kinds becomes ``str``."""
    out = [list(c) for c in old]
    index = {c[0]: c for c in out}
    for name, kind in new:
        if name not in index:
            out.append([name, kind])
            index[name] = out[-1]
        elif index[name][1] != kind:
            index[name][1] = "str"
    return out

