"""The export grid: coordinates on ``COORD_DECIMALS`` decimals (about 1 cm in degrees), and their WKT.

``round_coordinates`` puts geometries on the grid as ``shapely.set_precision(..., mode="pointwise")``
does; ``grid_wkt`` is the WKT every export writes, ``shapely.to_wkt(round_coordinates(g),
rounding_precision=COORD_DECIMALS, trim=True)``, as Arrow text. For points and lines it writes that
text straight from the integer grid steps as bytes laid out with numpy (issue 13: 144,430 violations,
two geometries each, spent 0.5 s rebuilding geometries to print them): each coordinate as 4-byte words
taken from digit tables (sign and thousands, units, point and three decimals, four decimals), a block
of coordinates at a time, the zero bytes between them dropped. Anything else, and any coordinate GEOS
would print another way (in scientific notation below 1e-4, or large), goes through shapely itself.
``tests/test_export_grid_wkt.py`` and ``tests/test_export_grid_words.py`` keep shapely's text as the oracle.
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
BLOCK_ROWS = 8_192  # coordinates laid out at a time by ``_grid_wkt``


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


def grid_wkt(geoms: np.ndarray, *, flat: bool = False) -> pa.Array:
    """``shapely.to_wkt(round_coordinates(geoms), rounding_precision=COORD_DECIMALS, trim=True)``
    as Arrow text (a missing geometry is null), ``GRID_ROWS`` geometries at a time (the byte rows
    of a part take ~100 bytes per coordinate while they are laid out). ``flat``: the text of
    ``shapely.force_2d(geoms)`` when a geometry has z or m (a CSV export's geometry column)."""
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) <= GRID_ROWS:
        return _grid_wkt(geoms, flat)
    return pa.concat_arrays([_grid_wkt(geoms[k:k + GRID_ROWS], flat) for k in range(0, len(geoms), GRID_ROWS)])


def _grid_wkt(geoms: np.ndarray, flat: bool) -> pa.Array:
    """``grid_wkt`` of one part."""
    kind = shapely.get_type_id(geoms)
    # one coordinate-dimension pass stands for has_z and has_m (2: neither; tests/test_export_grid_words.py),
    # and an empty point or line is one without coordinates
    plain = bool(len(geoms)) and bool(np.isin(kind, (_POINT, _LINE)).all()) and \
        bool((shapely.get_coordinate_dimension(geoms) == 2).all())
    if not plain:
        return _shapely_wkt(geoms, flat)
    if (kind == _POINT).all():  # a point's bounds are its x and y, bit for bit (an empty one's NaN): one pass,
        # a third of get_coordinates' time on the scattered sites of a violation file (15 against 48 ms for 144,430)
        coords, at = shapely.bounds(geoms)[:, :2], np.arange(len(geoms))
    else:
        coords, at = shapely.get_coordinates(geoms, return_index=True)
    if not len(at) or not np.isfinite(coords).all():  # (an empty point: NaN bounds)
        return _shapely_wkt(geoms, flat)
    last = np.empty(len(at), bool)  # the last coordinate of each geometry (they come in order)
    np.not_equal(at[1:], at[:-1], out=last[:-1])
    last[-1] = True
    if int(np.count_nonzero(last)) != len(geoms):  # an empty one among them
        return _shapely_wkt(geoms, flat)
    first = np.empty(len(at), bool)
    first[0] = True
    first[1:] = last[:-1]
    point = kind[at] == _POINT
    size = np.empty(len(at), np.uint8)  # bytes written for each coordinate
    odd = np.zeros(len(at), bool)  # coordinates GEOS may write another way: shapely writes their geometry
    chars = np.empty(len(at) * _ROW_WORDS * 4, np.uint8)  # room for every byte (the text takes less)
    rows = np.empty((min(len(at), BLOCK_ROWS), _ROW_WORDS), np.uint32)  # one block's coordinates, reused
    filled = 0
    for start in range(0, len(at), BLOCK_ROWS):  # a block at a time: its temporaries stay in the cache
        part = slice(start, min(start + BLOCK_ROWS, len(at)))
        filled += _coordinate_rows(coords[part], point[part], first[part], last[part], rows, size[part], odd[part],
                                   chars[filled:])
    ends = np.zeros(len(geoms) + 1, np.int64)
    total = np.cumsum(size, dtype=np.int64)
    ends[1:] = total if len(at) == len(geoms) else total[last]
    text = pa.LargeStringArray.from_buffers(len(geoms), pa.py_buffer(ends), pa.py_buffer(chars[:filled]))
    if not odd.any():
        return text
    redo = np.unique(at[odd])
    mask = np.zeros(len(geoms), bool)
    mask[redo] = True
    again = shapely.to_wkt(round_coordinates(geoms[redo]), rounding_precision=COORD_DECIMALS, trim=True)
    return pc.replace_with_mask(text, pa.array(mask), pa.array(again, type=_TEXT))


def _coordinate_rows(coords: np.ndarray, point: np.ndarray, first: np.ndarray, last: np.ndarray, rows: np.ndarray,
                     size: np.ndarray, odd: np.ndarray, out: np.ndarray) -> int:
    """Write the text of a block of coordinates (the head of its geometry before a first one, ", "
    before any other, ")" after a last one) into ``out``, their sizes into ``size``, mark ``odd``;
    return the bytes written. ``rows`` is room for the block's words."""
    steps = _steps(coords)
    head = np.where(first, 2 - point, 0)  # ", ", "POINT (" or "LINESTRING ("
    block = rows[:len(coords)]
    block[:, :3] = _HEADS[head]
    block[:, 7] = _SEP
    block[:, _ROW_WORDS - 1] = _CLOSE[last.view(np.uint8)]
    size[:] = _HEAD_SIZE[head] + last + 1  # the space between x and y, ")" after the last coordinate
    size += _number_words(steps[:, 0], block[:, 3:7], odd)
    size += _number_words(steps[:, 1], block[:, 8:12], odd)
    chars = block.view(np.uint8).reshape(-1)
    written = chars[chars != 0]
    out[:len(written)] = written
    return len(written)


def _word_table(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of 4 ASCII bytes (zero where nothing is written) as 32-bit words, and their written sizes."""
    raw = np.ascontiguousarray(raw, dtype=np.uint8)
    return raw.view(np.uint32)[:, 0].copy(), np.count_nonzero(raw, axis=1).astype(np.uint8)


def _digit_table(count: int, width: int, shown: str) -> np.ndarray:
    """The digits of 0 .. count - 1, ``width`` of them, as ASCII bytes right-aligned in rows of 4 with
    zero bytes where a digit is not written: ``shown`` is ``"all"`` (zero-padded), ``"lead"`` (no
    leading zeros, 0 itself is nothing), ``"units"`` (no leading zeros, 0 is "0") or ``"trail"``
    (no trailing zeros, 0 is nothing)."""
    k = np.arange(count)[:, None]
    weight = 10 ** np.arange(width - 1, -1, -1)[None, :]
    digits = k // weight % 10 + ord("0")
    keep = {"all": np.ones_like(digits, bool), "lead": k >= weight, "units": (k >= weight) | (weight == 1),
            "trail": k % (10 * weight) != 0}[shown]
    raw = np.zeros((count, 4), np.uint8)
    raw[:, 4 - width:] = np.where(keep, digits, 0)
    return raw


def _text_table(*texts: str, width: int = 4) -> np.ndarray:
    """Short ASCII texts as rows of ``width`` bytes, left-aligned, zero bytes after."""
    return np.array([list(t.encode("ascii").ljust(width, b"\0")) for t in texts], dtype=np.uint8)


_ROW_WORDS = 13  # a coordinate: head (3 words), x (4), " ", y (4), ")" or nothing
_HEADS = np.ascontiguousarray(_text_table(", ", "POINT (", "LINESTRING (", width=12)).view(np.uint32)  # 3 words each
_HEAD_SIZE = np.array([2, 7, 12], np.uint8)
_SEP = _word_table(_text_table(" "))[0][0]
_CLOSE = _word_table(_text_table("", ")"))[0]
_SIGN = _word_table(_text_table("", "-"))[0]  # in the first byte of the word of whole thousands (left free)
# whole numbers up to 999,999: thousands without leading zeros, then units (zero-padded after thousands)
_WHOLE_HIGH, _WHOLE_HIGH_SIZE = _word_table(_digit_table(1000, 3, "lead"))
_WHOLE_LOW, _WHOLE_LOW_SIZE = _word_table(np.concatenate([_digit_table(1000, 3, "units"), _digit_table(1000, 3, "all")]))


def _decimal_table() -> np.ndarray:
    """The point and three decimals: without trailing zeros (nothing for 0) when nothing follows,
    then all three when more decimals follow."""
    trimmed, whole = _digit_table(1000, 3, "trail"), _digit_table(1000, 3, "all")
    trimmed[1:, 0] = whole[:, 0] = ord(".")
    return np.concatenate([trimmed, whole])


_FRAC_HIGH, _FRAC_HIGH_SIZE = _word_table(_decimal_table())
_FRAC_LOW, _FRAC_LOW_SIZE = _word_table(_digit_table(10_000, 4, "trail"))  # the last four decimals
_LARGE = float(_SCALE) * _FIXED[1]  # steps from which GEOS may write a coordinate another way (1e6 degrees)
_SMALL = float(_SCALE) * _FIXED[0]  # steps below which it writes scientific notation (1e-4), 0 aside


def _number_words(steps: np.ndarray, words: np.ndarray, odd: np.ndarray) -> np.ndarray:
    """Write whole grid steps as GEOS writes their coordinates in plain decimals with ``trim`` (no
    trailing zeros, no point for a whole number, no sign on zero) into ``words``, 4 words a number
    (sign and thousands, units, point and three decimals, four decimals; zero bytes where nothing is
    written); mark in ``odd`` the numbers GEOS may write otherwise; return the bytes written."""
    size = np.abs(steps)
    odd |= (size >= _LARGE) | ((size < _SMALL) & (size != 0))
    clamped = np.minimum(size, _LARGE - 1)  # an odd one (written by shapely) kept in range
    whole = np.floor(clamped / _SCALE)  # exact: whole steps below 2**53, a quotient below 1e6
    frac = (clamped - whole * _SCALE).astype(np.int32)
    high = whole.astype(np.int32)
    low = high % 1000
    high //= 1000
    low += 1000 * (high > 0)  # zero-padded after thousands
    fhigh = frac // 10_000
    flow = frac - fhigh * 10_000
    fhigh += 1000 * (flow > 0)  # all three written when more decimals follow
    negative = (steps < 0).view(np.uint8)  # -0.0 has no sign
    words[:, 0] = _SIGN[negative] | _WHOLE_HIGH[high]
    words[:, 1] = _WHOLE_LOW[low]
    words[:, 2] = _FRAC_HIGH[fhigh]
    words[:, 3] = _FRAC_LOW[flow]
    return negative + _WHOLE_HIGH_SIZE[high] + _WHOLE_LOW_SIZE[low] + _FRAC_HIGH_SIZE[fhigh] + _FRAC_LOW_SIZE[flow]


def _shapely_wkt(geoms: np.ndarray, flat: bool) -> pa.Array:
    """The WKT of ``grid_wkt`` through shapely, every geometry (without z and m when ``flat`` and
    one has them, as ``export._prepare`` writes other formats)."""
    if flat and (shapely.has_z(geoms) | shapely.has_m(geoms)).any():
        geoms = shapely.force_2d(geoms)
    return pa.array(shapely.to_wkt(round_coordinates(geoms), rounding_precision=COORD_DECIMALS, trim=True),
                    type=_TEXT)
