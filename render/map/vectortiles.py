"""Large layers drawn as vector tiles: protomaps-leaflet reading the PMTiles of ``render.map.tiles``.

Each tiled layer is one Leaflet grid layer in its own pane, above the basemap and below the
SVG/canvas overlays (violation rings stay on top). Styles are the same Leaflet path options as
the row-based layers, turned into protomaps symbolizers per style class. A click opens the
popup of the feature under the pointer (``render.map.vectorjs``), its values fetched only then
and escaped by ``hgw.popup``. Nothing is loaded from outside the app: the scripts come from
``static/vendor``.
"""
from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from geo.rules import LINE_COLUMN
from layers.catalogue import CATALOGUE, LayerSpec
from layers.io.violations import VIOLATION_SPEC
from layers.store.visibility import shared_rows
from render.map import assets
from render.map import symbology as sym
from render.map.elements import script_json
from render.map.popups import SUBJECT_NAME, popup_fields, popup_spec
from render.map.tiles import CHUNK, PMTILES, ROWS, Bundle, Job, TileStore, Zooms, build_all
from render.map.vectorjs import VECTOR_JS

PANE_Z = 350  # between Leaflet's tilePane (200) and overlayPane (400)
HEAD_BYTES = 16_384  # what pmtiles fetches first: the header and the root directory



def archive_head(path: Path) -> bytes:
    """The first bytes of a PMTiles v3 archive up to the end of its root directory (the 127-byte
    header gives the directory's offset and length, little-endian, at bytes 8 and 16); at most
    ``HEAD_BYTES``, the first read of pmtiles, which the root directory always lies within."""
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    if len(head) < 24 or head[:7] != b"PMTiles":
        return head
    end = int.from_bytes(head[8:16], "little") + int.from_bytes(head[16:24], "little")
    return head[:min(end, HEAD_BYTES)]


class VectorTiles(JSCSSMixin, Layer):
    """One tiled layer: a protomaps-leaflet grid layer over a ``render.map.tiles.Bundle``.

    Parameters
    ----------
    bundle : the built archive and rows file.
    layer : the archive's layer name.
    rules : paint rules (``paint_rules``), drawn in this order.
    popup : ``{"title": ..., "fields": [...]}`` for ``hgw.popup``, or None for no popup.
    name : the name in the layer switcher.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        """ + VECTOR_JS + """
        var {{ this.get_name() }} = hgwVT.make({{ this.config_json }});
        {% endmacro %}
    """)

    def __init__(self, bundle: Bundle, *, layer: str, rules: list[dict[str, Any]],
                 popup: dict[str, Any] | None, name: str, show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "VectorTiles"
        self.bundle = bundle
        self.config: dict[str, Any] = {
            "url": bundle.url, "tilesFile": PMTILES, "rowsFile": ROWS, "layer": layer,
            "rules": rules, "popup": popup, "offsets": list(bundle.offsets), "chunk": CHUNK,
            "maxZoom": bundle.zooms.max_zoom, "levelDiff": bundle.zooms.level_diff,
            "paneZ": PANE_Z, "features": bundle.features}
        # the archive's header and root directory (what pmtiles reads first) travel with the page:
        # the tile requests start at once instead of after a round trip for them
        self.config["head"] = base64.b64encode(archive_head(bundle.path / PMTILES)).decode("ascii")
        self.default_js = assets.js_urls("protomaps-leaflet")
        self.default_css = []

    @property
    def config_json(self) -> str:
        """The layer's configuration as script-safe JSON (``elements.script_json``)."""
        return script_json(self.config)

    def inline(self) -> None:
        """Carry the archive and the rows inside the page (base64), for the stand-alone map."""
        self.config["url"] = f"inline:{self.bundle.key}"  # a cache key only: nothing is fetched
        self.config.pop("head", None)  # the whole archive is in the page
        self.config["inline"] = {
            "tiles": base64.b64encode((self.bundle.path / PMTILES).read_bytes()).decode("ascii"),
            "rows": base64.b64encode((self.bundle.path / ROWS).read_bytes()).decode("ascii")}

    def _get_self_bounds(self) -> list[list[float | None]]:
        return [[None, None], [None, None]]


def _rgba(colour: object, alpha: object) -> str:
    """``#rrggbb`` and an opacity as a CSS ``rgba()`` colour (other colours pass unchanged)."""
    text, a = str(colour), float(alpha) if isinstance(alpha, (int, float)) else 1.0
    if len(text) == 7 and text.startswith("#"):
        r, g, b = (int(text[i:i + 2], 16) for i in (1, 3, 5))
        return f"rgba({r},{g},{b},{a:g})"
    return text


def _dash(style: dict[str, object]) -> list[float] | None:
    text = str(style.get("dashArray") or "").replace(",", " ").split()
    return [float(v) for v in text] or None


GEOM_KIND = {"Point": 1, "MultiPoint": 1, "LineString": 2, "MultiLineString": 2,
             "Polygon": 3, "MultiPolygon": 3}


# GEOM_KIND by shapely type id (Point, LineString, LinearRing, Polygon, MultiPoint, MultiLineString,
# MultiPolygon, GeometryCollection)
KIND_BY_TYPE_ID = np.array([1, 2, 0, 3, 1, 2, 3, 0])


def _present(classes: pd.Series, geoms: np.ndarray) -> set[tuple[str, int]]:
    """The (style class, ``GEOM_KIND``) pairs of a layer, as whole columns (a set of the zipped
    rows took 0.2 s for the 300,000 tiled features of the national map)."""
    codes, uniques = pd.factorize(classes.astype(str).to_numpy())  # a missing class (-1) has no rule
    kinds = KIND_BY_TYPE_ID[shapely.get_type_id(geoms)]
    pairs = np.unique(codes.astype(np.int64) * 8 + kinds)
    pairs = pairs[pairs >= 0]
    return {(str(uniques[p // 8]), int(p % 8)) for p in pairs}


def paint_rules(styles: dict[str, dict[str, object]], order: list[str],
                present: set[tuple[str, int]] | None = None) -> list[dict[str, Any]]:
    """Paint rules from Leaflet path options per style class, in drawing ``order`` (last on
    top), polygons under lines under points: ``{"cls", "geom" (1 point, 2 line, 3 polygon),
    "stroke", "width", "fill" (none for lines and unfilled rings), "radius" (points, pixels),
    "dash"}``. Only the (class, geometry kind) pairs in ``present`` get a rule (all when None)."""
    out: list[dict[str, Any]] = []
    for geom in (3, 2, 1):  # polygons under lines under points
        for cls in order:
            if present is not None and (cls, geom) not in present:
                continue
            s = styles[cls]
            rule: dict[str, Any] = {
                "cls": cls, "geom": geom, "width": float(str(s.get("weight", 2))),
                "stroke": _rgba(s.get("color", "#3388ff"), s.get("opacity", 1.0))}
            if geom != 2 and s.get("fill") is not False:
                rule["fill"] = _rgba(s.get("fillColor", s.get("color")), s.get("fillOpacity", 0.2))
            if geom == 1:
                rule["radius"] = float(str(s.get("radius", 5)))
            if _dash(s):
                rule["dash"] = _dash(s)
            out.append(rule)
    return out


@dataclass(frozen=True)
class LazyZone:
    """The rule buffers of tiled violations, made only when their archive is built.

    ``water``: the flagged water bodies (the archive's key); ``make()``: their buffers, one
    per row (``mapview.zone_buffers``); ``salt``: the distance and how the buffers are made;
    ``name``: the layer switcher's name."""

    water: gpd.GeoSeries
    make: Callable[[], gpd.GeoSeries]
    salt: str
    name: str


def tiled(store: TileStore, zoom: int, items: list[tuple[str, gpd.GeoDataFrame, LayerSpec, pd.Series,
                                                       dict[str, dict[str, object]], list[str], str]],
          extra: tuple[tuple[str, str, str], ...] = (), zone: LazyZone | None = None) -> list[VectorTiles]:
    """One ``VectorTiles`` per item ``(archive layer, frame, spec, classes, styles, draw order,
    switcher name)``; the missing archives are built side by side. Only the geometry, the class
    and the popup fields (never a restricted one) are written. The item ``violations_zone`` is
    ``zone``'s: its frame is the flagged water, its polygons ``zone.make()``."""
    zooms = Zooms.for_view(zoom)
    jobs: list[Job] = []
    specs: list[tuple[str, list[dict[str, Any]], dict[str, Any] | None, str]] = []
    for layer, frame, spec, classes, styles, order, name in items:
        fields = popup_fields(spec, frame.columns, extra, lead=(SUBJECT_NAME,))
        ok = (frame.geometry.notna() & ~frame.geometry.is_empty).to_numpy()
        frame, classes = frame[ok], classes[ok]
        keep = gpd.GeoDataFrame(frame[[f[0] for f in fields]].reset_index(drop=True),
                                geometry=frame.geometry.reset_index(drop=True), crs=4326)
        if layer == "violations_zone" and zone is not None:
            jobs.append(Job(keep, layer, classes.reset_index(drop=True), fields, zooms, make=zone.make, salt=zone.salt))
            specs.append((layer, paint_rules(styles, order, {(str(c), 3) for c in classes}), None, name))
            continue
        jobs.append(Job(keep, layer, classes.reset_index(drop=True), fields, zooms))
        present = _present(classes, frame.geometry.values)
        popup = popup_spec(spec.title, fields) if fields else None  # nothing to show: not clickable
        specs.append((layer, paint_rules(styles, order, present), popup, name))
    return [VectorTiles(bundle, layer=layer, rules=rules, popup=popup, name=name)
            for bundle, (layer, rules, popup, name) in zip(build_all(store, jobs), specs)]


def tiled_layers(store: TileStore, zoom: int, layers: Mapping[str, gpd.GeoDataFrame],
                 violations: gpd.GeoDataFrame | None, above: int,
                 zone: LazyZone | None = None, site_classes: pd.Series | None = None) -> dict[str, list[VectorTiles]]:
    """The vector-tile elements of every catalogue layer with more than ``above`` features (never
    a wholly restricted one, nor a row about a person: ``layers.store.visibility.shared_rows``,
    so that the archive an analyst is served is the one a partner is) and of the violations (rings
    and lines to water) when there are more than ``above``; keyed by layer type (``"violations"``
    for those). All archives are built in one go.

    ``zone``: the rule buffers around the flagged water, tiled with the violations, under their
    lines and rings. The buffers go in as they are, overlapping; the painter dissolves them
    (``"dissolve"``: one fill, and only the outline of their union), so the server never merges
    them (a union of 10,000 buffers took about 4 s), and makes them only when the archive is built.
    ``site_classes``: ``symbology.site_classes`` of the sites, when the caller has them already."""
    items = []
    for layer, gdf in layers.items():
        # a wholly restricted layer (mercury trade) stays rows on the signed-in page: never an archive
        # in the static folder, which the server hands to anyone who has its address
        if len(gdf) <= above or layer not in CATALOGUE or CATALOGUE[layer].restricted:
            continue
        # nor a row about a person (a hair sample): ``build_map`` draws those as rows for a role that sees them
        shared = shared_rows(gdf, layer)
        if not shared.all():
            gdf = gdf[shared]
            if len(gdf) <= above:
                continue
        spec = CATALOGUE[layer]
        if layer == "mining_sites":
            classes = sym.site_classes(gdf) if site_classes is None else site_classes
            styles = sym.site_styles(spec.style)
            order = [k for k, _ in reversed(sym.SITE_CLASSES)]
        else:
            classes = pd.Series("default", index=gdf.index)
            styles = {"default": sym.path_style(spec.style, line=layer == "water_bodies")}
            order = ["default"]
        items.append((layer, gdf, spec, classes, styles, order, f"{spec.title} ({len(gdf):,})"))
    if violations is not None and len(violations) > above:
        if zone is not None and len(zone.water):
            water = gpd.GeoDataFrame(geometry=zone.water.reset_index(drop=True), crs=4326)
            items.append(("violations_zone", water, VIOLATION_SPEC, pd.Series("zone", index=water.index),
                          {"zone": sym.ZONE_STYLE}, ["zone"], zone.name))
        if LINE_COLUMN in violations:
            lines = gpd.GeoSeries(violations[LINE_COLUMN], crs=4326)
            ok = lines.notna() & ~lines.is_empty
            links = gpd.GeoDataFrame(violations[ok].drop(columns=["geometry", LINE_COLUMN]),
                                     geometry=lines[ok], crs=4326)
            items.append(("violations_links", links, VIOLATION_SPEC,
                          pd.Series("link", index=links.index), {"link": sym.LINK_STYLE},
                          ["link"], "to nearest water"))
        rings = gpd.GeoDataFrame(violations.drop(columns=[LINE_COLUMN], errors="ignore"),
                                 geometry=violations.geometry.representative_point(), crs=4326)
        severity = rings["severity"].astype(str) if "severity" in rings else pd.Series(
            "unknown", index=rings.index)
        styles = sym.violation_styles()
        severity = severity.where(severity.isin(list(styles)), "unknown")
        items.append(("violations", rings, VIOLATION_SPEC, severity, styles,
                      list(reversed(list(styles))), "flagged"))
    out: dict[str, list[VectorTiles]] = {}
    for item, element in zip(items, tiled(store, zoom, items, zone=zone)):
        if item[0] == "violations_zone":
            for rule in element.config["rules"]:
                rule["dissolve"] = True
        out.setdefault("violations" if item[0].startswith("violations") else item[0], []).append(element)
    return out
