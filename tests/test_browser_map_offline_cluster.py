"""The map with no basemap ($HGWATCH_BASEMAP=none, an office with no internet) draws a layer of more
points than are clustered, in headless Chromium.

Found in the national walk of 2026-11-28 (685 real footprints, 7,249 OSM places): with no basemap the
Map page showed no map at all, only "Map has no maxZoom specified" in the browser's console: the
clusters ask the map its largest zoom, and only a basemap's tile layer had given one.
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from render.map.assets import installed
from render.map.mapview import MapOptions, build_map
from render.map.standalone import standalone_html
from tests.browser_harness import CHROMIUM, launch

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() or not installed(),
                                reason="needs /usr/bin/chromium and static/vendor (`make test`)")


def _places(n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(3)
    return gpd.GeoDataFrame({"area_id": [f"P{i}" for i in range(n)], "name": [f"Place {i}" for i in range(n)],
                             "population": rng.integers(10, 5000, n)},
                            geometry=shapely.points(rng.uniform(-3.2, -0.2, n), rng.uniform(4.8, 11.0, n)), crs=4326)


@pytest.mark.parametrize("basemap", ["none", "osm"])
def test_clustered_points_draw_without_a_basemap(tmp_path: Path, basemap: str) -> None:
    from playwright.sync_api import sync_playwright

    m = build_map({"residential_areas": _places(2_000)}, options=MapOptions(basemap=basemap))
    doc = tmp_path / "map.html"
    doc.write_text(standalone_html(m), encoding="utf-8")
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1000, "height": 700})
        page.route("**/*", lambda r: r.abort() if r.request.url.startswith("http") else r.continue_())  # offline
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(doc.as_uri())
        page.wait_for_selector(".marker-cluster", timeout=30_000)
        clusters = page.locator(".marker-cluster").count()
        total = sum(int(t) for t in page.locator(".marker-cluster span").all_inner_texts())
        browser.close()
    assert errors == []
    assert clusters > 0 and total == 2_000  # every place is in a cluster at the first view
