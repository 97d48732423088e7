"""Planar candidate search for points against segments, by hashing into a square grid.

Private helper of :mod:`geo.distance.geodesic`: the fast path of the projected candidate pass when the
subjects are points. Works on projected coordinates in metres; returns every (point, segment)
pair whose planar distance is at most ``radius_m``, exactly as an STRtree ``dwithin`` query
would, without building a shapely geometry per point.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
_DENSE_CELLS = 20_000_000  # up to this many grid cells, index them in a dense table (160 MB)
I64 = NDArray[np.int64]


def planar_point_segment(px: F64, py: F64, x1: F64, y1: F64, x2: F64, y2: F64) -> tuple[F64, F64]:
    """Planar distance (metres) from points to segments, and the foot's fraction along each segment."""
    dx, dy = x2 - x1, y2 - y1
    len2 = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(len2 > 0, ((px - x1) * dx + (py - y1) * dy) / len2, 0.0)
    t = np.clip(t, 0.0, 1.0)
    return np.hypot(px - (x1 + t * dx), py - (y1 + t * dy)), t


def _ranges(counts: I64) -> tuple[I64, I64]:
    """For counts c_i: (owner i repeated c_i times, 0..c_i-1 within each owner)."""
    owner = np.repeat(np.arange(counts.size), counts)
    within = np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
    return owner, within


def stable_order(keys: I64) -> I64:
    """``np.argsort(keys, kind="stable")``: the same order, for keys in ``[0, 2**32)`` made by two stable
    passes of numpy's radix sort over their 16-bit halves (the low half, then the high one), 4x faster
    than the comparison sort at 3e5 keys (a grid's cell registrations)."""
    if not keys.size or int(keys.min()) < 0 or int(keys.max()) >= 1 << 32:
        return np.argsort(keys, kind="stable")
    low = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    return low[np.argsort((keys[low] >> 16).astype(np.uint16), kind="stable")]


def _cell_size(px: F64, py: F64, x1: F64, y1: F64, x2: F64, y2: F64, radius_m: float) -> float:
    """Grid cell side (metres) that minimises the expected work.

    Work = cell registrations of the segments, ``M (1 + E/c)^2``, plus point-segment pairs to
    test, ``N M (c + E)^2 / area``, where E is a segment's mean box side grown by the radius.
    """
    n, m = px.size, x1.size
    ext = float(np.mean(np.abs(x2 - x1) + np.abs(y2 - y1))) / 2.0 + 2.0 * radius_m
    area = max(float(np.ptp(px)) * float(np.ptp(py)), ext * ext)
    sizes = max(ext, 1.0) * np.array([0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0])
    work = m * (1.0 + ext / sizes) ** 2 + n * m * (sizes + ext) ** 2 / area
    return float(sizes[np.argmin(work)])


class PointGrid:
    """The (point, segment) pairs within ``radius_m`` in the plane, built a range at a time.

    Each segment is registered in the grid cells its box, grown by the radius, overlaps; a
    point's *candidates* are the entries of its cell, numbered point by point (``total`` of them).
    :meth:`pairs` builds any range of that numbering and keeps the pairs within the radius, so a
    caller can go through every candidate in batches of bounded size: the ranges of a cut, joined,
    give exactly what the whole range gives, in the same order (point by point, then by entry).
    The grid itself holds a few registrations per segment and two integers per point.
    """

    def __init__(self, px: F64, py: F64, x1: F64, y1: F64, x2: F64, y2: F64, radius_m: float) -> None:
        self.px, self.py, self.x1, self.y1, self.x2, self.y2 = px, py, x1, y1, x2, y2
        self.radius_m = radius_m
        if px.size == 0 or x1.size == 0:
            self.lo = self.end = self.count = np.zeros(px.size, dtype=np.int64)
            self.seg = np.empty(0, dtype=np.int64)
            self.total = 0
            return
        cell = _cell_size(px, py, x1, y1, x2, y2, radius_m)
        ox = min(float(px.min()), float(np.minimum(x1, x2).min())) - radius_m - cell
        oy = min(float(py.min()), float(np.minimum(y1, y2).min())) - radius_m - cell
        # each segment registers in every cell its box, grown by the radius, overlaps
        cx0 = np.floor((np.minimum(x1, x2) - radius_m - ox) / cell).astype(np.int64)
        cx1 = np.floor((np.maximum(x1, x2) + radius_m - ox) / cell).astype(np.int64)
        cy0 = np.floor((np.minimum(y1, y2) - radius_m - oy) / cell).astype(np.int64)
        cy1 = np.floor((np.maximum(y1, y2) + radius_m - oy) / cell).astype(np.int64)
        nx, ny = cx1 - cx0 + 1, cy1 - cy0 + 1
        seg, k = _ranges(nx * ny)
        qx = np.floor((px - ox) / cell).astype(np.int64)
        qy = np.floor((py - oy) / cell).astype(np.int64)
        width = int(max(int(cx1.max()), int(qx.max()))) + 1
        height = int(max(int(cy1.max()), int(qy.max()))) + 1
        keys = (cx0[seg] + k % nx[seg]) * height + (cy0[seg] + k // nx[seg])
        pkey = qx * height + qy
        order = stable_order(keys)
        if width * height <= min(_DENSE_CELLS, 4 * (keys.size + pkey.size)):  # dense table: cell -> first entry
            start = np.zeros(width * height + 1, dtype=np.int64)
            np.cumsum(np.bincount(keys, minlength=width * height), out=start[1:])
            lo, hi = start[pkey], start[pkey + 1]
        else:  # a sparse grid: binary search in the sorted keys
            lo = np.searchsorted(keys[order], pkey, side="left")
            hi = np.searchsorted(keys[order], pkey, side="right")
        self.seg, self.lo, self.count = seg[order], lo, hi - lo
        self.end = np.cumsum(self.count)  # candidates of points 0..i
        self.total = int(self.end[-1]) if self.end.size else 0

    def pairs(self, start: int = 0, stop: int | None = None) -> tuple[I64, I64, F64, F64]:
        """The candidates ``[start, stop)`` within the radius: point indices, segment indices,
        planar distances (metres) and foot fractions."""
        stop = self.total if stop is None else stop
        if start == 0 and stop == self.total:
            pi, j = _ranges(self.count)
        elif stop <= start:
            pi = j = np.empty(0, dtype=np.int64)
        else:  # the points of the first and the last candidate, each point repeated for its candidates, cut
            # to the range (a binary search per candidate took 23 of the 76 ms of pairs at 1e6 sites)
            p0, p1 = (int(p) for p in np.searchsorted(self.end, (start, stop - 1), side="right"))
            before = int(self.end[p0] - self.count[p0])  # candidates of the points before p0
            pi = np.repeat(np.arange(p0, p1 + 1), self.count[p0:p1 + 1])[start - before:stop - before]
            j = np.arange(start, stop, dtype=np.int64) - (self.end[pi] - self.count[pi])
        si = self.seg[self.lo[pi] + j]
        d, t = planar_point_segment(self.px[pi], self.py[pi], self.x1[si], self.y1[si], self.x2[si], self.y2[si])
        keep = d <= self.radius_m
        return pi[keep], si[keep], d[keep], t[keep]

