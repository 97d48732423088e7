"""Cutting polygon rings into geodesic pieces without computing anything twice.

``geo.distance._pieces._densify`` computes each cut point of an edge once (it was computed as the
end of one piece and again as the start of the next), and ``PolygonSet.of`` measures only the
uncut edges whose sag could be the largest. Both must give what computing everything gave: the
oracle here is that, done directly with pyproj; the counts are of the geodesics actually solved.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import Polygon

import geo.distance._pieces as pieces_module
import geo.distance.containment as containment
from geo.distance.containment import PolygonSet, sag_bound_m

G = Geod(ellps="WGS84")


class Counting:
    """The real WGS84 Geod, counting the points each of ``fwd`` and ``inv`` solves."""

    def __init__(self) -> None:
        self.count = {"fwd": 0, "inv": 0}

    def fwd(self, *args: Any, **kwargs: Any) -> Any:
        self.count["fwd"] += np.size(args[0])
        return G.fwd(*args, **kwargs)

    def inv(self, *args: Any, **kwargs: Any) -> Any:
        self.count["inv"] += np.size(args[0])
        return G.inv(*args, **kwargs)


def _polygons() -> list[Polygon]:
    rng = np.random.default_rng(5)
    out = [shapely.box(-60.0, -5.0, -59.99, -4.99), shapely.box(10.0, 69.0, 10.03, 69.01)]  # 1.1 km, 1.1-3.3 km edges
    for lon, lat in [(-55.0, -3.0), (30.0, 45.0), (-150.0, 72.0)]:
        t = np.linspace(0, 2 * np.pi, 60, endpoint=False)
        r = 0.0005 * rng.uniform(0.5, 1.0, 60)  # edges of a few tens of metres, never cut
        out.append(Polygon(np.c_[lon + r * np.cos(t), lat + r * np.sin(t)]))
    return out


def test_each_cut_point_is_solved_once_and_the_pieces_join(monkeypatch: pytest.MonkeyPatch) -> None:
    counting = Counting()
    monkeypatch.setattr(pieces_module, "WGS84", counting)
    ps = PolygonSet.of(_polygons(), max_piece_m=100.0)
    ends = np.c_[ps.plon2, ps.plat2]
    starts = np.c_[ps.plon1, ps.plat1][ps.next]
    assert np.array_equal(ends, starts)  # every piece ends exactly where the next one starts
    assert G.inv(ps.plon1, ps.plat1, ps.plon2, ps.plat2)[2].max() <= 100.0 + 1e-6
    edges = sum(len(shapely.get_coordinates(g)) - 1 for g in _polygons())
    cut_points = ps.plon1.size - edges
    assert cut_points > 40
    assert counting.count["fwd"] == cut_points  # one solve per cut point (it was two per piece of a cut edge)
    # a cut point lies on its edge's geodesic at its fraction of the length, as computed alone
    az, _, whole = G.inv(-60.0, -5.0, -59.99, -5.0)
    n = int(np.ceil(whole / 100.0))
    lo, la, _ = G.fwd(-60.0, -5.0, az, whole * (3 / n))
    assert ((ps.plon1 == lo) & (ps.plat1 == la)).sum() == 1


def test_the_largest_sag_measures_only_the_edges_that_may_have_it(monkeypatch: pytest.MonkeyPatch) -> None:
    polygons = _polygons()
    counting = Counting()
    monkeypatch.setattr(containment, "WGS84", counting)
    ps = PolygonSet.of(polygons, max_piece_m=250.0)
    # oracle: every piece measured (a cut piece by its edge's length over its pieces, as the cut made it)
    rings = shapely.get_rings(shapely.orient_polygons(np.array(polygons, dtype=object), exterior_cw=False))
    p = pieces_module.explode(rings, max_piece_m=250.0)
    length = np.where(np.isnan(p.length_m), G.inv(p.lon1, p.lat1, p.lon2, p.lat2)[2], p.length_m)
    every = sag_bound_m(length, np.maximum(np.abs(p.lat1), np.abs(p.lat2))).max()
    assert ps.max_sag_m == every
    assert ps.band_m == max(containment.MIN_BAND_M, 2.0 * every)
    assert counting.count["inv"] < ps.plon1.size // 4  # the 180 short edges near the equator are not measured
