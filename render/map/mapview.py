"""The map: every layer styled from the catalogue, violations highlighted, built offline.

A pure function from GeoDataFrames to a ``folium.Map``; no Streamlit. What reaches the browser
is kept small: lines and polygons are simplified for the display zoom (in Web Mercator metres,
one screen pixel) and rounded to 6 decimals (about 0.1 m); points travel as compact rows; a
water layer with more features than the budget is drawn as one multi-line per named river.
Maps with many features draw on a canvas, and large point layers are clustered. Given a
``TileStore``, a layer with more than ``tiles_above`` features travels as vector tiles instead
(``render.map.vectortiles``), every feature kept with its popup.
"""
from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import partial

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.catalogue import CATALOGUE, LayerSpec
from layers.io.violations import VIOLATION_SPEC
from layers.store.visibility import shared_rows
from render.map import symbology as sym
from render.map.elements import BlankBase, EncodedShapes, HtmlControl, PointRows, offline_map
from render.map.polyline import encode_geometries
from render.map.popups import SUBJECT_NAME, column_values, escape, popup_fields, popup_spec, with_subject_names
from render.map.tiles import TileStore
from render.map.vectortiles import LazyZone, VectorTiles, tiled_layers

MERCATOR_M_PER_PX_Z0 = 156543.03392804097  # Web Mercator metres per 256-px tile pixel at zoom 0
TILES = (
    ("OpenStreetMap", "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
     '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'),
    ("Satellite (Esri World Imagery)",
     "https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/{z}/{y}/{x}",
     "Tiles &copy; Esri, Maxar, Earthstar Geographics, and the GIS User Community"),
)
MAX_ZOOM = 19  # the deepest zoom of the map and its basemaps (OpenStreetMap's and Esri's tiles)
FOCUS_MAX_ZOOM = 14  # the deepest first view of a focus (``build_map``): about 10 m a pixel, a site and its surroundings
DRAW_ORDER = ("admin_areas", "zones", "licences", "deposits", "residential_areas", "water_bodies", "receptors",
              "tailings", "facilities", "samples", "mercury_trade", "miners", "mining_sites")  # bottom to top


@dataclass(frozen=True)
class MapOptions:
    """How the map is built.

    Parameters
    ----------
    width_px, height_px : size of the map on screen in pixels (sets the display zoom).
    zoom_margin : zoom levels beyond the fitted view that geometries keep full on-screen detail.
    cluster_above : cluster a point layer with more points than this.
    canvas_above : draw on a canvas instead of SVG when the map holds more features than this.
    water_budget : most water features sent one by one; above it, one feature per named river.
    basemap : "osm", "satellite" or "none": the base layer shown first.
    tiles : where vector tiles are built and served from; None draws every layer as rows.
    tiles_above : a layer (or the violations) with more features than this is drawn as
        vector tiles when ``tiles`` is set. 20,000 from ``benchmarks/bench_map.py``: 10,000
        sites draw as fast as rows, while 50,000 water segments as tiles cut the bytes by a
        fifth and the filter change by half, and 100,000 + 100,000 draw 7x faster.
    """

    width_px: int = 1000
    height_px: int = 620
    zoom_margin: int = 1
    cluster_above: int = 1500
    canvas_above: int = 3000
    water_budget: int = 4000
    basemap: str = "osm"
    tiles: TileStore | None = None
    tiles_above: int = 20_000


def display_zoom(bounds: tuple[float, float, float, float], *, width_px: int,
                 height_px: int) -> int:
    """The Web Mercator zoom level (0..18) at which ``bounds`` (lon/lat degrees) fits the screen."""
    x0, y0, x1, y1 = _to_mercator(bounds)
    span = max((x1 - x0) / width_px, (y1 - y0) / height_px, 1e-9)  # metres per pixel needed
    return int(min(18, max(0, math.floor(math.log2(MERCATOR_M_PER_PX_Z0 / span)))))


def _to_mercator(bounds: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """Web Mercator x/y in metres of a lon/lat box (latitudes clamped to +-85 degrees)."""
    r = 6378137.0

    def y(lat: float) -> float:
        lat = max(-85.0, min(85.0, lat))
        return r * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    return (r * math.radians(bounds[0]), y(bounds[1]), r * math.radians(bounds[2]), y(bounds[3]))


def generalise(geoms: gpd.GeoSeries, zoom: int, *, by_part: bool = False) -> gpd.GeoSeries:
    """``geoms`` (EPSG:4326) simplified to one screen pixel at ``zoom`` and rounded to 6 decimals.

    The tolerance is in Web Mercator metres (``MERCATOR_M_PER_PX_Z0 / 2**zoom``), so it is one
    pixel wherever the feature lies. Points are only rounded. ``by_part``: a MultiPolygon is
    simplified polygon by polygon (``simplify_parts``), for one geometry of thousands of parts.
    """
    if geoms.empty:
        return geoms
    tolerance_m = MERCATOR_M_PER_PX_Z0 / 2 ** zoom
    pts = geoms.geom_type == "Point"
    out = geoms.copy()
    if (~pts).any():
        merc = geoms[~pts].to_crs(3857)
        if by_part:
            merc = gpd.GeoSeries([simplify_parts(g, tolerance_m) for g in merc.values], index=merc.index, crs=3857)
        else:
            merc = merc.simplify(tolerance_m, preserve_topology=True)
        out[~pts] = merc.to_crs(4326)
    return gpd.GeoSeries(shapely.transform(out.values, lambda c: np.round(c, 6)),
                         index=geoms.index, crs=4326)


def simplify_parts(geom: shapely.Geometry | None, tolerance: float) -> shapely.Geometry | None:
    """``geom`` simplified (topology preserved, ``tolerance`` in its units), a MultiPolygon one
    polygon at a time.

    GEOS's topology-preserving simplifier checks every candidate against every ring of the
    geometry: on the rule zone of a national layer (10,000 disjoint buffers, 1.3 million
    vertices) it took 102-171 s, polygon by polygon 1.2-1.7 s, with the same vertices in the
    100,000-site benchmark. The parts are simplified alone only when they still do not overlap
    afterwards (a valid MultiPolygon); otherwise the whole is simplified as before.
    """
    if geom is None or shapely.get_type_id(geom) != 6:  # not a MultiPolygon
        return shapely.simplify(geom, tolerance, preserve_topology=True)
    joined = shapely.multipolygons(shapely.simplify(shapely.get_parts(geom), tolerance, preserve_topology=True))
    return joined if shapely.is_valid(joined) else shapely.simplify(geom, tolerance, preserve_topology=True)


def aggregate_water(water: gpd.GeoDataFrame, budget: int) -> gpd.GeoDataFrame:
    """``water`` unchanged when it has at most ``budget`` features, else lines grouped by name/kind.

    Lines of one river (same ``name`` and ``kind``) become one MultiLineString carrying the
    number of segments; unnamed lines are grouped by kind; polygons stay one by one.
    """
    if len(water) <= budget:
        return water
    lines = water[water.geom_type.isin(["LineString", "MultiLineString"])]
    rest = water.drop(lines.index)
    name = lines["name"].fillna("") if "name" in lines else pd.Series("", index=lines.index)
    kind = lines["kind"].fillna("unknown") if "kind" in lines else pd.Series("unknown", index=lines.index)
    key = name.astype(str) + "\x1f" + kind.astype(str)
    codes, uniques = pd.factorize(key)
    parts = shapely.get_parts(lines.geometry.values, return_index=True)
    merged = shapely.multilinestrings(parts[0], indices=codes[parts[1]])
    counts = np.bincount(codes, minlength=len(uniques))
    grouped = gpd.GeoDataFrame(
        {"water_id": [None] * len(uniques),
         "name": [u.split("\x1f")[0] or None for u in uniques],
         "kind": [u.split("\x1f")[1] for u in uniques],
         "segments": counts},
        geometry=merged, crs=water.crs)
    return pd.concat([grouped, rest], ignore_index=True)


ZONE_METHOD = "UTM zone of each water body's representative point, GEOS buffer of 16 segments a quarter circle"


def rule_zone(water: gpd.GeoDataFrame, violations: gpd.GeoDataFrame,
              distance_m: float) -> gpd.GeoSeries:
    """The rule's buffer (``distance_m`` metres) around each water body a violation points to
    (``zone_buffers`` of ``flagged_water``)."""
    return zone_buffers(flagged_water(water, violations), distance_m)


def flagged_water(water: gpd.GeoDataFrame, violations: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """The geometries of the water bodies a violation points to (``nearest_id``), in ``water``'s order."""
    if violations.empty or water.empty or "nearest_id" not in violations:
        return gpd.GeoSeries([], crs=4326)
    ids = set(violations["nearest_id"].dropna().astype(str))
    return water.geometry[water["water_id"].astype(str).isin(ids).to_numpy()]


def zone_buffers(near: gpd.GeoSeries, distance_m: float) -> gpd.GeoSeries:
    """A buffer of ``distance_m`` metres around each geometry of ``near`` (EPSG:4326), in order.

    Buffers are made in the UTM zone of each water body (scale error under 0.1 %, a few
    centimetres at 100 m) and returned in EPSG:4326, for display (``ZONE_METHOD``).
    """
    if near.empty:
        return gpd.GeoSeries([], crs=4326)
    lon = near.geometry.representative_point().x
    lat = near.geometry.representative_point().y
    zone = ((lon + 180) // 6).astype(int).clip(0, 59) + 1
    epsg = np.where(lat >= 0, 32600, 32700) + zone
    out = np.empty(len(near), dtype=object)
    for code in np.unique(epsg):
        sel = epsg == code
        out[sel] = near[sel].to_crs(int(code)).buffer(distance_m).to_crs(4326).to_numpy()
    return gpd.GeoSeries(out, index=near.index, crs=4326)


def _shape_layer(gdf: gpd.GeoDataFrame, spec: LayerSpec, classes: pd.Series,
                 styles: dict[str, dict[str, object]], name: str, zoom: int, show: bool = True,
                 extra: tuple[tuple[str, str, str], ...] = (), by_part: bool = False) -> EncodedShapes:
    """Lines and polygons of one layer as encoded polylines with escaped popups (``by_part``:
    see ``generalise``; a violation's ``subject_name`` comes first)."""
    fields = popup_fields(spec, gdf.columns, extra, lead=(SUBJECT_NAME,))
    geoms = generalise(gdf.geometry, zoom, by_part=by_part)
    values = column_values(gdf, [f[0] for f in fields])
    shown = np.asarray(geoms.to_numpy(), dtype=object)
    drawn = ~(shapely.is_missing(shown) | shapely.is_empty(shown))
    encoded = iter(encode_geometries(shown[drawn]))  # one pass: per geometry cost 0.7 ms a site
    rows = [[key, *next(encoded), *row] for key, row, ok in zip(classes.tolist(), values, drawn.tolist()) if ok]
    return EncodedShapes(rows, styles=styles, popup=popup_spec(spec.title, fields), name=name,
                         show=show)


def _point_layer(gdf: gpd.GeoDataFrame, spec: LayerSpec, classes: pd.Series,
                 styles: dict[str, dict[str, object]], name: str, cluster_above: int,
                 extra: tuple[tuple[str, str, str], ...] = ()) -> PointRows:
    """Point features of one layer as compact rows drawn as circle markers (a violation's
    ``subject_name`` first in its popup)."""
    fields = popup_fields(spec, gdf.columns, extra, lead=(SUBJECT_NAME,))
    xy = np.round(shapely.get_coordinates(gdf.geometry.values), 6)
    values = column_values(gdf, [f[0] for f in fields])
    rows = [[float(y), float(x), c, *v] for (x, y), c, v in zip(xy, classes.tolist(), values)]
    return PointRows(rows, styles=styles, popup=popup_spec(spec.title, fields), name=name,
                     cluster=len(rows) > cluster_above)


def _add_layer(m: folium.Map, layer: str, gdf: gpd.GeoDataFrame, zoom: int,
               options: MapOptions, site_classes: pd.Series | None = None) -> None:
    """Add one catalogue layer: points as compact rows, lines and polygons as encoded polylines
    (``site_classes``: the sites' ``symbology.site_classes``, when the caller has them already)."""
    spec = CATALOGUE[layer]
    if layer == "water_bodies":
        gdf = aggregate_water(gdf, options.water_budget)
    pts = gdf[gdf.geom_type == "Point"]
    shapes = gdf[gdf.geom_type != "Point"]
    extra = (("segments", "segments drawn as one line", ""),)
    title = f"{spec.title} ({len(gdf):,})"
    if layer == "mining_sites":
        classes = sym.site_classes(gdf) if site_classes is None else site_classes
        styles = sym.site_styles(spec.style)
        if not shapes.empty:
            _shape_layer(shapes, spec, classes[shapes.index], styles, f"{title}: areas",
                         zoom).add_to(m)
        if not pts.empty:
            _point_layer(pts, spec, classes[pts.index], styles, title,
                         options.cluster_above).add_to(m)
        return
    style = sym.path_style(spec.style, line=layer == "water_bodies")
    if not shapes.empty:
        _shape_layer(shapes, spec, pd.Series("default", index=shapes.index), {"default": style},
                     title if pts.empty else f"{title}: shapes", zoom, extra=extra).add_to(m)
    if not pts.empty:
        _point_layer(pts, spec, pd.Series("default", index=pts.index), {"default": style},
                     title if shapes.empty else f"{title}: points", options.cluster_above).add_to(m)


def _add_violations(m: folium.Map, violations: gpd.GeoDataFrame, water: gpd.GeoDataFrame | None,
                    zone_m: float | None, tiled: list[VectorTiles] | None = None) -> None:
    """Rule buffers, site-to-water lines and red rings around every flagged feature (the lines
    and rings as the vector tiles ``tiled`` when given)."""
    group = folium.FeatureGroup(name=f"Violations ({len(violations):,})")
    if water is not None and zone_m and not tiled:  # tiled: the zone is one of ``tiled``
        zone = rule_zone(water, violations, zone_m)
        if not zone.empty:
            merged = gpd.GeoDataFrame(geometry=[shapely.union_all(zone.values)], crs=4326)
            _shape_layer(merged, VIOLATION_SPEC, pd.Series("zone", index=merged.index),
                         {"zone": sym.ZONE_STYLE}, f"rule buffer {zone_m:g} m", 16, by_part=True).add_to(group)
    spec = VIOLATION_SPEC
    if tiled:
        for element in tiled:
            element.add_to(group)
        group.add_to(m)
        return
    if "nearest_line" in violations:
        lines = gpd.GeoSeries(violations["nearest_line"], crs=4326)
        ok = lines.notna() & ~lines.is_empty
        if ok.any():
            data = gpd.GeoDataFrame(violations[ok].drop(columns=["geometry", "nearest_line"]),
                                    geometry=lines[ok], crs=4326)
            _shape_layer(data, spec, pd.Series("link", index=data.index),
                         {"link": sym.LINK_STYLE}, "to nearest water", 18).add_to(group)
    points = violations.geometry.representative_point()
    subjects = gpd.GeoDataFrame(violations.drop(columns=["nearest_line"], errors="ignore"),
                                geometry=points, crs=4326)
    severity = subjects["severity"].astype(str) if "severity" in subjects else pd.Series(
        "unknown", index=subjects.index)
    _point_layer(subjects, spec, severity, sym.violation_styles(), "flagged", 10**9).add_to(group)
    group.add_to(m)


def build_map(layers: Mapping[str, gpd.GeoDataFrame], *,
              violations: gpd.GeoDataFrame | None = None, zone_m: float | None = None,
              options: MapOptions = MapOptions(), focus: Collection[str] = ()) -> folium.Map:
    """A folium map of ``layers`` (EPSG:4326) with ``violations`` highlighted.

    Parameters
    ----------
    layers : layer type -> GeoDataFrame; unknown layer types are ignored.
    violations : the rule engine's violations (subject geometry plus a ``nearest_line`` column).
    zone_m : the rule distance in metres drawn as a buffer around the water bodies that
        violations point to; None draws no buffer.
    options : sizes and budgets, see ``MapOptions``.
    focus : the layer types (and ``"violations"``) whose features set the first view, and with
        it the zoom that simplifies the lines and shapes and picks the tile archives' zooms: what
        a filter keeps (a district's sites, one rule's violations), at most at ``FOCUS_MAX_ZOOM``.
        Empty, or none of them holding a located feature: every layer.

    Returns
    -------
    folium.Map loading Leaflet from the app's own static folder, with a layer switcher,
    a legend, OpenStreetMap / satellite / no-basemap base layers and an offline note.
    """
    present = {k: v[v.geometry.notna().to_numpy() & ~v.geometry.is_empty.to_numpy()]
               for k, v in layers.items() if k in CATALOGUE and v is not None and len(v)}  # records with a location
    present = {k: v for k, v in present.items() if len(v)}
    if violations is not None and len(violations):  # a ring's popup names the site, as the site's does
        violations = with_subject_names(violations, present)
    frames = list(present.values()) + ([violations] if violations is not None and len(violations) else [])
    total = sum(len(f) for f in frames)
    named = {**present, **({"violations": violations} if violations is not None else {})}
    focused = [named[k] for k in focus if k in named and len(named[k])]
    bounds = _bounds(focused or frames)
    zoom = display_zoom(bounds, width_px=options.width_px, height_px=options.height_px)
    if focused:  # a single site would give zoom 18 (and tile archives 14 data zooms deep)
        zoom = min(zoom, FOCUS_MAX_ZOOM)
    # the map's own largest zoom: with no basemap shown ("none") no tile layer gave one, and the clusters
    # of a layer of more than ``cluster_above`` points threw "Map has no maxZoom specified": no map drew
    m = offline_map(prefer_canvas=total > options.canvas_above, control_scale=True,
                    location=[(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2],
                    zoom_start=zoom)
    m.options["maxZoom"] = MAX_ZOOM  # folium gives its max_zoom to its own default tiles only, not to L.map
    for i, (label, url, attr) in enumerate(TILES):
        folium.TileLayer(url, name=label, attr=attr, max_zoom=MAX_ZOOM,
                         show=options.basemap == ("osm", "satellite")[i]).add_to(m)
    BlankBase(show=options.basemap == "none").add_to(m)
    # the sites' style classes, made once for the layer (tiles or rows) and the legend: 0.06 s a
    # time at 100,000 sites
    classes = sym.site_classes(present["mining_sites"]) if "mining_sites" in present else None
    tiled: dict[str, list[VectorTiles]] = {} if options.tiles is None else tiled_layers(
        options.tiles, zoom, present, violations, options.tiles_above,
        zone=_tiled_zone(present.get("water_bodies"), violations, zone_m, options.tiles_above),
        site_classes=classes)
    for layer in DRAW_ORDER:
        for element in tiled.get(layer, []):
            element.add_to(m)
        if layer in present and layer not in tiled:
            _add_layer(m, layer, present[layer], zoom + options.zoom_margin, options, classes)
        elif layer in tiled and not (shared := shared_rows(present[layer], layer)).all():  # never in an archive
            _add_layer(m, layer, present[layer][~shared], zoom + options.zoom_margin, options, classes)
    if violations is not None and len(violations):
        _add_violations(m, violations, present.get("water_bodies"), zone_m, tiled.get("violations"))
    folium.LayerControl(collapsed=True).add_to(m)
    HtmlControl(sym.legend_html(present, violations, classes), css_class="hgw-legend",
                position="bottomright").add_to(m)
    HtmlControl(escape("No basemap tiles could be fetched (offline?). Every layer still draws "
                       "on a plain background."), css_class="hgw-offline-note",
                position="topleft", on_tile_error=True).add_to(m)
    if focused:  # a margin: the focused features are the point of the view, none drawn half off its edge
        m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]], padding=(24, 24), max_zoom=FOCUS_MAX_ZOOM)
    else:
        m.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    return m


def _tiled_zone(water: gpd.GeoDataFrame | None, violations: gpd.GeoDataFrame | None, zone_m: float | None,
                above: int) -> LazyZone | None:
    """The rule buffers, made only if their archive is built, when the violations are tiled (more
    than ``above``) and a zone is drawn; else None (the zone, if any, is drawn merged, as rows)."""
    if water is None or violations is None or not zone_m or len(violations) <= above:
        return None
    near = flagged_water(water, violations)
    return LazyZone(near, partial(zone_buffers, near, zone_m), f"{zone_m!r} m, {ZONE_METHOD}",
                    f"rule buffer {zone_m:g} m")


def _bounds(frames: list[gpd.GeoDataFrame]) -> tuple[float, float, float, float]:
    """Lon/lat box around every frame; the whole world when there is nothing to draw."""
    boxes = np.array([f.total_bounds for f in frames if len(f)])
    boxes = boxes[np.isfinite(boxes).all(axis=1)] if len(boxes) else boxes
    if not len(boxes):
        return (-180.0, -60.0, 180.0, 75.0)
    return (boxes[:, 0].min(), boxes[:, 1].min(), boxes[:, 2].max(), boxes[:, 3].max())
