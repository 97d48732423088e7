"""Geodesic areas, overlaps and coverage of lon/lat polygons, in square metres on WGS84.

Areas are ``pyproj.Geod.geometry_area_perimeter`` (Karney's algorithm: the area on the ellipsoid of
a polygon whose edges are geodesics). An overlap or a remainder is cut in lon/lat from polygons
whose edges were first cut into geodesic pieces of at most ``AREA_PIECE_M`` (100 m, points on the
geodesic), so each straight piece departs from its geodesic by its sag (under 0.9 mm up to 70
degrees of latitude, ``geo.distance.containment.sag_bound_m``); an area is then off by at most the
perimeter times that sag (0.35 m2 per kilometre of perimeter at 45 degrees in the worst case).

Coverage (``not_covered``) needs every point of a subject inside the union of the covering
polygons, boundary included. A Point is decided exactly (``geo.distance.containment``). A polygon
or line is covered when every vertex is inside a covering polygon, decided exactly, and the part
outside the union has an area of at most ``COVER_WIDTH_M`` times the subject's perimeter, widened
to twice the pieces' largest sag (a sliver at most about a millimetre wide along a shared edge is
not a gap: two polygons drawn on the same geodesic edge give such slivers).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry.base import BaseGeometry

from geo.distance._kernel import WGS84
from geo.distance.containment import PolygonSet, points_inside

AREA_PIECE_M = 100.0  # metres: pieces of the polygons an overlap or a remainder is cut from
COVER_WIDTH_M = 0.001  # metres: a remainder thinner than this along the subject's perimeter is no gap
COVER_BATCH_VERTICES = 500_000  # subject vertices checked for coverage at a time (memory, not results)

__all__ = ["AREA_PIECE_M", "COVER_WIDTH_M", "area_perimeter_m", "geodesic_area_m2", "not_covered", "overlap_area_m2"]


def _array(values: Sequence[BaseGeometry | None] | ArrayLike) -> NDArray[np.object_]:
    return np.asarray(getattr(values, "values", values), dtype=object).reshape(-1)


def geodesic_area_m2(geoms: Sequence[BaseGeometry | None] | ArrayLike) -> NDArray[np.float64]:
    """Area in square metres on the WGS84 ellipsoid of each lon/lat geometry (0 for points, lines, None)."""
    return np.abs(area_perimeter_m(geoms)[0])


def area_perimeter_m(geoms: Sequence[BaseGeometry | None] | ArrayLike) -> tuple[NDArray[np.float64],
                                                                                 NDArray[np.float64]]:
    """Signed geodesic area (m2, counter-clockwise positive) and perimeter (m) of each lon/lat geometry,
    bit for bit what ``pyproj.Geod.geometry_area_perimeter`` gives each polygon, multipolygon or
    collection (0, 0 for points, lines, empty and None rows).

    As there: a polygon's area is its exterior's plus each hole's (signed, in ring order) and its
    perimeter the exterior's alone; a multipolygon's are the sums over its parts, from 0.0, in part
    order. Every ring goes to PROJ's ``geod_polygonarea`` (Karney) once, from one coordinate array
    (``Geod.polygon_area_perimeter`` on a slice), not through shapely's per-ring ``xy`` lists: 10^5
    footprints cut into 100 m pieces took 6 s in those calls. Collections (rare: what an intersection
    may leave) are passed to ``geometry_area_perimeter`` as they are.
    """
    arr = _array(geoms)
    area, perimeter = np.zeros(arr.size), np.zeros(arr.size)
    tid = shapely.get_type_id(arr)
    ok = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    for i in np.flatnonzero(ok & (tid == 7)):
        area[i], perimeter[i] = WGS84.geometry_area_perimeter(arr[i])
    polygonal = np.flatnonzero(ok & np.isin(tid, (3, 6)))
    if not polygonal.size:
        return area, perimeter
    parts, owner = shapely.get_parts(arr[polygonal], return_index=True)
    rings, part_of_ring = shapely.get_rings(parts, return_index=True)
    coords, ring_of_vertex = shapely.get_coordinates(rings, return_index=True)
    lon, lat = np.ascontiguousarray(coords[:, 0]), np.ascontiguousarray(coords[:, 1])
    ends = np.searchsorted(ring_of_vertex, np.arange(rings.size + 1))
    ring_area, ring_perimeter = np.zeros(rings.size), np.zeros(rings.size)
    for r, (lo, hi) in enumerate(zip(ends[:-1].tolist(), ends[1:].tolist(), strict=True)):
        ring_area[r], ring_perimeter[r] = WGS84.polygon_area_perimeter(lon[lo:hi], lat[lo:hi])
    part_area, part_perimeter = _fold(ring_area, part_of_ring, parts.size, first_only=ring_perimeter)
    total, length = _fold(part_area, owner, polygonal.size, start=0.0, add_too=part_perimeter)
    single = np.flatnonzero(tid[polygonal] == 3)
    at = np.searchsorted(owner, single)  # a Polygon is its one part: as it is, no 0.0 added in front
    total[single], length[single] = part_area[at], part_perimeter[at]
    area[polygonal], perimeter[polygonal] = total, length
    return area, perimeter


def _fold(values: NDArray[np.float64], group: NDArray[np.int64], n: int, *, start: float | None = None,
          first_only: NDArray[np.float64] | None = None,
          add_too: NDArray[np.float64] | None = None) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per group (``group`` ascending, 0..n-1), the left-to-right sum of its ``values`` (from ``start``
    when given, else from its first value), as Python's ``total += value`` loop adds them; the second
    array is ``first_only``'s value of each group's first member, or ``add_too`` folded the same way."""
    first = np.searchsorted(group, np.arange(n))
    count = np.bincount(group, minlength=n)
    rank = np.arange(group.size) - first[group]
    has = count > 0
    total = np.zeros(n)
    other = np.zeros(n)
    if start is None:
        total[has] = values[first[has]]
        if first_only is not None:
            other[has] = first_only[first[has]]
        later = 1
    else:
        total[:] = start
        other[:] = start
        later = 0
    by_rank = np.argsort(rank, kind="stable")  # members of rank k: the k-th of their group
    bounds = np.searchsorted(rank[by_rank], np.arange(later, int(count.max(initial=0)) + 1))
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        at = by_rank[lo:hi]  # one member per group at most: the groups' k-th values added at once
        total[group[at]] += values[at]
        if add_too is not None:
            other[group[at]] += add_too[at]
    return total, other


def _perimeter_m(geoms: NDArray[np.object_]) -> NDArray[np.float64]:
    return area_perimeter_m(geoms)[1]


def _dense(geoms: NDArray[np.object_]) -> tuple[NDArray[np.object_], float]:
    """Each polygon (or multipolygon) with its edges cut into geodesic pieces of <= AREA_PIECE_M,
    and the largest sag bound of those pieces in metres."""
    ps = PolygonSet.of(geoms, max_piece_m=AREA_PIECE_M)
    out = np.full(geoms.size, None, dtype=object)
    if ps.parts.size:
        merged = shapely.multipolygons(ps.parts, indices=ps.part_owner)
        out[np.unique(ps.part_owner)] = merged
    return out, ps.max_sag_m


def _dense_once(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """``_dense(geoms)[0]``, densifying each distinct object once (rows holding the same geometry
    object share its result): a zone of 440 km perimeter is 4,400 pieces of 100 m, and it was cut
    again for each of the sites that touch it (10^4 footprints against 106 zones: 7.2 GB)."""
    _, first, back = np.unique(np.fromiter((id(g) for g in geoms), dtype=np.int64, count=geoms.size),
                               return_index=True, return_inverse=True)
    return _dense(geoms[first])[0][back.reshape(-1)]


def overlap_area_m2(a: Sequence[BaseGeometry | None] | ArrayLike,
                    b: Sequence[BaseGeometry | None] | ArrayLike) -> NDArray[np.float64]:
    """Element-wise geodesic area in square metres of the overlap of polygons ``a[i]`` and ``b[i]``.

    A geometry repeated in ``a`` or ``b`` (the same zone hit by many sites) is densified once. An
    ``a[i]`` that ``b[i]`` covers (both densified: the same lon/lat polygons the overlap is cut from) is
    its own overlap, and only the others are cut: cutting a footprint from a zone of 4,400 pieces
    took the time of the zone's every piece, 21 s for 35,600 pairs of which 34,582 lie inside
    (104,640 footprints, 266 zones). The overlap GEOS cuts of a polygon it covers is that polygon:
    its geodesic area was the same float for every one of those 34,582.
    """
    da, db = _dense_once(_array(a)), _dense_once(_array(b))
    both = np.array([x is not None and y is not None for x, y in zip(da, db, strict=True)], dtype=bool)
    out = np.zeros(da.size)
    if both.any():
        pa, pb = da[both], db[both]
        shapely.prepare(pb)  # each distinct zone once: the rows share its object
        inside = shapely.covers(pb, pa)
        area = geodesic_area_m2(np.where(inside, pa, None))
        area[~inside] = geodesic_area_m2(shapely.intersection(pa[~inside], pb[~inside]))
        out[both] = area
    return out


def not_covered(subjects: Sequence[BaseGeometry | None] | ArrayLike,
                covers: Sequence[BaseGeometry | None] | ArrayLike) -> pd.DataFrame:
    """The subjects not wholly covered by the union of the ``covers`` polygons (see the module).

    Parameters
    ----------
    subjects : lon/lat geometries (EPSG:4326); None and empty rows are skipped (never reported).
    covers : lon/lat Polygons and MultiPolygons; an empty set covers nothing.

    Returns
    -------
    pandas.DataFrame, one row per subject not covered, sorted: ``subject`` (positional index) and
    ``uncovered_m2``, the geodesic area in square metres of the part outside the union (NaN for
    points and lines).
    """
    subj = _array(subjects)
    ok = ~(shapely.is_missing(subj) | shapely.is_empty(subj))
    points = ok & (shapely.get_type_id(subj) == 0)
    ps = PolygonSet.of(_array(covers), max_piece_m=AREA_PIECE_M)
    bad = np.zeros(subj.size, dtype=bool)
    area = np.full(subj.size, np.nan)
    inside = set(points_inside(subj, ps)["point"].tolist()) if points.any() else set()
    bad[points] = [i not in inside for i in np.flatnonzero(points)]
    other = np.flatnonzero(ok & ~points)
    if other.size:
        bad[other], area[other] = _shapes_not_covered(subj[other], ps)
    keep = np.flatnonzero(bad)
    return pd.DataFrame({"subject": keep.astype(np.int64), "uncovered_m2": area[keep]})


def _local_unions(shapes: NDArray[np.object_], parts: NDArray[np.object_]) -> NDArray[np.object_]:
    """Per shape, the union of the ``parts`` that intersect it (an empty Polygon when none does).

    A shape minus that is the shape minus the union of all the parts. Subtracting the union of all
    the parts from each shape cost time in the size of the whole union for every shape: 10,464
    footprints against 1,269 licences (2.8 million vertices once cut into 100 m pieces) took minutes.
    """
    out = np.full(shapes.size, shapely.Polygon(), dtype=object)
    if not parts.size or not shapes.size:
        return out
    si, pi = shapely.STRtree(parts).query(shapes, predicate="intersects")
    order = np.lexsort((pi, si))  # by shape, its parts in their order
    si, pi = si[order], pi[order]
    starts = np.flatnonzero(np.r_[True, si[1:] != si[:-1]]) if si.size else si
    counts = np.diff(np.r_[starts, si.size])
    one = starts[counts == 1]
    out[si[one]] = parts[pi[one]]
    for first, n in zip(starts[counts > 1].tolist(), counts[counts > 1].tolist(), strict=True):
        out[si[first]] = shapely.union_all(parts[pi[first:first + n]])
    return out


def _remainder_m2(dense: NDArray[np.object_], unions: NDArray[np.object_]) -> NDArray[np.float64]:
    """Geodesic area (m2) of each densified shape minus its union of covering parts: 0 for a shape its
    union covers, the shape's own area where no part touches it, and the cut's area for the others.

    Cutting every shape took 7.6 s for 26,000 footprints against the licences, of which 655 lie
    across a licence's edge; the areas of the others were the same floats as their cuts'.
    """
    out = np.zeros(dense.size)
    shapely.prepare(unions)
    covered = shapely.covers(unions, dense)
    alone = shapely.is_empty(unions)
    out[alone] = geodesic_area_m2(dense[alone])
    cut = ~(covered | alone)
    out[cut] = geodesic_area_m2(shapely.difference(dense[cut], unions[cut]))
    return out


def _runs(shapes: NDArray[np.object_]) -> list[NDArray[np.int64]]:
    """Consecutive positions of ``shapes`` in runs of about ``COVER_BATCH_VERTICES`` vertices (a
    run ends with the shape whose last vertex is past a multiple of it)."""
    total = np.cumsum(shapely.get_num_coordinates(shapes))
    run = (total - 1) // COVER_BATCH_VERTICES  # (a shape's last vertex decides its run)
    return np.split(np.arange(shapes.size), np.flatnonzero(np.diff(run)) + 1)


def _shapes_not_covered(shapes: NDArray[np.object_],
                        ps: PolygonSet) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """Lines and polygons: not covered, and the area outside the union (m2; NaN for lines).

    The subjects go through in runs of about ``COVER_BATCH_VERTICES`` vertices: their vertices as
    points, their 100 m pieces and their remainders are made for one run at a time (all at once,
    104,640 footprints against 1,269 licences peaked at 4 GB). Each subject's answer is its own;
    only the sag of the pieces (the width of a gap) is taken over all of them, after the runs.
    """
    all_in = np.ones(shapes.size, dtype=bool)
    polygonal = np.isin(shapely.get_type_id(shapes), (3, 6))
    area = np.full(shapes.size, np.nan)
    sag = 0.0
    for rows in _runs(shapes):
        coords, owner = shapely.get_coordinates(shapes[rows], return_index=True)
        vertex_in = np.zeros(owner.size, dtype=bool)
        if ps.parts.size and owner.size:
            vertex_in[np.unique(points_inside(shapely.points(coords), ps)["point"].to_numpy())] = True
        np.logical_and.at(all_in, rows[owner], vertex_in)
        poly = rows[polygonal[rows]]
        if poly.size:
            dense, run_sag = _dense(shapes[poly])
            sag = max(sag, run_sag)
            area[poly] = _remainder_m2(dense, _local_unions(dense, ps.parts))
    width = max(COVER_WIDTH_M, 2.0 * max(sag, ps.max_sag_m))
    perimeter = np.zeros(shapes.size)  # a gap needs an area above 0: only those need their perimeter
    with np.errstate(invalid="ignore"):
        some = np.flatnonzero(polygonal & (area > 0.0))
    perimeter[some] = _perimeter_m(shapes[some])
    gap = np.where(polygonal, area > width * perimeter, False)
    return ~all_in | gap, area
