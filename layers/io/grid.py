"""The export grid: coordinates on ``COORD_DECIMALS`` decimals (about 1 cm in degrees), and their WKT.

``round_coordinates`` puts geometries on the grid as ``shapely.set_precision(..., mode="pointwise")``
does; ``grid_wkt`` is the WKT every export writes, ``shapely.to_wkt(round_coordinates(g),
rounding_precision=COORD_DECIMALS, trim=True)``, as Arrow text. For points and lines it writes that
text straight from the integer grid steps as bytes laid out with numpy (issue 13: 144,430 violations,
two geometries each, spent 0.5 s rebuilding geometries to print them); anything else, and any
coordinate GEOS would print another way (in scientific notation below 1e-4, or large), goes through
shapely itself. ``tests/test_export_grid_wkt.py`` keeps shapely's text as the oracle.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

COORD_DECIMALS = 7
_SCALE = 10 ** COORD_DECIMALS
_TEXT = pa.large_string()
_FIXED = (1e-4, 1e6)  # |coordinate| GEOS surely prints in plain decimals (0 too); outside: shapely writes the row
_POINT, _LINE = 0, 1  # shapely type ids written here
GRID_ROWS = 250_000  # geometries written at a time by ``grid_wkt``


def round_coordinates(geoms: np.ndarray) -> np.ndarray:
    """``shapely.set_precision(geoms, 1e-7, mode="pointwise")``: every x and y on the grid of
    ``COORD_DECIMALS`` decimals, rounded as GEOS rounds (``round(v * 1e7) / 1e7``, a half away
    upwards), for points, lines and polygons in one pass over their coordinates instead of one
    geometry rebuild each. Anything else (empty, multi-part and collections, where GEOS drops or
    retypes empty parts), and every geometry when one has z or a coordinate that is not finite,
    goes through ``set_precision`` itself."""
    geoms = np.asarray(geoms, dtype=object)
    if not np.isfinite(shapely.get_coordinates(geoms)).all() or shapely.has_z(geoms).any():
        return shapely.set_precision(geoms, 10 ** -COORD_DECIMALS, mode="pointwise")
    simple = np.isin(shapely.get_type_id(geoms), (0, 1, 3)) & ~shapely.is_empty(geoms)  # Point, LineString, Polygon
    out = geoms.copy()
    out[simple] = shapely.transform(geoms[simple], on_grid)
    if not simple.all():
        out[~simple] = shapely.set_precision(geoms[~simple], 10 ** -COORD_DECIMALS, mode="pointwise")
    return out


def on_grid(coords: np.ndarray) -> np.ndarray:
    """Coordinates on the grid: GEOS's ``PrecisionModel::makePrecise`` at scale 1e7."""
    return _steps(coords) / float(_SCALE)


def _steps(coords: np.ndarray) -> np.ndarray:
    """Coordinates in whole grid steps (as floats), rounded as ``util::round`` (Java's Math.round):
    to the nearest whole number, a half upwards, a negative one rounded to zero giving -0.0 as GEOS
    does. ``val - floor(val)`` is exact in floating point."""
    val = coords * float(_SCALE)
    low = np.floor(val)
    return np.copysign(low + (val - low >= 0.5), val)


def grid_wkt(geoms: np.ndarray) -> pa.Array:
    """``shapely.to_wkt(round_coordinates(geoms), rounding_precision=COORD_DECIMALS, trim=True)``
    as Arrow text (a missing geometry is null), ``GRID_ROWS`` geometries at a time (the byte rows
    of a part take ~100 bytes per coordinate while they are laid out)."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) <= GRID_ROWS:
        return _grid_wkt(geoms)
    return pa.concat_arrays([_grid_wkt(geoms[k:k + GRID_ROWS]) for k in range(0, len(geoms), GRID_ROWS)])


def _grid_wkt(geoms: np.ndarray) -> pa.Array:
    """``grid_wkt`` of one part."""
    kind = shapely.get_type_id(geoms)
    plain = bool(len(geoms)) and bool(np.isin(kind, (_POINT, _LINE)).all()) and not (
        shapely.is_empty(geoms).any() or shapely.has_z(geoms).any() or shapely.has_m(geoms).any())
    if not plain:
        return _shapely_wkt(geoms)
    coords, at = shapely.get_coordinates(geoms, return_index=True)
    if not np.isfinite(coords).all():
        return _shapely_wkt(geoms)
    steps = _steps(coords)
    size = np.abs(steps) / _SCALE
    odd = (size >= _FIXED[1]) | ((size < _FIXED[0]) & (steps != 0))
    first = np.r_[True, at[1:] != at[:-1]]  # the first coordinate of each geometry (they come in order)
    last = np.r_[at[1:] != at[:-1], True]
    head = np.where(first, np.where(kind[at] == _POINT, 1, 2), 0)  # ", ", "POINT (" or "LINESTRING ("
    chars = np.concatenate([_HEADS[head], _number_bytes(steps[:, 0]), _SPACE[np.zeros(len(at), int)],
                            _number_bytes(steps[:, 1]), _CLOSE[last.astype(int)]], axis=1)
    kept = chars != 0  # every coordinate's text, padded with zero bytes: the kept bytes, row after row
    ends = np.zeros(len(geoms) + 1, np.int64)
    ends[1:] = np.cumsum(np.bincount(at, weights=kept.sum(axis=1), minlength=len(geoms))).astype(np.int64)
    text = pa.LargeStringArray.from_buffers(len(geoms), pa.py_buffer(ends), pa.py_buffer(chars[kept].tobytes()))
    redo = np.unique(at[odd.any(axis=1)])
    if not len(redo):
        return text
    mask = np.zeros(len(geoms), bool)
    mask[redo] = True
    again = shapely.to_wkt(round_coordinates(geoms[redo]), rounding_precision=COORD_DECIMALS, trim=True)
    return pc.replace_with_mask(text, pa.array(mask), pa.array(again, type=_TEXT))


def _padded(*texts: str) -> np.ndarray:
    """One row of bytes per text, padded with zero bytes to the longest."""
    width = max(len(t) for t in texts)
    return np.array([list(t.encode("ascii").ljust(width, b"\0")) for t in texts], dtype=np.uint8)


_HEADS = _padded(", ", "POINT (", "LINESTRING (")
_SPACE = _padded(" ")
_CLOSE = _padded("", ")")
_DIGITS = 7  # whole digits written (coordinates below 1e6 need 6) and decimals (COORD_DECIMALS)


def _number_bytes(steps: np.ndarray) -> np.ndarray:
    """Whole grid steps as GEOS writes their coordinates in plain decimals with ``trim`` (no
    trailing zeros, no point for a whole number, no sign on zero): one row of ASCII bytes per
    number (sign, whole digits, point, decimals), zero bytes where nothing is written."""
    units = np.minimum(np.abs(steps), 1e13).astype(np.int64)  # larger ones (never written from here) kept in range
    whole, frac = np.divmod(units, _SCALE)
    out = np.zeros((len(steps), 2 + 2 * _DIGITS), np.uint8)
    out[:, 0] = np.where(steps < 0, ord("-"), 0)
    wide = np.ones(len(steps), bool)  # whole digits: from the first that is not 0, the units digit always
    for k in range(_DIGITS):
        whole, digit = np.divmod(whole, 10)
        out[:, _DIGITS - k] = np.where(wide, ord("0") + digit, 0)
        wide = whole > 0
    shown = np.zeros(len(steps), bool)  # decimals: up to the last that is not 0
    for k in range(_DIGITS):
        frac, digit = np.divmod(frac, 10)
        shown |= digit > 0
        out[:, 1 + 2 * _DIGITS - k] = np.where(shown, ord("0") + digit, 0)
    out[:, 1 + _DIGITS] = np.where(shown, ord("."), 0)
    return out


def _shapely_wkt(geoms: np.ndarray) -> pa.Array:
    """The WKT of ``grid_wkt`` through shapely, every geometry."""
    return pa.array(shapely.to_wkt(round_coordinates(geoms), rounding_precision=COORD_DECIMALS, trim=True),
                    type=_TEXT)
