"""Polygon footprints at national size (brief H5): what a layer of 10^5 polygons hit in bulk does
to the geodesic area code, with known answers on small hand-made cases."""
from __future__ import annotations

import tracemalloc

import numpy as np
import shapely
from shapely.geometry import Polygon

from geo.distance import geodesic_area_m2, overlap_area_m2


def _zone() -> Polygon:
    """A 1-degree box (about 440 km of perimeter: 4,400 pieces of 100 m)."""
    return Polygon([(-60.0, -5.0), (-59.0, -5.0), (-59.0, -4.0), (-60.0, -4.0)])


def _site(k: int) -> Polygon:
    """A small footprint inside the zone, its lower left corner 0.001 degree apart per k."""
    x, y = -59.9 + 0.001 * k, -4.9
    return Polygon([(x, y), (x + 0.0005, y), (x + 0.0005, y + 0.0005), (x, y + 0.0005)])


def test_overlap_of_many_sites_with_one_zone_is_each_sites_area_and_the_zone_is_cut_once() -> None:
    """300 footprints inside one zone: each overlap is the footprint's own geodesic area, as when
    measured alone, and the zone is cut into its 100 m pieces once, not once per footprint (before,
    300 copies of its 4,400 pieces were held at once: 10^4 sites against 106 zones reached 7.2 GB)."""
    zone = _zone()
    sites = np.array([_site(k) for k in range(300)], dtype=object)
    zones = np.array([zone] * sites.size, dtype=object)
    tracemalloc.start()
    try:
        got = overlap_area_m2(sites, zones)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    alone = np.array([overlap_area_m2([s], [zone])[0] for s in sites[[0, 150, 299]]])
    np.testing.assert_array_equal(got[[0, 150, 299]], alone)
    np.testing.assert_allclose(got, geodesic_area_m2(sites), rtol=1e-9)
    assert peak < 40e6, f"peak {peak / 1e6:.0f} MB for one zone's pieces"


def test_overlap_keeps_rows_apart_when_zones_differ_and_a_site_misses() -> None:
    """Distinct zone objects (equal or not) and a site outside every zone: per-row answers."""
    zone, other = _zone(), shapely.affinity.translate(_zone(), 2.0, 0.0)
    inside, outside = _site(0), shapely.affinity.translate(_site(0), 1.5, 0.0)
    got = overlap_area_m2(np.array([inside, outside, inside, inside], dtype=object),
                          np.array([zone, zone, other, Polygon(zone.exterior.coords)], dtype=object))
    area = geodesic_area_m2([inside])[0]
    assert got[1] == 0.0 and got[2] == 0.0
    np.testing.assert_allclose(got[[0, 3]], area, rtol=1e-9)


def test_not_covered_measures_each_site_against_the_licences_that_touch_it() -> None:
    """Many licences, few touching each site: a site across two adjoining licences is covered, one
    half inside a licence has its other half uncovered, one outside all has all of it uncovered,
    whatever the distant licences (each site is subtracted only the union of those it meets)."""
    from geo.distance import not_covered

    boxes = [shapely.box(-60.0 + 0.5 * i, -5.0, -59.5 + 0.5 * i, -4.5) for i in range(40)]
    boxes = [b for i, b in enumerate(boxes) if i != 10]  # a gap from -55.0 to -54.5
    across = shapely.box(-59.5005, -4.9, -59.4995, -4.899)  # on the edge of licences 0 and 1
    half = shapely.box(-55.0005, -4.9, -54.9995, -4.899)  # half in licence 9, half in the gap
    out = shapely.box(-54.8, -4.9, -54.799, -4.899)  # in the gap
    found = not_covered(np.array([across, half, out], dtype=object), np.array(boxes, dtype=object))
    assert found["subject"].tolist() == [1, 2]
    whole = geodesic_area_m2([half, out])
    np.testing.assert_allclose(found["uncovered_m2"].to_numpy(), [whole[0] / 2, whole[1]], rtol=1e-3)
