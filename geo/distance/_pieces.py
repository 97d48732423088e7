"""Break lon/lat geometries into short geodesic pieces, and rebuild projected polygons.

Private helper of :mod:`geo.distance.geodesic`. A *piece* is a geodesic segment between two points
(equal points for a Point). Edges longer than ``max_piece_m`` are split at points computed on the
geodesic itself, so the union of the pieces is exactly the original geodesic edge, and each piece
is short enough to be drawn as a straight chord in a local projection (chord error < 2 mm).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import shapely
from numpy.typing import NDArray

from geo import geomcheck
from geo.distance._kernel import WGS84, segment_lengths_m

MAX_PIECE_M = 1000.0  # metres; chord-vs-geodesic error of a 1 km piece in our projections < 2 mm


@dataclass(frozen=True)
class Pieces:
    """Geodesic pieces of a set of geometries, as flat arrays (degrees).

    ``owner`` is the positional index of the input geometry; ``chain`` numbers the vertex chains
    (a point, a line part, or a polygon ring) and ``is_point`` marks the zero-length pieces of
    Point geometries.
    """

    lon1: NDArray[np.float64]
    lat1: NDArray[np.float64]
    lon2: NDArray[np.float64]
    lat2: NDArray[np.float64]
    owner: NDArray[np.int64]
    chain: NDArray[np.int64]
    is_point: NDArray[np.bool_]
    az_deg: NDArray[np.float64]  # azimuth of the piece at its first end, degrees (NaN: not yet known)
    length_m: NDArray[np.float64]  # geodesic length of the piece, metres (NaN: not yet known)

    def __len__(self) -> int:
        return int(self.owner.size)


@dataclass(frozen=True)
class Rings:
    """Densified polygon rings (degrees): vertex coordinates, their ring id, and ring -> part -> owner."""

    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    ring_of_vertex: NDArray[np.int64]
    part_of_ring: NDArray[np.int64]
    owner_of_part: NDArray[np.int64]


class Parts(NamedTuple):
    """Single-part, non-empty geometries (Point, LineString, LinearRing, Polygon), their owners
    (positions in the input) and their shapely type ids; ``xy`` holds the longitude and latitude of
    every part when they are all points with finite coordinates (else None)."""

    geoms: NDArray[np.object_]
    owner: NDArray[np.int64]
    tid: NDArray[np.int32]
    xy: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None


def parts_of(geoms: NDArray[np.object_]) -> Parts:
    """The single-part, non-empty geometries of ``geoms``, their owners and type ids (``Parts``).

    Multi-part geometries and collections are split (recursively); simple ones are used as they
    are, without copying. Points only (none missing, every coordinate finite) take two passes over
    the geometries, type ids and bounds (a point's bounds are its x and y, bit for bit; an empty
    point's are NaN), instead of five (missing, empty, type, then x and y in ``explode``): 0.026 s
    instead of 0.058 s for 1e6 sites, on the one thread that starts the kernel.
    """
    facts = geomcheck.known(geoms)  # (within geomcheck.sharing(), a read's: none computed again)
    tid = facts.types  # -1 for None, what is_missing marks (an object not a geometry raises)
    if tid.size and tid.min() == 0 == tid.max():
        x, y, _, _ = facts.columns()  # a point's bounds, or the coordinates its reader made it from
        if np.isfinite(x).all() and np.isfinite(y).all():
            return Parts(geoms, np.arange(geoms.size), tid, (x.copy(), y.copy()))
    owner = np.flatnonzero((tid >= 0) & ~shapely.is_empty(geoms))
    g, tid = geoms[owner], tid[owner]
    while (tid >= 4).any():
        multi = tid >= 4
        parts, pi = shapely.get_parts(g[multi], return_index=True)
        keep = ~shapely.is_empty(parts)
        g = np.concatenate([g[~multi], parts[keep]])
        owner = np.concatenate([owner[~multi], owner[multi][pi[keep]]])
        order = np.argsort(owner, kind="stable")
        g, owner = g[order], owner[order]
        tid = shapely.get_type_id(g)
    return Parts(g, owner, tid)


def _chains(parts: NDArray[np.object_], owner: NDArray[np.int64],
            tid: NDArray[np.int32]) -> tuple[NDArray[np.object_], NDArray[np.int64], bool]:
    """Split single-part geometries into vertex chains (points, lines, rings), sorted by owner.

    Also says whether every chain is a Point.
    """
    is_poly = tid == 3
    if not is_poly.any():
        return parts, owner, bool((tid == 0).all())
    part_ids = np.arange(parts.size)
    rings, ring_part = shapely.get_rings(parts[is_poly], return_index=True)
    ring_part = part_ids[is_poly][ring_part]
    chains = np.concatenate([parts[~is_poly], rings])
    chain_part = np.concatenate([part_ids[~is_poly], ring_part])
    order = np.argsort(chain_part, kind="stable")
    return chains[order], owner[chain_part[order]], False


def check_degrees(lon1: NDArray[np.float64], lat1: NDArray[np.float64], lon2: NDArray[np.float64],
                  lat2: NDArray[np.float64], owner: NDArray[np.int64], name: str) -> None:
    """Raise ValueError naming the rows whose coordinates are not lon/lat degrees."""
    with np.errstate(invalid="ignore"):
        lat_ok = np.abs(lat1) <= 90.0
        if lat2 is not lat1:  # points pass their one vertex as both ends: tested once
            lat_ok &= np.abs(lat2) <= 90.0
    bad = np.isfinite(lon1)
    if lon2 is not lon1:
        bad &= np.isfinite(lon2)
    bad = ~(bad & lat_ok)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        rows = np.unique(owner[bad])
        raise ValueError(f"{name}: rows {rows[:10].tolist()} have coordinates that are not longitude/latitude "
                         f"degrees (row {int(owner[i])}: {lon1[i]}, {lat1[i]}); expected finite values with "
                         "latitude in [-90, 90] (EPSG:4326)")


def _haversine_bound_m(lon1: NDArray[np.float64], lat1: NDArray[np.float64], lon2: NDArray[np.float64],
                       lat2: NDArray[np.float64]) -> NDArray[np.float64]:
    """An upper bound (metres) of the geodesic length: the great-circle length on a sphere of the
    equatorial radius, plus 1 % (the ellipsoid's radii of curvature exceed it by at most 0.34 %)."""
    p1, p2, dl = np.radians(lat1), np.radians(lat2), np.radians(lon2 - lon1)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 1.01 * 2.0 * 6_378_137.0 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _densify(lon1: NDArray[np.float64], lat1: NDArray[np.float64], lon2: NDArray[np.float64],
             lat2: NDArray[np.float64], max_piece_m: float) -> tuple[NDArray[Any], ...]:
    """Split each segment into ``ceil(len / max_piece_m)`` equal geodesic pieces.

    Returns the piece ends, per piece the index of its segment, and each piece's azimuth at its
    first end (degrees) and length (metres), NaN where not computed yet.
    """
    az, length = np.full(lon1.size, np.nan), np.full(lon1.size, np.nan)
    # only edges that may be longer than a piece need their geodesic now; the others get it
    # on demand if they become candidates (geo.distance._points)
    real = np.flatnonzero(_haversine_bound_m(lon1, lat1, lon2, lat2) > max_piece_m)
    az[real], length[real] = segment_lengths_m(lon1[real], lat1[real], lon2[real], lat2[real])
    n = np.ones(lon1.size, dtype=np.int64)
    n[real] = np.maximum(np.ceil(length[real] / max_piece_m).astype(np.int64), 1)
    seg = np.repeat(np.arange(lon1.size), n)
    first = np.cumsum(n) - n
    k = np.arange(seg.size) - first[seg]
    long_ = n[seg] > 1
    a_lon, a_lat = lon1[seg].copy(), lat1[seg].copy()
    b_lon, b_lat = lon2[seg].copy(), lat2[seg].copy()
    p_az, p_len = az[seg].copy(), length[seg] / n[seg]
    cut = np.flatnonzero(long_ & (k > 0))  # pieces that start at a cut point of their segment
    if cut.size:
        # each cut point once: the start of its piece and the end of the piece before it (the end
        # was computed again, at the same fraction of the same geodesic, for every piece)
        s_idx = seg[cut]
        lo_a, la_a, back_a = WGS84.fwd(lon1[s_idx], lat1[s_idx], az[s_idx], length[s_idx] * (k[cut] / n[s_idx]))
        a_lon[cut], a_lat[cut] = lo_a, la_a
        b_lon[cut - 1], b_lat[cut - 1] = lo_a, la_a
        p_az[cut] = np.mod(back_a + 360.0, 360.0) - 180.0
    return a_lon, a_lat, b_lon, b_lat, seg, p_az, p_len


def explode(geoms: NDArray[np.object_], *, max_piece_m: float = MAX_PIECE_M,
            parts: Parts | None = None, name: str = "geometries") -> Pieces:
    """Break geometries (lon/lat degrees) into geodesic pieces of at most ``max_piece_m`` metres.

    ``parts`` may pass in ``parts_of(geoms)`` when it is already known. Raises ValueError, naming
    the rows (positions in ``geoms``) and ``name``, when a coordinate is not lon/lat degrees.
    """
    p = parts if parts is not None else parts_of(geoms)
    chains, owner, all_points = _chains(p.geoms, p.owner, p.tid)
    if all_points:  # points only: one zero-length piece each
        lon, lat = p.xy if p.xy is not None else (shapely.get_x(chains), shapely.get_y(chains))
        zero = np.zeros(owner.size)
        check_degrees(lon, lat, lon, lat, owner, name)
        return Pieces(lon, lat, lon, lat, owner, np.arange(owner.size), np.ones(owner.size, bool), zero, zero)
    coords, chain_of_vertex = shapely.get_coordinates(chains, return_index=True)
    lon, lat = coords[:, 0], coords[:, 1]
    counts = np.bincount(chain_of_vertex, minlength=chains.size)
    single = np.flatnonzero(counts == 1)  # Points: one vertex, a zero-length piece
    same_chain = chain_of_vertex[1:] == chain_of_vertex[:-1]
    starts = np.flatnonzero(same_chain)
    seg_lon1 = np.concatenate([lon[starts], lon[np.searchsorted(chain_of_vertex, single)]])
    seg_lat1 = np.concatenate([lat[starts], lat[np.searchsorted(chain_of_vertex, single)]])
    seg_lon2 = np.concatenate([lon[starts + 1], seg_lon1[starts.size:]])
    seg_lat2 = np.concatenate([lat[starts + 1], seg_lat1[starts.size:]])
    seg_chain = np.concatenate([chain_of_vertex[starts], single])
    seg_point = np.concatenate([np.zeros(starts.size, bool), np.ones(single.size, bool)])
    seg_point |= (seg_lon1 == seg_lon2) & (seg_lat1 == seg_lat2)  # repeated vertex: a point
    if starts.size and single.size:  # mixed points and lines: restore the order of owners
        order = np.argsort(seg_chain, kind="stable")
        seg_lon1, seg_lat1, seg_lon2, seg_lat2 = seg_lon1[order], seg_lat1[order], seg_lon2[order], seg_lat2[order]
        seg_chain, seg_point = seg_chain[order], seg_point[order]
    check_degrees(seg_lon1, seg_lat1, seg_lon2, seg_lat2, owner[seg_chain], name)
    a_lon, a_lat, b_lon, b_lat, seg, p_az, p_len = _densify(seg_lon1, seg_lat1, seg_lon2, seg_lat2, max_piece_m)
    return Pieces(a_lon, a_lat, b_lon, b_lat, owner[seg_chain[seg]], seg_chain[seg], seg_point[seg], p_az, p_len)


def polygon_rings(geoms: NDArray[np.object_], *, max_piece_m: float = MAX_PIECE_M,
                  parts: Parts | None = None, pieces: Pieces | None = None) -> Rings:
    """Densified rings of the polygon parts of ``geoms`` (other geometry types are ignored).

    ``pieces`` may pass in ``explode(geoms, max_piece_m=max_piece_m, parts=parts)`` when it is
    already made: the rings are then its pieces of the polygon rings (the same arrays), not cut again.
    """
    geo_parts, owner, tid, _ = parts if parts is not None else parts_of(geoms)
    is_poly = tid == 3
    polys, owner = geo_parts[is_poly], owner[is_poly]
    if not polys.size:  # (points or lines: no ring, without a pass over their pieces)
        return _no_rings()
    if pieces is None:
        rings, part_of_ring = shapely.get_rings(polys, return_index=True)
        pieces = explode(rings, max_piece_m=max_piece_m)
        lon1, lat1, lon2, lat2, ring_of_piece = pieces.lon1, pieces.lat1, pieces.lon2, pieces.lat2, pieces.owner
    else:
        part_of_ring, (lon1, lat1, lon2, lat2, ring_of_piece) = _ring_pieces(pieces, tid, polys)
    if ring_of_piece.size == 0:
        return _no_rings()
    # vertices of ring r: every piece start, then the closing vertex (= first) once more
    last = np.flatnonzero(np.r_[ring_of_piece[1:] != ring_of_piece[:-1], True])
    lon = np.concatenate([lon1, lon2[last]])
    lat = np.concatenate([lat1, lat2[last]])
    ring = np.concatenate([ring_of_piece, ring_of_piece[last]])
    order = np.argsort(ring, kind="stable")
    return Rings(lon[order], lat[order], ring[order], part_of_ring, owner)


def _no_rings() -> Rings:
    """Rings of no polygon."""
    e = np.empty(0)
    return Rings(e, e, np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64))


def _ring_pieces(pieces: Pieces, tid: NDArray[np.int32], polys: NDArray[np.object_]
                 ) -> tuple[NDArray[np.int64], tuple[NDArray[Any], ...]]:
    """The part of each ring of ``polys`` (the polygon parts, type ids ``tid``, of ``explode``'s
    geometries) and, of ``pieces`` (``explode``'s), those of the rings: their ends and ring numbers.

    ``explode`` numbers the chains part by part (``_chains``): one for a point or a line, one per
    ring of a polygon in ``shapely.get_rings`` order; so the polygon rings, in chain order, are the
    rings of ``shapely.get_rings(polys)`` in its order, and their pieces are the ones ``explode``
    of those rings makes (the same edges, densified alone)."""
    is_poly = tid == 3
    rings_per_poly = shapely.get_num_interior_rings(polys).astype(np.int64) + 1
    part_of_ring = np.repeat(np.arange(polys.size, dtype=np.int64), rings_per_poly)
    chains_per_part = np.ones(tid.size, dtype=np.int64)
    chains_per_part[is_poly] = rings_per_poly
    chain_is_ring = np.repeat(is_poly, chains_per_part)
    ring_of_chain = np.cumsum(chain_is_ring) - 1
    keep = np.flatnonzero(chain_is_ring[pieces.chain])
    return part_of_ring, (pieces.lon1[keep], pieces.lat1[keep], pieces.lon2[keep], pieces.lat2[keep],
                          ring_of_chain[pieces.chain[keep]])


def build_polygons(x: NDArray[np.float64], y: NDArray[np.float64], rings: Rings) -> NDArray[np.object_]:
    """Projected polygons (one per polygon part) from projected ring vertex coordinates."""
    if rings.part_of_ring.size == 0:
        return np.empty(0, dtype=object)
    lr = shapely.linearrings(np.column_stack([x, y]), indices=rings.ring_of_vertex)
    return shapely.polygons(lr, indices=rings.part_of_ring)


def select_rings(rings: Rings, keep_part: NDArray[np.bool_]) -> tuple[Rings, NDArray[np.int64]]:
    """The rings of the selected polygon parts, renumbered; also the owner of each kept part."""
    kept_parts = np.flatnonzero(keep_part)
    ring_keep = keep_part[rings.part_of_ring]
    kept_rings = np.flatnonzero(ring_keep)
    vert_keep = ring_keep[rings.ring_of_vertex]
    new_ring = np.searchsorted(kept_rings, rings.ring_of_vertex[vert_keep])
    new_part = np.searchsorted(kept_parts, rings.part_of_ring[ring_keep])
    sub = Rings(rings.lon[vert_keep], rings.lat[vert_keep], new_ring, new_part, rings.owner_of_part[keep_part])
    return sub, rings.owner_of_part[keep_part]


def part_boxes(rings: Rings, lon0: float) -> tuple[NDArray[np.float64], ...]:
    """Per polygon part: min/max longitude (wrapped around ``lon0``) and min/max latitude."""
    n = rings.owner_of_part.size
    part = rings.part_of_ring[rings.ring_of_vertex]
    dlon = np.mod(rings.lon - lon0 + 180.0, 360.0) - 180.0
    lo, hi = np.full(n, np.inf), np.full(n, -np.inf)
    la_lo, la_hi = np.full(n, np.inf), np.full(n, -np.inf)
    np.minimum.at(lo, part, dlon)
    np.maximum.at(hi, part, dlon)
    np.minimum.at(la_lo, part, rings.lat)
    np.maximum.at(la_hi, part, rings.lat)
    return lo + lon0, la_lo, hi + lon0, la_hi
