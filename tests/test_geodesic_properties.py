"""Hypothesis invariants of geo.distance.geodesic.nearest_within on random small configurations."""
from __future__ import annotations

import os
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from geo.distance import nearest_within
from tests.test_geodesic import offset_point, reference_distance

LIMIT_M = 150.0
CM = 0.01
EXAMPLES = int(os.environ.get("GEODESIC_EXAMPLES", "40"))  # raise it for a long soak run

# anywhere on Earth, including the antimeridian and both polar caps
base = st.tuples(st.floats(-180.0, 180.0), st.floats(-89.0, 89.0))
offset = st.tuples(st.floats(0.0, 360.0), st.floats(0.0, 400.0))  # azimuth degrees, metres


Config = tuple[list[BaseGeometry], list[BaseGeometry]]


@st.composite
def configuration(draw: st.DrawFn) -> Config:
    lon, lat = draw(base)

    def at(o: tuple[float, float]) -> tuple[float, float]:
        return offset_point(lon, lat, o[0], o[1])

    sites: list[BaseGeometry] = [Point(at(draw(offset))) for _ in range(draw(st.integers(1, 5)))]
    if draw(st.booleans()):
        sites.append(Polygon([at(draw(offset)) for _ in range(3)]).convex_hull)
    waters: list[BaseGeometry] = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["line", "polygon", "point"]))
        if kind == "line":
            waters.append(LineString([at(draw(offset)) for _ in range(draw(st.integers(2, 4)))]))
        elif kind == "polygon":
            waters.append(Polygon([at(draw(offset)) for _ in range(3)]))
        else:
            waters.append(Point(at(draw(offset))))
    return sites, waters


def _valid(geoms: list[BaseGeometry]) -> bool:
    return all(g.is_valid and not g.is_empty and g.geom_type == g.__class__.__name__ for g in geoms)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configuration(), st.randoms(use_true_random=False))
def test_agrees_with_reference_and_order_independent(cfg: Config, rnd: random.Random) -> None:
    sites, waters = cfg
    assume(_valid(sites + waters))
    out = nearest_within(sites, waters, max_distance_m=LIMIT_M)
    assert (out["distance_m"] >= 0).all()
    assert out["subject"].is_monotonic_increasing and out["subject"].is_unique
    got = dict(zip(out["subject"], zip(out["target"], out["distance_m"], strict=True), strict=True))
    for i, site in enumerate(sites):
        ref = [reference_distance(site, w) for w in waters]
        best = min(ref)
        if abs(best - LIMIT_M) < CM:
            continue  # too close to the threshold for the reference to decide
        assert (i in got) == (best <= LIMIT_M), (i, best)
        if i in got:
            t, d = got[i]
            assert d == pytest.approx(best, abs=CM)
            assert ref[t] == pytest.approx(best, abs=CM)
    # permuting subjects and targets permutes the answer, nothing else
    ps, pt = list(range(len(sites))), list(range(len(waters)))
    rnd.shuffle(ps)
    rnd.shuffle(pt)
    out2 = nearest_within([sites[i] for i in ps], [waters[j] for j in pt], max_distance_m=LIMIT_M)
    got2 = {ps[s]: (pt[t], d) for s, t, d in zip(out2["subject"], out2["target"], out2["distance_m"], strict=True)}
    assert got2.keys() == got.keys()
    for s, (t, d) in got.items():
        t2, d2 = got2[s]
        assert d2 == d  # bit-identical: the arithmetic does not depend on order
        assert t2 == t or nearest_within([sites[s]], [waters[t2]], max_distance_m=LIMIT_M)["distance_m"][0] == d


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.one_of(st.none(), st.builds(Point), st.builds(lambda: LineString()),
                          st.builds(Point, st.floats(-180, 180), st.floats(-90, 90))), max_size=5),
       st.floats(0.0, 1e5))
def test_garbage_and_empty_rows_never_crash(geoms: list[BaseGeometry | None], limit: float) -> None:
    out = nearest_within(geoms, geoms, max_distance_m=limit)
    assert (out["distance_m"] >= 0).all()
    real = {i for i, g in enumerate(geoms) if g is not None and not g.is_empty}
    # every real point is at distance 0 from itself (a target too), so it is always flagged
    assert set(out["subject"]) == real
    assert (out["distance_m"] == 0.0).all()
    assert all(np.asarray(out["target"]) <= np.asarray(out["subject"]))


@settings(max_examples=EXAMPLES * 5, deadline=None)
@given(st.floats(-83.0, 83.0), st.floats(0.0, 6.0), st.floats(-180.0, 180.0), st.floats(0.0, 360.0),
       st.floats(0.0, 3000.0), st.floats(0.0, 360.0), st.floats(0.0, 1000.0))
def test_plate_frame_bounds_hold(lat_lo: float, span: float, lon: float, az: float, dist: float, az2: float,
                                 piece: float) -> None:
    """The candidate frame's promise: frame distance within [k_min d, k_max d] (+ chord error)."""
    from geo.distance._locality import Plate
    from tests.test_geodesic import GEOD

    lat_hi = min(lat_lo + span, 84.0)
    frame = Plate(lon + 1.5, lat_lo, lat_hi, piece)
    lat = lat_lo + (lat_hi - lat_lo) * 0.5
    lon2, lat2, _ = GEOD.fwd(lon, lat, az, dist)
    assume(lat_lo <= lat2 <= lat_hi)
    x1, y1 = frame.xy(np.array([lon]), np.array([lat]))
    x2, y2 = frame.xy(np.array([lon2]), np.array([lat2]))
    d_frame = float(np.hypot(x2 - x1, y2 - y1)[0])
    assert frame.k_min * dist - 1e-6 <= d_frame <= frame.k_max * dist + 1e-6
    # the midpoint of a geodesic piece lies within chord_m of its chord in the frame
    b_lon, b_lat, _ = GEOD.fwd(lon, lat, az2, piece)
    m_lon, m_lat, _ = GEOD.fwd(lon, lat, az2, piece / 2)
    assume(lat_lo <= b_lat <= lat_hi and lat_lo <= m_lat <= lat_hi)
    (ax, bx, mx), (ay, by, my) = frame.xy(np.array([lon, b_lon, m_lon]), np.array([lat, b_lat, m_lat]))
    cross = abs((bx - ax) * (my - ay) - (by - ay) * (mx - ax)) / max(np.hypot(bx - ax, by - ay), 1e-12)
    assert cross <= frame.chord_m


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configuration(), st.data())
def test_per_target_thresholds_and_offsets_agree_with_reference(cfg: Config, data: st.DataObject) -> None:
    """Per-target thresholds and centre-line offsets: the nearest qualifying target, by bank distance."""
    sites, waters = cfg
    assume(_valid(sites + waters))
    n = len(waters)
    limit = np.array(data.draw(st.lists(st.floats(20.0, 200.0), min_size=n, max_size=n)))
    offset = np.array(data.draw(st.lists(st.sampled_from([0.0, 5.0, 30.0]), min_size=n, max_size=n)))
    out = nearest_within(sites, waters, max_distance_m=limit, target_offset_m=offset)
    got = dict(zip(out["subject"], zip(out["target"], out["distance_m"], strict=True), strict=True))
    for i, site in enumerate(sites):
        bank = [max(reference_distance(site, w) - o, 0.0) for w, o in zip(waters, offset, strict=True)]
        margin = [b - lim for b, lim in zip(bank, limit, strict=True)]
        if any(abs(m) < CM for m in margin):
            continue  # too close to a threshold for the reference to decide
        qualifying = [b for b, m in zip(bank, margin, strict=True) if m <= 0]
        assert (i in got) == bool(qualifying), (i, margin)
        if qualifying:
            t, d = got[i]
            assert d == pytest.approx(min(qualifying), abs=CM)
            assert margin[t] <= CM and bank[t] == pytest.approx(d, abs=CM)
