"""The rule zone of a national layer: thousands of disjoint buffers simplified polygon by
polygon (``render.map.mapview.simplify_parts``), with the vertices the whole-geometry
simplifier gives, and the whole simplified when the parts would then overlap; every ring of
it encoded in one call, the same text as Google's algorithm value by value."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Point, Polygon

from render.map.mapview import generalise, simplify_parts
from render.map.polyline import encode_geometry, encode_parts, script_safe


def _wiggly(x0: float, y0: float) -> Polygon:
    """A 10 x 10 square whose bottom edge has bumps of 0.2 (gone at tolerance 1) and one of 3 (kept)."""
    bottom = [(x0 + i, y0 + (0.2 if i % 2 else 0.0)) for i in range(0, 10)]
    bottom[5] = (x0 + 5, y0 - 3.0)
    return Polygon([*bottom, (x0 + 10, y0), (x0 + 10, y0 + 10), (x0, y0 + 10)])


def test_parts_simplified_alone_give_the_whole_geometry_simplified() -> None:
    multi = MultiPolygon([_wiggly(0, 0), _wiggly(20, 0), _wiggly(0, 30)])
    whole = shapely.simplify(multi, 1.0, preserve_topology=True)
    got = simplify_parts(multi, 1.0)
    assert shapely.equals_exact(got, whole, 0.0)
    assert shapely.get_num_coordinates(got) < shapely.get_num_coordinates(multi)
    assert (0 + 5, 0 - 3.0) in list(shapely.get_parts(got)[0].exterior.coords)  # the 3 m bump is kept


def test_parts_that_would_overlap_fall_back_to_the_whole() -> None:
    # a shallow notch (0.4 deep) in A's left edge holds the small triangle B: A flattened alone
    # would swallow B
    a = Polygon([(0, 0), (10, 0), (10, 10), (0, 10), (0, 6), (0.4, 5), (0, 4)])
    b = Polygon([(0.05, 4.9), (0.2, 5.0), (0.05, 5.1)])
    multi = MultiPolygon([a, b])
    assert multi.is_valid
    alone = shapely.multipolygons(shapely.simplify(shapely.get_parts(multi), 1.0, preserve_topology=True))
    assert not shapely.is_valid(alone)  # the parts simplified alone overlap
    got = simplify_parts(multi, 1.0)
    assert shapely.equals_exact(got, shapely.simplify(multi, 1.0, preserve_topology=True), 0.0)


def test_other_geometries_are_simplified_as_before() -> None:
    line = shapely.LineString([(0, 0), (1, 0.1), (2, 0), (3, 5)])
    assert shapely.equals_exact(simplify_parts(line, 0.5), shapely.simplify(line, 0.5, preserve_topology=True), 0)
    assert simplify_parts(None, 0.5) is None


def test_generalise_by_part_matches_generalise_on_disjoint_buffers() -> None:
    # 40 buffers of 100 m around points 0.01 degrees apart (about 1.1 km), merged as the zone is
    pts = [Point(-2.0 + 0.01 * i, 6.0 + 0.005 * (i % 3)) for i in range(40)]
    utm = gpd.GeoSeries(pts, crs=4326).to_crs(32630).buffer(100.0).to_crs(4326)
    zone = gpd.GeoSeries([shapely.union_all(utm.values)], crs=4326)
    assert shapely.get_num_geometries(zone.iloc[0]) == 40
    for zoom in (12, 16):
        assert shapely.equals_exact(generalise(zone, zoom, by_part=True).iloc[0], generalise(zone, zoom).iloc[0], 0.0)


def _reference(coords: list[tuple[float, float]]) -> str:
    """Google's encoded polyline of lon/lat ``coords``, precision 6, value by value in Python."""
    out, prev = [], (0, 0)
    for lon, lat in coords:
        now = (round(lat * 1e6), round(lon * 1e6))
        for value in (now[0] - prev[0], now[1] - prev[1]):
            z = ~(value << 1) if value < 0 else value << 1
            while z >= 32:
                out.append(chr((32 | (z & 31)) + 63))
                z >>= 5
            out.append(chr(z + 63))
        prev = now
    return script_safe("".join(out))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(-180_000_000, 180_000_000), st.integers(-90_000_000, 90_000_000)),
                         min_size=3, max_size=12), min_size=1, max_size=6))
def test_polygon_rings_encode_as_the_reference(rings: list[list[tuple[int, int]]]) -> None:
    # whole micro-degrees, so rounding is exact; boundary deltas (32**k) come up with the shrinking
    polys = [Polygon([(x / 1e6, y / 1e6) for x, y in ring]) for ring in rings]
    kind, parts = encode_geometry(MultiPolygon(polys) if len(polys) > 1 else polys[0])
    assert kind == "P"
    want = [[_reference(list(p.exterior.coords))] for p in polys]
    assert parts == want


def test_boundary_deltas_and_empty_polygons_encode_as_the_reference() -> None:
    steps = [32 ** k - 1 for k in range(1, 7)] + [32 ** k for k in range(1, 7)]
    ring = [(0.0, 0.0)] + [(s / 1e6, -s / 1e6) for s in steps] + [(0.0, 0.0)]
    assert encode_parts([np.array(ring)]) == [_reference(ring).replace("!", "{").replace("#", "}")]
    assert encode_geometry(Polygon()) == ("P", [[""]])
    assert encode_geometry(MultiPolygon()) == ("P", [])
