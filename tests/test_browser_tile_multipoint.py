"""A tiled layer's multipoint features in headless Chromium: every point of a multipoint is drawn
(its style's fill at the point's centre) and a click on any of them opens that feature's popup,
not only on its first point. Hand-made features at known places, a stand-alone page (the
archive inside it), no basemap, no server."""
from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from PIL import Image

from render.map.assets import VENDOR_DIR, installed
from render.map.elements import BlankBase, offline_map
from render.map.popups import popup_spec
from render.map.standalone import standalone_html
from render.map.tiles import TileStore, Zooms, tippecanoe_path
from render.map.vectortiles import VectorTiles, paint_rules
from tests.browser_harness import CHROMIUM, launch

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() or not installed() or not installed(VENDOR_DIR, "protomaps-leaflet")
    or tippecanoe_path() is None,
    reason="needs /usr/bin/chromium, static/vendor and tippecanoe (`make test`)")

FOLIUM_MAP = "() => window[Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map)]"
STYLES = {"pt": {"color": "#0000ff", "fillColor": "#ff0000", "fillOpacity": 1.0, "radius": 5, "weight": 1},
          "ln": {"color": "#00ff00", "weight": 4},
          "pg": {"color": "#0000ff", "fillColor": "#0000ff", "fillOpacity": 1.0, "weight": 1}}
KIND = {"pt": 1, "ln": 2, "pg": 3}
# three multipoints (points 0.1 degree apart, ~36 pixels at zoom 9) and a point, named
MULTI = {"M-west": [(-2.0, 6.0), (-1.9, 6.1), (-1.8, 5.9)],
         "M-east": [(-1.2, 6.0), (-1.1, 6.0), (-1.0, 6.0), (-0.9, 6.0)],
         "M-south": [(-1.6, 5.5), (-1.5, 5.4)]}
SINGLE = {"P-one": (-1.5, 6.2)}


def multipoint_frame() -> tuple[gpd.GeoDataFrame, pd.Series]:
    """The named multipoints and point above, all of class ``pt``."""
    names = [*MULTI, *SINGLE]
    geoms = [shapely.MultiPoint(p) for p in MULTI.values()] + [shapely.Point(p) for p in SINGLE.values()]
    frame = gpd.GeoDataFrame({"name": names}, geometry=geoms, crs=4326)
    return frame, pd.Series(["pt"] * len(names))


def tile_page(tmp: Path, shapes: tuple[gpd.GeoDataFrame, pd.Series], center: tuple[float, float] = (5.8, -1.5),
              popup: bool = True) -> Path:
    """A stand-alone map (archive inside the page, no basemap) of ``shapes`` (a ``name`` column,
    classes of ``STYLES``) at display zoom 9; a click opens a popup with the name."""
    frame, classes = shapes
    fields = [["name", "Name", ""]] if popup else []
    bundle = TileStore(tmp / "tiles", "/app/static/tiles").bundle(
        frame, name="shapes", classes=classes, fields=fields, zooms=Zooms.for_view(9))
    present = {(c, KIND[c]) for c in set(classes)}
    m = offline_map(location=list(center), zoom_start=9)
    BlankBase(show=True).add_to(m)
    VectorTiles(bundle, layer="shapes", rules=paint_rules(STYLES, list(STYLES), present),
                popup=popup_spec("Feature", fields) if popup else None, name="shapes").add_to(m)
    doc = tmp / "map.html"
    doc.write_text(standalone_html(m), encoding="utf-8")
    return doc


def open_page(p, doc: Path):
    """Chromium on ``doc`` (every non-file request refused), once its tiles are drawn."""
    browser = launch(p)
    page = browser.new_page(viewport={"width": 900, "height": 700})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
    page.goto(doc.as_uri())
    page.wait_for_function(FOLIUM_MAP)
    page.evaluate(f"() => {{ window.map_div = ({FOLIUM_MAP})(); }}")
    page.wait_for_function("""() => { let n = 0, done = 0; map_div.eachLayer(l => { if (l.hgwCfg) {
        n++; if (l.hgwDrawn) done++; } }); return n > 0 && n === done; }""", timeout=60_000)
    page.wait_for_timeout(600)  # Leaflet's tile fade-in (0.2 s) over
    return browser, page, errors


def container_points(page, lonlats: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The map's container pixels of ``lonlats``."""
    at = page.evaluate("pts => pts.map(([lon, lat]) => map_div.latLngToContainerPoint([lat, lon]))", lonlats)
    return [(a["x"], a["y"]) for a in at]


def test_every_point_of_a_multipoint_is_drawn(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    doc = tile_page(tmp_path, multipoint_frame(), popup=False)
    points = [pt for pts in MULTI.values() for pt in pts] + list(SINGLE.values())
    with sync_playwright() as p:
        browser, page, errors = open_page(p, doc)
        at = container_points(page, points)
        shot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
        browser.close()
    assert not errors, errors
    px = {pt: shot.getpixel((round(x), round(y))) for pt, (x, y) in zip(points, at, strict=True)}
    assert [pt for pt, c in px.items() if c != (255, 0, 0)] == [], px  # every point's fill at its centre
    # and not everywhere: half-way between two points of a multipoint is empty
    (x0, y0), (x1, y1) = at[3], at[4]
    assert shot.getpixel((round((x0 + x1) / 2), round((y0 + y1) / 2))) != (255, 0, 0)


def test_a_click_on_any_point_of_a_multipoint_opens_its_popup(tmp_path: Path) -> None:
    from playwright.sync_api import TimeoutError as NoPopup
    from playwright.sync_api import sync_playwright

    doc = tile_page(tmp_path, multipoint_frame())
    wanted = [(name, pt) for name, pts in MULTI.items() for pt in pts] + list(SINGLE.items())
    got: list[tuple[str, str]] = []
    with sync_playwright() as p:
        browser, page, errors = open_page(p, doc)
        for (name, _), (x, y) in zip(wanted, container_points(page, [pt for _, pt in wanted]), strict=True):
            page.locator(".leaflet-container").click(position={"x": x + 2, "y": y - 1})  # on the sprite
            popup = page.locator(".leaflet-popup-content")
            try:
                popup.wait_for(timeout=3_000)
                got.append((name, popup.inner_text()))
            except NoPopup:  # recorded as such
                got.append((name, ""))
            page.evaluate("() => { map_div.closePopup(); }")
            popup.wait_for(state="detached", timeout=3_000)
        browser.close()
    assert not errors, errors
    assert [name for name, text in got if name not in text] == [], got
