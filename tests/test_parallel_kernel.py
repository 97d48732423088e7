"""The geodesic kernel on several threads gives the one-thread answer, bit for bit.

``nearest_within(..., threads=k)`` cuts the point subjects of each locality into spatial strips
and runs them on k threads. The strips are made small here (``MIN_CHUNK`` lowered) so that a
few hand-made sites already fall into many strips; every column, and every coordinate of every
nearest line, must then equal the one-thread run exactly. Known answers: on the equator, a
site d degrees east of a meridian river is ``a * radians(d)`` metres from it (an arc of the
equator), with ``a`` the WGS84 semi-major axis.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from geo.distance import _points, nearest_within
from geo.distance._points import strips

A_M = 6_378_137.0  # WGS84 semi-major axis, metres


def identical(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Same rows, same integers, same floats bit for bit, same line coordinates bit for bit."""
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for col in ("subject", "target", "distance_m", "centreline_distance_m"):
        assert a[col].to_numpy().tobytes() == b[col].to_numpy().tobytes(), col
    coords = [shapely.get_coordinates(f["line"].to_numpy()) for f in (a, b)]
    assert coords[0].tobytes() == coords[1].tobytes()


@pytest.fixture
def small_strips(monkeypatch: pytest.MonkeyPatch) -> None:
    """Strips of a few sites, so that hand-made data is cut into many of them."""
    monkeypatch.setattr(_points, "MIN_CHUNK", 2)


def equator_case() -> tuple[list[BaseGeometry], list[BaseGeometry], dict[int, tuple[int, float]]]:
    """Sites on the equator east of meridian rivers on both sides of the zone 30/31 boundary (0 deg),
    a lake they sit in, and sites out of reach; with the known nearest river and distance."""
    rivers = [LineString([(lon, -0.01), (lon, 0.01)]) for lon in (-0.5, -0.2, 0.0, 0.3)]
    lake = Polygon([(0.6, -0.005), (0.61, -0.005), (0.61, 0.005), (0.6, 0.005)])
    sites: list[BaseGeometry] = []
    known: dict[int, tuple[int, float]] = {}
    for r, lon in enumerate((-0.5, -0.2, 0.0, 0.3)):
        for dlon in (0.0, 0.0001, 0.0003, 0.0005, 0.0008, 0.00089):
            known[len(sites)] = (r, A_M * math.radians(dlon))
            sites.append(Point(lon + dlon, 0.0))
    for lon in (0.602, 0.605, 0.609):  # inside the lake: distance 0
        known[len(sites)] = (4, 0.0)
        sites.append(Point(lon, 0.0))
    sites += [Point(0.1, 0.0), Point(-0.35, 0.0), Point(0.45, 0.003)]  # more than 100 m from any water
    return sites, [*rivers, lake], known


def test_strips_cover_each_position_once() -> None:
    x = np.random.default_rng(3).normal(size=200_000)
    parts = strips(x, 6)
    assert len(parts) == 6
    joined = np.sort(np.concatenate(parts))
    assert np.array_equal(joined, np.arange(x.size))
    for part in parts:
        assert (np.diff(part) > 0).all()
    sizes = np.array([p.size for p in parts])
    assert sizes.min() > 0.8 * x.size / 6  # about equal
    highs = [x[p].max() for p in parts]
    lows = [x[p].min() for p in parts]
    assert all(h <= lo for h, lo in zip(highs[:-1], lows[1:], strict=True))  # strips along x


def test_strips_keep_small_input_whole() -> None:
    parts = strips(np.arange(10.0), 8)
    assert len(parts) == 1 and np.array_equal(parts[0], np.arange(10))


@pytest.mark.usefixtures("small_strips")
@pytest.mark.parametrize("threads", [2, 3, 8])
def test_threads_give_the_one_thread_answer_with_known_distances(threads: int) -> None:
    sites, waters, known = equator_case()
    one = nearest_within(sites, waters, max_distance_m=100.0, threads=1)
    many = nearest_within(sites, waters, max_distance_m=100.0, threads=threads)
    identical(one, many)
    got = {int(s): (int(t), float(d)) for s, t, d in zip(one["subject"], one["target"], one["distance_m"],
                                                         strict=True)}
    assert set(got) == set(known)
    for site, (river, metres) in known.items():
        assert got[site][0] == river
        assert got[site][1] == pytest.approx(metres, abs=1e-6)


@pytest.mark.usefixtures("small_strips")
def test_threads_with_per_target_limits_offsets_and_polar_caps() -> None:
    # no pruning (per-target limits and offsets), and sites in both polar caps (the caps' own
    # projection instead of the equirectangular frame)
    sites, waters, _ = equator_case()
    polar_rivers = [LineString([(10.0, 85.0), (10.0, 85.01)]), LineString([(-40.0, -81.0), (-40.0, -81.01)])]
    sites += [Point(10.001 + 0.0005 * i, 85.005) for i in range(8)]
    sites += [Point(-40.0005 - 0.0004 * i, -81.005) for i in range(8)]
    waters += polar_rivers
    limits = np.linspace(60.0, 140.0, len(waters))
    offsets = np.linspace(0.0, 20.0, len(waters))
    one = nearest_within(sites, waters, max_distance_m=limits, target_offset_m=offsets, threads=1)
    flagged = set(one["subject"].tolist())
    assert set(range(30, 46)) <= flagged  # every site of both caps is within its river's limit
    for threads in (2, 5):
        identical(one, nearest_within(sites, waters, max_distance_m=limits, target_offset_m=offsets,
                                      threads=threads))


def test_threads_must_be_at_least_one() -> None:
    with pytest.raises(ValueError, match="threads must be at least 1, got 0"):
        nearest_within([Point(0, 0)], [Point(0, 0)], max_distance_m=1.0, threads=0)


Case = tuple[list[BaseGeometry], list[BaseGeometry], int]
box_lon = st.floats(-1.0, 1.0)  # across the 0 degree boundary of UTM zones 30 and 31
box_lat = st.floats(5.0, 9.0)  # across the 8 degree N band boundary


@st.composite
def scattered(draw: st.DrawFn) -> Case:
    """Up to 300 sites and 60 short rivers in a 2 x 4 degree box (two zones, two bands)."""
    n = draw(st.integers(1, 300))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    lon0, lat0 = draw(box_lon), draw(box_lat)
    span = draw(st.sampled_from([0.001, 0.01, 0.05]))  # degrees: dense to sparse
    sites = list(shapely.points(np.column_stack([lon0 + rng.uniform(-span, span, n),
                                                 lat0 + rng.uniform(-span, span, n)])))
    m = draw(st.integers(1, 60))
    a = np.column_stack([lon0 + rng.uniform(-span, span, m), lat0 + rng.uniform(-span, span, m)])
    b = a + rng.uniform(-0.004, 0.004, (m, 2))
    waters = list(shapely.linestrings(np.stack([a, b], axis=1)))
    return sites, waters, draw(st.integers(2, 6))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scattered())
def test_threads_give_the_one_thread_answer_on_random_draws(case: Case) -> None:
    sites, waters, threads = case
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_points, "MIN_CHUNK", 3)
        one = nearest_within(sites, waters, max_distance_m=100.0, threads=1)
        identical(one, nearest_within(sites, waters, max_distance_m=100.0, threads=threads))


def test_a_point_is_measured_the_same_whoever_shares_its_locality() -> None:
    # a point on a river, alone or beside a line subject in the same locality: the same pair,
    # the same arithmetic (before, the line sent the point through the other search, which
    # gave 0.0 there and 7.7e-13 m alone)
    site, line = Point(0, 9.044e-6), LineString([(0, 0), (0, 9.044e-6)])
    river = LineString([(0, 0.0007), (0, 0)])
    alone = nearest_within([site], [river], max_distance_m=150.0)
    mixed = nearest_within([site, line], [river], max_distance_m=150.0)
    assert mixed["distance_m"].iloc[0] == alone["distance_m"].iloc[0] < 1e-9
    assert shapely.get_coordinates(mixed["line"].iloc[:1].to_numpy()).tobytes() == \
        shapely.get_coordinates(alone["line"].to_numpy()).tobytes()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scattered(), st.integers(1, 5))
def test_points_give_the_same_answer_beside_lines_and_polygons(case: Case, extra: int) -> None:
    sites, waters, threads = case
    rng = np.random.default_rng(extra)
    c = np.array(shapely.get_coordinates(sites[0])[0])
    others: list[BaseGeometry] = [LineString(c + rng.uniform(-0.003, 0.003, (3, 2))) for _ in range(extra)]
    others.append(Polygon(c + np.array([(0, 0), (0.002, 0), (0.002, 0.002)])))
    points_only = nearest_within(sites, waters, max_distance_m=100.0, threads=threads)
    mixed = nearest_within(sites + others, waters, max_distance_m=100.0, threads=threads)
    identical(points_only, mixed[mixed["subject"] < len(sites)].reset_index(drop=True))
