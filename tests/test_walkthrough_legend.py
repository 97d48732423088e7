"""The map legend as users met it in a browser walk-through (session 11): on the workbench's small
map (480 px high) the demo's legend (20 rows: site classes, every layer, the violation marks) covered
most of the map. A map's legend and notes now take at most ``MAX_HEIGHT`` of its height and scroll
beyond. Headless Chromium on the stand-alone HTML of the demo's map (no server), at the
workbench's map height and at the Map page's."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from layers.store.workspace import DEFAULT_PATH
from render.map.assets import installed
from render.map.elements import MAX_HEIGHT
from render.map.standalone import standalone_html
from services.hgwatch import HgWatch, Query
from services.view import Filters
from settings import Settings
from tests.browser_harness import CHROMIUM, NetLog, launch

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() or not DEFAULT_PATH.exists() or not installed(),
                                reason="needs /usr/bin/chromium, the demo workspace and the Leaflet files (make test)")


def test_the_legend_leaves_the_map_in_sight_at_every_map_height() -> None:
    svc = HgWatch(Settings(workspace=DEFAULT_PATH))  # read only: nothing is recorded
    rules = tuple(r.id for r in svc.rules().rules)
    html = standalone_html(svc.map(Query(Filters(), rules, None)))
    with sync_playwright() as p:
        browser = launch(p)
        seen = {}
        for height in (480, 620):  # the workbench's map, the Map page's
            page = browser.new_context(viewport={"width": 700, "height": height}).new_page()
            page.route("**/*", NetLog().route)
            page.set_content(html)
            legend = page.locator(".hgw-legend")
            legend.wait_for()
            box = legend.bounding_box()
            assert box is not None
            seen[height] = (box["height"], legend.evaluate("e => e.scrollHeight > e.clientHeight"))
            page.context.close()
        browser.close()
    for height, (legend_px, scrolls) in seen.items():
        assert legend_px <= MAX_HEIGHT * height + 1, f"legend {legend_px:.0f} px high on a {height} px map"
        assert scrolls, f"the demo's legend should need scrolling on a {height} px map: the test shows nothing"
