"""The dashboard's map as a user sees it in headless Chromium, on a hand-made workspace with known
answers: the first view frames what the sidebar's filter keeps, and a violation ring's popup names
the flagged site (escaped), as the site's own popup does.

Found in the national walk of 2026-11-28 (5,917 footprints, 100 rivers, 7,249 places): a field
coordinator filtering to one district still saw the whole country, since the map's extent was the
bounds of every layer (rivers and places included); and a ring's popup showed the site's id only.
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from layers.store.workspace import Workspace
from render.map.assets import VENDOR_DIR, installed
from render.map.mapview import MapOptions, build_map
from render.map.standalone import standalone_html
from render.map.tiles import TileStore, tippecanoe_path
from tests.browser_harness import CHROMIUM, launch, running_app, wait_idle

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() or not installed(),
                                reason="needs /usr/bin/chromium and static/vendor (`make test`)")

NAME = "<i>Nkwanta</i> & Sons"  # the flagged site's name, HTML that must show as text
NORTH = (-0.60, 7.60, -0.45, 7.65)  # the bounds of the North district's two sites
BOUNDS = "() => { const b = map_div.getBounds(); return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; }"


def _sites() -> gpd.GeoDataFrame:
    """S1 (South, mercury, 55 m from river W2), S2 (South), N1 and N2 (North, far from water)."""
    return gpd.GeoDataFrame(
        {"site_id": ["S1", "S2", "N1", "N2"], "name": [NAME, "Obuasi East", "Kibi One", "Kibi Two"],
         "status": ["active"] * 4, "uses_mercury": [True, False, False, False],
         "admin_area": ["South", "South", "North", "North"]},
        geometry=[shapely.Point(-2.9, 5.0), shapely.Point(-2.8, 5.1), shapely.Point(NORTH[0], NORTH[1]),
                  shapely.Point(NORTH[2], NORTH[3])], crs=4326)


def _water() -> gpd.GeoDataFrame:
    """A river along the south and east edges of the country (W1) and a stream by S1 (W2)."""
    return gpd.GeoDataFrame(
        {"water_id": ["W1", "W2"], "name": ["Ankobra", "Nsuta stream"], "kind": ["river", "stream"]},
        geometry=[shapely.LineString([(-3.2, 4.8), (-0.3, 4.8), (-0.3, 7.7)]),
                  shapely.LineString([(-2.9005, 4.99), (-2.9005, 5.01)])], crs=4326)


def test_a_filter_frames_the_map_and_a_ring_names_its_site(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    path = tmp_path / "ws.gpkg"
    Workspace(path).write_layers([("mining_sites", _sites()), ("water_bodies", _water())], source="hand-made")
    env = {"HGWATCH_WORKSPACE": str(path), "HGWATCH_BASEMAP": "none"}
    with running_app(env=env) as url, sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        wait_idle(page)
        frame = _map(page)
        whole = frame.evaluate(BOUNDS)
        # the ring around S1: a click on it opens the violation's popup, the site's name first and as text
        xy = frame.evaluate("() => map_div.latLngToContainerPoint([5.0, -2.9])")
        box = page.locator("iframe[title='streamlit_folium.st_folium']").bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])
        popup = frame.locator(".leaflet-popup-content")
        popup.wait_for(timeout=10_000)
        text, markup = popup.inner_text(), popup.inner_html()
        page.screenshot(path=str(tmp_path / "ring.png"))
        # the North district chosen in the sidebar: the map frames its two sites
        box_in = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').filter(has_text="Admin area")
        box_in.locator("input").click()
        page.get_by_role("option", name="North").click()
        page.keyboard.press("Escape")
        page.wait_for_timeout(500)
        wait_idle(page)
        frame = _map(page)
        page.wait_for_timeout(500)
        north = frame.evaluate(BOUNDS)
        inset = frame.evaluate("""([w, s, e, n]) => { const size = map_div.getSize();
            const a = map_div.latLngToContainerPoint([s, w]), b = map_div.latLngToContainerPoint([n, e]);
            return Math.min(a.x, size.y - a.y, size.x - b.x, b.y); }""", list(NORTH))
        page.screenshot(path=str(tmp_path / "north.png"))
        browser.close()
    assert not errors, errors
    assert text.startswith("Rule violation"), text
    assert whole[0] < -2.9 and whole[2] > -0.45 and whole[1] < 5.0 and whole[3] > 7.65, whole  # unfiltered: every site
    faults = []  # both, so that one does not hide the other
    if f"subject name\t{NAME}" not in text or text.index("subject name") > text.index("rule id"):
        faults.append(f"the ring's popup does not name its site first: {text!r}")
    if "<i>" in markup or "&lt;i&gt;Nkwanta&lt;/i&gt; &amp; Sons" not in markup:
        faults.append(f"the name is not escaped: {markup!r}")
    if not (north[0] <= NORTH[0] and north[1] <= NORTH[1] and north[2] >= NORTH[2] and north[3] >= NORTH[3]):
        faults.append(f"the filtered map does not show the district's sites: {north}")
    if inset < 20:
        faults.append(f"a filtered site is drawn {inset} px from the map's edge")
    if north[2] - north[0] > 0.6 or north[3] - north[1] > 0.6:
        faults.append(f"the filtered map shows the whole country: {north}")
    assert faults == []


def _map(page):  # the streamlit-folium frame once its map exists
    page.wait_for_selector("iframe[title='streamlit_folium.st_folium']", timeout=60_000)
    for _ in range(200):
        frame = next((f for f in page.frames if "streamlit_folium" in f.url), None)
        if frame is not None and frame.evaluate("() => !!(window.map_div && map_div.getBounds)"):
            return frame
        page.wait_for_timeout(100)
    raise AssertionError("no map")


@pytest.mark.skipif(tippecanoe_path() is None or not installed(VENDOR_DIR, "protomaps-leaflet"),
                    reason="needs tippecanoe and protomaps-leaflet (`make install`)")
def test_a_tiled_ring_names_its_site(tmp_path: Path) -> None:
    """The violations as vector tiles (three rules flag S1, more than ``tiles_above``; the sites stay
    rows, drawn away from the ring so that the click reaches the ring): a click on the ring's band
    opens a popup naming the site, as text. Before 2026-11-28 no click found a tiled ring at all (the
    brush of ``pick`` reached a quarter of its pixels on screen, 4 px, and a ring takes a click only
    on its band, 10 px out)."""
    from playwright.sync_api import sync_playwright

    sites = _sites().iloc[:1].set_geometry([shapely.Point(-2.7, 5.2)], crs=4326)
    rings = gpd.GeoDataFrame(
        {"violation_id": ["V1", "V2", "V3"], "rule_id": ["R-A", "R-B", "R-C"], "severity": ["critical", "high", "low"],
         "title": ["a", "b", "c"], "subject_layer": ["mining_sites"] * 3, "subject_id": ["S1"] * 3,
         "site_id": ["S1"] * 3, "distance_m": [55.3, 55.3, 55.3]},
        geometry=[shapely.Point(-2.9, 5.0)] * 3, crs=4326)
    options = MapOptions(basemap="none", tiles=TileStore(tmp_path / "tiles", "/app/static/tiles"), tiles_above=2,
                         width_px=900, height_px=700)
    m = build_map({"mining_sites": sites, "water_bodies": _water()}, violations=rings, options=options)
    doc = tmp_path / "map.html"
    doc.write_text(standalone_html(m), encoding="utf-8")
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 900, "height": 700})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
        page.goto(doc.as_uri())
        page.wait_for_function("() => Object.keys(window).some(k => k.startsWith('map_') && window[k] instanceof L.Map)")
        page.evaluate("() => { window.map_div = window[Object.keys(window).find(k => k.startsWith('map_')"
                      " && window[k] instanceof L.Map)]; }")
        page.wait_for_function("""() => { let n = 0, done = 0; map_div.eachLayer(l => { if (l.hgwCfg) {
            n++; if (l.hgwDrawn) done++; } }); return n > 0 && n === done; }""", timeout=60_000)
        page.evaluate("() => map_div.setView([5.0, -2.9], 14, {animate: false})")
        page.wait_for_timeout(300)
        page.wait_for_function("""() => { let n = 0, done = 0; map_div.eachLayer(l => { if (l.hgwCfg) {
            n++; if (l.hgwDrawn) done++; } }); return n > 0 && n === done; }""", timeout=60_000)
        tiled = page.evaluate("() => { const o = []; map_div.eachLayer(l => { if (l.hgwCfg) o.push(l.hgwCfg.layer); });"
                              " return o; }")
        xy = page.evaluate("() => map_div.latLngToContainerPoint([5.0, -2.9])")
        # a tiled ring takes a click on its band (radius 10 px), not inside it
        page.locator(".leaflet-container").click(position={"x": xy["x"] + 10, "y": xy["y"]})
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(timeout=10_000)
        text, markup = popup.inner_text(), popup.inner_html()
        browser.close()
    assert not errors, errors
    assert "violations" in tiled and "mining_sites" not in tiled, tiled
    assert "Rule violation" in text and f"subject name\t{NAME}" in text, text
    assert "<i>" not in markup and "&lt;i&gt;Nkwanta&lt;/i&gt;" in markup, markup
    assert pd.Series(["R-A", "R-B", "R-C"]).map(text.__contains__).any(), text
