"""A small printable map of an area's sites: water, sites by release route, legend, scale bar
and north arrow, drawn with ReportLab graphics (PDF) and rendered to SVG for HTML.

Coordinates are placed with a local equirectangular layout (longitude scaled by the cosine of
the centre latitude), which only positions symbols on paper. The scale bar length is measured
on the WGS84 ellipsoid with ``pyproj.Geod`` across the map's centre line, never in degrees.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Geod
from reportlab.graphics import renderSVG
from reportlab.graphics.shapes import Circle, Drawing, Line, Polygon, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth
from shapely.geometry.base import BaseGeometry

from geo.inventory import MERCURY_FREE, NOT_ESTIMABLE, NOT_GIVEN, NOT_OPERATING
from render.fonts import fonts, svg_families

GEOD = Geod(ellps="WGS84")
CLASSES: dict[str, tuple[str, str]] = {  # class -> (legend text, colour)
    "open_burning": ("open burning", "#d7301f"),
    "nitric_acid": ("nitric acid", "#7a0177"),
    "retort": ("retort", "#1a9850"),
    MERCURY_FREE: (MERCURY_FREE, "#2b8cbe"),
    NOT_ESTIMABLE: (NOT_ESTIMABLE, "#969696"),
    NOT_OPERATING: (NOT_OPERATING, "#ffffff"),  # hollow: an abandoned site releases nothing a year
}
_OUTLINE = {NOT_OPERATING: "#636363"}  # class -> ring colour (white for the others)
WATER = "#6baed6"
_NICE = (1, 2, 5)


def site_class(basis: str, route: str) -> str:
    """The map class of a site: its route, or mercury-free / not estimable / not operating."""
    return basis if basis in (MERCURY_FREE, NOT_ESTIMABLE, NOT_OPERATING) else route


def nice_length(max_m: float) -> float:
    """The largest 1, 2 or 5 x 10^k metres not above ``max_m`` (metres)."""
    exp = math.floor(math.log10(max_m))
    return max(n * 10 ** exp for n in _NICE if n * 10 ** exp <= max_m)


def scale_bar(bounds: tuple[float, float, float, float], map_width_pt: float,
              *, max_fraction: float = 0.3) -> tuple[float, float]:
    """(bar length in metres, bar length in points) for a map of ``bounds`` (lon/lat degrees)
    drawn ``map_width_pt`` points wide; the length is a ground distance on the WGS84 ellipsoid
    along the centre latitude."""
    west, south, east, north = bounds
    lat = (south + north) / 2.0
    _, _, across_m = GEOD.inv(west, lat, east, lat)
    metres_per_pt = across_m / map_width_pt
    length_m = nice_length(across_m * max_fraction)
    return length_m, length_m / metres_per_pt


def _extent(sites: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    west, south, east, north = (float(v) for v in sites.total_bounds)
    pad_x = max((east - west) * 0.08, 0.01)
    pad_y = max((north - south) * 0.08, 0.01)
    return west - pad_x, south - pad_y, east + pad_x, north + pad_y


def area_map(sites: gpd.GeoDataFrame, classes: list[str], *,
             water: gpd.GeoDataFrame | None = None, width: float = 480.0,
             height: float = 300.0, legend: bool = True) -> Drawing:
    """Draw ``sites`` (EPSG:4326) coloured by ``classes`` (one per site, keys of ``CLASSES``),
    over optional ``water``; width and height in points. Legend, scale bar and north arrow
    are drawn inside the frame (the legend only when ``legend``, for small multiples)."""
    return _drawing(sites, classes, water=water, width=width, height=height, legend=legend)[0]


def area_svg(sites: gpd.GeoDataFrame, classes: list[str], *,
             water: gpd.GeoDataFrame | None = None, width: float = 480.0,
             height: float = 300.0, legend: bool = True) -> str:
    """``map_svg(area_map(...))`` of the same arguments, the same text, made without a ReportLab
    shape and an XML node per site: one dot of each class is drawn (at a place no site has) and its
    line is written again for every site at the site's place. Per site, the dashboard's inventory
    maps took 14 s at 10,614 sites (cProfile, 2026-11-27)."""
    drawing, dots = _drawing(sites, classes, water=water, width=width, height=height, legend=legend, stamps=True)
    svg = map_svg(drawing)
    if dots is None:
        return svg
    xs, ys, kinds = dots
    lines = {cls: _stamp_line(svg, i) for i, cls in enumerate(sorted(set(kinds)))}
    block = "".join(lines[k][0] + repr(x) + lines[k][1] + repr(y) + lines[k][2]
                    for x, y, k in zip(xs, ys, kinds))
    first = min(svg.index(line[3]) for line in lines.values())
    last = max(svg.index(line[3]) + len(line[3]) for line in lines.values())
    return svg[:first] + block + svg[last:]


_STAMP_X, _STAMP_Y = 987_654_321, 876_543_210  # a stamp's place: far outside every map


def _stamp_line(svg: str, i: int) -> tuple[str, str, str, str]:
    """The SVG line of stamp ``i`` cut around its centre: (before cx's value, between cx's and cy's,
    after cy's, the whole line)."""
    x, y = f'cx="{_STAMP_X + i}"', f'cy="{_STAMP_Y + i}"'
    at = svg.index(x)
    start, end = svg.rindex("\n", 0, at) + 1, svg.index("\n", at) + 1
    line = svg[start:end]
    head, rest = line.split(x)
    middle, tail = rest.split(y)
    return head + 'cx="', '"' + middle + 'cy="', '"' + tail, line


def _drawing(sites: gpd.GeoDataFrame, classes: list[str], *, water: gpd.GeoDataFrame | None,
             width: float, height: float, legend: bool, stamps: bool = False
             ) -> tuple[Drawing, tuple[list[float], list[float], list[str]] | None]:
    """The drawing of ``area_map``; with ``stamps``, one dot per class drawn at a stamp's place instead
    of the sites' dots, and the sites' dots (x, y in points, class) beside it."""
    drawing = Drawing(width, height)
    legend_w = legend_width() if legend else 0.0
    map_w, map_h = width - legend_w, height
    if sites.empty or sites.geometry.is_empty.all():
        drawing.add(String(10, height / 2, "no site geometry to draw", fontSize=9, fontName=fonts().sans))
        return drawing, None
    west, south, east, north = _extent(sites)
    kx = math.cos(math.radians((south + north) / 2.0))
    sx = map_w / ((east - west) * kx)
    sy = map_h / (north - south)
    s = min(sx, sy)
    ox = (map_w - (east - west) * kx * s) / 2.0
    oy = (map_h - (north - south) * s) / 2.0

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return ox + (lon - west) * kx * s, oy + (lat - south) * s

    drawing.add(Rect(0, 0, map_w, map_h, fillColor=colors.HexColor("#f7f7f2"),
                     strokeColor=colors.black, strokeWidth=0.5))
    if water is not None and not water.empty:
        for geom in water.geometry.clip_by_rect(west, south, east, north):
            if geom is not None and not geom.is_empty:
                _draw_water(drawing, geom, xy)
    points = np.asarray(sites.geometry.representative_point().to_numpy(), dtype=object)
    shown = ~(shapely.is_missing(points) | shapely.is_empty(points))
    xs = (ox + (shapely.get_x(points[shown]) - west) * kx * s).tolist()  # as xy() computes them
    ys = (oy + (shapely.get_y(points[shown]) - south) * s).tolist()
    kinds = [cls if cls in CLASSES else NOT_ESTIMABLE for cls, ok in zip(classes, shown.tolist()) if ok]
    dots = (xs, ys, kinds) if stamps and kinds else None
    if dots is not None:
        for i, cls in enumerate(sorted(set(kinds))):
            drawing.add(_marker(_STAMP_X + i, _STAMP_Y + i, cls))
    else:
        for x, y, cls in zip(xs, ys, kinds):
            drawing.add(_marker(x, y, cls))
    _north_arrow(drawing, map_w - 22, map_h - 40)
    bar_m, bar_pt = scale_bar((west, south, east, north), (east - west) * kx * s)
    _scale(drawing, 12, 12, bar_m, bar_pt)
    if legend:
        _legend(drawing, map_w + 8, map_h - 16, water is not None and not water.empty)
    return drawing, dots


def _draw_water(drawing: Drawing, geom: BaseGeometry,
                xy: Callable[[float, float], tuple[float, float]]) -> None:
    parts = getattr(geom, "geoms", [geom])
    for part in parts:
        if part.geom_type == "Polygon":
            pts = [c for p in part.exterior.coords for c in xy(p[0], p[1])]
            drawing.add(Polygon(pts, fillColor=colors.HexColor("#c6dbef"),
                                strokeColor=colors.HexColor(WATER), strokeWidth=0.5))
        elif part.geom_type in ("LineString", "LinearRing"):
            pts = [c for p in part.coords for c in xy(p[0], p[1])]
            drawing.add(PolyLine(pts, strokeColor=colors.HexColor(WATER), strokeWidth=1.0))
        elif hasattr(part, "geoms"):
            _draw_water(drawing, part, xy)


def _north_arrow(drawing: Drawing, x: float, y: float) -> None:
    drawing.add(Polygon([x, y + 24, x - 6, y, x, y + 6, x + 6, y], fillColor=colors.black,
                        strokeColor=colors.black, strokeWidth=0.5))
    drawing.add(String(x, y + 27, "N", fontSize=9, textAnchor="middle",
                       fontName=fonts().bold))


def _scale(drawing: Drawing, x: float, y: float, metres: float, points: float) -> None:
    label = f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"
    drawing.add(Rect(x - 3, y - 4, points + 6, 18, fillColor=colors.white, strokeWidth=0,
                     fillOpacity=0.8))
    drawing.add(Line(x, y, x + points, y, strokeWidth=2))
    for tick in (x, x + points):
        drawing.add(Line(tick, y - 3, tick, y + 3, strokeWidth=1))
    drawing.add(String(x + points / 2, y + 5, label, fontSize=7, textAnchor="middle", fontName=fonts().sans))


def _marker(x: float, y: float, cls: str) -> Circle:
    """A site's dot in the colour of its class (a grey ring for a site not operating)."""
    return Circle(x, y, 3.2, fillColor=colors.HexColor(CLASSES[cls][1]),
                  strokeColor=colors.HexColor(_OUTLINE.get(cls, "#ffffff")),
                  strokeWidth=0.8 if cls in _OUTLINE else 0.4)


LEGEND_TITLE = "Sites by release route"
# a browser draws an SVG's text in its own fonts (an <img> loads none), up to a fifth wider than ours
FONT_SLACK = 1.2


def legend_width() -> float:
    """Points the legend takes right of the map: its widest line (the title at 8 pt bold, a class at 7 pt
    after its 12-pt marker) a fifth wider (``FONT_SLACK``), and 8 pt before it. A fixed 110 pt left 3 pt
    at the right of the title in our own font, and a browser's wider one cut it at the picture's edge."""
    widest = max(stringWidth(LEGEND_TITLE, fonts().bold, 8),
                 *(12 + stringWidth(text, fonts().sans, 7) for text, _ in [*CLASSES.values(), ("water", "")]))
    return 8 + math.ceil(widest * FONT_SLACK)


def _legend(drawing: Drawing, x: float, y: float, with_water: bool) -> None:
    drawing.add(String(x, y, LEGEND_TITLE, fontSize=8, fontName=fonts().bold))
    row = y
    for cls, (text, _) in CLASSES.items():
        row -= 13
        drawing.add(_marker(x + 4, row + 3, cls))
        drawing.add(String(x + 12, row, text, fontSize=7, fontName=fonts().sans))
    if with_water:
        row -= 13
        drawing.add(Line(x, row + 3, x + 8, row + 3, strokeColor=colors.HexColor(WATER),
                         strokeWidth=1.5))
        drawing.add(String(x + 12, row, "water", fontSize=7, fontName=fonts().sans))


def map_svg(drawing: Drawing) -> str:
    """The drawing as an SVG document string, for the HTML report."""
    return svg_families(renderSVG.drawToString(drawing))


def classes_for(estimates_basis: np.ndarray | list[str], routes: np.ndarray | list[str]) -> list[str]:
    """Map classes for parallel arrays of bases and routes."""
    return [site_class(b, r) for b, r in zip(estimates_basis, routes)]


def area_groups(sites: gpd.GeoDataFrame, classes: list[str], *,
                limit: int = 12) -> list[tuple[str, gpd.GeoDataFrame, list[str]]]:
    """(area name, its sites, their classes) for each ``admin_area``, largest first, at most
    ``limit``; for a small map per area."""
    names = sites["admin_area"].fillna(NOT_GIVEN).astype(str) if (
        "admin_area" in sites.columns) else None
    if names is None:
        return []
    order = names.value_counts().index[:limit]
    cls = np.asarray(classes, dtype=object)
    return [(str(a), sites[(names == a).to_numpy()],
             list(cls[(names == a).to_numpy()])) for a in order]
