"""The browser side of vector tiles: ``hgwVT.make(config)``, defined once per page.

It turns a ``render.map.vectortiles.VectorTiles`` configuration into a protomaps-leaflet grid layer
in the pane ``hgwTiles`` (above the basemap, below the SVG/canvas overlays). protomaps fetches and
caches the tiles; ``decode`` reads each tile once (its protocol buffers through npm ``pbf``'s
reader) into one typed array of points per tile and one small object per feature (protomaps' own
decoder read every feature five times and made five objects per point: about half of the 1.3 s
between the last tile's arrival and the map drawn at 100,000 sites + 100,000 segments went there and
to the garbage collector, against 0.1 s now; a JavaScript CPU profile of
``benchmarks/bench_map.py``'s page). Our painter draws the lines and polygons of each style
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
nearest feature under the pointer (points by their drawn size, each point of a multipoint, a ring
only on its band, then lines, then polygons; the topmost layer wins a tie), found in the decoded
tile's typed arrays (``near``, as protomaps' query finds it, without its object per vertex): its
chunk of popup values is fetched with one range request (or read from the page in the stand-alone
map) and shown through ``hgw.popup``, which escapes every value. A layer sets ``hgwDrawn`` once the tiles in view are
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
  // every point of ``fs`` (each of a multipoint's) stamped with its style's sprite, at whole
  // device pixels
  var stamp = function (ctx, fs, r, ps, dx, dy, scale) {
    var s = sprite(r, scale), c = s.canvas, h = s.half, w = ctx.canvas.width, top = ctx.canvas.height;
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    for (var j = 0; j < fs.length; j++) {
      var f = fs[j], parts = f.t.parts, xy = f.t.xy;
      for (var q = f.p0; q < f.p1; q++) {  // a point of a multipoint is a part of its own
        var v = 2 * parts[q];
        var x = Math.round((xy[v] * ps + dx) * scale) - h, y = Math.round((xy[v + 1] * ps + dy) * scale) - h;
        // a sprite wholly off this canvas (the features' test allows for the widest style) draws nothing
        if (x >= w || y >= top || x + 2 * h <= 0 || y + 2 * h <= 0) { continue; }
        ctx.drawImage(c, x, y);
      }
    }
    ctx.restore();
  };
  // the parts of a decoded feature (``decode``) added to a path (a context or a Path2D), scaled by
  // ``ps``. A line (not ``close``d) keeps a vertex only when it lies a pixel or more from the last
  // one kept (its last always), as Leaflet reduces a polyline's points before drawing it
  // (smoothFactor 1): at the first view of 100,000 river segments, whose vertices lie a third of
  // a pixel apart, stroking every vertex's round join took Skia 0.66 s of the tiles' raster, 0.34 s
  // with it (``benchmarks/bench_map.py``'s page, a devtools trace: SkCanvas::drawPath)
  var trace = function (path, f, ps, close) {
    var xy = f.t.xy, parts = f.t.parts;
    for (var q = f.p0; q < f.p1; q++) {
      var v = parts[q], e = parts[q + 1];
      if (v === e) { continue; }
      var x = xy[2 * v] * ps, y = xy[2 * v + 1] * ps;
      path.moveTo(x, y);
      for (v++; v < e; v++) {
        var nx = xy[2 * v] * ps, ny = xy[2 * v + 1] * ps;
        if (!close && v < e - 1 && (nx - x) * (nx - x) + (ny - y) * (ny - y) < 1) { continue; }
        path.lineTo(nx, ny);
        x = nx;
        y = ny;
      }
      if (close) { path.closePath(); }
    }
  };
  // overlapping polygons drawn as their union (the rule buffers): one path filled once (the
  // nonzero rule fills an overlap once, as the rings' winding is the tile format's), and the
  // outline of the union only: every outline stroked twice as wide on a scratch canvas, the
  // inside of the union erased from it, what is left copied on top
  var dissolve = function (ctx, fs, r, ps) {
    var path = new Path2D();
    fs.forEach(function (f) { trace(path, f, ps, true); });
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
      var f = feats[i], k = f.hgwRule;  // a data tile is painted into many display tiles
      if (k === undefined) {
        k = f.hgwRule = index[f.props.c + "|" + f.geomType];
        if (k === undefined) { k = f.hgwRule = -1; }
      }
      if (k < 0 || f.maxX * ps + po.x < minX || f.minX * ps + po.x > maxX
          || f.minY * ps + po.y > maxY || f.maxY * ps + po.y < minY) { continue; }
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
        for (var j = start; j < Math.min(fs.length, start + BATCH); j++) { trace(ctx, fs[j], ps, r.geom === 3); }
        if (r.fill && r.geom !== 2) { ctx.fill(); }
        if (r.width > 0) { ctx.stroke(); }
      }
    });
    ctx.restore();
  };
  // one feature of a decoded tile (``decode``): its parts are ``t.parts[p0 .. p1]`` (vertex
  // indices into ``t.xy``, x and y pairs, one more than the parts); ``geom`` and ``bbox`` are
  // protomaps' feature API (parts of {x, y}, made on first use; the click reads the typed arrays)
  var Feature = function (t, id, type, props, p0, p1, box) {
    this.id = id;
    this.geomType = type;
    this.props = props;
    this.t = t;
    this.p0 = p0;
    this.p1 = p1;
    this.minX = box[0]; this.minY = box[1]; this.maxX = box[2]; this.maxY = box[3];
    this.numVertices = t.parts[p1] - t.parts[p0];
    this.hgwRule = undefined;
    this.g = null;
  };
  Object.defineProperty(Feature.prototype, "geom", {get: function () {
    if (this.g) { return this.g; }
    var xy = this.t.xy, parts = this.t.parts, out = [];
    for (var q = this.p0; q < this.p1; q++) {
      var part = [];
      for (var v = parts[q]; v < parts[q + 1]; v++) { part.push({x: xy[2 * v], y: xy[2 * v + 1]}); }
      out.push(part);
    }
    this.g = out;
    return out;
  }});
  Object.defineProperty(Feature.prototype, "bbox", {get: function () {
    return {minX: this.minX, minY: this.minY, maxX: this.maxX, maxY: this.maxY};
  }});
  // a Mapbox Vector Tile as protomaps' parseTile gives it (per layer name, features {id,
  // geomType, geom, numVertices, bbox, props}, coordinates in ``size`` pixels per tile, with the
  // same arithmetic: scaled deltas summed), but each feature read once and its points kept in one
  // typed array per tile: parseTile decodes a feature's fields and properties five times and
  // makes five objects for a point, which (with the garbage collector) took most of the second
  // between the tiles' arrival and the map drawn at 100,000 sites. Features with the same tags
  // share their ``props`` (read only). Every protocol-buffers read (tags, varints, lengths,
  // strings, numbers, unknown fields skipped) is pbf's ``PbfReader`` (npm ``pbf``, pinned in
  // ``render.map.assets``); what is written here is the tile format's logic: which field is what,
  // and the geometry's commands (MoveTo, LineTo, ClosePath) walked into the typed arrays.
  // (@mapbox/vector-tile, the tile-format library over pbf, gives a feature's geometry only as an
  // object per vertex, ``loadGeometry``, or GeoJSON arrays, and its properties as an object per
  // feature: what this decoder exists to avoid.)
  var decode = function (data, size) {
    var pbf = new window.Pbf.PbfReader(new Uint8Array(data)), buf = pbf.buf, out = new Map();
    var t = {xy: new Float64Array(Math.max(64, buf.length)), parts: new Int32Array(Math.max(64, buf.length >> 1))};
    var nv = 0, np = 0;  // vertices and parts written
    var value = function (end) {  // the last field wins, as in pbf's reader
      var v = null;
      while (pbf.pos < end) {
        var tag = pbf.readVarint(), field = tag >>> 3;
        if (field === 1) { v = pbf.readString(); }
        else if (field === 2) { v = pbf.readFloat(); }
        else if (field === 3) { v = pbf.readDouble(); }
        else if (field === 4) { v = pbf.readVarint(true); }  // int64
        else if (field === 5) { v = pbf.readVarint(); }
        else if (field === 6) { v = pbf.readSVarint(); }
        else if (field === 7) { v = pbf.readBoolean(); }
        else { pbf.skip(tag); v = null; }
      }
      return v;
    };
    var grow = function (a, need) {
      if (need <= a.length) { return a; }
      var b = new a.constructor(Math.max(need, 2 * a.length));
      b.set(a);
      return b;
    };
    var box = [0, 0, 0, 0];
    // the geometry up to ``end`` (its commands and zigzag parameters, a packed uint32 field)
    // appended to t.xy and t.parts, its bbox in ``box``
    var geometry = function (end, scale) {
      var cmd = 1, count = 0, x = 0, y = 0, first = nv;
      var minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
      while (pbf.pos < end) {
        if (count <= 0) { var c = pbf.readVarint(); cmd = c & 7; count = c >> 3; }
        count--;
        if (cmd === 1 || cmd === 2) {
          x += pbf.readSVarint() * scale;
          y += pbf.readSVarint() * scale;
          if (x < minX) { minX = x; }
          if (x > maxX) { maxX = x; }
          if (y < minY) { minY = y; }
          if (y > maxY) { maxY = y; }
          if (cmd === 1 && nv > first) {  // a new part
            t.parts = grow(t.parts, np + 3);
            t.parts[++np] = nv;
          }
          t.xy = grow(t.xy, 2 * nv + 2);
          t.xy[2 * nv] = x;
          t.xy[2 * nv + 1] = y;
          nv++;
        } else if (cmd === 7) {
          var at = t.parts[np];  // the first point of this part, again
          t.xy = grow(t.xy, 2 * nv + 2);
          t.xy[2 * nv] = t.xy[2 * at];
          t.xy[2 * nv + 1] = t.xy[2 * at + 1];
          nv++;
        } else { throw new Error("unknown command " + cmd); }
      }
      box[0] = minX; box[1] = minY; box[2] = maxX; box[3] = maxY;
    };
    t.parts[0] = 0;
    while (pbf.pos < pbf.length) {
      var tag = pbf.readVarint();
      if (tag !== 26) { pbf.skip(tag); continue; }  // field 3 (a layer), length-delimited
      var end = pbf.readVarint() + pbf.pos, name = "", extent = 4096, keys = [], values = [], spans = [];
      while (pbf.pos < end) {  // keys and values follow the features: the features are read after
        var lt = pbf.readVarint(), field = lt >>> 3;
        if (field === 1) { name = pbf.readString(); }
        else if (field === 2) { var len = pbf.readVarint(); spans.push(pbf.pos, pbf.pos + len); pbf.pos += len; }
        else if (field === 3) { keys.push(pbf.readString()); }
        else if (field === 4) { values.push(value(pbf.readVarint() + pbf.pos)); }
        else if (field === 5) { extent = pbf.readVarint(); }
        else { pbf.skip(lt); }
      }
      var scale = size / extent, features = [], shared = new Map();
      for (var i = 0; i < spans.length; i += 2) {
        var id, type = 0, props = null, geom = -1;
        id = undefined;
        pbf.pos = spans[i];
        while (pbf.pos < spans[i + 1]) {
          var ft = pbf.readVarint(), ff = ft >>> 3;
          if (ff === 1) { id = pbf.readVarint(); }
          else if (ff === 2) {
            var tagEnd = pbf.readVarint() + pbf.pos, from = pbf.pos, n = tagEnd - from, tags = n;
            // the tags' bytes as the key of the props they make
            if (n <= 6) { for (var q = from; q < tagEnd; q++) { tags = tags * 256 + buf[q]; } }
            else { tags = String.fromCharCode.apply(null, buf.subarray(from, tagEnd)); }
            props = shared.get(tags);
            if (props === undefined) {
              props = {};
              shared.set(tags, props);
              while (pbf.pos < tagEnd) { var key = keys[pbf.readVarint()]; props[key] = values[pbf.readVarint()]; }
            }
            pbf.pos = tagEnd;
          } else if (ff === 3) { type = pbf.readVarint(); }
          else if (ff === 4) { geom = pbf.pos; pbf.skip(ft); }  // (the last one counts, as in pbf)
          else { pbf.skip(ft); }
        }
        var p0 = np;
        if (geom >= 0) {
          var after = pbf.pos;
          pbf.pos = geom;
          geometry(pbf.readVarint() + pbf.pos, scale);
          pbf.pos = after;
        } else {
          box[0] = box[1] = Infinity;
          box[2] = box[3] = -Infinity;
        }
        t.parts = grow(t.parts, np + 3);
        t.parts[++np] = nv;  // the end of the feature's last part
        features.push(new Feature(t, id, type, props || {}, p0, np, box));
      }
      out.set(name, features);
      pbf.pos = end;
    }
    return out;
  };
  // protomaps' PmtilesSource.get (older zooms' requests cancelled) with ``decode``
  var decoding = function (view) {
    var src = view.tileCache.source;
    if (!src.p || !src.p.getZxy || !src.zoomaborts) { return; }  // not the source this was written for
    src.get = function (c, size) {
      if (this.shouldCancelZooms) {
        this.zoomaborts = this.zoomaborts.filter(function (o) {
          if (o.z !== c.z) { o.controller.abort(); return false; }
          return true;
        });
      }
      var controller = new AbortController();
      this.zoomaborts.push({z: c.z, controller: controller});
      return this.p.getZxy(c.z, c.x, c.y, controller.signal).then(function (r) {
        return r ? decode(r.data, size) : new Map();
      });
    };
  };
  // protomaps-leaflet fetches and caches the tiles, ``decode`` decodes them, our painter draws them
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
  // the features of layer ``l`` under ``latlng`` within ``brush`` pixels, as protomaps'
  // ``queryTileFeaturesDebug`` finds them (the data tile under the click in each view; a point or a
  // line nearer than the brush at that tile's zoom, a polygon holding the click) but read from the
  // decoded tile's typed arrays, a feature's box first: protomaps' query measured every feature of
  // the tile through its ``geom``, made of an object per vertex for the whole tile on the first
  // click (the first click at 100,000 sites took 120-130 ms, a second one 40 ms). Each hit is
  // {feature} and, for a point feature, vertex (its point nearest the click: a multipoint's own),
  // x and y (the data tile, in the copy of the world clicked), z (its zoom) and size (its pixels)
  var near = function (l, latlng, brush) {
    var map = l._map, zoom = Math.round(map.getZoom()), hits = [];
    // the click in the world's unit square, with protomaps' arithmetic (so that a click on an edge
    // falls on the same side): spherical Mercator, R 6378137, latitudes within 85.0511287798
    var R = 6378137, top = R * Math.PI, d = Math.PI / 180;
    var sin = Math.sin(Math.max(Math.min(85.0511287798, latlng.lat), -85.0511287798) * d);
    var ux = (R * latlng.lng * d + top) / (top * 2), uy = 1 - (R * Math.log((1 + sin) / (1 - sin)) / 2 + top) / (top * 2);
    var world = ux > 1 ? Math.floor(ux) : 0;  // a copy of the world east of the first: the first's tiles
    ux -= world;
    l.views.forEach(function (view) {
      var dz = Math.min(zoom - view.levelDiff, view.maxDataLevel), b = brush / (1 << (zoom - dz));
      var cache = view.tileCache, size = cache.tileSize, zx = ux * (1 << dz), zy = uy * (1 << dz);
      var tx = Math.floor(zx), ty = Math.floor(zy), entry = cache.cache.get(tx + ":" + ty + ":" + dz);
      if (!entry || !entry.data || !entry.data.forEach) { return; }
      var cx = (zx - tx) * size, cy = (zy - ty) * size;
      entry.data.forEach(function (fs) {
        for (var i = 0; i < fs.length; i++) {
          var f = fs[i], reach = f.geomType === 3 ? 0 : b;
          if (f.minX - reach > cx || f.maxX + reach < cx || f.minY - reach > cy || f.maxY + reach < cy) {
            continue;
          }
          var xy = f.t.xy, parts = f.t.parts, best = Infinity, vertex = -1, q, v, d;
          if (f.geomType === 1) {  // each part's first point, as protomaps measures a point
            for (q = f.p0; q < f.p1; q++) {
              v = parts[q];
              d = Math.hypot(xy[2 * v] - cx, xy[2 * v + 1] - cy);
              if (d < best) { best = d; vertex = v; }
            }
            if (best < b) { hits.push({feature: f, vertex: vertex, x: tx + world * (1 << dz), y: ty, z: dz, size: size}); }
          } else if (f.geomType === 2) {
            for (q = f.p0; q < f.p1; q++) {
              for (v = parts[q]; v < parts[q + 1] - 1; v++) {
                d = toSegment(cx, cy, xy[2 * v], xy[2 * v + 1], xy[2 * v + 2], xy[2 * v + 3]);
                if (d < best) { best = d; }
              }
            }
            if (best < b) { hits.push({feature: f}); }
          } else if (inPolygon(cx, cy, f)) {
            hits.push({feature: f});
          }
        }
      });
    });
    return hits;
  };
  // the distance from (px, py) to the segment (ax, ay)-(bx, by)
  var toSegment = function (px, py, ax, ay, bx, by) {
    var dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy, k = 0;
    if (l2 > 0) { k = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / l2)); }
    return Math.hypot(px - ax - k * dx, py - ay - k * dy);
  };
  // protomaps' pointInPolygon on a decoded feature: a clockwise ring (on screen) is an exterior,
  // an anticlockwise one a hole of the exterior before it
  var inPolygon = function (px, py, f) {
    var xy = f.t.xy, parts = f.t.parts, inside = false;
    for (var q = f.p0; q < f.p1; q++) {
      var s = parts[q], e = parts[q + 1], area = 0, crossed = false;
      for (var i = s, j = e - 1; i < e; j = i++) {
        var xi = xy[2 * i], yi = xy[2 * i + 1], xj = xy[2 * j], yj = xy[2 * j + 1];
        area += xj * yi - xi * yj;
        if ((yi > py) !== (yj > py) && px < (xj - xi) * (py - yi) / (yj - yi) + xi) { crossed = !crossed; }
      }
      if (area < 0) {  // anticlockwise: a hole
        if (crossed) { inside = false; }
      } else {
        if (inside) { return true; }
        if (crossed) { inside = true; }
      }
    }
    return inside;
  };
  // where a picked point lies: vertex ``h.vertex`` of the data tile ``h`` (``near``)
  var pointAt = function (map, h) {
    var xy = h.feature.t.xy;
    return map.unproject(L.point((h.x + xy[2 * h.vertex] / h.size) * 256,
                                 (h.y + xy[2 * h.vertex + 1] / h.size) * 256), h.z);
  };
  var circle = function (cfg, cls) {
    var k = cfg.ruleIndex[cls + "|1"];
    return k === undefined ? {radius: 5, width: 1, fill: "x"} : cfg.rules[k];
  };
  // the feature under a click: points by their drawn size (a ring only on its band), then
  // lines within 4 or 8 pixels, then polygons; the topmost layer wins a tie
  // (``near``'s brush reaches 256 / tileSize of its pixels on screen, a quarter at level difference 2:
  // a last brush, for points only, reaches the largest drawn point and its band; without it a ring of
  // radius 10, clicked on its band, was never found, and its popup never opened)
  var pick = function (map, e) {
    var best = null, layers = [];
    map.eachLayer(function (l) { if (l.hgwCfg && l.hgwCfg.popup) { layers.push(l); } });
    layers.forEach(function (l, order) {
      var seen = {}, size = 256;
      l.views.forEach(function (view) { size = Math.max(size, view.tileCache.tileSize); });
      [4, 8, 16, Math.ceil((l.hgwCfg.buffer + 4) * size / 256)].forEach(function (brush, k) {
        near(l, e.latlng, brush).forEach(function (h) {
          var f = h.feature, key = String(f.id), score;
          if (f.id === undefined || seen[key] || (k === 3 && f.geomType !== 1)) { return; }
          seen[key] = true;
          if (f.geomType === 1) {
            var o = circle(l.hgwCfg, f.props.c), d = map.latLngToContainerPoint(
              pointAt(map, h)).distanceTo(e.containerPoint);
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
    decode: decode,
    near: near,
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
      layer.views.forEach(decoding);
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
