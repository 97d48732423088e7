"""Small folium elements the map is built from: compact point layers, helpers, legend, notes.

Each element renders plain Leaflet calls. Data travel as JSON through Jinja's ``tojson``
(which writes ``<``, ``>``, ``&`` and ``'`` as unicode escapes), never as raw HTML.
"""
from __future__ import annotations

import json
import re
from typing import Any

import folium
from branca.element import Element, Figure, MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from render.map import assets
from render.map.popups import HELPERS_JS

_TAGS = ("{{", "{%", "{#")
_NEWLINES = re.compile(r"\r\n|\r")


class _Written(Element):
    """Text an element's macro wrote, put on the page as Jinja gives back a text without a tag (its
    line ends as ``\\n``, less one at its end). branca's ``MacroElement.render`` wraps each such text
    in an ``Element`` whose template is the text: compiled again for every map, the rows of 10,614
    sites and their violations took 0.7 s (6 MB lexed by Jinja's regular expressions)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        text = _NEWLINES.sub("\n", text)
        self.text = text[:-1] if text.endswith("\n") else text

    def render(self, **kwargs: Any) -> str:
        del kwargs
        return self.text


class WrittenOnce(MacroElement):
    """A ``MacroElement`` whose macros' text reaches the page without being compiled again as a template
    (``_Written``), when it holds no tag (``script_json`` leaves none in the data; a text that holds one
    goes branca's way, unchanged). Put it after folium's ``Layer`` among a class's bases."""

    def render(self, **kwargs: Any) -> Any:
        """``MacroElement.render``, with each macro's text put on the page as written (None, as it)."""
        figure = self.get_root()
        assert isinstance(figure, Figure), "You cannot render this Element if it is not in a Figure."
        for part, box in (("header", figure.header), ("html", figure.html), ("script", figure.script)):
            macro = self._template.module.__dict__.get(part, None)
            if macro is not None:
                text = macro(self, kwargs)
                box.add_child(Element(text) if any(t in text for t in _TAGS) else _Written(text), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)
        return None


class Helpers(MacroElement):
    """Defines ``window.hgw`` (escaping, popup builder) before any layer uses it."""

    _template = Template("{% macro script(this, kwargs) %}" + HELPERS_JS + "{% endmacro %}")


class PointRows(JSCSSMixin, Layer, WrittenOnce):
    """Many points sent as compact rows ``[lat, lon, class, v0, v1, ...]``, drawn as circle markers.

    Parameters
    ----------
    rows : one list per point: latitude and longitude in degrees (6 decimals), a style class
        key, then the popup values in the order of ``popup['fields']``.
    styles : Leaflet path options per style class.
    popup : ``{"title": ..., "fields": [[name, label, unit], ...]}`` for ``hgw.popup``.
    cluster : group the markers with Leaflet.markercluster (served locally).
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var spec = {{ this.popup|tojson }};
            var styles = {{ this.styles|tojson }};
            var rows = {{ this.rows_json }};
            var group = {% if this.cluster %}L.markerClusterGroup({{ this.cluster_options|tojson }})
                        {% else %}L.featureGroup(){% endif %};
            var made = [];
            var popup = function (layer) { return hgw.popup(spec, layer.hgwRow.slice(3)); };
            for (var i = 0; i < rows.length; i++) {
                var r = rows[i];
                var m = L.circleMarker([r[0], r[1]], styles[r[2]]);
                m.hgwRow = r;
                m.bindPopup(popup);
                made.push(m);
            }
            {% if this.cluster %}group.addLayers(made);
            {% else %}for (var j = 0; j < made.length; j++) { group.addLayer(made[j]); }{% endif %}
            return group;
        })();
        {% endmacro %}
    """)

    def __init__(self, rows: list[list[Any]], *, styles: dict[str, dict[str, Any]],
                 popup: dict[str, Any], name: str, cluster: bool = False,
                 show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "PointRows"
        self.rows = rows
        self.rows_json = script_json(rows)
        self.styles = styles
        self.popup = popup
        self.cluster = cluster
        self.cluster_options = {"disableClusteringAtZoom": 13, "chunkedLoading": True,
                                "showCoverageOnHover": False}
        self.default_js = assets.js_urls("markercluster") if cluster else []
        self.default_css = assets.css_urls("markercluster") if cluster else []

    def _get_self_bounds(self) -> list[list[float | None]]:
        if not self.rows:
            return [[None, None], [None, None]]
        lats = [r[0] for r in self.rows]
        lons = [r[1] for r in self.rows]
        return [[min(lats), min(lons)], [max(lats), max(lons)]]


class EncodedShapes(Layer, WrittenOnce):
    """Lines and polygons sent as encoded polylines (``render.map.polyline``), one row per feature:
    ``[class, "L" | "P", parts, v0, v1, ...]``; drawn as Leaflet polylines / polygons.

    Parameters
    ----------
    rows : per feature a style class key, "L" (parts = [line, ...]) or "P" (parts = [[ring,
        ...], ...]), the encoded parts, then the popup values in ``popup['fields']`` order.
    styles : Leaflet path options per style class.
    popup : ``{"title": ..., "fields": [...]}`` for ``hgw.popup``; None for no popup.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var spec = {{ this.popup|tojson }};
            var styles = {{ this.styles|tojson }};
            var rows = {{ this.rows_json }};
            var group = L.featureGroup();
            var popup = function (layer) { return hgw.popup(spec, layer.hgwRow.slice(3)); };
            for (var i = 0; i < rows.length; i++) {
                var r = rows[i], shape;
                if (r[1] === "L") {
                    shape = L.polyline(r[2].map(hgw.decode), styles[r[0]]);
                } else {
                    shape = L.polygon(r[2].map(function (p) { return p.map(hgw.decode); }),
                                      styles[r[0]]);
                }
                shape.hgwRow = r;
                if (spec) { shape.bindPopup(popup); }
                group.addLayer(shape);
            }
            return group;
        })();
        {% endmacro %}
    """)

    def __init__(self, rows: list[list[Any]], *, styles: dict[str, dict[str, Any]],
                 popup: dict[str, Any] | None, name: str, show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "EncodedShapes"
        self.rows = rows
        self.rows_json = script_json(rows)
        self.styles = styles
        self.popup = popup

    def _get_self_bounds(self) -> list[list[float | None]]:
        return [[None, None], [None, None]]


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')  # one JSON string literal
_IN_STRING = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "{": "\\u007b", "}": "\\u007d",
              "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(value: object) -> str:
    """Compact JSON safe inside ``<script>`` and inside folium's templates.

    Inside string values, ``<``, ``>``, ``&``, ``{``, ``}`` and U+2028/9 become ``\\uXXXX``
    escapes: no value can close the script element, and none can form ``{{ }}`` or ``{% %}``,
    which branca would otherwise evaluate as Jinja when it assembles the page.
    """
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if "{" not in text and "}" not in text:  # no object, no brace in a string: the others occur only in strings
        for ch, esc in _IN_STRING.items():  # one pass each over the text, not a call per string (10^5 of them)
            text = text.replace(ch, esc)
        return text

    def clean(match: re.Match[str]) -> str:
        out = match.group(0)
        for ch, esc in _IN_STRING.items():
            out = out.replace(ch, esc)
        return out
    return _JSON_STRING.sub(clean, text)


class BlankBase(Layer):
    """A base layer with no tiles: every overlay draws on the plain map background."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.layerGroup();
        {% endmacro %}
    """)

    def __init__(self, name: str = "No basemap (offline)", show: bool = False) -> None:
        super().__init__(name=name, overlay=False, control=True, show=show)
        self._name = "BlankBase"


MAX_HEIGHT = 0.45  # an HtmlControl's largest height, as a share of its map's


class HtmlControl(MacroElement):
    """A Leaflet control holding server-built, already escaped HTML (legend, notes).

    When ``on_tile_error`` is true the control starts hidden and appears the first time a
    basemap tile fails to load (no internet): the layers still draw on a plain background.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
            div.innerHTML = {{ this.html|tojson }};
            div.style.background = "rgba(255,255,255,0.92)";
            div.style.padding = "6px 8px";
            div.style.borderRadius = "4px";
            div.style.font = "12px/1.4 sans-serif";
            div.style.maxWidth = "300px";
            // at most this share of the map's height, scrolled beyond: a long legend on a small map hid the map
            div.style.maxHeight = Math.round(map.getSize().y * {{ this.max_height }}) + "px";
            div.style.overflowY = "auto";
            div.style.boxSizing = "border-box";
            {% if this.on_tile_error %}div.style.display = "none";{% endif %}
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% if this.on_tile_error %}
        (function (map, ctl) {
            var show = function () { ctl.getContainer().style.display = "block"; };
            map.eachLayer(function (l) { if (l instanceof L.TileLayer) { l.on("tileerror", show); } });
            map.on("baselayerchange", function (e) {
                if (!(e.layer instanceof L.TileLayer)) { show(); }
            });
        })({{ this._parent.get_name() }}, {{ this.get_name() }});
        {% endif %}
        {% endmacro %}
    """)

    def __init__(self, html: str, *, css_class: str, position: str = "bottomright",
                 on_tile_error: bool = False) -> None:
        super().__init__()
        self._name = "HtmlControl"
        self.html = html
        self.css_class = css_class
        self.position = position
        self.on_tile_error = on_tile_error
        self.max_height = MAX_HEIGHT


def offline_map(**kwargs: Any) -> folium.Map:
    """A ``folium.Map`` that loads Leaflet from the app's static folder, no CDN, no tiles yet."""
    m = folium.Map(tiles=None, **kwargs)
    m.default_js = assets.js_urls("leaflet")
    m.default_css = assets.css_urls("leaflet")
    Helpers().add_to(m)
    return m
