"""What a click on a tiled layer finds (``near`` in ``render.map.vectorjs``) in headless Chromium:
on a grid of clicks over an archive of points, multipoints, lines, multilines, a polygon with a
hole and a multipolygon, at two zooms and the three brush sizes, the same features as
protomaps-leaflet's own query (``queryTileFeaturesDebug``) finds; and a click reads the decoded
tile's typed arrays, building no per-vertex ``geom`` for the tile's features (protomaps' query
built it for every feature of the tile on the first click: 120-130 ms at 100,000 sites)."""
from __future__ import annotations

from pathlib import Path

from tests import test_browser_tile_multipoint as multipoint
from tests.test_browser_tile_decode import _frame
from tests.test_browser_tile_multipoint import open_page, tile_page

pytestmark = multipoint.pytestmark  # Chromium, the assets and tippecanoe

LAYER = "() => { let l; map_div.eachLayer(k => { if (k.hgwCfg) l = k; }); return l; }"


def _shapes():  # the decoder test's mixed shapes, named by row
    frame, classes = _frame()
    frame["name"] = [f"F{i}" for i in frame["n"]]
    return frame, classes


def test_near_finds_what_protomaps_finds(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    doc = tile_page(tmp_path, _shapes())
    with sync_playwright() as p:
        browser, page, errors = open_page(p, doc)
        out = []
        for zoom in (9, 11):
            page.evaluate("z => map_div.setView([5.8, -1.5], z, {animate: false})", zoom)
            page.wait_for_function("""() => { let d = true; map_div.eachLayer(l => { if (l.hgwCfg && !l.hgwDrawn)
                d = false; }); return d; }""", timeout=30_000)
            out.append(page.evaluate(f"""() => {{ const l = ({LAYER})(), size = map_div.getSize(), res = {{
                clicks: 0, hits: 0, kinds: {{}}, differ: []}};
              for (let x = 0; x < size.x; x += 6) for (let y = 0; y < size.y; y += 6) {{
                const ll = map_div.containerPointToLatLng([x, y]);
                for (const b of [4, 8, 16]) {{
                  const ours = hgwVT.near(l, ll, b).map(h => h.feature.id).sort((a, c) => a - c);
                  const theirs = [];
                  l.queryTileFeaturesDebug(ll.lng, ll.lat, b).forEach(hs => hs.forEach(h => {{
                    theirs.push(h.feature.id); res.kinds[h.feature.geomType] = 1; }}));
                  theirs.sort((a, c) => a - c);
                  res.clicks++; res.hits += theirs.length;
                  if (JSON.stringify(ours) !== JSON.stringify(theirs)) res.differ.push([x, y, b, ours, theirs]);
                }}
              }}
              return res; }}"""))
        browser.close()
    assert not errors, errors
    for res in out:
        assert res["differ"] == [], res["differ"][:10]
        assert res["hits"] > 100, res  # (the grid hits something)
    assert set(out[0]["kinds"]) | set(out[1]["kinds"]) == {"1", "2", "3"}, out


def test_a_click_builds_no_geometry_objects(tmp_path: Path) -> None:
    """Clicks on a line, the polygon and a point open their popups, and afterwards no feature of
    the cached tiles has made its per-vertex ``geom``."""
    from playwright.sync_api import sync_playwright

    doc = tile_page(tmp_path, _shapes())
    aims = {"F21": (-1.5, 5.8), "F23": (-1.8, 5.45), "F0": (-2.0, 6.0)}  # the line, the polygon, a point
    with sync_playwright() as p:
        browser, page, errors = open_page(p, doc)
        texts = {}
        for name, (lon, lat) in aims.items():
            xy = page.evaluate("([lat, lon]) => map_div.latLngToContainerPoint([lat, lon])", [lat, lon])
            page.locator(".leaflet-container").click(position={"x": xy["x"], "y": xy["y"]})
            popup = page.locator(".leaflet-popup-content")
            popup.wait_for(timeout=10_000)
            texts[name] = popup.inner_text()
            page.evaluate("() => { map_div.closePopup(); }")
            popup.wait_for(state="detached", timeout=3_000)
        built = page.evaluate(f"""() => {{ const l = ({LAYER})(); let n = 0, made = 0;
            l.views.forEach(v => v.tileCache.cache.forEach(e => e.data.forEach(fs => fs.forEach(f => {{
              n++; if (f.g) made++; }})))); return [n, made]; }}""")
        browser.close()
    assert not errors, errors
    assert all(name in text for name, text in texts.items()), texts
    assert built[0] > 0 and built[1] == 0, built
