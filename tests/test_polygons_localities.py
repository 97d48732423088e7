"""The local projections of the distance kernel (``geo.distance._locality``), built as pipelines.

They used to come from ``Transformer.from_crs("EPSG:4326", proj, always_xy=True)``, which searches
the PROJ database each time; they are now that search's answer, built directly. The oracle is
from_crs itself: the same metres, bit for bit, in every UTM-width zone, both polar caps and centred
projections.
"""
from __future__ import annotations

import numpy as np
import pytest
from pyproj import Transformer

from geo.distance._locality import NORTH_CAP, SOUTH_CAP, central_lon, centred_transformer, transformer


def _old(proj: str) -> Transformer:
    return Transformer.from_crs("EPSG:4326", proj, always_xy=True)


@pytest.mark.parametrize("zone", [0, 1, 20, 29, 30, 31, 50, 59])
def test_zone_projections_give_from_crs_metres(zone: int) -> None:
    key = zone * 100 + 11
    lon0 = central_lon(key)
    rng = np.random.default_rng(zone)
    lon = lon0 + rng.uniform(-8, 8, 5000)  # beyond the zone, as candidates may be
    lat = rng.uniform(-84, 84, 5000)
    want = _old(f"+proj=tmerc +lat_0=0 +lon_0={lon0} +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m").transform(lon, lat)
    got = transformer(key).transform(lon, lat)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    assert np.isfinite(got[0]).all()


@pytest.mark.parametrize(("key", "lat0"), [(NORTH_CAP, 90), (SOUTH_CAP, -90)])
def test_polar_caps_give_from_crs_metres(key: int, lat0: int) -> None:
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(-180, 180, 5000), np.sign(lat0) * rng.uniform(78, 90, 5000)
    want = _old(f"+proj=aeqd +lat_0={lat0} +lon_0=0 +ellps=WGS84 +units=m").transform(lon, lat)
    got = transformer(key).transform(lon, lat)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
    north_pole = transformer(key).transform(0.0, float(lat0))
    assert north_pole == pytest.approx((0.0, 0.0), abs=1e-6)


@pytest.mark.parametrize(("lon0", "lat0"), [(-55.25, -3.5), (179.9, 10.0), (12.0, 88.0)])
def test_centred_projections_give_from_crs_metres(lon0: float, lat0: float) -> None:
    rng = np.random.default_rng(2)
    lon, lat = lon0 + rng.uniform(-1, 1, 2000), np.clip(lat0 + rng.uniform(-1, 1, 2000), -90, 90)
    want = _old(f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +ellps=WGS84 +units=m")
    got = centred_transformer(lon0, lat0)
    assert np.array_equal(np.array(got.transform(lon, lat)), np.array(want.transform(lon, lat)))
