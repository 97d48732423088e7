"""The Contamination overlays page draws its map as the Map page does (helper HW's walk, session 17).

Walking the dashboard on 5,917 real mining footprints and 7,249 settlements with
``HGWATCH_BASEMAP=none`` (an office with no internet), the overlays page alone asked
tile.openstreetmap.org for tiles, and drew every site and settlement as rows where the Map page drew
them as vector tiles (its first visit took 8 s there). It built its map with ``build_map``'s defaults;
it now uses ``services.tiles.draw_map``, the Map page's options. Headless Chromium, the demo with
the vector-tile threshold lowered to 25 features, the network cut to loopback.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from layers.store.workspace import DEFAULT_PATH
from render.map.assets import VENDOR_DIR, installed
from render.map.tiles import tippecanoe_path
from tests.browser_harness import CHROMIUM, NetLog, is_tile, launch, running_app, tiles_drawn, wait_idle

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() or not DEFAULT_PATH.exists() or not installed()
    or not installed(VENDOR_DIR, "protomaps-leaflet") or tippecanoe_path() is None,
    reason="needs /usr/bin/chromium, the demo workspace, static/vendor and tippecanoe (`make test`)")


def test_the_overlays_map_keeps_the_offline_basemap_and_tiles_large_layers(tmp_path: Path) -> None:
    ws = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, ws)
    log = NetLog()
    env = {"HGWATCH_WORKSPACE": str(ws), "HGWATCH_TILES_ABOVE": "25", "HGWATCH_BASEMAP": "none"}
    with running_app(env=env) as url, sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context(viewport={"width": 1400, "height": 1600})
        context.route("**/*", log.route)
        page = context.new_page()
        page.goto(f"{url}/overlays")
        wait_idle(page)
        page.get_by_role("heading", name="Contamination overlays and exposure").wait_for(timeout=60_000)
        page.wait_for_selector("iframe[title='streamlit_folium.st_folium']", timeout=120_000)
        page.wait_for_function("() => [...document.querySelectorAll('iframe')].some("
                               "f => f.contentWindow && f.contentWindow.map_div)", timeout=60_000)
        inner = next(f for f in page.frames if "streamlit_folium" in f.url)
        names = tiles_drawn(inner)
        exceptions = page.locator('[data-testid="stException"]').count()
        browser.close()
    assert exceptions == 0
    # the demo's sites, tailings and residential areas are above 25 features: tiled, as on the Map page
    assert {"mining_sites", "tailings", "residential_areas"} <= set(names), names
    assert not [u for u in log.blocked if is_tile(u)], log.blocked
