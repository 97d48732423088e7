"""The scale bounds the local metric CRSs claim (geo/distance/localcrs.py), measured with PROJ."""
from __future__ import annotations

import math

import numpy as np
import pytest
from pyproj import Geod, Proj

from geo.distance import aeqd_transformer, local_aeqd, local_tmerc

GEOD = Geod(ellps="WGS84")
CENTRES = [(0.0, 0.0), (74.6, 41.5), (-1.9, 5.3), (25.0, 68.0)]  # equator, Kyrgyzstan, Ghana, Lapland


def _ring(lon: float, lat: float, metres: float) -> tuple[np.ndarray, np.ndarray]:
    """Points ``metres`` away from (lon, lat) every 5 degrees of azimuth."""
    az = np.arange(0.0, 360.0, 5.0)
    x, y, _ = GEOD.fwd(np.full(az.size, lon), np.full(az.size, lat), az, np.full(az.size, metres))
    return np.asarray(x), np.asarray(y)


def _worst_scale_error(proj: Proj, lon: float, lat: float, metres: float) -> float:
    x, y = _ring(lon, lat, metres)
    f = proj.get_factors(x, y)
    return float(max(np.max(np.abs(f.meridional_scale - 1)), np.max(np.abs(f.parallel_scale - 1))))


@pytest.mark.parametrize(("lon", "lat"), CENTRES)
def test_transverse_mercator_scale_error_reaches_2_5e_5_at_45_km_and_is_under_1e_5_within_28_km(
        lon: float, lat: float) -> None:
    proj = Proj(local_tmerc(lon, lat))
    at_45 = _worst_scale_error(proj, lon, lat, 45_000.0)
    assert 2.4e-5 < at_45 <= 2.51e-5  # reached due east and west: the error is not below 1e-5
    assert at_45 == pytest.approx((45_000.0 / 6_371_000.0) ** 2 / 2, rel=0.02)
    assert _worst_scale_error(proj, lon, lat, 28_000.0) < 1e-5


@pytest.mark.parametrize(("lon", "lat"), CENTRES)
def test_azimuthal_equidistant_is_exact_from_its_centre_and_within_4e_6_across_30_km(
        lon: float, lat: float) -> None:
    assert _worst_scale_error(Proj(local_aeqd(lon, lat)), lon, lat, 30_000.0) < 4e-6
    x, y = _ring(lon, lat, 30_000.0)
    px, py = aeqd_transformer(lon, lat).transform(x, y)
    assert np.max(np.abs(np.hypot(px, py) - 30_000.0)) < 1e-6  # metres: exact from the centre
    # between two points 30 km out on either side, 60 km apart: relative error under 4e-6
    (ax, bx), (ay, by) = px[[0, 36]], py[[0, 36]]
    true = GEOD.inv(x[0], y[0], x[36], y[36])[2]
    assert abs(math.hypot(ax - bx, ay - by) / true - 1) < 4e-6
