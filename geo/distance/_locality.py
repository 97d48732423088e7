"""Localities for the projected candidate pass: which local projection serves which subject.

Private helper of :mod:`geo.distance.geodesic`. A subject belongs to the locality of its first vertex:
a 6-degree transverse-Mercator zone (UTM zone boundaries, scale 1 on the central meridian, so the
scale factor is at most 1.002 within 400 km of it) cut into 8-degree latitude bands, or a polar
cap (north of 84 N, south of 80 S) served by an azimuthal-equidistant projection centred on the pole.
The projection is only used to find candidates and to decide crossings and containment; every
distance is then computed on the ellipsoid.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from pyproj import Transformer

SCALE_SAFETY = 1.02  # bound on the local projections' scale factor over a locality
CHORD_MARGIN_M = 1.0  # metres added to every projected search radius (chord error < 2 mm)
CHORD_ERROR_M = 0.01  # metres: a bound on a 1 km chord's departure from its geodesic, with slack
NORTH_CAP = -1
SOUTH_CAP = -2
_M_PER_DEG_LAT = 110_000.0  # fewer metres than any degree of latitude has (110 574 at the equator)
_M_PER_DEG_LON_EQ = 111_000.0  # fewer metres than a degree of longitude at the equator (111 319)


def locality_keys(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.int64]:
    """Locality key per point: ``zone * 100 + band`` or a polar-cap constant."""
    zone = np.floor((lon + 180.0) / 6.0).astype(np.int64)
    if zone.size and (zone.min() < 0 or zone.max() > 59):  # (% of 1e6 integers: 10 ms; rarely needed)
        zone %= 60  # integer % wraps any longitude
    band = np.floor((lat + 90.0) / 8.0).astype(np.int64)
    keys = zone * 100 + band
    keys[lat >= 84.0] = NORTH_CAP
    keys[lat <= -80.0] = SOUTH_CAP
    return keys


def central_lon(key: int) -> float:
    """Central meridian in degrees of a zone locality (0 for the polar caps)."""
    return 0.0 if key < 0 else -177.0 + 6.0 * (key // 100)


@lru_cache(maxsize=256)
def transformer(key: int) -> Transformer:
    """Transformer from lon/lat (EPSG:4326, x=lon) to the locality's local projection in metres."""
    if key == NORTH_CAP:
        proj = "+proj=aeqd +lat_0=90 +lon_0=0 +ellps=WGS84 +units=m"
    elif key == SOUTH_CAP:
        proj = "+proj=aeqd +lat_0=-90 +lon_0=0 +ellps=WGS84 +units=m"
    else:
        proj = f"+proj=tmerc +lat_0=0 +lon_0={central_lon(key)} +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m"
    return _from_degrees(proj)


@lru_cache(maxsize=256)
def centred_transformer(lon: float, lat: float) -> Transformer:
    """Azimuthal-equidistant projection centred on one point (for single pairs)."""
    return _from_degrees(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +ellps=WGS84 +units=m")


def _from_degrees(proj: str) -> Transformer:
    """Lon/lat degrees to the WGS84 projection ``proj``: the pipeline ``Transformer.from_crs("EPSG:4326",
    proj, always_xy=True)`` makes (degrees to radians, then ``proj``), built directly. from_crs searched
    the PROJ database for it each time, 50-70 ms a locality: 1.8 s of HG-WATER-100 at 52,320 footprints
    (29 localities); the same coordinates out (``tests/test_polygons_localities.py``)."""
    return Transformer.from_pipeline(f"+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad +step {proj}")


def wrap_lon(dlon: NDArray[np.float64]) -> NDArray[np.float64]:
    """Longitude difference wrapped to [-180, 180) degrees."""
    shifted = dlon + 180.0
    if shifted.size and shifted.min() >= 0.0 and shifted.max() < 360.0:  # the mod would return it as it is
        return shifted - 180.0  # (np.mod of 1e6 floats: 10 ms; the min and max: 1 ms)
    return np.mod(shifted, 360.0) - 180.0


class Extent:
    """The lon/lat box (longitudes relative to the locality's central meridian) of a locality's subjects."""

    def __init__(self, key: int, lon: NDArray[np.float64], lat: NDArray[np.float64], margin_m: float) -> None:
        self.key = key
        self.lon0 = central_lon(key)
        dlon = wrap_lon(lon - self.lon0)
        self.m_lat = margin_m / _M_PER_DEG_LAT
        self.lat_lo = float(lat.min()) - self.m_lat
        self.lat_hi = float(lat.max()) + self.m_lat
        worst = min(89.999, max(abs(self.lat_lo), abs(self.lat_hi)))
        self.m_lon = margin_m / (_M_PER_DEG_LON_EQ * np.cos(np.radians(worst)))
        self.dlon_lo = float(dlon.min()) - self.m_lon
        self.dlon_hi = float(dlon.max()) + self.m_lon

    def touches(self, lon1: NDArray[np.float64], lat1: NDArray[np.float64],
                lon2: NDArray[np.float64], lat2: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Which boxes spanned by (lon1, lat1)-(lon2, lat2) come within the margin of the extent."""
        lat_ok = (np.maximum(lat1, lat2) >= self.lat_lo) & (np.minimum(lat1, lat2) <= self.lat_hi)
        if self.key == NORTH_CAP or self.key == SOUTH_CAP:
            return lat_ok
        d1, d2 = wrap_lon(lon1 - self.lon0), wrap_lon(lon2 - self.lon0)
        near = np.abs(d1 - d2) <= 180.0  # a box across the far-side seam lies on the other hemisphere
        lon_ok = (np.maximum(d1, d2) >= self.dlon_lo) & (np.minimum(d1, d2) <= self.dlon_hi)
        return lat_ok & lon_ok & near


_A = 6_378_137.0  # WGS84 semi-major axis, metres
_E2 = 6.694379990141317e-3  # WGS84 first eccentricity squared


class Plate:
    """A local equirectangular frame (metres) over a latitude range, with rigorous error bounds.

    ``x = rho0 * dlon``, ``y = M0 * (lat - lat0)`` (radians), where ``rho0`` and ``M0`` are the
    parallel and meridian radii at ``lat0``. Over latitudes ``[lat_lo, lat_hi]`` every scale factor
    lies in ``[k_min, k_max]``, and a geodesic piece of at most ``piece_m`` metres departs from its
    straight chord by at most ``chord_m`` metres (from the curvature of its image). Cheap: plain
    numpy, no PROJ call. Not for the polar caps.
    """

    def __init__(self, lon0: float, lat_lo: float, lat_hi: float, piece_m: float) -> None:
        lat_lo, lat_hi = max(lat_lo, -89.0), min(lat_hi, 89.0)
        self.lon0, self.lat0 = lon0, 0.5 * (lat_lo + lat_hi)
        self.rho0, self.m0 = _rho(self.lat0), _meridian(self.lat0)
        nearest_eq = 0.0 if lat_lo <= 0.0 <= lat_hi else min(abs(lat_lo), abs(lat_hi))
        farthest = max(abs(lat_lo), abs(lat_hi))
        kx = (self.rho0 / _rho(nearest_eq), self.rho0 / _rho(farthest))  # rho falls with |lat|
        ky = (self.m0 / _meridian(farthest), self.m0 / _meridian(nearest_eq))  # M grows with |lat|
        self.k_min, self.k_max = min(kx[0], ky[0]), max(kx[1], ky[1])
        tan_max = float(np.tan(np.radians(farthest)))
        curvature = self.k_max * (2.0 * tan_max + 3.1 * _E2 / (1.0 - _E2)) / (_A * self.k_min**2)
        self.chord_m = 1.5 * curvature * (self.k_max * piece_m) ** 2 / 8.0 + 1e-3

    def xy(self, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
        """Frame coordinates in metres."""
        return (np.radians(wrap_lon(lon - self.lon0)) * self.rho0, np.radians(lat - self.lat0) * self.m0)



def tangent_plane(plon: NDArray[np.float64], plat: NDArray[np.float64], lon: NDArray[np.float64],
                  lat: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Metres east and north of each P (``plon, plat``, degrees) of the points ``lon, lat``, in the
    plane conformal at P (the radii of curvature at P's latitude).

    It depends on P and the point alone, never on a frame chosen for a group of points, so a
    first guess made in it is the same whoever else is in the group. Not for the polar caps.
    """
    s2 = np.sin(np.radians(plat)) ** 2
    w = np.sqrt(1.0 - _E2 * s2)
    east = np.radians(wrap_lon(lon - plon)) * (_A * np.cos(np.radians(plat)) / w)
    north = np.radians(lat - plat) * (_A * (1.0 - _E2) / w**3)
    return east, north


def _rho(lat_deg: float) -> float:
    """Radius of the parallel at a latitude, metres."""
    s = np.sin(np.radians(lat_deg))
    return float(_A * np.cos(np.radians(lat_deg)) / np.sqrt(1.0 - _E2 * s * s))


def _meridian(lat_deg: float) -> float:
    """Meridional radius of curvature at a latitude, metres."""
    s = np.sin(np.radians(lat_deg))
    return float(_A * (1.0 - _E2) / (1.0 - _E2 * s * s) ** 1.5)


def groups(keys: NDArray[np.int64]) -> list[tuple[int, NDArray[np.int64]]]:
    """(key, ascending positions) for each distinct locality key."""
    counts = np.bincount(keys - SOUTH_CAP)  # keys are >= SOUTH_CAP (-2)
    present = np.flatnonzero(counts) + SOUTH_CAP
    if present.size <= 16:  # a few localities: one pass each beats a sort
        return [(int(k), np.flatnonzero(keys == k)) for k in present]
    order = np.argsort(keys, kind="stable")
    bounds = np.r_[0, np.cumsum(counts[present - SOUTH_CAP])]
    return [(int(k), order[lo:hi]) for k, lo, hi in zip(present, bounds[:-1], bounds[1:], strict=True)]
