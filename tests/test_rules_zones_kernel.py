"""Exact containment with geodesic edges (geo.distance.containment) and geodesic areas and coverage
(geo.distance.area): hand-made geometries with known answers at the boundary, and invariants."""
from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import MultiPolygon, Point, Polygon

from geo.distance import PolygonSet, geodesic_area_m2, not_covered, overlap_area_m2, points_inside, sag_bound_m

G = Geod(ellps="WGS84")


def inside(points: list[Point], polygons: list[Polygon]) -> list[bool]:
    """Per point: inside any of the polygons."""
    found = set(points_inside(points, polygons)["point"].tolist())
    return [i in found for i in range(len(points))]


def on_edge(a: tuple[float, float], b: tuple[float, float], frac: float) -> tuple[float, float, float]:
    """The point at ``frac`` of the geodesic a->b, and the azimuth of travel there (degrees)."""
    az, _, length = G.inv(a[0], a[1], b[0], b[1])
    lon, lat, back = G.fwd(a[0], a[1], az, length * frac)
    return lon, lat, back + 180.0


def offset(lon: float, lat: float, azimuth: float, metres: float) -> Point:
    lo, la, _ = G.fwd(lon, lat, azimuth, metres)
    return Point(lo, la)


# a zone across the UTM zone boundary at 6 deg E, 45 deg N, with a north edge of 1.58 km whose
# geodesic bulges 4.86 cm north of the straight lon/lat line at its middle
ZONE_6E = Polygon([(5.99, 45.0), (6.01, 45.0), (6.01, 45.01), (5.99, 45.01)])


def test_one_centimetre_either_side_of_a_geodesic_edge_across_utm_zones() -> None:
    lon, lat, travel = on_edge((5.99, 45.01), (6.01, 45.01), 0.5)  # travel east: north is to the left
    assert lon == pytest.approx(6.0, abs=1e-9) and (lat - 45.01) * 111_000 > 0.048  # the bulge
    on = Point(lon, lat)
    north_1cm, south_1cm = offset(lon, lat, travel - 90, 0.01), offset(lon, lat, travel + 90, 0.01)
    assert inside([on, south_1cm, north_1cm], [ZONE_6E]) == [True, True, False]
    # the straight lon/lat reading gets the point 1 cm inside wrong: it is north of the chord
    assert not ZONE_6E.covers(south_1cm)
    assert points_inside([on], [ZONE_6E])["boundary_m"].tolist() == [0.0]
    d = points_inside([south_1cm], [ZONE_6E])["boundary_m"].iloc[0]
    assert d == pytest.approx(0.01, abs=1e-7)


@pytest.mark.parametrize(("lon0", "lat0"), [(72.0, 41.0), (-78.0, -12.0), (0.0, 0.0), (6.0, 70.0)])
@pytest.mark.parametrize("frac", [0.0001, 0.37, 0.5, 0.9999])
def test_one_centimetre_either_side_at_many_places(lon0: float, lat0: float, frac: float) -> None:
    """Every edge of a zone straddling a UTM boundary (72 E, 78 W) or the equator, either side."""
    ring = [(lon0 - 0.004, lat0 - 0.003), (lon0 + 0.005, lat0 - 0.002), (lon0 + 0.003, lat0 + 0.004),
            (lon0 - 0.002, lat0 + 0.003)]
    zone = Polygon(ring)
    for a, b in zip(ring, ring[1:] + ring[:1], strict=True):
        lon, lat, travel = on_edge(a, b, frac)  # the ring runs counter-clockwise: inside is left
        got = inside([Point(lon, lat), offset(lon, lat, travel - 90, 0.01), offset(lon, lat, travel + 90, 0.01)],
                     [zone])
        assert got == [True, True, False], (a, b)


def test_a_hole_is_outside_and_its_edge_is_the_boundary() -> None:
    hole = [(5.995, 45.004), (6.005, 45.004), (6.005, 45.006), (5.995, 45.006)]
    zone = Polygon(ZONE_6E.exterior.coords, holes=[hole])
    lon, lat, travel = on_edge(hole[0], hole[1], 0.5)  # south edge of the hole, travelling east
    pts = [Point(6.0, 45.005), Point(lon, lat), offset(lon, lat, travel - 90, 0.01),
           offset(lon, lat, travel + 90, 0.01), Point(*hole[2])]
    # centre of the hole; on its edge; 1 cm into the hole; 1 cm into the zone; a vertex of the hole
    assert inside(pts, [zone]) == [False, True, False, True, True]
    # the hole's ring given clockwise or counter-clockwise: the same answer
    flipped = Polygon(ZONE_6E.exterior.coords[::-1], holes=[hole[::-1]])
    assert inside(pts, [flipped]) == [False, True, False, True, True]


def test_vertices_convex_and_reflex() -> None:
    # an L: the corner at (0.01, 0.01) is reflex (the notch is outside)
    ell = Polygon([(0, 0), (0.02, 0), (0.02, 0.01), (0.01, 0.01), (0.01, 0.02), (0, 0.02)])
    assert inside([Point(0, 0), Point(0.01, 0.01), Point(0.02, 0.02)], [ell]) == [True, True, False]
    convex = [offset(0.02, 0.0, 45, 0.01), offset(0.02, 0.0, 315, 0.01)]  # 1 cm north-east (out), north-west (in)
    assert inside(convex, [ell]) == [False, True]
    reflex = [offset(0.01, 0.01, 45, 0.01), offset(0.01, 0.01, 225, 0.01), offset(0.01, 0.01, 90, 0.01)]
    assert inside(reflex, [ell]) == [False, True, True]  # into the notch, into the L, along its edge


def test_multipolygons_several_zones_and_skipped_rows() -> None:
    a = Polygon([(0, 0), (0.01, 0), (0.01, 0.01), (0, 0.01)])
    b = Polygon([(0.01, 0), (0.02, 0), (0.02, 0.01), (0.01, 0.01)])  # shares the edge x = 0.01
    both = MultiPolygon([a, Polygon([(0.05, 0), (0.06, 0), (0.06, 0.01), (0.05, 0.01)])])
    found = points_inside([Point(0.01, 0.005), Point(0.055, 0.005), None, Point(0.5, 0.5)], [b, None, both])
    assert sorted(zip(found["point"], found["polygon"], strict=True)) == [(0, 0), (0, 2), (1, 2)]


@settings(max_examples=60, deadline=None)
@given(lat=st.floats(-84, 84), az=st.floats(0, 360), length=st.floats(0, 1000))
def test_sag_bound_holds(lat: float, az: float, length: float) -> None:
    """The gap between a geodesic piece and the lon/lat line of its ends never exceeds the bound."""
    lon2, lat2, _ = G.fwd(10.0, lat, az, length)
    worst = 0.0
    for f in (0.25, 0.5, 0.75):
        glon, glat, _ = G.fwd(10.0, lat, az, length * f)
        chord = shapely.LineString([(10.0, lat), (lon2, lat2)]).interpolate(f, normalized=True)
        worst = max(worst, G.inv(glon, glat, chord.x, chord.y)[2])
    bound = float(sag_bound_m(length, max(abs(lat), abs(lat2))))
    assert worst <= bound


@settings(max_examples=40, deadline=None)
@given(start=st.integers(0, 4), reverse=st.booleans(), inward=st.floats(0.002, 30.0),
       frac=st.floats(0.01, 0.99), edge=st.integers(0, 4))
def test_answer_does_not_depend_on_ring_start_or_direction(start: int, reverse: bool, inward: float,
                                                           frac: float, edge: int) -> None:
    ring = [(71.99, 40.0), (72.02, 40.001), (72.025, 40.02), (72.0, 40.03), (71.985, 40.015)]
    a, b = ring[edge], ring[(edge + 1) % 5]
    lon, lat, travel = on_edge(a, b, frac)
    pts = [offset(lon, lat, travel - 90, inward), offset(lon, lat, travel + 90, inward), Point(lon, lat)]
    shifted = ring[start:] + ring[:start]
    zone = Polygon(shifted[::-1] if reverse else shifted)
    assert inside(pts, [zone]) == [True, False, True]


def test_geodesic_areas_and_overlap() -> None:
    sq = Polygon([(0, 0), (0.01, 0), (0.01, 0.01), (0, 0.01)])
    half = Polygon([(0.005, 0), (0.015, 0), (0.015, 0.01), (0.005, 0.01)])
    area = geodesic_area_m2([sq, Point(0, 0), None])
    assert area[0] == pytest.approx(abs(G.geometry_area_perimeter(sq)[0]), rel=1e-12)
    assert area[0] == pytest.approx(1_230_907.2, abs=0.1) and area[1:].tolist() == [0.0, 0.0]
    assert overlap_area_m2([sq], [half])[0] == pytest.approx(area[0] / 2, rel=1e-6)
    assert overlap_area_m2([sq], [Polygon([(1, 1), (2, 1), (2, 2)])])[0] == 0.0


def test_cover_by_the_union_and_one_centimetre_outside() -> None:
    a = Polygon([(0, 0), (0.01, 0), (0.01, 0.01), (0, 0.01)])
    b = Polygon([(0.01, 0), (0.02, 0), (0.02, 0.01), (0.01, 0.01)])
    across = Polygon([(0.005, 0.002), (0.015, 0.002), (0.015, 0.004), (0.005, 0.004)])
    same = Polygon(a.exterior.coords)  # exactly the licence: covered
    out_1cm = offset(0.02, 0.005, 90, 0.01)
    poke = Polygon([(0.015, 0.002), (out_1cm.x, 0.005), (0.015, 0.008)])  # one vertex 1 cm beyond b
    subjects = [across, same, Point(0.01, 0.005), out_1cm, poke, None]
    got = not_covered(subjects, [a, b])
    assert got["subject"].tolist() == [3, 4]
    assert got["uncovered_m2"].iloc[1] < 1e-3  # a sliver: the vertex test finds it, not the area
    assert not_covered([across], [a])["uncovered_m2"].iloc[0] == pytest.approx(
        geodesic_area_m2([across])[0] / 2, rel=1e-6)
    assert not_covered([across, Point(0, 0)], [])["subject"].tolist() == [0, 1]


def test_polygon_set_is_reused_and_band_grows_with_latitude() -> None:
    low, high = PolygonSet.of([ZONE_6E]), PolygonSet.of([shapely.affinity.translate(ZONE_6E, 0, 34)])
    assert low.band_m == 0.05 and high.band_m == pytest.approx(0.05)
    long_edges = PolygonSet.of([Polygon([(0, 70), (1, 70), (1, 71), (0, 71)])], max_piece_m=1000)
    assert long_edges.band_m > 0.1  # 1 km pieces at 71 degrees sag by more than 5 cm
    found = points_inside(np.array([Point(6.0, 45.005)], dtype=object), low)
    assert found["point"].tolist() == [0]
