"""A case's point on its site (``lon``, ``lat``) is GEOS's point on surface of the site: a point site
is taken as it is (``services.cases._on_surface``), every other geometry is asked; a missing one
stays missing. Known answers, and GEOS itself as the oracle over every kind of geometry."""
from __future__ import annotations

import numpy as np
import shapely

from services.cases import _on_surface

GEOMS = np.array([
    shapely.Point(-1.5, 6.25), None, shapely.from_wkt("POINT EMPTY"), shapely.box(0, 0, 2, 1),
    shapely.MultiPoint([(1, 1), (2, 2)]), shapely.LineString([(0, 0), (1, 1)]),
    shapely.from_wkt("POLYGON EMPTY"), shapely.MultiPolygon([shapely.box(5, 5, 6, 6), shapely.box(8, 8, 9, 9)]),
    shapely.Point(180, -90)], dtype=object)


def test_a_point_site_is_its_own_point_and_others_are_asked() -> None:
    got = _on_surface(GEOMS)
    want = shapely.point_on_surface(GEOMS)
    assert [None if g is None else g.wkt for g in got] == [None if g is None else g.wkt for g in want]
    assert [g.wkt for g in got[[0, 3, 8]]] == ["POINT (-1.5 6.25)", "POINT (1 0.5)", "POINT (180 -90)"]
    assert got[1] is None
    assert GEOMS[3].wkt == "POLYGON ((2 0, 2 1, 0 1, 0 0, 2 0))"  # the sites are left as they were


def test_many_points_give_their_own_coordinates() -> None:
    xy = np.random.default_rng(7).uniform(-180, 180, (1000, 2))
    got = _on_surface(shapely.points(xy))
    assert np.array_equal(shapely.get_coordinates(got), xy)
    assert shapely.equals_exact(got, shapely.point_on_surface(shapely.points(xy)), tolerance=0).all()
