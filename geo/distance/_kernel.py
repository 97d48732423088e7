"""Vectorised exact distance from points to geodesic segments on the WGS84 ellipsoid.

Private helper of :mod:`geo.distance.geodesic`. Every function takes and returns plain numpy arrays of
longitude/latitude in degrees and distances in metres.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from pyproj import Geod

WGS84 = Geod(ellps="WGS84")
"""The WGS84 ellipsoid; its ``inv``/``fwd`` (Karney's algorithms) are accurate to ~15 nm."""

_R_MEAN_M = 6_371_008.8  # mean Earth radius, metres: only used to size a Newton step
_STEP_TOL_M = 1e-6  # stop when the foot moves less than this along the segment, metres
_FINISH_M = 1e-3  # metres: see point_segment_distance
_MAX_ITER = 30

Array = NDArray[np.float64]


def _along_track_m(d_m: Array, delta_az_deg: Array) -> Array:
    """Signed along-track distance to the foot of the perpendicular, on a sphere.

    Parameters
    ----------
    d_m : distance in metres from the current point on the segment to the point.
    delta_az_deg : angle in degrees between the segment's direction and the direction to the point.

    Returns
    -------
    Along-track distance in metres (exact on a sphere; a Newton step on the ellipsoid).
    """
    sigma = d_m / _R_MEAN_M
    theta = np.radians(delta_az_deg)
    return _R_MEAN_M * np.arctan2(np.sin(sigma) * np.cos(theta), np.cos(sigma))


def point_segment_distance(
    plon: Array, plat: Array, alon: Array, alat: Array, blon: Array, blat: Array, *,
    frac0: Array | None = None, az_ab: Array | None = None, len_ab: Array | None = None,
) -> tuple[Array, Array, Array]:
    """Shortest geodesic distance from points P to geodesic segments AB, element-wise.

    The foot of the perpendicular is found by iterating on the along-segment distance ``s``:
    from the point ``X(s)`` on the geodesic, the step is the along-track distance of P seen from
    ``X`` (exact on a sphere), so the iteration converges in two or three steps. ``s`` is clamped
    to ``[0, |AB|]``, so a foot beyond either end becomes that end. When the foot is found to lie
    inside the segment within ``_FINISH_M`` (1 mm) of the last point ``X``, the distance is taken
    from the right triangle X-foot-P, ``sqrt(|XP|^2 - step^2)`` (error ~ step^2 * |XP| / R^2,
    i.e. far below a nanometre) and the returned nearest point is ``X``, at most 1 mm from the foot.

    Parameters
    ----------
    plon, plat : longitude and latitude of the points, degrees.
    alon, alat, blon, blat : longitude and latitude of the segment ends, degrees.
    frac0 : optional first guess of the foot, as a fraction of each segment (e.g. from a planar
        projection); without it the first guess comes from the azimuth and distance from A.
    az_ab, len_ab : optional azimuth (degrees) at A and length (metres) of each segment, if known.

    Returns
    -------
    distance_m : shortest distance in metres on the WGS84 ellipsoid.
    flon, flat : the nearest point on each segment, degrees.
    """
    if az_ab is None or len_ab is None:
        az_ab, _, len_ab = WGS84.inv(alon, alat, blon, blat)
    flon = np.asarray(alon, dtype=float).copy()
    flat = np.asarray(alat, dtype=float).copy()
    if frac0 is None:
        az_ap, _, d_a = WGS84.inv(alon, alat, plon, plat)
        dist = np.asarray(d_a, dtype=float).copy()
        s = np.clip(_along_track_m(d_a, az_ap - az_ab), 0.0, len_ab)
        active = np.flatnonzero((len_ab > 0) & (d_a > 0))
    else:
        dist = np.full(plon.size, np.inf)
        s = np.clip(frac0, 0.0, 1.0) * len_ab
        active = np.arange(plon.size)
    for _ in range(_MAX_ITER):
        if active.size == 0:
            break
        xlon, xlat, back_az = WGS84.fwd(alon[active], alat[active], az_ab[active], s[active])
        at_a, at_b = s[active] == 0.0, s[active] == len_ab[active]  # the ends exactly, not via fwd
        xlon = np.where(at_a, alon[active], np.where(at_b, blon[active], xlon))
        xlat = np.where(at_a, alat[active], np.where(at_b, blat[active], xlat))
        az_xp, _, d_x = WGS84.inv(xlon, xlat, plon[active], plat[active])
        better = d_x <= dist[active]
        upd = active[better]
        dist[upd], flon[upd], flat[upd] = d_x[better], xlon[better], xlat[better]
        step = _along_track_m(d_x, az_xp - (back_az + 180.0))
        aim = s[active] + step
        s_new = np.clip(aim, 0.0, len_ab[active])
        moved = np.abs(s_new - s[active])
        # the foot lies inside the segment, within _FINISH_M of X: the perpendicular distance follows
        # from the right triangle X-foot-P (second-order exact at this size), no further evaluation
        finish = (s_new == aim) & (np.abs(step) <= _FINISH_M) & (moved > _STEP_TOL_M)
        fin = active[finish]
        dist[fin] = np.minimum(dist[fin], np.sqrt(np.maximum(d_x[finish] ** 2 - step[finish] ** 2, 0.0)))
        s[active] = s_new
        active = active[(moved > _STEP_TOL_M) & (d_x > 0) & ~finish]
    return dist, flon, flat


def segment_lengths_m(alon: Array, alat: Array, blon: Array, blat: Array) -> tuple[Array, Array]:
    """Azimuth (degrees) and geodesic length (metres) of segments AB, element-wise."""
    az, _, length = WGS84.inv(alon, alat, blon, blat)
    return np.asarray(az, dtype=float), np.asarray(length, dtype=float)
