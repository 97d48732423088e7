"""Geometry checks on lon/lat layers: nulls, validity, type, coordinate range, swapped axes.

All functions take numpy arrays of shapely geometries in lon/lat degrees and return one
entry per geometry, so that the caller can report every problem row by row. ``decode_wkb`` and
``decode_wkt`` build geometries from a file's WKB or WKT without ever raising on a bad record:
a polygon ring whose last point is not its first is built closed and named, so that the
validation can report it (or ``--repair`` keep it), and any other unreadable record is None
with GEOS's reason.
"""
from __future__ import annotations

import contextlib
import ctypes
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray


class Known:
    """Whole-column facts of one array of geometries (type ids, None or empty, bounds, coordinate
    dimension), each computed at most once: ``known(geoms)`` gives the same ``Known`` to every
    caller within ``sharing()`` while the array holds the same geometry objects (issue 13: a read
    and its validation computed the bounds of 1e6 sites twice, their type ids and emptiness twice).
    Shapely geometries are immutable, so the facts of the same objects in the same order stay true.
    """

    def __init__(self, geoms: NDArray[np.object_]) -> None:
        self.geoms = geoms
        self._types: NDArray[np.int32] | None = None
        self._missing: NDArray[np.bool_] | None = None
        self._bounds: NDArray[np.float64] | None = None
        self._dims: NDArray[np.int32] | None = None
        self._xy: NDArray[np.float64] | None = None  # points made from these coordinates (``prime_points``)
        self._ranges: tuple[NDArray[np.bool_], NDArray[np.bool_]] | None = None

    @property
    def types(self) -> NDArray[np.int32]:
        """``shapely.get_type_id`` (-1 for None)."""
        if self._types is None:
            self._types = _frozen(np.asarray(shapely.get_type_id(self.geoms), dtype=np.int32))
        return self._types

    @property
    def missing(self) -> NDArray[np.bool_]:
        """``missing_mask``: None or empty."""
        if self._missing is None:
            self._missing = _frozen(shapely.is_missing(self.geoms) | shapely.is_empty(self.geoms))
        return self._missing

    @property
    def bounds(self) -> NDArray[np.float64]:
        """``coordinate_bounds``: (minx, miny, maxx, maxy) per geometry, NaN for a missing one."""
        if self._bounds is None:
            self._bounds = _frozen(np.asarray(shapely.bounds(self.geoms), dtype=float) if self._xy is None
                                   else np.concatenate([self._xy, self._xy], axis=1))
        return self._bounds

    def columns(self) -> tuple[NDArray[np.float64], ...]:
        """The columns of ``bounds`` (minx, miny, maxx, maxy); of points made from coordinates, their x
        and y themselves (no array of bounds made)."""
        if self._xy is not None and self._bounds is None:
            x, y = self._xy[:, 0], self._xy[:, 1]
            return x, y, x, y
        b = self.bounds
        return b[:, 0], b[:, 1], b[:, 2], b[:, 3]

    @property
    def ranges(self) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """``range_masks``: (out of range, swapped)."""
        if self._ranges is None:
            out_of_range, swapped = _range_masks(*self.columns())
            self._ranges = _frozen(out_of_range), _frozen(swapped)
        return self._ranges

    @property
    def dims(self) -> NDArray[np.int32]:
        """``shapely.get_coordinate_dimension`` (-1 for None or empty)."""
        if self._dims is None:
            self._dims = _frozen(np.asarray(shapely.get_coordinate_dimension(self.geoms), dtype=np.int32))
        return self._dims


class _Block(threading.local):
    """This thread's ``sharing()`` block: (the objects' addresses, a copy of the array holding them, their
    facts) of the arrays seen, or None outside a block. The copy keeps every object alive, so no other
    geometry can take one's address meanwhile. Per thread: the server's sessions read and check at once."""

    seen: list[tuple[NDArray[np.intp], NDArray[np.object_], Known]] | None = None


_BLOCK = _Block()


@contextlib.contextmanager
def sharing() -> Iterator[None]:
    """Within the block, ``known`` of the same geometries (the same objects, in the same order, in
    any array) is one ``Known``; outside it, each ``known`` computes its own. Nothing is kept after.
    A block inside another is the outer one (a check's read, then its rules, share the read's facts)."""
    if _BLOCK.seen is not None:
        yield
        return
    _BLOCK.seen = []
    try:
        yield
    finally:
        _BLOCK.seen = None


def _addresses(geoms: NDArray[np.object_]) -> NDArray[np.intp]:
    """The objects' addresses in a 1-D C-contiguous object array, as a view of its buffer (no copy)."""
    buffer = (ctypes.c_ssize_t * len(geoms)).from_address(geoms.ctypes.data)
    return np.frombuffer(memoryview(buffer), dtype=np.intp)


def known(geoms: NDArray[np.object_]) -> Known:
    """The ``Known`` facts of ``geoms`` (shared within ``sharing()``, see ``Known``)."""
    seen = _BLOCK.seen
    if seen is None or geoms.dtype != object or geoms.ndim != 1 or not geoms.flags.c_contiguous or not len(geoms):
        return Known(geoms)
    here = _addresses(geoms)
    for addresses, _, facts in seen:
        if len(addresses) == len(here) and np.array_equal(addresses, here):
            return facts
    held = geoms.copy()
    facts = Known(held)
    seen.append((_addresses(held).copy(), held, facts))
    return facts


def prime_points(geoms: NDArray[np.object_], coords: NDArray[np.float64]) -> None:
    """Within ``sharing()``, record the facts of ``geoms``, 2D points just made by ``shapely.points``
    from ``coords`` (n x 2, every value finite): no pass over the geometries is then needed."""
    if _BLOCK.seen is None or not len(geoms):
        return
    facts = known(geoms)
    n = len(geoms)
    facts._types = _frozen(np.zeros(n, dtype=np.int32))
    facts._missing = _frozen(np.zeros(n, dtype=bool))
    facts._dims = _frozen(np.full(n, 2, dtype=np.int32))
    facts._xy = _frozen(coords.view())  # (a view: the caller's array stays as it was)


def _frozen(values: Any) -> Any:
    """``values`` made read-only: a fact shared by several callers is never changed by one of them."""
    values.flags.writeable = False
    return values


def geometry_kinds(geoms: NDArray[np.object_]) -> NDArray[np.str_]:
    """Geometry type names ('Point', 'Polygon', ...); '' for None."""
    types = shapely.get_type_id(geoms)
    names = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint",
                      "MultiLineString", "MultiPolygon", "GeometryCollection"])
    return np.where(types < 0, "", names[np.clip(types, 0, 7)])


_TYPE_IDS = {"Point": 0, "LineString": 1, "LinearRing": 2, "Polygon": 3, "MultiPoint": 4,
             "MultiLineString": 5, "MultiPolygon": 6, "GeometryCollection": 7}


def kind_in(geoms: NDArray[np.object_], kinds: tuple[str, ...]) -> NDArray[np.bool_]:
    """True where a geometry's type is one of ``kinds`` (type names as ``geometry_kinds``)."""
    return np.isin(shapely.get_type_id(geoms), [_TYPE_IDS[k] for k in kinds if k in _TYPE_IDS])


def invalid_mask(geoms: NDArray[np.object_], missing: NDArray[np.bool_] | None = None) -> NDArray[np.bool_]:
    """True where a present, non-empty geometry is not valid (GEOS ``is_valid``); ``missing``:
    ``missing_mask(geoms)`` when the caller has it already."""
    return ~(shapely.is_valid(geoms) | (missing_mask(geoms) if missing is None else missing))


def missing_mask(geoms: NDArray[np.object_]) -> NDArray[np.bool_]:
    """True where a geometry is None or empty."""
    return known(geoms).missing


def invalid_reasons(geoms: NDArray[np.object_]) -> list[str | None]:
    """GEOS's reason for each invalid geometry (e.g. 'Self-intersection[...]'), else None."""
    valid = shapely.is_valid(geoms) | missing_mask(geoms)
    reasons = shapely.is_valid_reason(geoms)
    return [None if ok else str(r) for ok, r in zip(valid, reasons)]


def coordinate_bounds(geoms: NDArray[np.object_]) -> NDArray[np.float64]:
    """Per geometry (minx, miny, maxx, maxy) in degrees; NaN for missing geometries."""
    return known(geoms).bounds


def out_of_range_mask(geoms: NDArray[np.object_]) -> NDArray[np.bool_]:
    """True where a coordinate lies outside longitude [-180, 180] or latitude [-90, 90]."""
    return range_masks(geoms)[0]


def swapped_mask(geoms: NDArray[np.object_]) -> NDArray[np.bool_]:
    """True where the geometry is out of range as (lon, lat) but in range as (lat, lon).

    That is the signature of latitude and longitude written in each other's place.
    """
    return range_masks(geoms)[1]


def range_masks(geoms: NDArray[np.object_]) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """(``out_of_range_mask``, ``swapped_mask``) from one pass over the coordinates (issue 13:
    the bounds of 1e6 geometries were computed four times per read)."""
    return known(geoms).ranges


def bounds_range_masks(b: NDArray[np.float64]) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """``range_masks`` from the per-geometry bounds ``coordinate_bounds`` gave."""
    return _range_masks(b[:, 0], b[:, 1], b[:, 2], b[:, 3])


def _range_masks(minx: NDArray[np.float64], miny: NDArray[np.float64], maxx: NDArray[np.float64],
                 maxy: NDArray[np.float64]) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """``bounds_range_masks`` from the columns of the bounds."""
    with np.errstate(invalid="ignore"):
        lat_bad = (miny < -90) | (maxy > 90)
        out_of_range = (minx < -180) | (maxx > 180) | lat_bad
        if not lat_bad.any():  # nothing can look swapped (the usual answer: one cheap pass)
            return out_of_range, lat_bad
        fits_swapped = (minx >= -90) & (maxx <= 90) & (miny >= -180) & (maxy <= 180)
    return out_of_range, lat_bad & fits_swapped


@dataclass(frozen=True)
class Checks:
    """Per geometry: None or empty (``missing``), of a type not wanted (and present), outside
    lon/lat, lon/lat swapped, not valid (present and non-empty). Each is ``*_mask`` of this module."""

    missing: NDArray[np.bool_]
    wrong_kind: NDArray[np.bool_]
    out_of_range: NDArray[np.bool_]
    swapped: NDArray[np.bool_]
    invalid: NDArray[np.bool_]


def checks(geoms: NDArray[np.object_], kinds: tuple[str, ...]) -> Checks:
    """Every whole-column geometry check, each underlying GEOS pass made once (issue 13).

    A layer of points only (type ids read once) needs no GEOS validity pass: a point is valid
    unless its x or y is not finite (GEOS: 'Invalid Coordinate'), an empty point is valid, and
    a present point's bounds are its x and y.
    """
    facts = known(geoms)
    types, missing = facts.types, facts.missing
    wanted = np.zeros(len(_TYPE_IDS) + 1, dtype=bool)  # by type id + 1 (None is -1): a lookup, not np.isin
    wanted[[_TYPE_IDS[k] + 1 for k in kinds if k in _TYPE_IDS]] = True
    wrong_kind = ~missing & ~wanted[types + 1]
    out_of_range, swapped = facts.ranges
    if len(types) and (types == _TYPE_IDS["Point"]).all():
        minx, miny, _, _ = facts.columns()
        invalid = ~missing & ~(np.isfinite(minx) & np.isfinite(miny))
    else:
        invalid = invalid_mask(geoms, missing)
    return Checks(missing, wrong_kind, out_of_range, swapped, invalid)


def fits_lonlat(bounds: tuple[float, float, float, float]) -> bool:
    """True when a layer's total bounds (minx, miny, maxx, maxy) can be lon/lat degrees."""
    minx, miny, maxx, maxy = bounds
    return bool(-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90)


def repair(geoms: NDArray[np.object_], wanted_types: tuple[str, ...]) -> NDArray[np.object_]:
    """``shapely.make_valid`` keeping only the parts whose dimension the layer accepts.

    A bow-tie polygon becomes a MultiPolygon; stray lines or points produced by the repair of
    a polygon layer are dropped so that the repaired geometry keeps the layer's type.
    """
    fixed = shapely.make_valid(geoms, method="structure", keep_collapsed=False)
    dims = {"Point": 0, "MultiPoint": 0, "LineString": 1, "MultiLineString": 1,
            "Polygon": 2, "MultiPolygon": 2}
    keep = {dims[t] for t in wanted_types if t in dims}
    out = []
    for g in fixed:
        if g is not None and g.geom_type == "GeometryCollection":
            parts = [p for p in shapely.get_parts(g) if shapely.get_dimensions(p) in keep]
            g = shapely.union_all(parts) if parts else shapely.Point()
        out.append(g)
    return np.array(out, dtype=object)


@dataclass(frozen=True)
class Decoded:
    """Geometries built from WKB or WKT, with what stopped GEOS from building some of them.

    ``open_rings[i]`` describes the first ring of record ``i`` whose last point is not its first
    (the geometry is then built with its rings closed, so that ``--repair`` can keep it);
    ``unreadable[i]`` is GEOS's reason when record ``i`` could not be built at all (its
    geometry is None). Both are None for a record built as it is.
    """

    geoms: NDArray[np.object_]
    open_rings: list[str | None]
    unreadable: list[str | None]


def decode_wkb(blobs: NDArray[np.object_]) -> Decoded:
    """Geometries from WKB blobs (None for a null blob), never raising on a bad one."""
    return _decode(blobs, shapely.from_wkb, _open_ring_in_wkb)


def decode_wkt(texts: NDArray[np.object_]) -> Decoded:
    """Geometries from WKT text (None for a null entry), never raising on a bad one."""
    return _decode(texts, shapely.from_wkt, _open_ring_in_wkt)


def _decode(values: NDArray[np.object_], build: Callable[..., Any],
            open_ring: Callable[[Any], str | None]) -> Decoded:
    values = np.asarray(values, dtype=object)
    geoms = np.asarray(build(values, on_invalid="ignore"), dtype=object)
    open_rings: list[str | None] = [None] * len(values)
    unreadable: list[str | None] = [None] * len(values)
    for i in np.flatnonzero(shapely.is_missing(geoms)):
        if values[i] is None:
            continue
        try:
            geoms[i] = build(values[i])
            continue
        except (shapely.errors.GEOSException, ValueError, TypeError) as exc:
            reason = str(exc).split(":", 1)[-1].strip() or type(exc).__name__
        ring = open_ring(values[i]) if "closed" in reason else None
        fixed = build(values[i], on_invalid="fix") if ring else None
        if ring and fixed is not None:
            geoms[i], open_rings[i] = fixed, ring
        else:
            geoms[i], unreadable[i] = None, reason[:120]
    return Decoded(geoms, open_rings, unreadable)


def _point(x: float, y: float) -> str:
    return f"({round(x, 7)!r}, {round(y, 7)!r})"


def _open_ring_in_wkt(text: object) -> str | None:
    """The WKT itself, shortened: the user wrote it, so that is the value to show."""
    value = " ".join(str(text).split())
    return value if len(value) <= 70 else value[:67] + "..."


def _open_ring_in_wkb(blob: object) -> str | None:
    """'ring 1 of polygon 1 starts at (x, y) but ends at (x, y)' for the first open ring in WKB.

    Reads ISO and extended (PostGIS) WKB in either byte order; None when no ring is open or the
    blob cannot be walked.
    """
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        return None
    data = bytes(blob)
    found: list[str] = []
    polygons = [0]

    def walk(pos: int) -> int:
        order = "<" if data[pos] == 1 else ">"
        (code,) = struct.unpack_from(order + "I", data, pos + 1)
        pos += 5 + (4 if code & 0x20000000 else 0)
        base, iso = (code & 0x0FFFFFFF) % 1000, (code & 0x0FFFFFFF) // 1000
        step = 8 * (2 + bool(code & 0x80000000 or iso in (1, 3)) + bool(code & 0x40000000 or iso in (2, 3)))
        if base == 1:
            return pos + step
        (count,) = struct.unpack_from(order + "I", data, pos)
        pos += 4
        if base == 2:
            return pos + count * step
        if base == 3:
            polygons[0] += 1
            for ring in range(count):
                (n,) = struct.unpack_from(order + "I", data, pos)
                first = struct.unpack_from(order + "dd", data, pos + 4)
                last = struct.unpack_from(order + "dd", data, pos + 4 + (n - 1) * step) if n else first
                if n and first != last and not found:
                    found.append(f"ring {ring + 1} of polygon {polygons[0]} starts at {_point(*first)} "
                                 f"but ends at {_point(*last)}")
                pos += 4 + n * step
            return pos
        if base in (4, 5, 6, 7):
            for _ in range(count):
                pos = walk(pos)
            return pos
        raise ValueError(f"WKB geometry type {code}")

    try:
        walk(0)
    except (struct.error, ValueError, IndexError):
        pass  # a damaged blob: report what was found before the damage
    return found[0] if found else None
