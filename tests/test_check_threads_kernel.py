"""The kernel's serial start on point subjects (issue 13: ``nearest_within`` scaled only 1.3x on 2 threads).

Before the strips run on the threads, one thread takes every subject's type, emptiness and
coordinates. For points it did that in four passes of GEOS over the geometries (missing, empty,
type, then x and y); it now takes two, type ids and bounds (a point's bounds are its x and y, bit
for bit; an empty point's are NaN, so finite bounds say none is empty). Here the real shapely
functions are wrapped to count the passes over the subjects, and the answers are compared with
known distances and with the generic path (a None among the subjects takes it), to the bit,
-0.0 included; a coordinate that is not lon/lat is refused with the same message as before.
"""
from __future__ import annotations

import math
from collections import Counter

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point

from geo import geomcheck
from geo.distance import nearest_within
from geo.distance._grid import PointGrid, stable_order
from geo.distance._pieces import explode, polygon_rings
from geo.rules import run_rules
from layers.catalogue import CATALOGUE
from settings import Settings
from tests import shapely_calls

A_M = 6_378_137.0  # WGS84 semi-major axis, metres
RULES = Settings.from_env().rules
N = 1_000
WATCHED = ("bounds", "get_type_id", "is_empty", "is_missing", "get_x", "get_y", "get_coordinates")


def counting(monkeypatch: pytest.MonkeyPatch, n: int) -> Counter[str]:
    """Count the calls of the ``WATCHED`` shapely functions on arrays of ``n`` geometries."""
    return shapely_calls.counting(monkeypatch, WATCHED, n)


def equator_sites(n: int) -> tuple[np.ndarray, list[LineString], np.ndarray]:
    """Sites on the equator east of a meridian river at 0 (the first at -0.0, 0.0), and their known
    distances: an arc of the equator, ``a * radians(lon)``."""
    lon = np.linspace(0.0, 0.002, n)
    lon[0] = -0.0
    sites = np.asarray(shapely.points(np.column_stack([lon, np.zeros(n)])), dtype=object)
    return sites, [LineString([(0.0, -0.01), (0.0, 0.01)])], A_M * np.radians(lon)


def test_point_subjects_take_two_passes_and_give_the_known_distances(monkeypatch: pytest.MonkeyPatch) -> None:
    sites, river, known = equator_sites(N)
    calls = counting(monkeypatch, N)
    found = nearest_within(sites, river, max_distance_m=150.0)
    # two passes over the subjects: their type ids, then their bounds (x and y); none for missing,
    # empty, x or y (before: is_missing, is_empty, get_type_id, get_x, get_y)
    assert dict(calls) == {"get_type_id": 1, "bounds": 1}
    within = np.flatnonzero(known <= 150.0)
    assert found["subject"].tolist() == within.tolist()
    np.testing.assert_allclose(found["distance_m"], known[within], atol=1e-6)
    start = shapely.get_coordinates(shapely.get_point(found["line"].to_numpy(), 0))
    assert np.signbit(start[0, 0])  # the site's own -0.0, as get_x gives it
    assert start[:, 0].tobytes() == shapely.get_x(sites[within]).tobytes()


def test_points_with_a_none_or_an_empty_one_give_the_same_answer() -> None:
    sites, river, _ = equator_sites(N)
    whole = nearest_within(sites, river, max_distance_m=150.0)
    for odd in (None, Point()):
        mixed = np.concatenate([[odd], sites[:500], [odd], sites[500:]])
        got = nearest_within(mixed, river, max_distance_m=150.0)
        shift = np.where(whole["subject"] < 500, 1, 2)
        assert got["subject"].tolist() == (whole["subject"] + shift).tolist()
        for col in ("target", "distance_m", "centreline_distance_m"):
            assert got[col].to_numpy().tobytes() == whole[col].to_numpy().tobytes(), col
        lines = [shapely.get_coordinates(f["line"].to_numpy()).tobytes() for f in (got, whole)]
        assert lines[0] == lines[1]


@pytest.mark.parametrize(("bad", "shown"), [((math.nan, 5.0), "nan, 5.0"), ((1.0, math.inf), "1.0, inf"),
                                            ((5.0, 95.0), "5.0, 95.0")])
def test_a_point_that_is_not_lon_lat_is_refused_naming_its_row(bad: tuple[float, float], shown: str) -> None:
    with pytest.raises(ValueError) as err:
        nearest_within([Point(0, 0), Point(*bad)], [Point(0, 0)], max_distance_m=100.0)
    assert str(err.value) == (f"subjects: rows [1] have coordinates that are not longitude/latitude degrees "
                              f"(row 1: {shown}); expected finite values with latitude in [-90, 90] (EPSG:4326)")


@pytest.mark.parametrize("high", [7, 70_000, 2**32 - 1, 2**40])
def test_stable_order_is_numpys_stable_argsort(high: int) -> None:
    keys = np.random.default_rng(high).integers(0, high, 5_000)
    keys[::7] = keys[0]  # many equal keys: their order is the input's
    assert stable_order(keys).tolist() == np.argsort(keys, kind="stable").tolist()
    assert stable_order(keys[:0]).size == 0


def test_grid_candidates_cut_anywhere_are_those_of_one_pass() -> None:
    """``PointGrid.pairs`` of any range (the points of each candidate, no longer found by a binary search
    per candidate) joined give the whole range's, in its order."""
    rng = np.random.default_rng(5)
    px, py = rng.uniform(0, 1000, 400), rng.uniform(0, 1000, 400)
    x1, y1 = rng.uniform(0, 1000, 60), rng.uniform(0, 1000, 60)
    grid = PointGrid(px, py, x1, y1, x1 + rng.uniform(-80, 80, 60), y1 + rng.uniform(-80, 80, 60), 120.0)
    whole = grid.pairs()
    assert grid.total > 1000 and whole[0].size > 100
    for cuts in ([0, 1, grid.total], [0, 333, 334, 334, grid.total - 1, grid.total],
                 sorted({0, grid.total, *rng.integers(0, grid.total, 12).tolist()})):
        parts = [grid.pairs(lo, hi) for lo, hi in zip(cuts[:-1], cuts[1:], strict=True)]
        for k in range(4):
            joined = np.concatenate([p[k] for p in parts])
            assert joined.dtype == whole[k].dtype and joined.tobytes() == whole[k].tobytes()


def test_points_and_lines_have_no_rings() -> None:
    sites, river, _ = equator_sites(10)
    geoms = np.concatenate([sites, np.asarray(river, dtype=object)])
    rings = polygon_rings(geoms, pieces=explode(geoms))
    assert rings.owner_of_part.size == rings.part_of_ring.size == rings.lon.size == 0


def test_within_sharing_the_facts_a_reader_primed_take_no_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """Points a reader made from coordinates (``geomcheck.prime_points``) give the kernel their type ids and
    coordinates, and the rules their None-or-empty mask, with no GEOS pass over them inside one
    ``geomcheck.sharing()`` (the read's facts: ``check`` can keep them for its rules); the answer is the
    one computed from the geometries."""
    sites, river, known = equator_sites(N)
    coords = shapely.get_coordinates(sites)
    expected = nearest_within(sites, river, max_distance_m=150.0)
    calls = counting(monkeypatch, N)
    with geomcheck.sharing():
        geomcheck.prime_points(sites, coords)
        found = nearest_within(sites, river, max_distance_m=150.0)
        frame = gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(N)], "uses_mercury": np.ones(N, bool)},
                                 geometry=sites, crs=4326)
        water = gpd.GeoDataFrame({"water_id": ["W1"], "name": ["river"]}, geometry=river, crs=4326)
        violations = run_rules(RULES, {"mining_sites": frame, "water_bodies": water}, schemas=CATALOGUE,
                               only=["HG-WATER-100"], threads=2).violations
    assert not calls  # before: is_missing and is_empty (the rules, the kernel), get_type_id, get_x, get_y (the kernel)
    for col in ("subject", "target", "distance_m", "centreline_distance_m"):
        assert found[col].to_numpy().tobytes() == expected[col].to_numpy().tobytes(), col
    near = np.flatnonzero(known <= 100.0)
    assert violations["site_id"].tolist() == [f"S{i}" for i in near]
    np.testing.assert_allclose(violations["distance_m"], np.round(known[near], 2), atol=0.006)
