"""Overlap areas of footprints with the zones they touch (``geo.distance.area.overlap_area_m2``).

A footprint that its zone covers is its own overlap, and only the footprints across a zone's edge
are cut from the zone (cutting each one from a zone of thousands of 100 m pieces took 21 s at
104,640 footprints). The answers: known areas, and the overlap cut as before (the oracle) to the
same float.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely

import geo.distance.area as area_module
from geo.distance import geodesic_area_m2, overlap_area_m2

ZONE = shapely.segmentize(shapely.box(-56.0, -4.0, -55.0, -3.0), 0.025)  # as bench_polygons draws them


def _footprints(n: int) -> np.ndarray:
    rng = np.random.default_rng(11)
    out = []
    for _ in range(n):
        x, y = rng.uniform(-55.99, -55.01), rng.uniform(-3.99, -3.01)
        t = np.linspace(0, 2 * np.pi, 12, endpoint=False)
        r = rng.uniform(0.0005, 0.003) * rng.uniform(0.7, 1.0, 12)
        out.append(shapely.Polygon(np.c_[x + r * np.cos(t), y + r * np.sin(t)]))
    return np.array(out, dtype=object)


def test_known_overlaps() -> None:
    inside = shapely.box(-55.5, -3.5, -55.49, -3.49)
    across = shapely.box(-55.005, -3.5, -54.995, -3.49)  # half east of the zone's east edge
    touching = shapely.box(-55.01, -3.5, -55.0, -3.49)  # inside, its east edge on the zone's
    outside = shapely.box(-54.9, -3.5, -54.89, -3.49)
    got = overlap_area_m2([inside, across, touching, outside], [ZONE] * 4)
    whole = geodesic_area_m2([inside, across, touching])
    assert got[0] == pytest.approx(whole[0], rel=1e-9)
    assert got[1] == pytest.approx(whole[1] / 2, rel=1e-4)
    assert got[2] == pytest.approx(whole[2], rel=1e-9)
    assert got[3] == 0.0
    assert overlap_area_m2([inside, None], [None, ZONE]).tolist() == [0.0, 0.0]


def test_only_footprints_across_an_edge_are_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    cut: list[int] = []
    real = shapely.intersection

    def counting(a: Any, b: Any, **kwargs: Any) -> Any:
        cut.append(int(np.size(a)))
        return real(a, b, **kwargs)

    monkeypatch.setattr(shapely, "intersection", counting)
    across = shapely.box(-55.005, -3.5, -54.995, -3.49)
    sites = np.r_[_footprints(40), np.array([across], dtype=object)]
    got = overlap_area_m2(sites, [ZONE] * sites.size)
    assert sum(cut) == 1  # the one across the edge
    assert got[-1] == pytest.approx(geodesic_area_m2([across])[0] / 2, rel=1e-4)


def test_a_covered_footprint_is_its_own_overlap_to_the_float() -> None:
    sites = _footprints(300)
    got = overlap_area_m2(sites, [ZONE] * sites.size)
    da = area_module._dense_once(sites)
    db = area_module._dense_once(np.array([ZONE] * sites.size, dtype=object))
    cut_as_before = geodesic_area_m2(shapely.intersection(da, db))
    assert np.array_equal(got, cut_as_before)
    np.testing.assert_allclose(got, geodesic_area_m2(sites), rtol=1e-8)


def test_only_footprints_across_a_licence_edge_are_cut_for_coverage(monkeypatch: pytest.MonkeyPatch) -> None:
    """not_covered: a footprint inside the licences has no remainder, one outside all of them is its
    own remainder, and only the one across an edge is cut."""
    cut: list[int] = []
    real = shapely.difference

    def counting(a: Any, b: Any, **kwargs: Any) -> Any:
        cut.append(int(np.size(a)))
        return real(a, b, **kwargs)

    licences = [shapely.box(-56.0, -4.0, -55.5, -3.5), shapely.box(-55.5, -4.0, -55.0, -3.5)]  # a shared edge
    inside = shapely.box(-55.6, -3.8, -55.4, -3.79)  # astride the shared edge: covered
    across = shapely.box(-55.005, -3.8, -54.995, -3.79)  # half out
    outside = shapely.box(-54.9, -3.8, -54.89, -3.79)
    monkeypatch.setattr(shapely, "difference", counting)
    found = area_module.not_covered([inside, across, outside], licences)
    assert sum(cut) == 1
    assert found["subject"].tolist() == [1, 2]
    got = found["uncovered_m2"].to_numpy()
    whole = geodesic_area_m2([across, outside])
    assert got[0] == pytest.approx(whole[0] / 2, rel=1e-4)
    assert got[1] == pytest.approx(whole[1], rel=1e-9)
