"""The stand-alone map: one self-contained HTML file for a laptop in the field, no network needed.

Leaflet's JavaScript and CSS (and the marker-cluster plugin's) are inlined from the pinned
packages, with their images as data: URIs; only basemap tiles are fetched when online. A layer
drawn as vector tiles carries its PMTiles archive and popup rows inside the page (base64), read
by pmtiles from memory.
"""
from __future__ import annotations

import html
from typing import cast

import folium
from branca.element import Element, Figure
from folium.elements import JSCSSMixin

from render.map import assets
from render.map.vectortiles import VectorTiles


def _walk(element: object) -> list[object]:
    """``element`` and all its descendants."""
    out = [element]
    for child in getattr(element, "_children", {}).values():
        out.extend(_walk(child))
    return out


def standalone_html(m: folium.Map, *, title: str = "HgWatch map") -> str:
    """``m`` rendered as one HTML document with every script and stylesheet inlined.

    Parameters
    ----------
    m : a map from ``render.map.mapview.build_map`` (it is modified: its asset links are removed).
    title : the document title.

    Returns
    -------
    str : a complete HTML document that loads nothing but basemap tiles.
    """
    keys = {"leaflet"}
    for el in _walk(m):
        if isinstance(el, VectorTiles):
            el.inline()  # the archive and its popup rows travel inside the page
            keys.update(("protomaps-leaflet", "pmtiles"))
        if isinstance(el, JSCSSMixin):
            if any("markercluster" in url for _, url in el.default_js):
                keys.add("markercluster")
            el.default_js, el.default_css = [], []
    js, css = assets.inline_bundle(*sorted(keys, key=lambda k: k != "leaflet"))
    js = js.replace("</", "<\\/")  # nothing in a script may close the element early
    css = css.replace("</", "<\\/")
    root = cast(Figure, m.get_root())  # a Map's root is always its Figure
    root.header.add_child(Element(f"<title>{html.escape(title)}</title>"), name="hgw_title", index=0)
    root.header.add_child(Element(f"<style>{css}</style>"), name="hgw_css", index=1)
    root.header.add_child(Element(f"<script>{js}</script>"), name="hgw_js", index=2)
    return root.render()
