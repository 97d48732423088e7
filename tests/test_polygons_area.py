"""Geodesic areas and perimeters of many polygons at once (``geo.distance.area.area_perimeter_m``).

The oracle is pyproj's ``Geod.geometry_area_perimeter``, called per geometry: the batched answer
must be the same floats, bit for bit, for polygons with holes, multipolygons, collections, rings
near the antimeridian and near the poles, either orientation, and empty or missing rows.
"""
from __future__ import annotations

import numpy as np
import shapely
from pyproj import Geod
from shapely.geometry import GeometryCollection, LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from geo.distance.area import area_perimeter_m, geodesic_area_m2

WGS84 = Geod(ellps="WGS84")


def _ring(rng: np.random.Generator, lon: float, lat: float, r_deg: float, n: int) -> np.ndarray:
    t = np.sort(rng.uniform(0, 2 * np.pi, n))
    r = r_deg * rng.uniform(0.6, 1.0, n)
    return np.c_[lon + r * np.cos(t), np.clip(lat + r * np.sin(t), -89.9, 89.9)]


def _shapes(seed: int) -> list[BaseGeometry]:
    rng = np.random.default_rng(seed)
    out: list[BaseGeometry] = []
    for lon, lat in [(0.0, 0.0), (179.95, -16.0), (-179.9, 65.0), (12.0, 88.5), (-60.0, -87.0), (-55.2, -3.7)]:
        for size in (1e-4, 0.01, 0.4):
            outer = _ring(rng, lon, lat, size, int(rng.integers(4, 40)))
            holes = [_ring(rng, lon + dx * size, lat, size * 0.15, 6) for dx in (-0.3, 0.3)]
            poly = Polygon(outer, holes=holes[: int(rng.integers(0, 3))])
            out.append(poly)
            out.append(shapely.orient_polygons(poly, exterior_cw=True))  # clockwise: negative areas
            far = Polygon(_ring(rng, lon, lat - 2 * size, size / 2, 5))
            out.append(MultiPolygon([poly, far]))
            out.append(MultiPolygon([far, shapely.orient_polygons(poly, exterior_cw=True)]))
    out.append(GeometryCollection([out[0], LineString([(0, 0), (0.01, 0.0), (0.01, 0.01)]), Point(1, 1)]))
    return out


def _oracle(geoms: list[BaseGeometry]) -> tuple[np.ndarray, np.ndarray]:
    pairs = [WGS84.geometry_area_perimeter(g) if g is not None and g.geom_type in (
        "Polygon", "MultiPolygon", "GeometryCollection") and not g.is_empty else (0.0, 0.0) for g in geoms]
    return np.array([a for a, _ in pairs]), np.array([p for _, p in pairs])


def test_areas_and_perimeters_are_pyprojs_bit_for_bit() -> None:
    geoms = _shapes(7) + _shapes(8)
    assert any(g.geom_type == "Polygon" and len(g.interiors) == 2 for g in geoms)
    area, perimeter = area_perimeter_m(np.array(geoms, dtype=object))
    want_area, want_perimeter = _oracle(geoms)
    assert np.array_equal(area, want_area)  # the same floats, not close ones
    assert np.array_equal(perimeter, want_perimeter)
    assert (want_area < 0).any() and (want_area > 0).any()
    assert np.array_equal(geodesic_area_m2(geoms), np.abs(want_area))


def test_holes_count_against_the_area_and_not_in_the_perimeter() -> None:
    outer = [(0, 0), (0.01, 0), (0.01, 0.01), (0, 0.01)]
    hole = [(0.004, 0.004), (0.004, 0.006), (0.006, 0.006), (0.006, 0.004)]  # clockwise
    area, perimeter = area_perimeter_m([Polygon(outer, [hole]), Polygon(outer), Polygon(hole)])
    assert area[0] == area[1] + area[2]  # the hole's own area is negative
    assert area[2] < 0 < area[0] < area[1]
    assert perimeter[0] == perimeter[1]
    assert abs(area[1] - 1_230_800.0) < 1_000.0  # 0.01 degree square at the equator: about 1.2308 km2


def test_points_lines_empty_and_missing_rows_are_zero() -> None:
    geoms = [None, Point(1, 2), LineString([(0, 0), (1, 1), (1, 0)]), Polygon(), MultiPolygon(),
             Polygon([(0, 0), (1, 0), (1, 1)])]
    area, perimeter = area_perimeter_m(geoms)
    assert area[:5].tolist() == [0.0] * 5 and perimeter[:5].tolist() == [0.0] * 5
    assert area[5] > 6e9 and perimeter[5] > 3e5
    assert area_perimeter_m([])[0].size == 0
