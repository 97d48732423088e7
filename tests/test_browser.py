"""The one real-browser test: the app in headless Chromium with the network cut to loopback.

It proves what a person sees: the map draws its layers and markers from the app's own Leaflet
files, a hostile site name shows as text, nothing but (blocked) basemap tiles tries to leave
the machine, the GeoJSON download is valid RFC 7946, and the contamination overlay draws its
surface, legend, downstream reaches and samples. Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import polyline
import pytest

from layers.store.workspace import DEFAULT_PATH, Workspace
from render.map.assets import installed
from render.map.polyline import script_safe
from tests.browser_harness import CHROMIUM, ROOT, NetLog, is_tile, launch, map_frame, running_app

XSS = "<img src=x onerror=alert(1)>"
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() or not DEFAULT_PATH.exists() or not installed(),
    reason="needs /usr/bin/chromium, the demo workspace and static/vendor (run `make test`)")


def _workspace_with_hostile_name(tmp: Path) -> tuple[Path, str]:
    """A copy of the demo workspace whose first mercury-using site is named ``XSS``."""
    path = tmp / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, path)
    ws = Workspace(path)
    sites = ws.read("mining_sites")
    row = sites.index[sites["uses_mercury"].fillna(False).astype(bool)][0]
    sites.loc[row, "name"] = XSS
    info = ws.info("mining_sites")
    ws.write_layer("mining_sites", sites, source=info.source, licence=info.licence,
                   accuracy_m=info.accuracy_m, synthetic=info.synthetic)
    return path, str(sites.loc[row, "site_id"])


def _check_rfc7946(doc: dict) -> None:
    """The parts of RFC 7946 a partner's tools rely on."""
    assert doc["type"] == "FeatureCollection" and "crs" not in doc
    assert doc["features"], "no features"
    for feat in doc["features"]:
        assert feat["type"] == "Feature" and isinstance(feat["properties"], dict)
        geom = feat["geometry"]
        assert geom["type"] in {"Point", "MultiPoint", "LineString", "MultiLineString",
                                "Polygon", "MultiPolygon"}
        flat = json.dumps(geom["coordinates"]).replace("[", "").replace("]", "").split(",")
        nums = [float(v) for v in flat if v.strip()]
        lons, lats = nums[0::2], nums[1::2]
        assert all(-180 <= x <= 180 for x in lons) and all(-90 <= y <= 90 for y in lats)


def test_dashboard_in_chromium(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    ws_path, hostile_id = _workspace_with_hostile_name(tmp_path)
    ARTIFACTS.mkdir(exist_ok=True)
    log, dialogs, mime = NetLog(), [], {}
    with running_app(env={"HGWATCH_WORKSPACE": str(ws_path)}) as url, sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                      accept_downloads=True)
        context.route("**/*", log.route)
        page = context.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("response", lambda r: mime.__setitem__(r.url, r.headers.get("content-type", ""))
                if "/app/static/vendor/" in r.url else None)
        sent: list[object] = []
        page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(payload)))
        page.goto(url)

        # the map draws: container, vector paths (water, areas) and circle markers (sites)
        frame = map_frame(page)
        frame.locator("path.leaflet-interactive").first.wait_for(timeout=60_000)
        assert frame.locator(".leaflet-container").count() == 1
        assert frame.locator("path.leaflet-interactive").count() >= 150
        strokes = frame.locator("path.leaflet-interactive").evaluate_all(
            "els => els.map(e => (e.getAttribute('stroke') || '') + '|' + (e.getAttribute('fill') || ''))")
        assert any(s.startswith("#1f78b4") for s in strokes), "no water line drawn"
        assert any(s.endswith("#d7191c") for s in strokes), "no whole-ore site drawn"
        assert frame.locator(".leaflet-control-layers").count() == 1
        assert frame.locator(".hgw-legend").count() == 1
        # tiles were blocked, so the offline note is shown and the layers still drew
        assert frame.locator(".hgw-offline-note").is_visible()

        # every headline figure is shown whole, none cut off with an ellipsis (the mercury range was)
        cut = page.locator('[data-testid="stMetricValue"]').evaluate_all(
            "els => els.filter(e => [e, ...e.querySelectorAll('*')].some(x => x.scrollWidth > x.clientWidth + 1))"
            ".map(e => e.innerText)")
        assert page.locator('[data-testid="stMetricValue"]').count() == 6 and not cut, f"cut off: {cut}"

        # panning and zooming stay in the browser: nothing goes back to the server (no rerun)
        inner = next(f for f in page.frames if "streamlit_folium" in f.url)
        page.wait_for_timeout(1500)
        before = len(sent)
        inner.evaluate("() => { map_div.panBy([250, 120], {animate: false}); map_div.zoomIn(1); }")
        page.wait_for_timeout(1500)
        assert len(sent) == before, "panning the map sent a message to the server"

        # the hostile name opens as text in its popup and never becomes an element
        opened = inner.evaluate("""id => { let hit = null;
            map_div.eachLayer(l => { if (l.hgwRow && l.hgwRow[3] === id && !hit) { hit = l; } });
            if (!hit) { return false; } map_div.setView(hit.getLatLng(), 15); hit.openPopup();
            return true; }""", hostile_id)
        assert opened, f"marker of {hostile_id} not found"
        popup = frame.locator(".leaflet-popup-content")
        popup.wait_for(timeout=10_000)
        assert XSS in popup.inner_text()
        assert popup.locator("img").count() == 0 and frame.locator("img[src='x']").count() == 0
        assert not dialogs, dialogs
        # the polyline decoder the lines travel through gives back the coordinates
        pts = [(6.0, -1.5), (6.123456, -1.654321), (-89.999999, 179.999999), (7.77, -2.5)]
        raw = polyline.encode(pts, 6)
        assert "{" in raw and "}" in raw  # the "!"/"#" stand-ins are exercised
        back = inner.evaluate("s => hgw.decode(s)", script_safe(raw))
        assert [tuple(p) for p in back] == pts
        page.wait_for_timeout(500)  # let the popup finish fading in for the screenshot
        page.screenshot(path=str(ARTIFACTS / "dashboard_map.png"), full_page=True)

        # the partner GeoJSON download of the violations is valid RFC 7946
        with page.expect_download(timeout=60_000) as info:
            page.get_by_role("button", name="Violations (geojson)").click()
        doc = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
        _check_rfc7946(doc)
        assert doc["hgwatch"]["profile"] == "partner"
        assert {lay["layer"] for lay in doc["hgwatch"]["layers"]} >= {"mining_sites",
                                                                     "water_bodies"}
        # a second visit renders the (cached) map again: one Map object is never re-rendered
        page.reload()
        again = map_frame(page)
        again.locator("path.leaflet-interactive").first.wait_for(timeout=60_000)
        assert again.locator("path.leaflet-interactive").count() >= 150

        # one overlay: the interpolated surface, its legend, downstream reaches and samples
        page.get_by_role("link", name="Contamination overlays").click()
        page.get_by_role("heading", name="Contamination overlays and exposure").wait_for(
            timeout=60_000)
        overlay = map_frame(page)
        overlay.locator(".hgw-surface-legend").first.wait_for(timeout=60_000)
        assert overlay.locator(".hgw-surface-legend").count() == 1
        surface = overlay.locator("img.leaflet-image-layer")
        assert surface.count() >= 1
        assert surface.first.evaluate("img => img.complete && img.naturalWidth > 0")
        assert overlay.locator("path.hgw-reach").count() > 0
        n_samples = len(Workspace(ws_path).read("samples"))
        assert overlay.locator("path.hgw-sample").count() == n_samples  # 180 on the demo
        # zoom to a water sample for the screenshot, so the 100 m surface cells show
        inner = next(f for f in page.frames if "streamlit_folium" in f.url and not f.is_detached()
                     and f.evaluate("() => !!document.querySelector('img.leaflet-image-layer')"))
        assert inner.evaluate("""() => { let hit = null;
            map_div.eachLayer(l => { const t = l.getTooltip && l.getTooltip();
                if (!hit && t && String(t.getContent()).includes('(water)')) { hit = l; } });
            if (hit) { map_div.setView(hit.getLatLng(), 11, {animate: false}); }
            return !!hit; }""")
        page.locator("iframe[title='streamlit_folium.st_folium']").scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "overlays.png"))
        browser.close()

    # Leaflet came from the app, as JavaScript; nothing but basemap tiles tried to leave
    leaflet_js = [u for u in mime if u.endswith("leaflet.js")]
    assert leaflet_js and "javascript" in mime[leaflet_js[0]]
    assert all("/app/static/vendor/" not in u or u in mime for u in log.allowed)
    assert [u for u in log.blocked if not is_tile(u)] == []
    assert any(is_tile(u) for u in log.blocked)  # the basemap was asked for, and refused
