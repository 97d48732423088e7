"""Exact distances for candidate pairs of pieces, plus the zero-distance (crossing, containment) tests.

Private helper of :mod:`geo.distance.geodesic`. Input pieces are in lon/lat degrees; the projected
coordinates of the same pieces (metres, in a local projection) only decide crossings and
containment. Output rows carry: subject, target, distance in metres, and the nearest points.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer
from pyproj.enums import TransformDirection

from geo.distance._kernel import point_segment_distance
from geo.distance._pieces import Pieces

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
BATCH_PAIRS = 262_144  # candidate pairs built and measured at once (about 100 MB of arrays)


@dataclass
class Rows:
    """Candidate distances: subject, target, distance in metres, nearest points (degrees)."""

    subject: I64
    target: I64
    distance_m: F64
    slon: F64
    slat: F64
    tlon: F64
    tlat: F64

    @staticmethod
    def concat(parts: list[Rows]) -> Rows:
        """All rows of ``parts`` in one."""
        if not parts:
            e = np.empty(0)
            return Rows(np.empty(0, np.int64), np.empty(0, np.int64), e, e, e, e, e)
        return Rows(*(np.concatenate([getattr(p, f) for p in parts]) for f in Rows.__dataclass_fields__))


def nearest_per_pair(rows: Rows) -> Rows:
    """Keep, per (subject, target), the row with the least distance (ties: by nearest points).

    The result is sorted by subject, then target. The choice is a total order on the rows (rows
    equal in every key are equal in every field), so reducing batches one by one and then their
    union gives the same rows as reducing all at once.
    """
    if rows.subject.size == 0:
        return rows
    pair = rows.subject * (int(rows.target.max()) + 1) + rows.target
    order = np.argsort(pair, kind="stable")
    same = pair[order][1:] == pair[order][:-1]
    if same.any():  # several rows for a pair: the nearest, exact ties ordered by the points
        order = np.lexsort((rows.tlat, rows.tlon, rows.slat, rows.slon, rows.distance_m, pair))
        same = pair[order][1:] == pair[order][:-1]
    first = order[np.r_[True, ~same]]
    return Rows(*(getattr(rows, f)[first] for f in Rows.__dataclass_fields__))


@dataclass(frozen=True)
class Budget:
    """How many candidate pairs are built and measured at once, and a hook told each batch's size.

    ``on_batch`` (if given) is called with the number of pairs of every batch built, from the
    thread that built it; it is how a test proves the memory ceiling without timing anything.
    """

    pairs: int = BATCH_PAIRS
    on_batch: Callable[[int], None] | None = None

    def spans(self, total: int) -> list[tuple[int, int]]:
        """``[0, total)`` cut into consecutive ranges of at most ``pairs``."""
        return [(lo, min(lo + self.pairs, total)) for lo in range(0, total, self.pairs)]

    def built(self, n: int) -> None:
        """Tell the hook that a batch of ``n`` pairs was built."""
        if self.on_batch is not None:
            self.on_batch(n)


@dataclass(frozen=True)
class Limits:
    """What decides which pairs are candidates, per target (positional index) in metres.

    ``reach_m`` is threshold + offset + tolerance (a pair farther than that never counts),
    ``offset_m`` the offset taken off the distance and ``tolerance_m`` the tolerance. ``prune``
    says that every offset is 0 and every threshold the same, so a subject's nearest target is
    all that matters.
    """

    reach_m: F64
    offset_m: F64
    prune: bool
    budget: Budget
    tolerance_m: float = 0.0


def project(tr: Transformer, lon: F64, lat: F64) -> tuple[F64, F64]:
    """Forward-project lon/lat degrees to metres; raise if a point falls outside the projection."""
    x, y = tr.transform(lon, lat)
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("a geometry extends too far from its locality to be projected (over ~60 degrees)")
    return x, y


def chords(x1: F64, y1: F64, x2: F64, y2: F64, is_point: NDArray[np.bool_]) -> NDArray[np.object_]:
    """Projected pieces as shapely Points (zero-length pieces) and two-point LineStrings."""
    out = np.empty(x1.size, dtype=object)
    is_point = is_point | (np.hypot(x2 - x1, y2 - y1) < 1e-9)  # sub-nanometre pieces: GEOS needs a Point
    out[is_point] = shapely.points(x1[is_point], y1[is_point])
    line = ~is_point
    coords = np.stack([np.column_stack([x1[line], y1[line]]), np.column_stack([x2[line], y2[line]])], axis=1)
    out[line] = shapely.linestrings(coords)
    return out


def exact_rows(sp: Pieces, tp: Pieces, si: I64, ti: I64) -> Rows:
    """Exact geodesic distance between subject pieces ``si`` and target pieces ``ti`` (pairwise).

    Two geodesic pieces that do not cross are nearest at an end of one of them, so the distance
    is the least of the four end-to-piece distances; crossings are handled by :func:`crossing_rows`.
    """
    line = ~sp.is_point[si]
    # end 1 (and 2, for subject edges) of the subject piece to the target piece
    ends_s = [(sp.lon1[si], sp.lat1[si]), (sp.lon2[si[line]], sp.lat2[si[line]])]
    t_of = [ti, ti[line]]
    best: tuple[F64, ...] | None = None
    for (plon, plat), tt in zip(ends_s, t_of, strict=True):
        d, flon, flat = point_segment_distance(plon, plat, tp.lon1[tt], tp.lat1[tt], tp.lon2[tt], tp.lat2[tt])
        cand = (d, plon, plat, flon, flat)
        best = cand if best is None else _min_into(best, cand, line)
    assert best is not None
    # ends of the target piece to the subject edge
    s_l, t_l = si[line], ti[line]
    for tlon, tlat in ((tp.lon1[t_l], tp.lat1[t_l]), (tp.lon2[t_l], tp.lat2[t_l])):
        d, flon, flat = point_segment_distance(tlon, tlat, sp.lon1[s_l], sp.lat1[s_l], sp.lon2[s_l], sp.lat2[s_l])
        best = _min_into(best, (d, flon, flat, tlon, tlat), line)
    d, slon, slat, tlon, tlat = best
    return Rows(sp.owner[si], tp.owner[ti], d, slon, slat, tlon, tlat)


def _min_into(best: tuple[F64, ...], cand: tuple[F64, ...], mask: NDArray[np.bool_]) -> tuple[F64, ...]:
    """Element-wise keep the nearer of ``best`` and ``cand`` (``cand`` covers ``best[mask]``)."""
    if cand[0].size == best[0].size:
        take = cand[0] < best[0]
        return tuple(np.where(take, c, b) for b, c in zip(best, cand, strict=True))
    out = tuple(b.copy() for b in best)
    idx = np.flatnonzero(mask)
    take = cand[0] < out[0][idx]
    for o, c in zip(out, cand, strict=True):
        o[idx[take]] = c[take]
    return out


def crossing_rows(sp: Pieces, tp: Pieces, si: I64, ti: I64, s_geom: NDArray[np.object_],
                  t_geom: NDArray[np.object_], tr: Transformer) -> Rows:
    """Zero-distance rows where a subject edge and a target piece cross or touch (projected chords)."""
    edge = ~sp.is_point[si] & ~tp.is_point[ti]
    si, ti, sg, tg = si[edge], ti[edge], s_geom[edge], t_geom[edge]
    hit = shapely.intersects(sg, tg)
    si, ti = si[hit], ti[hit]
    # a point where they meet: the subject end of their (zero-length) shortest line
    xy = shapely.get_coordinates(shapely.get_point(shapely.shortest_line(sg[hit], tg[hit]), 0))
    lon, lat = tr.transform(xy[:, 0], xy[:, 1], direction=TransformDirection.INVERSE)
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    return Rows(sp.owner[si], tp.owner[ti], np.zeros(si.size), lon, lat, lon.copy(), lat.copy())


def inside_rows(point_owner: I64, point_lon: F64, point_lat: F64, point_geom: NDArray[np.object_],
                poly_owner: I64, poly_geom: NDArray[np.object_], *, points_are_subjects: bool) -> Rows:
    """Zero-distance rows where a representative point lies inside (or on) a polygon part."""
    if point_geom.size == 0 or poly_geom.size == 0:
        return Rows.concat([])
    tree = shapely.STRtree(poly_geom)
    pi, qi = tree.query(point_geom, predicate="intersects")
    lon, lat = point_lon[pi], point_lat[pi]
    a, b = point_owner[pi], poly_owner[qi]
    sub, tgt = (a, b) if points_are_subjects else (b, a)
    return Rows(sub, tgt, np.zeros(pi.size), lon, lat, lon.copy(), lat.copy())
