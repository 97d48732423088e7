"""Point subjects against target pieces in one locality: spatial chunks, run on threads.

Private helper of :mod:`geo.distance.geodesic`. The locality's frame (and so every search radius
and bound) is fixed once for the whole locality; its point subjects are then cut into strips of
about equal size along the frame's x axis, and each strip is searched and measured on its own,
on a thread of the pool (numpy, shapely and pyproj's ``Geod`` release the GIL in their loops).
A strip reads only shared arrays and returns its own rows, so the threads share no mutable
state. Every candidate pair is decided by its own planar distance in the one frame and measured
element by element, from a first guess of the foot made in the plane tangent at the point (so
the measurement depends on the pair alone), and each subject lies in exactly one strip: the rows
for each subject are the same for any number of strips or threads, and the caller's reduction
(``_pairs.nearest_per_pair``) orders them by value, so the result is identical bit for bit.
"""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from geo.distance._grid import PointGrid, planar_point_segment
from geo.distance._kernel import point_segment_distance, segment_lengths_m
from geo.distance._locality import (
    CHORD_ERROR_M,
    CHORD_MARGIN_M,
    SCALE_SAFETY,
    Extent,
    Plate,
    tangent_plane,
    transformer,
)
from geo.distance._pairs import Limits, Rows, inside_rows, nearest_per_pair, project
from geo.distance._pieces import MAX_PIECE_M, Pieces, Rings, build_polygons

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
LONG_BATCHES = 4  # candidates beyond this many batches: bound each subject first (a long reach)
MIN_CHUNK = 25_000  # point subjects; below this a strip costs more in overhead than it saves
CHUNKS_PER_THREAD = 2  # strips per thread, so that a slow strip does not leave a core idle


def strips(x: F64, count: int) -> list[I64]:
    """Positions of ``x`` cut into at most ``count`` strips of about equal size along x.

    The cut points are quantiles of a sample of ``x``; each position falls in exactly one strip
    and the positions in a strip are ascending.
    """
    count = int(min(count, x.size // MIN_CHUNK))
    if count <= 1:
        return [np.arange(x.size)]
    step = max(1, x.size // 50_000)
    edges = np.quantile(x[::step], np.linspace(0.0, 1.0, count + 1)[1:-1])
    strip = np.searchsorted(edges, x, side="right")
    order = np.argsort(strip.astype(np.int16), kind="stable")  # a radix sort: positions stay ascending
    bounds = np.searchsorted(strip[order], np.arange(count + 1))
    return [order[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True) if hi > lo]


def _strip_rows(sp: Pieces, s_sel: I64, tp: Pieces, t_sel: I64, frame: Plate | None,
                xy: tuple[F64, ...], k: tuple[float, float, float], reach_m: float, lim: Limits,
                chunk: I64) -> Rows:
    """Rows for the subjects ``s_sel[chunk]``: planar candidates, pruning, exact distances.

    ``xy`` holds the frame coordinates of all the locality's subjects and targets
    (``px, py, tx1, ty1, tx2, ty2``) and ``k`` the frame's ``k_min, k_max, chord``.

    Bounded memory: the candidates (pairs within ``k_max * reach + chord`` in the frame) are built
    ``lim.budget.pairs`` at a time (:class:`PointGrid`), cut between subjects (:func:`batches`).
    In a batch, each subject's bound (the least frame distance, or with offsets the least upper
    bound of the value of a target that surely counts, :func:`_tighten`) rules out the pairs that
    cannot be its nearest (:func:`_kept`) and the rest are measured exactly. A subject with more
    candidates than a batch on its own takes two passes: the bound over all its batches, then its
    candidates built again, kept or not, and measured. The bound of a subject is over all its
    candidates whatever the cut, so the pairs kept, and each pair's exact distance (element by
    element), are those of one single batch.
    """
    px, py, tx1, ty1, tx2, ty2 = xy
    k_min, k_max, chord = k
    radius = k_max * reach_m + chord + CHORD_MARGIN_M
    cx, cy = px[chunk], py[chunk]
    # only the targets whose box, grown by the radius, meets the strip's box can be candidates
    near = np.flatnonzero((np.maximum(tx1, tx2) >= cx.min() - radius) & (np.minimum(tx1, tx2) <= cx.max() + radius)
                          & (np.maximum(ty1, ty2) >= cy.min() - radius) & (np.minimum(ty1, ty2) <= cy.max() + radius))
    t_xy = (tx1[near], ty1[near], tx2[near], ty2[near])
    owner_of = tp.owner[t_sel[near]]  # target of each nearby piece
    ctx = _Strip(sp, s_sel, tp, t_sel, frame, chunk, near, owner_of, k, lim)
    grid = PointGrid(cx, cy, *t_xy, radius)
    if grid.total <= LONG_BATCHES * lim.budget.pairs:
        return _grid_rows(grid, np.arange(chunk.size), np.full(chunk.size, np.inf), ctx)
    # a long reach: bound each subject by a nearby target first, then search only as far as needed
    bound = _first_bounds(cx, cy, t_xy, radius, grid.total, ctx)
    need = _needed(bound, k, lim, radius)
    parts = []
    for sub in _classes(need):
        parts.append(_grid_rows(PointGrid(cx[sub], cy[sub], *t_xy, float(need[sub].max())), sub, bound[sub], ctx))
    return Rows.concat(parts)


@dataclass(frozen=True)
class _Strip:
    """What a strip's searches share: the pieces, the selections, the frame and the limits."""

    sp: Pieces
    s_sel: I64
    tp: Pieces
    t_sel: I64
    frame: Plate | None
    chunk: I64
    near: I64
    owner_of: I64
    k: tuple[float, float, float]
    lim: Limits


def _grid_rows(grid: PointGrid, sub: I64, bound0: F64, c: _Strip) -> Rows:
    """Rows of the grid's candidates (its points are the strip's subjects ``sub``), batch by batch.

    ``bound0`` holds a bound per subject already known (inf: none); each batch lowers it with its
    own candidates, keeps what may still be the nearest and measures it.
    """
    parts = []
    for spans in batches(grid.end, c.lim.budget.pairs):
        bound = bound0.copy()
        first: tuple[I64, I64, F64, F64] | None = None
        for lo, hi in spans:  # pass 1 (one batch: the only pass): each subject's bound over its candidates
            c.lim.budget.built(hi - lo)
            found = grid.pairs(lo, hi)
            first = found if len(spans) == 1 else None
            _tighten(bound, found, c.owner_of, c.k, c.lim)
        for lo, hi in spans:  # pass 2 (only for a subject with more candidates than a batch)
            if first is None:
                c.lim.budget.built(hi - lo)
            pi, ti, d_p, frac = first if first is not None else grid.pairs(lo, hi)
            keep = _kept(bound, pi, ti, d_p, c.owner_of, c.k, c.lim)
            if not keep.all():
                pi, ti, d_p, frac = pi[keep], ti[keep], d_p[keep], frac[keep]
            rows = _measure(c.sp, c.s_sel, c.tp, c.t_sel, c.frame, c.chunk[sub[pi]], c.near[ti], frac)
            parts.append(rows if len(spans) == 1 else nearest_per_pair(rows))
    return Rows.concat(parts)


def _first_bounds(cx: F64, cy: F64, t_xy: tuple[F64, F64, F64, F64], radius: float, total: int, c: _Strip) -> F64:
    """Per subject, a bound (:func:`_tighten`) from the candidates within a small frame radius,
    grown fourfold for the subjects still without one, up to ``radius``.

    With ``prune`` the bound is the least frame distance over *all* the subject's candidates: the
    least one lies within any radius that found one. The first radius is the reach's radius times
    a batch over the candidates within it: a batch or fewer when they are spread evenly.
    """
    bound = np.full(cx.size, np.inf)
    pending = np.arange(cx.size)
    r = max(radius * c.lim.budget.pairs / total, 10.0 * CHORD_MARGIN_M)
    while pending.size:
        grid = PointGrid(cx[pending], cy[pending], *t_xy, min(r, radius))
        found = np.full(pending.size, np.inf)
        for spans in batches(grid.end, c.lim.budget.pairs):
            for lo, hi in spans:
                c.lim.budget.built(hi - lo)
                _tighten(found, grid.pairs(lo, hi), c.owner_of, c.k, c.lim)
        bound[pending] = found
        if r >= radius:
            break
        pending, r = pending[~np.isfinite(found)], 4.0 * r
    return bound


def _needed(bound: F64, k: tuple[float, float, float], lim: Limits, radius: float) -> F64:
    """Per subject, the frame radius within which every pair :func:`_kept` keeps lies (at most
    ``radius``; ``radius`` with no bound), with slack for rounding."""
    k_min, k_max, chord = k
    with np.errstate(invalid="ignore"):
        if lim.prune:
            need = k_max * (bound + chord) / k_min + chord + CHORD_ERROR_M
        else:  # low <= bound needs d <= k_max * (bound + offset + error) + chord + margin
            need = k_max * (bound + float(lim.offset_m.max()) + CHORD_ERROR_M) + chord + CHORD_MARGIN_M
    return np.minimum(need * (1.0 + 1e-9) + 1e-6, radius)


def _classes(need: F64) -> list[I64]:
    """Subjects grouped by needed radius, within a factor of 2 of each other (ascending positions)."""
    cls = np.floor(np.log2(need / max(float(need.min()), 1e-9))).astype(np.int64)
    return [np.flatnonzero(cls == c) for c in np.unique(cls)]


def batches(end: I64, pairs: int) -> list[list[tuple[int, int]]]:
    """The candidates ``[0, end[-1])`` cut at subject boundaries into batches of at most ``pairs``
    (``end``: the cumulative candidate counts of the subjects, in order).

    Each batch is a list of ranges: one range holding whole subjects, or, for a subject with more
    candidates than ``pairs`` on its own, that subject's candidates in ranges of ``pairs``.
    """
    out: list[list[tuple[int, int]]] = []
    total = int(end[-1]) if end.size else 0
    start = 0
    while start < total:
        j = int(np.searchsorted(end, start + pairs, side="right"))  # subjects 0..j-1 end within the batch
        stop = int(end[j - 1]) if j else 0
        if stop > start:
            out.append([(start, stop)])
        else:  # the next subject alone has more than a batch of candidates
            stop = int(end[np.searchsorted(end, start, side="right")])
            out.append([(lo, min(lo + pairs, stop)) for lo in range(start, stop, pairs)])
        start = stop
    return out


def _tighten(bound: F64, found: tuple[I64, I64, F64, F64], owner_of: I64, k: tuple[float, float, float],
             lim: Limits) -> None:
    """Lower each subject's ``bound`` with a batch of its candidates ``found`` (in place).

    With ``lim.prune``: the least frame distance ``d``; a pair's true distance lies between
    ``(d - chord) / k_max`` and ``(d + chord) / k_min``. Otherwise: the least value (distance
    less the target's offset, at least 0) that a target surely has and that surely counts
    (its distance at most ``(d + chord + margin) / k_min``, within the target's reach).
    """
    pi, ti, d_p, _ = found
    if pi.size == 0:
        return
    k_min, _, chord = k
    if lim.prune:
        np.minimum.at(bound, pi, d_p)
        return
    t = owner_of[ti]
    up = (d_p + chord + CHORD_MARGIN_M) / k_min
    counts = up <= lim.reach_m[t]
    np.minimum.at(bound, pi[counts], np.maximum(up - lim.offset_m[t], 0.0)[counts])


def _kept(bound: F64, pi: I64, ti: I64, d_p: F64, owner_of: I64, k: tuple[float, float, float],
          lim: Limits) -> NDArray[np.bool_]:
    """Which candidates may still be their subject's nearest, given the subjects' ``bound``.

    With ``lim.prune`` (the rule of the code before batching): the frame distance is at most
    ``k_max * (least + chord) / k_min + chord`` plus the chord error. Otherwise: the pair's least
    possible value, ``(d - chord - margin) / k_max`` less its offset (at least 0), is not above
    the subject's bound (a pair above it is beaten by a target that surely counts, strictly).
    """
    k_min, k_max, chord = k
    if lim.prune:
        return d_p <= k_max * (bound[pi] + chord) / k_min + chord + CHORD_ERROR_M
    t = owner_of[ti]
    low = np.maximum((d_p - chord - CHORD_MARGIN_M) / k_max - CHORD_ERROR_M - lim.offset_m[t], 0.0)
    return low <= bound[pi]


def _measure(sp: Pieces, s_sel: I64, tp: Pieces, t_sel: I64, frame: Plate | None, pi: I64, ti: I64,
             frac: F64) -> Rows:
    """Exact distances of the pairs (subject ``s_sel[pi]``, target piece ``t_sel[ti]``)."""
    si, tj = s_sel[pi], t_sel[ti]
    if frame is not None and pi.size:  # a better first guess of the foot: the plane conformal at P
        plon, plat = sp.lon1[si], sp.lat1[si]
        ax, ay = tangent_plane(plon, plat, tp.lon1[tj], tp.lat1[tj])
        bx, by = tangent_plane(plon, plat, tp.lon2[tj], tp.lat2[tj])
        zero = np.zeros(si.size)
        frac = planar_point_segment(zero, zero, ax, ay, bx, by)[1]
    az, length = tp.az_deg[tj], tp.length_m[tj]  # copies: this strip fills in its own
    todo = np.flatnonzero(np.isnan(length))
    if todo.size:  # each target piece measured once, however many subjects it is a candidate of (half as many)
        need, back = np.unique(tj[todo], return_inverse=True)
        az_need, len_need = segment_lengths_m(tp.lon1[need], tp.lat1[need], tp.lon2[need], tp.lat2[need])
        az[todo], length[todo] = az_need[back], len_need[back]
    d, flon, flat = point_segment_distance(sp.lon1[si], sp.lat1[si], tp.lon1[tj], tp.lat1[tj], tp.lon2[tj],
                                           tp.lat2[tj], frac0=frac, az_ab=az, len_ab=length)
    return Rows(sp.owner[si], tp.owner[tj], d, sp.lon1[si], sp.lat1[si], flon, flat)


def point_group_start(sp: Pieces, s_sel: I64, tp: Pieces, t_sel: I64, t_rings: Rings, key: int, box: Extent,
                      reach_m: float, lim: Limits, pool: Executor | None, threads: int) -> Callable[[], Rows]:
    """Candidate rows for point subjects: grid search in a local frame, then exact distances.

    Returns a function that gives the rows: the strips are handed to ``pool`` at once and this
    returns without waiting for them, so the caller can prepare the next locality while they run
    (one wait at the end instead of one per locality). The rows are the same, in the same order
    (strip by strip, then containment), whenever they are collected.

    Outside the polar caps the frame is a local equirectangular :class:`Plate` (numpy only) with
    scale bounds ``k_min..k_max`` and chord error ``chord``; in the caps, the cap's projection.
    A pair is a candidate when its frame distance is at most ``k_max * reach + chord`` (plus the
    chord margin). Pairs that cannot be a subject's nearest are dropped: the true distance lies
    between ``(d - chord) / k_max`` and ``(d + chord) / k_min`` (see :func:`_tighten` and
    :func:`_kept`), and candidates are built ``lim.budget.pairs`` at a time. The subjects are cut
    into strips run on ``pool`` (``threads`` workers; None runs them here, one after the other).
    """
    if s_sel.size == 0 or t_sel.size == 0:
        return lambda: Rows.concat([])
    frame: Plate | None = None
    if key >= 0:
        frame = Plate(box.lon0, box.lat_lo, box.lat_hi, MAX_PIECE_M)
        k = (frame.k_min, frame.k_max, frame.chord_m)
        to_xy: Callable[[F64, F64], tuple[F64, ...]] = frame.xy
    else:
        k = (1.0, SCALE_SAFETY, CHORD_ERROR_M)
        to_xy = lambda lon, lat: project(transformer(key), lon, lat)
    px, py = to_xy(sp.lon1[s_sel], sp.lat1[s_sel])
    tx1, ty1 = to_xy(tp.lon1[t_sel], tp.lat1[t_sel])
    tx2, ty2 = to_xy(tp.lon2[t_sel], tp.lat2[t_sel])
    xy = (px, py, tx1, ty1, tx2, ty2)
    chunks = strips(px, threads * CHUNKS_PER_THREAD if pool is not None else 1)
    run = lambda chunk: _strip_rows(sp, s_sel, tp, t_sel, frame, xy, k, reach_m, lim, chunk)
    parts: list[Future[Rows]] | list[Rows] = [pool.submit(run, c) for c in chunks] \
        if pool is not None and len(chunks) > 1 else [run(c) for c in chunks]
    inside: list[Rows] = []
    if t_rings.owner_of_part.size:  # containment is decided in the conformal projection
        tr = transformer(key)
        qx, qy = project(tr, sp.lon1[s_sel], sp.lat1[s_sel])
        rx, ry = project(tr, t_rings.lon, t_rings.lat)
        inside.append(inside_rows(sp.owner[s_sel], sp.lon1[s_sel], sp.lat1[s_sel], shapely.points(qx, qy),
                                  t_rings.owner_of_part, build_polygons(rx, ry, t_rings), points_are_subjects=True))
    return lambda: Rows.concat([p.result() if isinstance(p, Future) else p for p in parts] + inside)
