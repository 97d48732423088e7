"""The browser side of vector tiles: ``hgwVT.make(config)``, defined once per page.

It turns a ``render.map.vectortiles.VectorTiles`` configuration into a protomaps-leaflet grid
layer in the pane ``hgwTiles`` (above the basemap, below the SVG/canvas overlays), with paint
rules per style class, and answers clicks: the nearest feature under the pointer (points by
their drawn size, a ring only on its band, then lines, then polygons; the topmost layer wins a
tie), its chunk of popup values fetched with one range request (or read from the page in the
stand-alone map) and shown through ``hgw.popup``, which escapes every value. A layer sets
``hgwDrawn`` once the tiles in view are painted (tests and benchmarks wait for it).
"""
from __future__ import annotations

VECTOR_JS = r"""
window.hgwVT = window.hgwVT || (function () {
  var P = window.protomapsL;
  var filter = function (cls, geom) {
    return function (z, f) { return f.props.c === cls && f.geomType === geom; };
  };
  var rules = function (cfg) {
    return cfg.rules.map(function (r) {
      var sym = r.kind === "circle" ? new P.CircleSymbolizer(r.opts)
        : r.kind === "line" ? new P.LineSymbolizer(r.opts) : new P.PolygonSymbolizer(r.opts);
      return {dataLayer: cfg.layer, symbolizer: sym, filter: filter(r.cls, r.geom)};
    });
  };
  var b64 = function (text) {
    var raw = atob(text), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  };
  var rowsOf = function (cfg) {
    var cache = {}, inline = cfg.inline ? b64(cfg.inline.rows) : null;
    var text = function (bytes) { return new TextDecoder("utf-8").decode(bytes); };
    return function (chunk) {
      if (cache[chunk]) { return cache[chunk]; }
      var a = cfg.offsets[chunk], b = cfg.offsets[chunk + 1];
      cache[chunk] = inline ? Promise.resolve(JSON.parse(text(inline.subarray(a, b))))
        : fetch(cfg.url + "/" + cfg.rowsFile, {headers: {Range: "bytes=" + a + "-" + (b - 1)}})
          .then(function (r) {
            if (!r.ok) { throw new Error("rows " + r.status); }
            return r.arrayBuffer().then(function (buf) {
              var bytes = new Uint8Array(buf);
              return JSON.parse(text(r.status === 206 ? bytes : bytes.subarray(a, b)));
            });
          });
      return cache[chunk];
    };
  };
  var source = function (cfg) {
    if (!cfg.inline) { return cfg.url + "/" + cfg.tilesFile; }
    var bytes = b64(cfg.inline.tiles);
    return new window.pmtiles.PMTiles({
      getKey: function () { return cfg.url; },
      getBytes: function (offset, length) {
        return Promise.resolve({data: bytes.buffer.slice(offset, offset + length)});
      }
    });
  };
  // where a picked point feature lies: its data tile is the one under the click
  var pointAt = function (l, f, latlng) {
    var map = l._map, cfg = l.hgwCfg;
    var dz = Math.max(0, Math.min(Math.round(map.getZoom()) - cfg.levelDiff, cfg.maxZoom));
    var p = map.project(latlng, dz), size = 256 << cfg.levelDiff, g = f.geom[0][0];
    var tx = Math.floor(p.x / 256), ty = Math.floor(p.y / 256);
    return map.unproject(L.point((tx + g.x / size) * 256, (ty + g.y / size) * 256), dz);
  };
  var circle = function (cfg, cls) {
    for (var i = 0; i < cfg.rules.length; i++) {
      var r = cfg.rules[i];
      if (r.geom === 1 && r.cls === cls) { return r.opts; }
    }
    return {radius: 5, width: 1, fill: ""};
  };
  // the feature under a click: points by their drawn size (a ring only on its band), then
  // lines within 4 or 8 pixels, then polygons; the topmost layer wins a tie
  var pick = function (map, e) {
    var best = null, layers = [];
    map.eachLayer(function (l) { if (l.hgwCfg && l.hgwCfg.popup) { layers.push(l); } });
    layers.forEach(function (l, order) {
      var seen = {};
      [4, 8, 16].forEach(function (brush) {
        l.queryTileFeaturesDebug(e.latlng.lng, e.latlng.lat, brush).forEach(function (hits) {
          hits.forEach(function (h) {
            var f = h.feature, key = String(f.id), score;
            if (f.id === undefined || seen[key]) { return; }
            seen[key] = true;
            if (f.geomType === 1) {
              var o = circle(l.hgwCfg, f.props.c), d = map.latLngToContainerPoint(
                pointAt(l, f, e.latlng)).distanceTo(e.containerPoint);
              var ring = o.fill === "rgba(0,0,0,0)";
              if (ring ? (d < o.radius - 3 || d > o.radius + o.width + 3) : d > o.radius + o.width + 3) { return; }
              score = ring ? Math.abs(d - o.radius - o.width / 2) : d;
            } else {
              score = f.geomType === 2 ? 20 + brush : 40;
            }
            if (!best || score < best.score || (score === best.score && order > best.order)) {
              best = {layer: l, id: Number(f.id), score: score, order: order};
            }
          });
        });
      });
    });
    return best;
  };
  var click = function (e) {
    var map = this;
    // the popup of the preceding click closed on "preclick": an open one was opened by a
    // row-based layer (a violation ring, say) for this very click, and wins
    if (map._popup && map._popup.isOpen()) { return; }
    var found = pick(map, e);
    if (!found) { return; }
    var cfg = found.layer.hgwCfg, id = found.id;
    found.layer.hgwRows(Math.floor(id / cfg.chunk)).then(function (rows) {
      var html = hgw.popup(cfg.popup, rows[id % cfg.chunk]);
      L.popup({maxWidth: 340}).setLatLng(e.latlng).setContent(html).openOn(map);
      map.hgwLastPopup = {layer: cfg.layer, id: id};
    }).catch(function (err) { console.error(err); });
  };
  return {
    make: function (cfg) {
      var layer = P.leafletLayer({url: source(cfg), paintRules: rules(cfg), labelRules: [],
        maxDataZoom: cfg.maxZoom, levelDiff: cfg.levelDiff, pane: "hgwTiles",
        attribution: "", maxZoom: 22});
      layer.hgwCfg = cfg;
      layer.hgwRows = rowsOf(cfg);
      layer.on("load", function () { layer.hgwDrawn = true; });
      layer.on("loading", function () { layer.hgwDrawn = false; });
      layer.beforeAdd = function (map) {
        if (!map.getPane("hgwTiles")) {
          var pane = map.createPane("hgwTiles");
          pane.style.zIndex = cfg.paneZ;
          pane.style.pointerEvents = "none";
        }
        if (!map.hgwClick) {
          map.hgwClick = true;
          map.on("click", click, map);
        }
        return this;
      };
      return layer;
    }
  };
})();
"""
