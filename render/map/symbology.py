"""Map symbology: site classes by mercury use and status, path styles from the catalogue, legend.

Colours start from each layer's catalogue ``Style``; mining sites are split into classes so that
whole-ore amalgamation and open burning (Minamata Annex C worst practices) stand out.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import geopandas as gpd
import pandas as pd

from geo.sites import NONE, USES, mercury_use
from layers.catalogue import CATALOGUE, Style
from render.map.popups import escape

# (key, legend label) in drawing priority: the first class a site matches wins.
SITE_CLASSES: tuple[tuple[str, str], ...] = (
    ("whole_ore", "Whole-ore amalgamation (Annex C worst practice)"),
    ("open_burning", "Open burning of amalgam (Annex C worst practice)"),
    ("mercury", "Uses mercury, active"),
    ("mercury_idle", "Uses mercury, inactive / abandoned / unknown status"),
    ("no_mercury", "No mercury use reported"),
    ("unknown", "Mercury use not recorded"),
)
SEVERITY_COLOURS = {"critical": "#67000d", "high": "#d7191c", "medium": "#f46d43",
                    "low": "#fdae61", "info": "#fee08b"}
ZONE_STYLE = {"color": "#d7191c", "weight": 1, "fillColor": "#fb6a4a", "fillOpacity": 0.15,
              "dashArray": "2 4", "interactive": False}
LINK_STYLE = {"color": "#d7191c", "weight": 2.5, "dashArray": "6 4", "opacity": 0.9}

def path_style(style: Style, *, line: bool = False) -> dict[str, object]:
    """Leaflet path options of a catalogue ``Style``; ``line`` draws thicker, fully opaque."""
    out: dict[str, object] = {"color": style.color, "fillColor": style.fill_color,
                              "weight": style.weight + (0.5 if line else 0), "opacity": 0.9,
                              "fillOpacity": style.fill_opacity, "radius": style.radius}
    if style.dash_array:
        out["dashArray"] = style.dash_array
    return out


def site_styles(base: Style) -> dict[str, dict[str, object]]:
    """Leaflet path options per site class, derived from the mining-site catalogue style."""
    r = base.radius
    return {
        "whole_ore": path_style(replace(base, color="#67000d", fill_color="#d7191c", weight=3,
                                        fill_opacity=0.95, radius=r + 3)),
        "open_burning": path_style(replace(base, color="#67000d", fill_color="#f03b20",
                                           weight=2.5, fill_opacity=0.9, radius=r + 2)),
        "mercury": path_style(replace(base, fill_opacity=0.9)),
        "mercury_idle": path_style(replace(base, fill_color="#fdd49e", fill_opacity=0.7,
                                           dash_array="3 3")),
        "no_mercury": path_style(replace(base, color="#1a9641", fill_color="#ffffff",
                                         fill_opacity=0.9)),
        "unknown": path_style(replace(base, color="#636363", fill_color="#bdbdbd",
                                      fill_opacity=0.8)),
    }


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """Column ``name`` as object dtype, or all-missing when the frame lacks it."""
    if name in frame:
        return frame[name].astype(object)
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def site_classes(sites: pd.DataFrame) -> pd.Series:
    """The symbology class key of every site (see ``SITE_CLASSES``), aligned with ``sites``.

    Whether a site uses mercury is ``geo.sites.mercury_use`` (said so, amalgamates, or burns
    amalgam); whole-ore amalgamation and open burning then stand out on their own."""
    amal = _column(sites, "amalgamation").astype(str)
    burn = _column(sites, "burning").astype(str)
    status = _column(sites, "status").astype(str)
    use = mercury_use(sites)
    hg = use == USES
    out = pd.Series("unknown", index=sites.index, dtype=object)
    out[use == NONE] = "no_mercury"
    out[hg & (status != "active")] = "mercury_idle"
    out[hg & (status == "active")] = "mercury"
    out[burn == "open"] = "open_burning"
    out[amal == "whole_ore"] = "whole_ore"
    return out


def violation_styles() -> dict[str, dict[str, object]]:
    """Ring styles for flagged features, one per severity (unknown severities draw red)."""
    styles = {k: {"color": c, "weight": 2, "fill": False, "radius": 10, "opacity": 1}
              for k, c in SEVERITY_COLOURS.items()}
    return {**styles, **{k: styles["high"] for k in ("unknown", "None", "nan")}}


def _swatch(style: Mapping[str, object], *, line: bool = False) -> str:
    """A small inline SVG sample of a path style (values are ours, escaped anyway)."""
    stroke, fill = escape(style.get("color", "#000")), escape(style.get("fillColor", "none"))
    dash = escape(style.get("dashArray", ""))
    if line:
        return (f'<svg width="18" height="10"><line x1="1" y1="5" x2="17" y2="5" stroke="{stroke}"'
                f' stroke-width="3" stroke-dasharray="{dash}"/></svg>')
    return (f'<svg width="18" height="14"><circle cx="9" cy="7" r="5" stroke="{stroke}"'
            f' stroke-width="2" fill="{fill}" stroke-dasharray="{dash}"/></svg>')


def legend_html(layers: Mapping[str, gpd.GeoDataFrame],
                violations: gpd.GeoDataFrame | None, classes: pd.Series | None = None) -> str:
    """The legend as escaped HTML (collapsible): site classes present, the other layers,
    violation marks. ``classes``: ``site_classes`` of the sites when the caller has them already."""
    rows: list[str] = []
    if "mining_sites" in layers:
        styles = site_styles(CATALOGUE["mining_sites"].style)
        present = set((site_classes(layers["mining_sites"]) if classes is None else classes).unique())
        rows += [f"{_swatch(styles[k])} {escape(label)}" for k, label in SITE_CLASSES if k in present]
    for name in layers:
        if name == "mining_sites" or name not in CATALOGUE:
            continue
        spec = CATALOGUE[name]
        rows.append(f"{_swatch(path_style(spec.style), line=name == 'water_bodies')} "
                    f"{escape(spec.title)}")
    if violations is not None and len(violations):
        rows.append(f"{_swatch(violation_styles()['high'])} flagged by a rule")
        rows.append(f"{_swatch(LINK_STYLE, line=True)} line to the nearest water")
        rows.append(f"{_swatch(ZONE_STYLE)} rule buffer around that water")
    return ('<details open><summary style="cursor:pointer"><b>Legend</b></summary>'
            + "<br>".join(rows) + "</details>")
