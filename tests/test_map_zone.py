"""The rule zone of a national layer: thousands of disjoint buffers simplified polygon by
polygon (``render.map.mapview.simplify_parts``), with the vertices the whole-geometry
simplifier gives, and the whole simplified when the parts would then overlap."""
from __future__ import annotations

import geopandas as gpd
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon

from render.map.mapview import generalise, simplify_parts


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
