"""The vector-tile map in headless Chromium: large layers arrive as PMTiles from the app's own
static folder and draw; a click opens an escaped popup; nothing leaves the machine.

The threshold is lowered to 25 features (``HGWATCH_TILES_ABOVE``) so the demo's sites, samples,
tailings and residential areas travel as vector tiles while the 22 rivers stay rows, and the
basemap is "No basemap" (``HGWATCH_BASEMAP=none``), so every request must go to 127.0.0.1.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from layers.store.workspace import DEFAULT_PATH, Workspace
from render.map.assets import VENDOR_DIR, installed
from render.map.mapview import MapOptions, build_map
from render.map.standalone import standalone_html
from render.map.tiles import TileStore, tippecanoe_path
from tests.browser_harness import (
    CHROMIUM,
    ROOT,
    NetLog,
    launch,
    map_frame,
    running_app,
    tiles_drawn,
)

XSS = "<img src=x onerror=alert(1)>"
ARTIFACTS = ROOT / "test-artifacts"
FOLIUM_MAP = "() => window[Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map)]"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() or not DEFAULT_PATH.exists() or not installed()
    or not installed(VENDOR_DIR, "protomaps-leaflet") or tippecanoe_path() is None,
    reason="needs /usr/bin/chromium, the demo workspace, static/vendor and tippecanoe (`make test`)")


def _workspace(tmp: Path) -> tuple[Path, str, tuple[float, float]]:
    """A copy of the demo whose first mercury-using site is named ``XSS``; its id and lon/lat."""
    path = tmp / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, path)
    ws = Workspace(path)
    sites = ws.read("mining_sites")
    row = sites.index[sites["uses_mercury"].fillna(False).astype(bool)][0]
    sites.loc[row, "name"] = XSS
    info = ws.info("mining_sites")
    ws.write_layer("mining_sites", sites, source=info.source, licence=info.licence,
                   accuracy_m=info.accuracy_m, synthetic=info.synthetic)
    point = sites.geometry[row]
    return path, str(sites.loc[row, "site_id"]), (point.x, point.y)


def test_vector_tiles_in_chromium(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    ws_path, site_id, (lon, lat) = _workspace(tmp_path)
    ARTIFACTS.mkdir(exist_ok=True)
    log, dialogs, status = NetLog(), [], {}
    env = {"HGWATCH_WORKSPACE": str(ws_path), "HGWATCH_TILES_ABOVE": "25",
           "HGWATCH_BASEMAP": "none"}
    with running_app(env=env) as url, sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.route("**/*", log.route)
        page = context.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("response", lambda r: status.__setitem__(r.url, r.status)
                if "/app/static/tiles/" in r.url else None)
        page.goto(url)

        frame = map_frame(page)
        inner = next(f for f in page.frames if "streamlit_folium" in f.url)
        names = tiles_drawn(inner)
        # sites, tailings, samples and residential areas are tiled; the 22 rivers are rows
        assert {"mining_sites", "tailings", "samples", "residential_areas"} <= set(names), names
        assert "water_bodies" not in names
        assert frame.locator("path.leaflet-interactive").count() >= 22  # the rivers, as SVG
        assert frame.locator(".hgw-legend").count() == 1
        # the tiles painted something: coloured pixels on the tile canvases
        painted = inner.evaluate("""() => [...document.querySelectorAll('.leaflet-hgwTiles-pane canvas')]
            .some(c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                         for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) return true; }
                         return false; })""")
        assert painted, "no vector tile drew a pixel"
        # the archives came from the app by range requests (206), the rows only on a click
        assert any(u.endswith("/tiles.pmtiles") for u in status), status
        assert all(s in (200, 206) for s in status.values()), status
        assert not any(u.endswith("/rows.json") for u in status), "rows fetched before a click"

        # a real click on the hostile site opens its popup, with the name as text
        inner.evaluate("([lat, lon]) => map_div.setView([lat, lon], 16, {animate: false})", [lat, lon])
        tiles_drawn(inner)
        # Streamlit scrolls smoothly: bring the map into view and let it settle before clicking
        page.locator("iframe[title='streamlit_folium.st_folium']").scroll_into_view_if_needed()
        page.wait_for_timeout(800)
        xy = inner.evaluate("([lat, lon]) => map_div.latLngToContainerPoint([lat, lon])", [lat, lon])
        frame.locator(".leaflet-container").click(position={"x": xy["x"], "y": xy["y"]})
        popup = frame.locator(".leaflet-popup-content")
        # an admin unit under the site opens first and gives way (it fades out for 200 ms)
        expect(popup).to_have_count(1, timeout=20_000)
        # the site's popup fills once its rows arrive (the unit's may still be fading): wait for its text
        expect(popup).to_contain_text(XSS, timeout=20_000)
        expect(popup).to_contain_text(site_id)
        assert popup.locator("img").count() == 0 and frame.locator("img[src='x']").count() == 0
        assert inner.evaluate("() => map_div.hgwLastPopup.layer") == "mining_sites"
        assert any(u.endswith("/rows.json") for u in status), "the popup rows were not fetched"
        page.wait_for_timeout(400)
        page.screenshot(path=str(ARTIFACTS / "vector_tiles_popup.png"))
        assert not dialogs, dialogs
        browser.close()

    # nothing was fetched from outside the machine, not even a basemap tile
    assert log.blocked == [], log.blocked
    assert log.allowed and all("127.0.0.1" in u or u.startswith(("data:", "blob:", "about:"))
                               for u in log.allowed)


def test_standalone_map_draws_its_tiles_offline(tmp_path: Path) -> None:
    """The stand-alone HTML of a tiled map reads its archives from inside the page: it draws
    from a file:// URL with every request refused, and a click still opens the popup."""
    from playwright.sync_api import sync_playwright

    ws_path, site_id, (lon, lat) = _workspace(tmp_path)
    ws = Workspace(ws_path)
    store = TileStore(tmp_path / "tiles", "/app/static/tiles")
    m = build_map({"mining_sites": ws.read("mining_sites")},
                  options=MapOptions(tiles=store, tiles_above=25, basemap="none"))
    doc = tmp_path / "map.html"
    doc.write_text(standalone_html(m), encoding="utf-8")
    log, dialogs = NetLog(), []
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1000, "height": 700})
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                   else log.route(route))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(doc.as_uri())
        page.wait_for_function(FOLIUM_MAP)  # folium names the map map_<id>; st_folium map_div
        page.evaluate(f"() => {{ window.map_div = ({FOLIUM_MAP})(); }}")
        assert tiles_drawn(page.main_frame) == ["mining_sites"]
        page.evaluate("([lat, lon]) => map_div.setView([lat, lon], 16, {animate: false})", [lat, lon])
        tiles_drawn(page.main_frame)
        xy = page.evaluate("([lat, lon]) => map_div.latLngToContainerPoint([lat, lon])", [lat, lon])
        page.locator(".leaflet-container").click(position={"x": xy["x"], "y": xy["y"]})
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(timeout=20_000)
        assert XSS in popup.inner_text() and site_id in popup.inner_text()
        assert popup.locator("img").count() == 0 and not dialogs
        browser.close()
    assert log.blocked == [], log.blocked


def test_rule_zone_tiles_draw_dissolved_in_chromium(tmp_path: Path) -> None:
    """With the violations above the threshold, the rule buffers arrive as their own archive and
    are painted as one union: the fill (#fb6a4a at 0.15) is laid once, so no pixel of the zone's
    canvases holds it twice over (an overlap filled twice has alpha ~0.28); nothing leaves the machine."""
    from playwright.sync_api import sync_playwright

    path = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, path)
    log = NetLog()
    env = {"HGWATCH_WORKSPACE": str(path), "HGWATCH_TILES_ABOVE": "5", "HGWATCH_BASEMAP": "none"}
    with running_app(env=env) as url, sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.route("**/*", log.route)
        page = context.new_page()
        page.goto(url)
        map_frame(page)
        inner = next(f for f in page.frames if "streamlit_folium" in f.url)
        names = tiles_drawn(inner)
        assert {"violations_zone", "violations", "violations_links"} <= set(names), names
        # zoom to the flagged sites so that the buffers are large enough to overlap on screen
        inner.evaluate("() => map_div.setZoom(13, {animate: false})")
        tiles_drawn(inner)
        fills = inner.evaluate("""() => { let out = {once: 0, twice: 0}; map_div.eachLayer(l => {
            if (!l.hgwCfg || l.hgwCfg.layer !== 'violations_zone') return;
            Object.values(l._tiles).forEach(t => { const c = t.el, d = c.getContext('2d')
                .getImageData(0, 0, c.width, c.height).data;
              for (let i = 0; i < d.length; i += 4) {
                if (Math.abs(d[i] - 251) > 3 || Math.abs(d[i + 1] - 106) > 3 || Math.abs(d[i + 2] - 74) > 3) continue;
                if (Math.abs(d[i + 3] - 38) <= 2) out.once++; else if (d[i + 3] > 50) out.twice++; } }); });
            return out; }""")
        browser.close()
    assert fills["once"] > 0, fills  # the zone is filled
    assert fills["twice"] == 0, fills  # and never twice where buffers overlap
    assert log.blocked == [], log.blocked


def test_the_first_tile_requests_need_no_header_round_trip(tmp_path: Path) -> None:
    """Each archive's header and root directory come with the page: the browser asks the app
    only for tiles (ranges past the first bytes, answered 206), never for the archive's start,
    and the layers still draw; nothing leaves the machine."""
    from playwright.sync_api import sync_playwright

    ws_path, _, _ = _workspace(tmp_path)
    log, ranges = NetLog(), []
    env = {"HGWATCH_WORKSPACE": str(ws_path), "HGWATCH_TILES_ABOVE": "25", "HGWATCH_BASEMAP": "none"}
    with running_app(env=env) as url, sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.route("**/*", log.route)
        page = context.new_page()
        page.on("request", lambda r: ranges.append((r.url, r.headers.get("range")))
                if r.url.endswith("/tiles.pmtiles") else None)
        page.goto(url)
        map_frame(page)
        inner = next(f for f in page.frames if "streamlit_folium" in f.url)
        names = tiles_drawn(inner)
        painted = inner.evaluate("""() => [...document.querySelectorAll('.leaflet-hgwTiles-pane canvas')]
            .some(c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                         for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) return true; }
                         return false; })""")
        browser.close()
    assert {"mining_sites", "tailings", "samples", "residential_areas"} <= set(names), names
    assert painted, "no vector tile drew a pixel"
    assert len({u for u, _ in ranges}) >= 4, ranges  # every archive's tiles were fetched
    assert all(r and r.startswith("bytes=") and not r.startswith("bytes=0-") for _, r in ranges), ranges
    assert log.blocked == [], log.blocked
