"""What a person sees of the choropleth, in headless Chromium: the stand-alone map of hand-made units
draws one polygon per unit in its own colour, "no data" grey, and hovering a unit named with markup
shows the name as text (no element made from it, no script run), with its value and range."""
from __future__ import annotations

import geopandas as gpd
from playwright.sync_api import sync_playwright

from render.map.choropleth import PALETTE, STYLES, ZERO
from render.map.standalone import standalone_html
from services.rollups import unit_map, unit_rollup
from tests.browser_harness import launch
from tests.test_rollups import AREAS, POINT, TODAY, sites

MARKUP = "<img src=x onerror=\"window.hgwPwned=1\">"


def test_hovering_a_unit_shows_its_name_as_text_and_its_values() -> None:
    areas = AREAS.copy()
    areas.loc[areas["area_code"] == "D11", "name"] = MARKUP
    r = unit_rollup({"mining_sites": sites(), "admin_areas": gpd.GeoDataFrame(areas)}, POINT, today=TODAY,
                    level="district")
    fmap = unit_map(r, "hg_high", basemap="none")
    assert fmap is not None
    html = standalone_html(fmap, title="units")
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 900, "height": 520})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route("**/*", lambda route: route.abort())  # nothing leaves: the page is self-contained
            page.set_content(html)
            page.wait_for_selector("path.leaflet-interactive")
            fills = page.eval_on_selector_all("path.leaflet-interactive", "ps => ps.map(p => p.getAttribute('fill'))")
            # Alamudun (15 kg) and Sokuluk (5 kg) in two colours, At-Bashy (no site) grey
            assert sorted(fills) == sorted([PALETTE[1], PALETTE[0], STYLES["nodata"]["fillColor"]])
            assert STYLES[ZERO]["fillColor"] not in fills
            box = page.locator("path.leaflet-interactive").nth(0).bounding_box()
            assert box is not None
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            tip = page.locator(".hgw-choropleth-tip")
            tip.wait_for()
            text = tip.inner_text()
            assert MARKUP in text and "15 kg/yr" in text and "15.0-15.0 kg/yr (central 15.0)" in text
            assert tip.locator("img").count() == 0
            assert page.evaluate("window.hgwPwned") is None and not errors
        finally:
            browser.close()
