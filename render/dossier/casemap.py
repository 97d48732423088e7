"""The dossier's map: the site, the feature it is measured to and the shortest line between them,
with a legend, a scale bar and a north arrow, drawn with ReportLab graphics (no network, no
tiles): embedded in the PDF as vector graphics and rendered to SVG for the HTML page.

Symbols are placed with a local equirectangular layout (longitude scaled by the cosine of the
centre latitude), which only positions them on paper; the scale bar is a ground length on the
WGS84 ellipsoid (``render.report.areamap.scale_bar``) and the distance printed is the rule's
geodesic distance, never a length measured on the drawing.
"""
from __future__ import annotations

import math
from collections.abc import Callable

from reportlab.graphics.shapes import Circle, Drawing, Line, Polygon, PolyLine, Rect, String
from reportlab.lib import colors
from shapely import box
from shapely.geometry.base import BaseGeometry

from render.fonts import face, fonts
from render.report.areamap import _north_arrow, _scale, scale_bar

SITE = "#d7301f"
OTHER = "#2171b5"
LINE = "#000000"
MIN_SPAN_DEG = 0.002  # the smallest area drawn, degrees of latitude (about 220 m)

XY = Callable[[float, float], tuple[float, float]]


def _extent(parts: list[BaseGeometry]) -> tuple[float, float, float, float]:
    """Bounds of ``parts`` (lon/lat) widened by 40 % and to at least ``MIN_SPAN_DEG`` each way."""
    xs0, ys0, xs1, ys1 = zip(*(p.bounds for p in parts))
    west, south, east, north = min(xs0), min(ys0), max(xs1), max(ys1)
    kx = max(math.cos(math.radians((south + north) / 2.0)), 0.01)
    half_y = max((north - south) / 2 * 1.4, MIN_SPAN_DEG / 2)
    half_x = max((east - west) / 2 * 1.4, MIN_SPAN_DEG / 2 / kx)
    cx, cy = (west + east) / 2, (south + north) / 2
    return cx - half_x, cy - half_y, cx + half_x, cy + half_y


def case_map(site: BaseGeometry | None, other: BaseGeometry | None, line: BaseGeometry | None, *,
             distance_text: str = "", other_label: str = "measured to", width: float = 480.0,
             height: float = 280.0) -> Drawing:
    """Draw ``site`` (red), the part of ``other`` in view (blue) and the shortest ``line`` (black,
    dashed, labelled ``distance_text``), all EPSG:4326; width and height in points. A drawing
    that says so when there is no site geometry."""
    drawing = Drawing(width, height)
    legend_w = 120.0
    map_w, map_h = width - legend_w, height
    shown = [g for g in (site, line) if g is not None and not g.is_empty]
    if not shown:
        drawing.add(String(10, height / 2, "no site geometry to draw", fontSize=9, fontName=fonts().sans))
        return drawing
    west, south, east, north = _extent(shown)
    kx = math.cos(math.radians((south + north) / 2.0))
    s = min(map_w / ((east - west) * kx), map_h / (north - south))
    ox = (map_w - (east - west) * kx * s) / 2.0
    oy = (map_h - (north - south) * s) / 2.0

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return ox + (lon - west) * kx * s, oy + (lat - south) * s

    drawing.add(Rect(0, 0, map_w, map_h, fillColor=colors.HexColor("#f7f7f2"), strokeColor=colors.black,
                     strokeWidth=0.5))
    if other is not None and not other.is_empty:
        _draw(drawing, other.intersection(box(west, south, east, north)), xy, OTHER, "#c6dbef")
    if site is not None and not site.is_empty:
        _draw(drawing, site, xy, SITE, "#fcbba1")
    if line is not None and not line.is_empty and line.geom_type == "LineString":
        pts = [c for p in line.coords for c in xy(p[0], p[1])]
        drawing.add(PolyLine(pts, strokeColor=colors.HexColor(LINE), strokeWidth=1.2, strokeDashArray=[4, 2]))
        (x0, y0), (x1, y1) = xy(*line.coords[0][:2]), xy(*line.coords[-1][:2])
        if distance_text:
            drawing.add(String((x0 + x1) / 2 + 4, (y0 + y1) / 2 + 4, distance_text, fontSize=8,
                               fontName=fonts().bold))
    _north_arrow(drawing, map_w - 22, map_h - 40)
    bar_m, bar_pt = scale_bar((west, south, east, north), (east - west) * kx * s)
    _scale(drawing, 12, 12, bar_m, bar_pt)
    _legend(drawing, map_w + 8, map_h - 16, other_label)
    return drawing


def _draw(drawing: Drawing, geom: BaseGeometry, xy: XY, stroke: str, fill: str) -> None:
    for part in getattr(geom, "geoms", [geom]):
        if part.is_empty:
            continue
        if part.geom_type == "Point":
            x, y = xy(part.x, part.y)
            drawing.add(Circle(x, y, 4, fillColor=colors.HexColor(stroke), strokeColor=colors.white, strokeWidth=0.6))
        elif part.geom_type == "Polygon":
            pts = [c for p in part.exterior.coords for c in xy(p[0], p[1])]
            drawing.add(Polygon(pts, fillColor=colors.HexColor(fill), strokeColor=colors.HexColor(stroke),
                                strokeWidth=1.0))
        elif part.geom_type in ("LineString", "LinearRing"):
            pts = [c for p in part.coords for c in xy(p[0], p[1])]
            drawing.add(PolyLine(pts, strokeColor=colors.HexColor(stroke), strokeWidth=1.5))
        elif hasattr(part, "geoms"):
            _draw(drawing, part, xy, stroke, fill)


def _legend(drawing: Drawing, x: float, y: float, other_label: str) -> None:
    drawing.add(String(x, y, "Legend", fontSize=8, fontName=fonts().bold))
    drawing.add(Circle(x + 4, y - 10, 3.5, fillColor=colors.HexColor(SITE), strokeColor=colors.white))
    drawing.add(String(x + 12, y - 13, "the site", fontSize=7, fontName=fonts().sans))
    drawing.add(Line(x, y - 23, x + 8, y - 23, strokeColor=colors.HexColor(OTHER), strokeWidth=1.5))
    label = other_label[:24]
    drawing.add(String(x + 12, y - 26, label, fontSize=7, fontName=face(label, fonts().sans)))
    drawing.add(Line(x, y - 36, x + 8, y - 36, strokeColor=colors.HexColor(LINE), strokeWidth=1.2,
                     strokeDashArray=[3, 1.5]))
    drawing.add(String(x + 12, y - 39, "shortest line (geodesic)", fontSize=7, fontName=fonts().sans))
