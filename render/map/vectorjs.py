"""The browser side of vector tiles: ``hgwVT.make(config)``, defined once per page.

It turns a ``render.map.vectortiles.VectorTiles`` configuration into a protomaps-leaflet grid
layer in the pane ``hgwTiles`` (above the basemap, below the SVG/canvas overlays). protomaps
fetches, decodes and caches the tiles; our painter draws the lines and polygons of each style
class in paths of 64, each filled and stroked once (protomaps' own symbolizers stroke every
feature on its own), and stamps points: each point style is drawn once into a small canvas
(fill, then the stroke centred on the radius, its dash starting afresh on every circle, as
Leaflet draws a circle marker) and copied to every point at whole device pixels. Skia
rasterising the arcs of 100,000 sites took 1.5 s of the first draw, the copies 0.45 s
(``benchmarks/bench_map.py --trace``: the tile canvases' ``FinalizeFrame``); laying the sprites'
premultiplied pixels onto a tile buffer in JavaScript instead (one putImageData per tile) was
slower in Chromium (first map 3.28 s against 2.91 s), so the copies stay drawImage calls. The
archive's first bytes (``cfg.head``) answer pmtiles' header read, so the tile requests go out as
soon as the layer is added. A click opens the popup of the
nearest feature under the pointer (points by their drawn size, a ring only on its band, then
lines, then polygons; the topmost layer wins a tie): its chunk of popup values is fetched with
one range request (or read from the page in the stand-alone map) and shown through
``hgw.popup``, which escapes every value. A layer sets ``hgwDrawn`` once the tiles in view are
painted (tests and benchmarks wait for it).
"""
from __future__ import annotations

VECTOR_JS = r"""
window.hgwVT = window.hgwVT || (function () {
  var P = window.protomapsL;
  // the features of one style class and geometry kind in paths of BATCH, each filled and
  // stroked once (Leaflet's look: the stroke is centred on the radius)
  var BATCH = 64;  // features per canvas path
  // a point style drawn once at ``scale`` device pixels per CSS pixel: {canvas, half}
  var sprite = function (r, scale) {
    var key = "sprite" + scale;
    if (r[key]) { return r[key]; }
    var half = Math.ceil((r.radius + r.width) * scale) + 1;
    // an ImageBitmap where there is one: a canvas source is snapshotted at every copy
    var c = window.OffscreenCanvas ? new OffscreenCanvas(2 * half, 2 * half) : document.createElement("canvas");
    c.width = c.height = 2 * half;
    var g = c.getContext("2d");
    g.setTransform(scale, 0, 0, scale, half, half);
    g.beginPath();
    g.arc(0, 0, r.radius, 0, 2 * Math.PI);
    if (r.fill) { g.fillStyle = r.fill; g.fill(); }
    if (r.width > 0) {
      g.strokeStyle = r.stroke;
      g.lineWidth = r.width;
      g.setLineDash(r.dash || []);
      g.stroke();
    }
    r[key] = {canvas: c.transferToImageBitmap ? c.transferToImageBitmap() : c, half: half};
    return r[key];
  };
  // every point of ``fs`` stamped with its style's sprite, at whole device pixels
  var stamp = function (ctx, fs, r, ps, dx, dy, scale) {
    var s = sprite(r, scale), c = s.canvas, h = s.half, w = ctx.canvas.width, top = ctx.canvas.height;
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    for (var j = 0; j < fs.length; j++) {
      var p = fs[j].geom[0][0];
      var x = Math.round((p.x * ps + dx) * scale) - h, y = Math.round((p.y * ps + dy) * scale) - h;
      // a sprite wholly off this canvas (the features' test allows for the widest style) draws nothing
      if (x >= w || y >= top || x + 2 * h <= 0 || y + 2 * h <= 0) { continue; }
      ctx.drawImage(c, x, y);
    }
    ctx.restore();
  };
  // overlapping polygons drawn as their union (the rule buffers): one path filled once (the
  // nonzero rule fills an overlap once, as the rings' winding is the tile format's), and the
  // outline of the union only: every outline stroked twice as wide on a scratch canvas, the
  // inside of the union erased from it, what is left copied on top
  var dissolve = function (ctx, fs, r, ps) {
    var path = new Path2D();
    fs.forEach(function (f) {
      f.geom.forEach(function (part) {
        path.moveTo(part[0].x * ps, part[0].y * ps);
        for (var v = 1; v < part.length; v++) { path.lineTo(part[v].x * ps, part[v].y * ps); }
        path.closePath();
      });
    });
    if (r.fill) {
      ctx.fillStyle = r.fill;
      ctx.fill(path);
    }
    if (!(r.width > 0)) { return; }
    var scratch = document.createElement("canvas");
    scratch.width = ctx.canvas.width;
    scratch.height = ctx.canvas.height;
    var g = scratch.getContext("2d");
    g.setTransform(ctx.getTransform());
    g.lineJoin = "round";
    g.strokeStyle = r.stroke;
    g.lineWidth = 2 * r.width;
    g.setLineDash(r.dash || []);
    g.stroke(path);
    g.globalCompositeOperation = "destination-out";
    g.fill(path);
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(scratch, 0, 0);
    ctx.restore();
  };
  var paintTile = function (ctx, coords, tile, cfg, scale) {
    var feats = tile.data.get(cfg.layer) || [], ps = tile.scale, po = tile.origin;
    var buf = cfg.buffer, minX = 256 * coords.x - buf, minY = 256 * coords.y - buf;
    var maxX = 256 * (coords.x + 1) + buf, maxY = 256 * (coords.y + 1) + buf;
    var index = cfg.ruleIndex, buckets = cfg.rules.map(function () { return []; });
    for (var i = 0; i < feats.length; i++) {
      var f = feats[i], b = f.bbox, k = f.hgwRule;  // a data tile is painted into many display tiles
      if (k === undefined) {
        k = f.hgwRule = index[f.props.c + "|" + f.geomType];
        if (k === undefined) { k = f.hgwRule = -1; }
      }
      if (k < 0 || b.maxX * ps + po.x < minX || b.minX * ps + po.x > maxX
          || b.minY * ps + po.y > maxY || b.maxY * ps + po.y < minY) { continue; }
      buckets[k].push(f);
    }
    var dx = po.x - 256 * coords.x, dy = po.y - 256 * coords.y;
    ctx.save();
    ctx.translate(dx, dy);
    ctx.lineJoin = "round";
    ctx.lineCap = "round";
    cfg.rules.forEach(function (r, k) {
      var fs = buckets[k];
      if (!fs.length) { return; }
      if (r.geom === 1) {
        stamp(ctx, fs, r, ps, dx, dy, scale);
        return;
      }
      if (r.dissolve) {
        dissolve(ctx, fs, r, ps);
        return;
      }
      if (r.fill && r.geom !== 2) { ctx.fillStyle = r.fill; }
      ctx.strokeStyle = r.stroke;
      ctx.lineWidth = r.width;
      ctx.setLineDash(r.dash || []);
      // a few hundred features per path: one path of 50,000 makes Skia's rasteriser crawl
      for (var start = 0; start < fs.length; start += BATCH) {
        ctx.beginPath();
        for (var j = start; j < Math.min(fs.length, start + BATCH); j++) {
          var g = fs[j].geom;
          for (var q = 0; q < g.length; q++) {
            var part = g[q];
            ctx.moveTo(part[0].x * ps, part[0].y * ps);
            for (var v = 1; v < part.length; v++) { ctx.lineTo(part[v].x * ps, part[v].y * ps); }
            if (r.geom === 3) { ctx.closePath(); }
          }
        }
        if (r.fill && r.geom !== 2) { ctx.fill(); }
        if (r.width > 0) { ctx.stroke(); }
      }
    });
    ctx.restore();
  };
  // protomaps-leaflet fetches, decodes and caches the tiles; our painter draws them
  var renderTile = function (coords, element, key, done) {
    var self = this, cfg = this.hgwCfg, views = [];
    this.lastRequestedZ = coords.z;
    this.views.forEach(function (view) { views.push(view.getDisplayTile(coords)); });
    return Promise.all(views).then(function (tiles) {
      if (element.key !== key || self.lastRequestedZ !== coords.z || !self._map) { return; }
      element.width = self.tileSize;
      element.height = self.tileSize;
      var ctx = element.getContext("2d");
      ctx.setTransform(self.tileSize / 256, 0, 0, self.tileSize / 256, 0, 0);
      ctx.clearRect(0, 0, 256, 256);
      tiles.forEach(function (tile) { paintTile(ctx, coords, tile, cfg, self.tileSize / 256); });
      if (done) { done(); }
    }, function (err) { if (err.name !== "AbortError") { console.error(err); } });
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
  // the archive's header and root directory come with the page (``cfg.head``): pmtiles' first
  // read (offset 0, 16 KiB, of which it uses only those) is answered from them, and the tile
  // requests go out at once
  var headFirst = function (view, cfg) {
    var src = view.tileCache.source.p.source, get = src.getBytes.bind(src), head = b64(cfg.head);
    src.getBytes = function (offset, length, signal, etag) {
      if (offset !== 0) { return get(offset, length, signal, etag); }
      return Promise.resolve({data: head.buffer.slice(0, Math.min(length, head.length))});
    };
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
    var k = cfg.ruleIndex[cls + "|1"];
    return k === undefined ? {radius: 5, width: 1, fill: "x"} : cfg.rules[k];
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
              var ring = !o.fill, edge = o.width / 2 + 3;
              if (ring ? Math.abs(d - o.radius) > edge : d > o.radius + edge) { return; }
              score = ring ? Math.abs(d - o.radius) : d;
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
    openTiled(map, found, e.latlng);
  };
  var openTiled = function (map, found, latlng, replacing) {
    var cfg = found.layer.hgwCfg, id = found.id;
    found.layer.hgwRows(Math.floor(id / cfg.chunk)).then(function (rows) {
      var html = hgw.popup(cfg.popup, rows[id % cfg.chunk]);
      if (replacing) { map.closePopup(replacing); }
      L.popup({maxWidth: 340}).setLatLng(latlng).setContent(html).openOn(map);
      map.hgwLastPopup = {layer: cfg.layer, id: id};
    }).catch(function (err) { console.error(err); });
  };
  // an area drawn as rows (an admin unit, a zone, a licence) takes the click first and stops it
  // there; when a tiled point or line lies under that click, the smaller feature is what the
  // user aimed at, so its popup replaces the area's
  var areaOpened = function (ev) {
    var map = this, latlng = ev.popup.getLatLng();
    if (!(ev.popup._source instanceof L.Polygon) || !latlng) { return; }
    var found = pick(map, {latlng: latlng, containerPoint: map.latLngToContainerPoint(latlng)});
    if (found && found.score < 40) { openTiled(map, found, latlng, ev.popup); }
  };
  return {
    make: function (cfg) {
      var layer = P.leafletLayer({url: source(cfg), paintRules: [], labelRules: [],
        maxDataZoom: cfg.maxZoom, levelDiff: cfg.levelDiff, pane: "hgwTiles",
        attribution: "", maxZoom: 22});
      cfg.ruleIndex = {};
      cfg.buffer = 4;
      cfg.rules.forEach(function (r, k) {
        cfg.ruleIndex[r.cls + "|" + r.geom] = k;
        cfg.buffer = Math.max(cfg.buffer, (r.radius || 0) + r.width);
      });
      if (cfg.head && !cfg.inline) { layer.views.forEach(function (view) { headFirst(view, cfg); }); }
      layer.hgwCfg = cfg;
      layer.renderTile = renderTile;
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
          map.on("popupopen", areaOpened, map);
        }
        return this;
      };
      return layer;
    }
  };
})();
"""
