"""The densified polygon rings of a distance search are made from the pieces already cut.

``geo.distance.geodesic._candidates`` cuts subjects and targets into geodesic pieces (``explode``)
and then needed the densified polygon rings: ``polygon_rings`` cut every ring again (~0.8 s of a
19 s profile at 52,320 footprints). Given the pieces, it now takes their ring pieces: the same
arrays, with no edge cut twice (counted: the calls of ``_densify`` and the geodesics it solves).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

import geo.distance._pieces as pieces_module
from geo.distance._pieces import explode, parts_of, polygon_rings
from geo.distance.geodesic import nearest_within

G = Geod(ellps="WGS84")


def _mixed() -> np.ndarray:
    """Points, lines, polygons with holes, multipolygons and a collection; edges of 2-20 km (cut
    into pieces of 1 km) and of metres (not cut); a missing and an empty geometry."""
    donut = Polygon([(-60.0, -5.0), (-59.8, -5.0), (-59.8, -4.8), (-60.0, -4.8)],
                    [[(-59.95, -4.95), (-59.9, -4.95), (-59.9, -4.9)], [(-59.85, -4.85), (-59.84, -4.85), (-59.84, -4.84)]])
    tiny = Polygon([(-55.0, -3.0), (-54.99999, -3.0), (-54.99999, -2.99999)])
    multi = MultiPolygon([shapely.box(10.0, 69.0, 10.03, 69.01), shapely.box(10.1, 69.0, 10.12, 69.02)])
    collection = shapely.GeometryCollection([Point(1.0, 1.0), shapely.box(1.0, 1.0, 1.05, 1.02),
                                             LineString([(1.1, 1.1), (1.2, 1.1)])])
    return np.array([Point(-60.1, -5.1), donut, None, LineString([(-61.0, -5.0), (-60.9, -4.9)]), tiny,
                     shapely.Polygon(), multi, collection, Point(3.0, 3.0)], dtype=object)


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the segments ``_densify`` is handed (each solves their geodesics), call by call."""
    calls: list[int] = []
    real = pieces_module._densify

    def counted(lon1: Any, *args: Any) -> Any:
        calls.append(int(np.size(lon1)))
        return real(lon1, *args)

    monkeypatch.setattr(pieces_module, "_densify", counted)
    return calls


@pytest.mark.parametrize("max_piece_m", [1000.0, 300.0])
def test_rings_from_the_pieces_are_the_rings_cut_again(max_piece_m: float, monkeypatch: pytest.MonkeyPatch) -> None:
    geoms = _mixed()
    parts = parts_of(geoms)
    again = polygon_rings(geoms, parts=parts, max_piece_m=max_piece_m)
    pieces = explode(geoms, parts=parts, max_piece_m=max_piece_m)
    calls = _counting(monkeypatch)
    made = polygon_rings(geoms, parts=parts, max_piece_m=max_piece_m, pieces=pieces)
    assert calls == []  # no edge cut again
    for field in ("lon", "lat", "ring_of_vertex", "part_of_ring", "owner_of_part"):
        a, b = getattr(made, field), getattr(again, field)
        assert a.dtype == b.dtype and np.array_equal(a, b), field
    assert made.lon.size > 150  # the long edges were cut: the rings hold the cut points
    assert made.part_of_ring.tolist() == [0, 0, 0, 1, 2, 3, 4]  # the donut's three rings, then one a part
    assert made.owner_of_part.tolist() == [1, 4, 6, 6, 7]


def test_rings_of_points_and_lines_only_are_empty() -> None:
    geoms = np.array([Point(0.0, 0.0), LineString([(0.0, 0.0), (0.1, 0.0)])], dtype=object)
    rings = polygon_rings(geoms, pieces=explode(geoms))
    assert rings.lon.size == 0 and rings.part_of_ring.size == 0 and rings.owner_of_part.size == 0


def test_a_polygon_search_cuts_each_edge_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # two 2.2 km squares on a meridian, 1 km apart: their nearest points are on the facing edges
    lat_gap = 1000.0 / 110_574.0
    south = shapely.box(-60.0, -5.02, -59.98, -5.0)
    north = shapely.box(-60.0, -5.0 + lat_gap, -59.98, -4.98 + lat_gap)
    calls = _counting(monkeypatch)
    got = nearest_within([south], [north], max_distance_m=5000.0)
    assert calls == [4, 4]  # the four edges of each square, cut once (before: [4, 4, 4, 4])
    expected = G.inv(-60.0, -5.0, -60.0, -5.0 + lat_gap)[2]
    assert got["distance_m"].iloc[0] == pytest.approx(expected, abs=0.01)
