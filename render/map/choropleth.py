"""A choropleth of admin units: each unit's polygon coloured by one measure, with a legend.

A pure function from a GeoDataFrame of units (EPSG:4326, one row per unit, a name column and the
measure's column) to folium elements; no Streamlit, and nothing here knows what the measure
means beyond its label and unit. Classes: a unit with no value (NaN) is "no data", drawn grey
and dashed, never as zero; a value of exactly 0 is a class of its own; positive values fall in
up to five classes (each distinct value its own class when there are at most five, else
quantile breaks rounded up to two significant figures). Colours: ColorBrewer YlOrRd.

Units travel as encoded polylines (``render.map.polyline``) with their tooltip values as JSON
inside the script (``render.map.elements.script_json``), and the tooltip is built in the browser
with ``hgw.esc`` around every value, so a unit named ``<img src=x onerror=alert(1)>`` is shown as
text. The legend is escaped on the server (``render.map.popups.escape``). The units draw in a
pane of their own under every other layer, so a site's marker above a unit still takes the click.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from folium.map import Layer
from folium.template import Template

from render.map.elements import BlankBase, HtmlControl, WrittenOnce, offline_map, script_json
from render.map.mapview import TILES, display_zoom, generalise
from render.map.polyline import encode_geometry
from render.map.popups import column_values, escape

PALETTE = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")  # ColorBrewer YlOrRd, 5 classes
ZERO_COLOUR = "#f7f7f7"
NO_DATA = "nodata"
ZERO = "zero"
NO_DATA_LABEL = "no data"
_BASE = {"color": "#444444", "weight": 1, "opacity": 0.9, "fillOpacity": 0.65}
STYLES: dict[str, dict[str, Any]] = {
    NO_DATA: {**_BASE, "fillColor": "#bdbdbd", "fillOpacity": 0.35, "dashArray": "4 4"},
    ZERO: {**_BASE, "fillColor": ZERO_COLOUR},
    **{f"c{i}": {**_BASE, "fillColor": colour} for i, colour in enumerate(PALETTE)},
}


class UnitShapes(Layer, WrittenOnce):
    """Unit polygons as encoded polylines, one row per unit ``[class, parts, name, value, v0, ...]``,
    each with a tooltip built by ``hgw.esc`` from ``spec`` (``title``: the measure's label and
    unit; ``fields``: [[label, unit], ...] for v0, v1 ...)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var spec = {{ this.spec|tojson }};
            var styles = {{ this.styles|tojson }};
            var rows = {{ this.rows_json }};
            var map = {{ this._parent.get_name() }};
            if (!map.getPane("hgwUnits")) { map.createPane("hgwUnits").style.zIndex = 350; }  // under every layer
            var group = L.featureGroup();
            var cell = function (v, unit) {
                if (v === null || v === undefined || v === "") { return spec.nodata; }
                return hgw.esc(hgw.text(v)) + (unit ? " " + hgw.esc(unit) : "");
            };
            var tip = function (r) {
                var h = '<div class="hgw-choropleth-tip"><b>' + hgw.esc(r[2]) + '</b><br>'
                    + hgw.esc(spec.title[0]) + ': ' + cell(r[3], spec.title[1]);
                for (var i = 0; i < spec.fields.length; i++) {
                    h += '<br>' + hgw.esc(spec.fields[i][0]) + ': ' + cell(r[4 + i], spec.fields[i][1]);
                }
                return h + '</div>';
            };
            for (var i = 0; i < rows.length; i++) {
                var r = rows[i];
                var shape = L.polygon(r[1].map(function (p) { return p.map(hgw.decode); }),
                                      Object.assign({pane: "hgwUnits"}, styles[r[0]]));
                shape.hgwRow = r;
                shape.bindTooltip(tip(r), {sticky: true});
                group.addLayer(shape);
            }
            return group;
        })();
        {% endmacro %}
    """)

    def __init__(self, rows: list[list[Any]], *, spec: dict[str, Any], name: str, show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "UnitShapes"
        self.rows = rows
        self.rows_json = script_json(rows)
        self.spec = spec
        self.styles = STYLES

    def _get_self_bounds(self) -> list[list[float | None]]:
        return [[None, None], [None, None]]


def _nice_up(x: float) -> float:
    """``x`` rounded up to two significant figures (12.3 -> 13, 0.0123 -> 0.013)."""
    if x <= 0:
        return x
    step = 10.0 ** (math.floor(math.log10(x)) - 1)
    return math.ceil(round(x / step, 9)) * step


def classify(values: pd.Series) -> tuple[pd.Series, list[tuple[str, str]]]:
    """The class of every value and the legend's (class, label) pairs in order (see the module).

    Returns
    -------
    (classes aligned with ``values``: ``"nodata"``, ``"zero"`` or ``"c0"``..``"c4"``; legend entries
    for the classes used, "no data" last).
    """
    v = pd.to_numeric(values, errors="coerce").astype(float)
    out = pd.Series(NO_DATA, index=values.index, dtype=object)
    out[v == 0] = ZERO
    legend: list[tuple[str, str]] = [(ZERO, "0")] if (v == 0).any() else []
    positive = np.sort(v[v > 0].unique())
    if len(positive) <= len(PALETTE):
        for i, x in enumerate(positive):
            out[v == x] = f"c{i}"
            legend.append((f"c{i}", f"{x:,.6g}"))
    else:
        uppers = sorted({_nice_up(float(q)) for q in np.quantile(positive, np.linspace(0, 1, len(PALETTE) + 1)[1:])})
        uppers[-1] = max(uppers[-1], float(positive[-1]))
        lower = 0.0
        for i, up in enumerate(uppers):
            out[(v > lower) & (v <= up)] = f"c{i}"
            legend.append((f"c{i}", f"> {lower:,.6g} to {up:,.6g}"))
            lower = up
    if v.isna().any():
        legend.append((NO_DATA, NO_DATA_LABEL))
    return out, legend


def legend_html(title: str, entries: Sequence[tuple[str, str]], note: str = "") -> str:
    """The choropleth's legend as escaped HTML: a swatch per class, then ``note``."""
    rows = [f'<span style="display:inline-block;width:14px;height:10px;margin-right:4px;'
            f'background:{STYLES[key]["fillColor"]};border:1px {"dashed" if key == NO_DATA else "solid"} #444">'
            f"</span>{escape(label)}" for key, label in entries]
    text = f'<details open><summary style="cursor:pointer"><b>{escape(title)}</b></summary>' + "<br>".join(rows)
    return text + (f'<div style="margin-top:4px;color:#555">{escape(note)}</div>' if note else "") + "</details>"


def choropleth_layer(units: gpd.GeoDataFrame, *, value: str, label: str, unit: str = "", name: str = "unit",
                     tooltip: Sequence[tuple[str, str, str]] = (), zoom: int = 10,
                     show: bool = True) -> tuple[UnitShapes, list[tuple[str, str]]]:
    """The units of ``units`` coloured by column ``value``, and the legend entries.

    Parameters
    ----------
    units : one row per unit, EPSG:4326 (Multi)Polygons; rows without a geometry are skipped.
    value : the measure's column (NaN: no data); label, unit : its label and unit.
    name : the column naming each unit.
    tooltip : (column, label, unit) of further values shown in each unit's tooltip.
    zoom : the display zoom the polygons are simplified for (one pixel, ``mapview.generalise``).
    """
    units = units.to_crs(4326)
    drawn = units[units.geometry.notna().to_numpy() & ~units.geometry.is_empty.to_numpy()]
    classes, legend = classify(drawn[value])
    geoms = generalise(drawn.geometry, zoom)
    values = column_values(drawn, [name, value, *(c for c, _, _ in tooltip)])
    rows: list[list[Any]] = []
    for key, row, geom in zip(classes.tolist(), values, geoms.values, strict=True):
        kind, parts = encode_geometry(geom)
        if kind != "P":
            continue
        rows.append([key, parts, *row])
    spec = {"title": [label, unit], "fields": [[lab, u] for _, lab, u in tooltip], "nodata": NO_DATA_LABEL}
    return UnitShapes(rows, spec=spec, name=f"{label} by unit", show=show), legend


def add_choropleth(m: folium.Map, units: gpd.GeoDataFrame, *, value: str, label: str, unit: str = "",
                   name: str = "unit", tooltip: Sequence[tuple[str, str, str]] = (), note: str = "",
                   zoom: int = 10, show: bool = True) -> folium.Map:
    """Add the choropleth of ``units`` (see ``choropleth_layer``) and its legend (bottom left) to ``m``."""
    layer, legend = choropleth_layer(units, value=value, label=label, unit=unit, name=name, tooltip=tooltip,
                                     zoom=zoom, show=show)
    layer.add_to(m)
    title = f"{label} ({unit})" if unit else label
    HtmlControl(legend_html(title, legend, note), css_class="hgw-choropleth-legend", position="bottomleft").add_to(m)
    for key, child in list(m._children.items()):  # a layer switcher names its layers: it must come after them
        if isinstance(child, folium.LayerControl):
            m._children.move_to_end(key)
    return m


def choropleth_map(units: gpd.GeoDataFrame, *, value: str, label: str, unit: str = "", name: str = "unit",
                   tooltip: Sequence[tuple[str, str, str]] = (), note: str = "", basemap: str = "osm",
                   width_px: int = 900, height_px: int = 520) -> folium.Map:
    """A map of the units alone, coloured by ``value``: offline Leaflet, the basemaps of the main map
    (and none), a layer switcher and the legend."""
    units = units.to_crs(4326)
    box = tuple(float(b) for b in units.total_bounds) if len(units) else (-180.0, -60.0, 180.0, 75.0)
    if not all(math.isfinite(b) for b in box):
        box = (-180.0, -60.0, 180.0, 75.0)
    zoom = display_zoom((box[0], box[1], box[2], box[3]), width_px=width_px, height_px=height_px)
    m = offline_map(control_scale=True, location=[(box[1] + box[3]) / 2, (box[0] + box[2]) / 2], zoom_start=zoom)
    for i, (title, url, attr) in enumerate(TILES):
        folium.TileLayer(url, name=title, attr=attr, max_zoom=19, show=basemap == ("osm", "satellite")[i]).add_to(m)
    BlankBase(show=basemap == "none").add_to(m)
    add_choropleth(m, units, value=value, label=label, unit=unit, name=name, tooltip=tooltip, note=note,
                   zoom=zoom + 1)
    folium.LayerControl(collapsed=True).add_to(m)
    m.fit_bounds([[box[1], box[0]], [box[3], box[2]]])
    return m
