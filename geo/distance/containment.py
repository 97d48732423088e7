"""Which polygons contain which points, with geodesic edges and an exact decision at the boundary.

Definition
----------
A polygon's edges are the geodesics on the WGS84 ellipsoid between its vertices (as in
``geo.distance.geodesic``). A point is *inside* a polygon when it lies in its interior or on its
boundary: a point exactly on an edge or on a vertex is inside (``ON_BOUNDARY_M``: within 1
micrometre of the boundary), and a point in a hole is outside (the hole's edge is the boundary, so
a point on it is inside).

Method
------
1. Every ring is cut into geodesic pieces of at most ``MAX_PIECE_M`` (250 m), with the cut points
   computed on the geodesic, and the pieces are joined as straight lines in lon/lat. A straight
   line in lon/lat departs from its geodesic by its *sag*, about ``L^2 tan|lat| / (8 R)`` for a
   piece of length L (``sag_bound_m`` bounds it; 1.8 mm for 250 m at 45 degrees, 5 mm at 70).
2. The lon/lat polygons give a first answer with shapely (``covered_by``). It can only be wrong
   for a point between a chord and its geodesic, i.e. within the sag of the boundary.
3. Every point within ``band_m`` (at least ``MIN_BAND_M`` = 5 cm, and at least twice the largest
   sag bound of the pieces) of a ring is decided again, exactly: its geodesic distance to each
   nearby piece (``geo.distance._kernel.point_segment_distance``, Karney's algorithms) gives the
   nearest point of the boundary. Within 1 micrometre it is on the boundary, so inside. Otherwise
   the side of the boundary is read from azimuths on the ellipsoid at that nearest point: the
   azimuth of the edge there against the azimuth to the point (exterior rings run
   counter-clockwise and holes clockwise, so the inside is always on the left); at a vertex,
   whether the direction to the point falls within the polygon's angle between its two edges.

So the answer is the geodesic truth everywhere: exact (to ~1 micrometre) within the band, and
beyond it the lon/lat answer cannot differ from it. Polygons that cross the antimeridian or
enclose a pole are not supported.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry.base import BaseGeometry

from geo.distance._kernel import WGS84, point_segment_distance
from geo.distance._pieces import Pieces, _haversine_bound_m, explode, parts_of

MAX_PIECE_M = 250.0  # metres: longest geodesic piece drawn as a straight line in lon/lat
MIN_BAND_M = 0.05  # metres: points this close to a boundary are always decided exactly
ON_BOUNDARY_M = 1e-6  # metres: a point this close to the boundary is on it (inside)
_R_MIN_M = 6_335_439.0  # metres: the least radius of curvature of WGS84 (meridian, at the equator)
_M_PER_DEG_MIN = 110_574.0  # metres in one degree of latitude at the equator (the least there is)
_CELL_DEG = 0.01  # degrees: the grid that picks the pieces near a set of points (geo.distance.containment)

__all__ = ["MAX_PIECE_M", "MIN_BAND_M", "ON_BOUNDARY_M", "PolygonSet", "points_inside", "sag_bound_m"]


def sag_bound_m(length_m: ArrayLike, lat_deg: ArrayLike) -> NDArray[np.float64]:
    """Upper bound in metres of the gap between a geodesic piece and the lon/lat line of its ends.

    ``length_m`` is the piece's length, ``lat_deg`` the largest absolute latitude it reaches.
    The bound is ``1.5 L^2 (tan|lat| + 0.01) / (8 R_min)`` plus 10 nanometres; the measured gap
    reaches 1.04 times ``1.1 L^2 (tan|lat| + 0.01) / (8 R_min)`` on diagonal pieces, so the margin is
    about 30 %. ``tests/test_rules_zones_kernel.py`` checks the bound against the measured gap
    over latitudes up to 84 degrees and all azimuths.
    """
    length = np.asarray(length_m, dtype=float)
    tan = np.tan(np.radians(np.minimum(np.abs(np.asarray(lat_deg, dtype=float)), 89.0)))
    return 1.5 * length ** 2 * (tan + 0.01) / (8.0 * _R_MIN_M) + 1e-8


@dataclass(frozen=True)
class PolygonSet:
    """Polygons prepared for containment: densified lon/lat parts and the geodesic pieces of their rings.

    Build it once with :meth:`of` and query it with :func:`points_inside` as often as needed.
    """

    parts: NDArray[np.object_]  # lon/lat polygon per part (rings densified)
    part_owner: NDArray[np.int64]  # input row of each part
    plon1: NDArray[np.float64]  # piece ends, degrees
    plat1: NDArray[np.float64]
    plon2: NDArray[np.float64]
    plat2: NDArray[np.float64]
    piece_part: NDArray[np.int64]  # part of each piece
    prev: NDArray[np.int64]  # previous piece in the same ring (the ring closes)
    next: NDArray[np.int64]  # next piece in the same ring
    band_m: float
    size: int  # number of input rows
    max_sag_m: float  # the largest sag bound of a piece, metres

    @classmethod
    def of(cls, polygons: Sequence[BaseGeometry | None] | ArrayLike, *,
           max_piece_m: float = MAX_PIECE_M) -> PolygonSet:
        """Prepare lon/lat (EPSG:4326) Polygons and MultiPolygons; other types and empty rows are skipped.

        ``max_piece_m`` is the longest geodesic piece drawn straight in lon/lat (metres).
        """
        geoms = np.asarray(getattr(polygons, "values", polygons), dtype=object).reshape(-1)
        g, owner, tid, _ = parts_of(geoms)
        keep = tid == 3
        parts = shapely.orient_polygons(shapely.remove_repeated_points(g[keep]), exterior_cw=False)
        owner = owner[keep]
        rings, part_of_ring = shapely.get_rings(parts, return_index=True)
        p = explode(rings, max_piece_m=max_piece_m, name="polygons")
        ring = p.owner
        first = np.flatnonzero(np.r_[True, ring[1:] != ring[:-1]]) if ring.size else np.empty(0, np.int64)
        last = np.r_[first[1:] - 1, ring.size - 1] if ring.size else np.empty(0, np.int64)
        start_of = np.repeat(first, np.diff(np.r_[first, ring.size]))
        end_of = np.repeat(last, np.diff(np.r_[first, ring.size]))
        idx = np.arange(ring.size)
        prev = np.where(idx == start_of, end_of, idx - 1)
        nxt = np.where(idx == end_of, start_of, idx + 1)
        # the lon/lat polygons: every piece start of a ring, closed
        coords = np.column_stack([p.lon1, p.lat1])
        closing = np.column_stack([p.lon1[first], p.lat1[first]])
        ring_ids = np.r_[ring, ring[first]]
        order = np.argsort(ring_ids, kind="stable")
        lr = shapely.linearrings(np.vstack([coords, closing])[order], indices=ring_ids[order]) \
            if ring.size else np.empty(0, dtype=object)
        dense = shapely.polygons(lr, indices=part_of_ring) if ring.size else np.empty(0, dtype=object)
        max_sag = _max_sag_m(p) if ring.size else 0.0
        band = max(MIN_BAND_M, 2.0 * max_sag)
        return cls(dense, owner, p.lon1, p.lat1, p.lon2, p.lat2, part_of_ring[ring], prev, nxt,
                   band, geoms.size, max_sag)

    def chords(self, pieces: NDArray[np.int64]) -> NDArray[np.object_]:
        """The given pieces as lon/lat LineStrings (made for each query, never kept: 10^5 footprints
        or 1,269 licences cut into 100 m pieces are millions of them, 0.4 GB per 1.4 million)."""
        if not pieces.size:
            return np.empty(0, dtype=object)
        return shapely.linestrings(np.stack([np.column_stack([self.plon1[pieces], self.plat1[pieces]]),
                                             np.column_stack([self.plon2[pieces], self.plat2[pieces]])], axis=1))


def _max_sag_m(p: Pieces) -> float:
    """The largest ``sag_bound_m`` of the pieces (0 for none), from their geodesic lengths.

    A piece whose length is not known yet (an edge short enough not to be cut) needs its geodesic
    only when its sag could be the largest: its sag from an upper bound of its length
    (``_haversine_bound_m``; the bound grows with the length) must reach the largest known one.
    Every piece's geodesic cost 4 s of the licence rule at 52,320 footprints; the same maximum.
    """
    lat = np.maximum(np.abs(p.lat1), np.abs(p.lat2))
    known = np.flatnonzero(~np.isnan(p.length_m))
    top = float(sag_bound_m(p.length_m[known], lat[known]).max(initial=0.0))
    unknown = np.flatnonzero(np.isnan(p.length_m))
    bound = sag_bound_m(_haversine_bound_m(p.lon1[unknown], p.lat1[unknown], p.lon2[unknown], p.lat2[unknown]),
                        lat[unknown])
    maybe = unknown[bound >= top]
    length = WGS84.inv(p.lon1[maybe], p.lat1[maybe], p.lon2[maybe], p.lat2[maybe])[2] if maybe.size else np.empty(0)
    return max(top, float(sag_bound_m(length, lat[maybe]).max(initial=0.0)))


def points_inside(points: Sequence[BaseGeometry | None] | ArrayLike, polygons: PolygonSet | Sequence[
        BaseGeometry | None] | ArrayLike) -> pd.DataFrame:
    """Every (point, polygon) pair where the point is inside the polygon, boundary included.

    Parameters
    ----------
    points : shapely Points in lon/lat degrees (EPSG:4326); other types, None and empty rows are skipped.
    polygons : a :class:`PolygonSet`, or lon/lat Polygons and MultiPolygons (prepared here).

    Returns
    -------
    pandas.DataFrame with ``point`` and ``polygon`` (positional indices), one row per pair, sorted
    by point then polygon, and ``boundary_m``: the geodesic distance in metres from the point to
    the polygon's boundary when it is within the band (0 on the boundary), NaN farther inside.
    """
    ps = polygons if isinstance(polygons, PolygonSet) else PolygonSet.of(polygons)
    pts = np.asarray(getattr(points, "values", points), dtype=object).reshape(-1)
    ok = np.flatnonzero(~(shapely.is_missing(pts) | shapely.is_empty(pts)) & (shapely.get_type_id(pts) == 0))
    empty = pd.DataFrame({"point": np.empty(0, np.int64), "polygon": np.empty(0, np.int64),
                          "boundary_m": np.empty(0)})
    if ok.size == 0 or ps.parts.size == 0:
        return empty
    lon, lat = shapely.get_x(pts[ok]), shapely.get_y(pts[ok])
    tree = shapely.STRtree(ps.parts)
    a, b = tree.query(pts[ok], predicate="covered_by")
    planar = pd.DataFrame({"p": a, "part": b, "inside": True})
    near = _near_boundary(lon, lat, ps)
    both = planar.merge(near, on=["p", "part"], how="outer")
    decided = np.where(both["exact"].notna(), both["exact"].fillna(False).astype(bool),
                       both["inside"].fillna(False).astype(bool))
    both = both[decided]
    out = pd.DataFrame({"point": ok[both["p"].to_numpy(dtype=np.int64)],
                        "polygon": ps.part_owner[both["part"].to_numpy(dtype=np.int64)],
                        "boundary_m": both["distance_m"].to_numpy(dtype=float)})
    out = out.sort_values(["point", "polygon", "boundary_m"], na_position="last")
    return out.drop_duplicates(["point", "polygon"]).reset_index(drop=True)


def _near_boundary(lon: NDArray[np.float64], lat: NDArray[np.float64], ps: PolygonSet) -> pd.DataFrame:
    """(point, part) pairs within the band of the part's boundary, decided exactly (column ``exact``)."""
    cols = {"p": np.empty(0, np.int64), "part": np.empty(0, np.int64), "exact": np.empty(0, bool),
            "distance_m": np.empty(0)}
    if ps.plon1.size == 0:
        return pd.DataFrame(cols)
    # candidates by a lon/lat search whose radius in degrees covers band + sag in metres everywhere
    cos = np.cos(np.radians(np.minimum(np.abs(lat) + 0.01, 89.9)))
    radius_deg = 2.0 * ps.band_m / (_M_PER_DEG_MIN * cos)
    near = _pieces_near(lon, lat, float(radius_deg.max()), ps)
    a, k = shapely.STRtree(ps.chords(near)).query(shapely.points(lon, lat), predicate="dwithin",
                                                  distance=radius_deg)
    k = near[k]
    if a.size == 0:
        return pd.DataFrame(cols)
    dist, flon, flat = point_segment_distance(lon[a], lat[a], ps.plon1[k], ps.plat1[k], ps.plon2[k], ps.plat2[k])
    rows = pd.DataFrame({"p": a, "part": ps.piece_part[k], "k": k, "d": dist, "flon": flon, "flat": flat})
    rows = rows.sort_values(["p", "part", "d", "k"], kind="stable").drop_duplicates(["p", "part"])
    rows = rows[rows["d"].to_numpy() <= ps.band_m]
    p, k = rows["p"].to_numpy(), rows["k"].to_numpy()
    exact = _inside_near(lon[p], lat[p], rows["d"].to_numpy(), rows["flon"].to_numpy(),
                         rows["flat"].to_numpy(), k, ps)
    return pd.DataFrame({"p": p, "part": rows["part"].to_numpy(), "exact": exact,
                         "distance_m": np.where(rows["d"].to_numpy() <= ON_BOUNDARY_M, 0.0, rows["d"].to_numpy())})


def _pieces_near(lon: NDArray[np.float64], lat: NDArray[np.float64], radius_deg: float,
                 ps: PolygonSet) -> NDArray[np.int64]:
    """The pieces that may lie within ``radius_deg`` (lon/lat degrees, planar) of one of the points:
    those whose box, widened by the radius, meets a ``_CELL_DEG`` grid cell holding a point, and
    every piece whose widened box spans more than 2 x 2 cells. A piece within the radius of a point
    has that point's cell in its widened box, so no candidate is lost; the others are never made
    into chords (a licence layer's 2.8 million 100 m pieces took 0.9 GB as LineStrings, for the few
    thousand near a footprint's vertex)."""
    every = np.arange(ps.plon1.size)
    far = max(float(np.abs(lon).max()), float(np.abs(ps.plon1).max()), float(np.abs(ps.plon2).max()))
    if far > 720.0:  # longitudes far off the usual range: no grid, every piece
        return every
    occupied = np.unique(_cell(np.floor(lon / _CELL_DEG), np.floor(lat / _CELL_DEG)))
    radius_deg = 1.01 * radius_deg + 1e-9  # beyond any rounding of the boxes or of GEOS's distance
    x0 = np.floor((np.minimum(ps.plon1, ps.plon2) - radius_deg) / _CELL_DEG)
    x1 = np.floor((np.maximum(ps.plon1, ps.plon2) + radius_deg) / _CELL_DEG)
    y0 = np.floor((np.minimum(ps.plat1, ps.plat2) - radius_deg) / _CELL_DEG)
    y1 = np.floor((np.maximum(ps.plat1, ps.plat2) + radius_deg) / _CELL_DEG)
    keep = (x1 - x0 > 1) | (y1 - y0 > 1)
    for cx, cy in ((x0, y0), (x0, y1), (x1, y0), (x1, y1)):
        cell = _cell(cx, cy)  # (a search in the sorted cells: np.isin sorted every piece's, 1.4 s a run)
        keep |= occupied[np.minimum(np.searchsorted(occupied, cell), occupied.size - 1)] == cell
    return every[keep]


def _cell(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.int64]:
    """One integer per grid cell (column ``x``, row ``y``: |x| <= 72,001, |y| <= 9,001)."""
    return (x.astype(np.int64) + 100_000) * 1_000_000 + (y.astype(np.int64) + 100_000)


def _inside_near(lon: NDArray[np.float64], lat: NDArray[np.float64], d: NDArray[np.float64],
                 flon: NDArray[np.float64], flat: NDArray[np.float64], k: NDArray[np.int64],
                 ps: PolygonSet) -> NDArray[np.bool_]:
    """Exact side of the boundary for points whose nearest boundary point (flon, flat) lies on piece ``k``.

    Rings are oriented so that the inside is on the left of the direction of travel.
    """
    inside = d <= ON_BOUNDARY_M
    todo = np.flatnonzero(~inside)
    if todo.size == 0:
        return inside
    a_lon, a_lat, b_lon, b_lat = ps.plon1[k[todo]], ps.plat1[k[todo]], ps.plon2[k[todo]], ps.plat2[k[todo]]
    d_a = WGS84.inv(a_lon, a_lat, lon[todo], lat[todo])[2]
    d_b = WGS84.inv(b_lon, b_lat, lon[todo], lat[todo])[2]
    slack = 1e-9 + 1e-12 * d[todo]
    at_a, at_b = d_a <= d[todo] + slack, d_b <= d[todo] + slack
    vertex = at_a | at_b
    # on a piece: the azimuth of the edge at the nearest point against the azimuth to the point
    on = np.flatnonzero(~vertex)
    if on.size:
        i = todo[on]
        az_ab = WGS84.inv(a_lon[on], a_lat[on], b_lon[on], b_lat[on])[0]
        s = WGS84.inv(a_lon[on], a_lat[on], flon[i], flat[i])[2]
        _, _, back = WGS84.fwd(a_lon[on], a_lat[on], az_ab, s)
        az_fp = WGS84.inv(flon[i], flat[i], lon[i], lat[i])[0]
        inside[i] = np.sin(np.radians(az_fp - (np.asarray(back) + 180.0))) < 0.0  # left of travel
    # at a vertex V: inside when the direction to the point lies in the polygon's angle at V,
    # swept counter-clockwise (decreasing azimuth) from the outgoing edge to the incoming one
    vx = np.flatnonzero(vertex)
    if vx.size:
        i = todo[vx]
        kk = k[i]
        use_a = at_a[vx] & ~(at_b[vx] & (d_b[vx] < d_a[vx]))
        v_lon = np.where(use_a, ps.plon1[kk], ps.plon2[kk])
        v_lat = np.where(use_a, ps.plat1[kk], ps.plat2[kk])
        inc = np.where(use_a, ps.prev[kk], kk)  # the piece that ends at V
        out = np.where(use_a, kk, ps.next[kk])  # the piece that starts at V
        az_in = WGS84.inv(v_lon, v_lat, ps.plon1[inc], ps.plat1[inc])[0]
        az_out = WGS84.inv(v_lon, v_lat, ps.plon2[out], ps.plat2[out])[0]
        az_p = WGS84.inv(v_lon, v_lat, lon[i], lat[i])[0]
        angle = np.mod(az_out - az_in, 360.0)
        turn = np.mod(az_out - az_p, 360.0)
        inside[i] = (turn > 0.0) & (turn < angle)
    return inside
