"""Coverage and containment of many polygons in bounded memory, with the answers of the whole.

``geo.distance.area.not_covered`` checks its subjects in runs of ``COVER_BATCH_VERTICES`` vertices,
and ``geo.distance.containment`` makes lon/lat chords only of the boundary pieces near the points it
decides (``_pieces_near``): 104,640 footprints against 1,269 licences peaked at 4 GB with every
subject and every piece made at once. The answers must not depend on either: each test compares
with known answers and with the whole run.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import LineString, Point, Polygon

import geo.distance.area as area_module
import geo.distance.containment as containment
from geo.distance import PolygonSet, geodesic_area_m2, not_covered, points_inside

G = Geod(ellps="WGS84")


def _sites(seed: int, n: int) -> list[object]:
    """Small footprints scattered over four licence boxes and beyond, some across a box edge,
    some with a hole, a few lines and points."""
    rng = np.random.default_rng(seed)
    out: list[object] = []
    for i in range(n):
        x, y = rng.uniform(-0.02, 0.05), rng.uniform(-0.02, 0.05)
        t = np.linspace(0, 2 * np.pi, 9, endpoint=False) + rng.uniform(0, 0.5, 9)
        r = rng.uniform(0.001, 0.004)
        shell = np.c_[x + r * np.cos(t), y + r * np.sin(t)]
        hole = np.c_[x + 0.2 * r * np.cos(t[::-1]), y + 0.2 * r * np.sin(t[::-1])] if i % 5 == 0 else None
        out.append(Polygon(shell, holes=[hole] if hole is not None else None))
    out += [LineString([(0.001, 0.001), (0.019, 0.001)]), LineString([(0.015, 0.015), (0.045, 0.015)]),
            Point(0.005, 0.005), Point(-0.01, -0.01)]
    return out


BOXES = [shapely.box(0.0, 0.0, 0.02, 0.02), shapely.box(0.02, 0.0, 0.04, 0.02),  # edges shared
         shapely.box(0.0, 0.02, 0.02, 0.04), shapely.box(0.025, 0.025, 0.04, 0.04)]


def test_not_covered_in_runs_gives_the_whole_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    sites = np.array(_sites(3, 160), dtype=object)
    monkeypatch.setattr(area_module, "COVER_BATCH_VERTICES", 10**9)
    whole = not_covered(sites, BOXES)
    monkeypatch.setattr(area_module, "COVER_BATCH_VERTICES", 7)  # a run of about one site
    runs = not_covered(sites, BOXES)
    pd.testing.assert_frame_equal(runs, whole)
    flagged = set(whole["subject"].tolist())
    assert 20 < len(flagged) < 150
    assert 160 not in flagged  # the line inside the two boxes of a shared edge
    assert {161, 163} <= flagged and 162 not in flagged  # a line out of them; the point out, the point in
    # a footprint wholly inside one box is covered; one wholly outside every box is flagged with its area
    inside_one = [i for i, g in enumerate(sites[:160]) if any(b.contains(g.buffer(1e-4)) for b in BOXES)]
    outside_all = [i for i, g in enumerate(sites[:160]) if not any(b.intersects(g.buffer(1e-4)) for b in BOXES)]
    assert inside_one and outside_all
    assert not flagged & set(inside_one) and set(outside_all) <= flagged
    got = whole.set_index("subject")["uncovered_m2"]
    np.testing.assert_allclose(got[outside_all].to_numpy(), geodesic_area_m2(sites[outside_all]), rtol=1e-9)


def test_a_site_astride_two_licences_with_one_edge_is_covered() -> None:
    astride = shapely.box(0.015, 0.005, 0.025, 0.01)  # half in each of the first two boxes
    half_out = shapely.box(0.035, 0.005, 0.045, 0.01)
    found = not_covered([astride, half_out], BOXES)
    assert found["subject"].tolist() == [1]
    assert found["uncovered_m2"].iloc[0] == pytest.approx(geodesic_area_m2([half_out])[0] / 2, rel=1e-6)


def test_points_beside_edges_on_grid_lines_are_decided_exactly() -> None:
    """Edges lying on the prefilter's grid lines (multiples of 0.01 degree) and vertices at its
    corners, at the equator and at 70 degrees: a point on an edge is inside, 1 cm out is not."""
    rows = []
    polys = []
    for lat0 in (0.0, 70.0):
        for k in range(3):
            x0, y0 = 0.01 * k, lat0 + 0.01 * k
            poly = Polygon([(x0, y0), (x0 + 0.01, y0), (x0 + 0.01, y0 + 0.01), (x0, y0 + 0.01)])
            polys.append(poly)
            ring = list(poly.exterior.coords)[:-1]
            for a, b in zip(ring, ring[1:] + ring[:1], strict=True):
                az, back, length = G.inv(a[0], a[1], b[0], b[1])
                for frac in (0.0, 0.5, 0.999):
                    lon, lat, travel = G.fwd(a[0], a[1], az, length * frac)
                    travel += 180.0  # azimuth of travel at the point; the inside is on the left
                    rows.append((Point(lon, lat), True))
                    out = G.fwd(lon, lat, travel + 90.0, 0.01)
                    if frac == 0.5:
                        rows.append((Point(out[0], out[1]), False))
                        left = G.fwd(lon, lat, travel - 90.0, 0.01)
                        rows.append((Point(left[0], left[1]), True))
    points = [p for p, _ in rows]
    ps = PolygonSet.of(polys)
    found = set(points_inside(points, ps)["point"].tolist())
    assert [i in found for i in range(len(points))] == [want for _, want in rows]


def test_only_the_pieces_near_the_points_become_chords() -> None:
    """One point among 2,000 small squares: a handful of their 100 m pieces are searched, not all."""
    squares = [shapely.box(0.05 * i, 0.05 * j, 0.05 * i + 0.02, 0.05 * j + 0.02) for i in range(40) for j in range(50)]
    ps = PolygonSet.of(squares, max_piece_m=100.0)
    lon, lat = np.array([0.02]), np.array([0.01])  # on the east edge of the first square
    near = containment._pieces_near(lon, lat, 1e-6, ps)
    assert 0 < near.size < 20 < ps.plon1.size // 1000
    d = np.hypot(np.clip(lon[0], np.minimum(ps.plon1, ps.plon2), np.maximum(ps.plon1, ps.plon2)) - lon[0],
                 np.clip(lat[0], np.minimum(ps.plat1, ps.plat2), np.maximum(ps.plat1, ps.plat2)) - lat[0])
    assert set(np.flatnonzero(d <= 1e-6).tolist()) <= set(near.tolist())  # every piece whose box is that near
    assert points_inside([Point(0.02, 0.01), Point(0.0201, 0.01)], ps)["point"].tolist() == [0]
