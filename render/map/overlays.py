"""Contamination overlays drawn onto a folium map: surfaces, sample classes, reaches, pressure.

Every function takes a ``folium.Map`` (e.g. from ``render.map.mapview.build_map``) and adds one
named layer to it; every text from a user's file is HTML-escaped before it reaches the page.
Rasters are warped to Web Mercator with rasterio before they are drawn as image overlays.
"""
from __future__ import annotations

from collections.abc import Mapping

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry.base import BaseGeometry

from geo.contamination import ClassSettings, Guideline, Surface
from geo.exposure import Pressure, Reach
from geo.words import counted
from layers.io.raster import to_web_mercator
from render.map.elements import HtmlControl
from render.map.popups import escape

CLASS_COLOURS = {
    "below": "#1a9850", "near": "#fee08b", "above": "#f46d43",
    "several_times_above": "#a50026", "inconclusive": "#9e9ac8", "no_guideline": "#969696",
}
CLASS_LABELS = {
    "below": "below guideline", "near": "near guideline", "above": "above guideline",
    "several_times_above": "several times above",
    "inconclusive": "inconclusive: detection limit above the guideline, or 0 with no limit",
    "no_guideline": "no guideline set",
}
_NO_GUIDELINE_RAMP = ("#f7fcf5", "#74c476", "#00441b")
PRESSURE_RAMP = ("#fff5eb", "#fd8d3c", "#7f2704")


def _hex(colour: str) -> np.ndarray:
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)


def _control_last(m: folium.Map) -> None:
    """Move the layer switcher after the overlays just added: its script must run after the
    layers it lists are defined (build_map adds it before any overlay of ours). The legends placed
    top right follow it, so that it stays at the top of that corner (Leaflet stacks a top corner in
    the order the controls are added)."""
    for key, child in list(m._children.items()):
        if isinstance(child, folium.LayerControl):
            del m._children[key]
            m.add_child(child, name=key)
    for key, child in list(m._children.items()):
        if isinstance(child, HtmlControl) and child.position == "topright":
            del m._children[key]
            m.add_child(child, name=key)


def guideline_breaks(guideline: Guideline | None, settings: ClassSettings) -> list[float] | None:
    """Class breaks [near, guideline, several x guideline] in the guideline's unit, or None."""
    if guideline is None or guideline.value is None:
        return None
    g = guideline.value
    return [settings.near_fraction * g, g, settings.several_times * g]


def _rgba(values: np.ndarray, breaks: list[float] | None, ramp: tuple[str, ...],
          opacity: float) -> np.ndarray:
    """RGBA image: stepped class colours when ``breaks`` is given, else a linear ramp."""
    out = np.zeros((*values.shape, 4), dtype=np.uint8)
    ok = np.isfinite(values)
    if breaks is not None:
        colours = [CLASS_COLOURS[c] for c in ("below", "near", "above", "several_times_above")]
        # "near" includes the guideline itself; "above" starts strictly above it
        idx = np.searchsorted(np.asarray(breaks), values, side="left")
        idx = np.where(values == breaks[1], 1, idx)
        for i, colour in enumerate(colours):
            out[ok & (idx == i), :3] = _hex(colour)
    elif ok.any():
        lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
        t = np.clip((values - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
        stops = np.array([_hex(c) for c in ramp])
        pos = np.linspace(0, 1, len(ramp))
        for ch in range(3):
            out[..., ch] = np.interp(np.nan_to_num(t), pos, stops[:, ch]).astype(np.uint8)
    out[..., 3] = np.where(ok, int(round(255 * opacity)), 0)
    return out


def add_surface(m: folium.Map, surface: Surface, *, medium: str, guideline: Guideline | None,
                settings: ClassSettings, opacity: float = 0.6) -> str:
    """Draw ``surface`` with colours tied to the guideline; returns the legend HTML added."""
    warped, bounds = to_web_mercator(surface.values, surface.grid)
    breaks = guideline_breaks(guideline, settings)
    image = _rgba(warped, breaks, _NO_GUIDELINE_RAMP, 1.0)
    name = f"Hg in {medium}: {surface.method.upper()} surface ({surface.unit})"
    folium.raster_layers.ImageOverlay(image=image, bounds=[list(bounds[0]), list(bounds[1])],
                                      opacity=opacity, name=escape(name), mercator_project=False,
                                      interactive=False).add_to(m)
    legend = surface_legend(surface, medium=medium, guideline=guideline, breaks=breaks)
    HtmlControl(legend, css_class="hgw-overlay-legend", position="bottomleft").add_to(m)
    _control_last(m)
    return legend


def surface_legend(surface: Surface, *, medium: str, guideline: Guideline | None,
                   breaks: list[float] | None) -> str:
    """Escaped legend HTML for a surface: classes against the guideline, method, CV error."""
    u = escape(surface.unit)
    rows = [f"<b>Hg in {escape(medium)} ({u}), {escape(surface.method.upper())}</b>"]
    if breaks is not None and guideline is not None:
        near, g, several = breaks
        for cls, text in (("below", f"&lt; {near:g}"), ("near", f"{near:g} to {g:g}"),
                          ("above", f"&gt; {g:g}"), ("several_times_above", f"&ge; {several:g}")):
            rows.append(f'<span class="hgw-swatch" style="background:{CLASS_COLOURS[cls]}">'
                        f"&nbsp;&nbsp;&nbsp;</span> {text} {u} ({escape(CLASS_LABELS[cls])})")
        if guideline.upper_value is not None:
            rows.append(f"Range of concern {g:g} to {guideline.upper_value:g} {u}; the lower end "
                        "is used")
        if guideline.predatory_value is not None:
            rows.append(f"Predatory fish: {guideline.predatory_value:g} {u}; the colours use the "
                        f"{g:g} {u} of other fish (each sample's circle is classed by its own level)")
        rows.append(f"Guideline {g:g} {u}: {escape(guideline.citation)}")
    else:
        rows.append("No guideline set for this medium: colours show low to high only.")
    loo = surface.loo_text()
    rows.append(f"{escape(loo[:1].upper() + loo[1:])}. Blank beyond {surface.max_distance_m:g} m "
                "from a sample.")
    return '<div class="hgw-surface-legend">' + "<br>".join(rows) + "</div>"


VARIANCE_RAMP = ("#f7fbff", "#6baed6", "#08306b")


def add_uncertainty(m: folium.Map, surface: Surface, *, medium: str,
                    opacity: float = 0.6) -> str:
    """The kriging variance of ln(Hg) as an overlay; returns the legend HTML added."""
    if surface.variance is None:
        raise ValueError("only a kriged surface has an uncertainty map")
    warped, bounds = to_web_mercator(surface.variance, surface.grid)
    image = _rgba(warped, None, VARIANCE_RAMP, 1.0)
    folium.raster_layers.ImageOverlay(image=image, bounds=[list(bounds[0]), list(bounds[1])],
                                      opacity=opacity, interactive=False,
                                      name=escape(f"Hg in {medium}: kriging uncertainty"),
                                      mercator_project=False).add_to(m)
    finite = surface.variance[np.isfinite(surface.variance)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    legend = (
        f'<div class="hgw-surface-legend"><b>Kriging uncertainty, Hg in {escape(medium)}</b><br>'
        f'<span style="background:linear-gradient(to right,{",".join(VARIANCE_RAMP)});'
        'display:inline-block;width:120px">&nbsp;</span> '
        f"variance of ln(Hg) {lo:.3g} to {hi:.3g} (lowest near samples)<br>A variance of 1 means the "
        "true value is within a factor of about 7 (95 %) of the estimate.</div>")
    HtmlControl(legend, css_class="hgw-overlay-legend", position="bottomleft").add_to(m)
    _control_last(m)
    return legend


def sample_legend(classed: gpd.GeoDataFrame) -> str:
    """Legend HTML of the sample circles: each class present, its colour, label and count."""
    counts = classed["hg_class"].astype(str).value_counts()
    rows = []
    for cls in [*CLASS_COLOURS, *sorted(set(counts.index) - set(CLASS_COLOURS))]:
        if cls in counts.index:
            rows.append(f'<span class="hgw-swatch" style="background:{CLASS_COLOURS.get(cls, "#969696")};'
                        'border-radius:50%">&nbsp;&nbsp;&nbsp;</span> '
                        f"{escape(CLASS_LABELS.get(cls, cls))} ({int(counts[cls]):,})")
    return ('<div class="hgw-sample-legend"><details open><summary style="cursor:pointer" title="each '
            "against its own medium's guideline\"><b>Samples by guideline class</b></summary>"
            + "<br>".join(rows) + "</details></div>")


def add_sample_classes(m: folium.Map, classed: gpd.GeoDataFrame) -> str:
    """Samples as circles coloured by guideline class, with escaped tooltips and a legend of the
    classes (returned)."""
    group = folium.FeatureGroup(name="Samples by guideline class", show=True)
    for row in classed.to_crs(4326).itertuples():
        cls = str(row.hg_class)
        tip = (f"{escape(row.sample_id)} ({escape(row.medium)}): {escape(row.hg_text)}, "
               f"{escape(CLASS_LABELS.get(cls, cls))}")
        folium.CircleMarker([row.geometry.y, row.geometry.x], radius=6, weight=1,
                            color="#333333", fill=True, fill_opacity=0.9,
                            fill_color=CLASS_COLOURS.get(cls, "#969696"),
                            tooltip=folium.Tooltip(tip), class_name=f"hgw-sample hgw-{cls}",
                            ).add_to(group)
    group.add_to(m)
    legend = sample_legend(classed)  # top right, under the layer switcher: the map's legend fills the bottom
    HtmlControl(legend, css_class="hgw-overlay-legend", position="topright").add_to(m)
    _control_last(m)
    return legend


def add_reaches(m: folium.Map, reaches: list[Reach], people: pd.DataFrame, *,
                reach_m: float, areas: Mapping[str, BaseGeometry] | None = None,
                buffer_m: float | None = None) -> str | None:
    """Downstream reaches as lines and the settlements along them as labelled circles, with a
    legend (returned; None when there is no reach to explain).

    ``areas`` maps area_id to its lon/lat geometry (for the settlement markers); ``buffer_m`` is the
    settlement distance they were found within (metres), said in the legend.
    """
    group = folium.FeatureGroup(name=f"Downstream reach ({reach_m / 1000:g} km)", show=True)
    for reach in reaches:
        for piece in reach.pieces:
            folium.PolyLine([(y, x) for x, y in piece.geometry.coords], color="#d7301f",
                            weight=4, opacity=0.85, class_name="hgw-reach",
                            tooltip=folium.Tooltip(f"downstream of {escape(reach.source_id)}"),
                            ).add_to(group)
    for row in people.itertuples():
        pop = "population unknown" if pd.isna(row.population) else counted(int(row.population), "person")
        tip = (f"{escape(row.name if isinstance(row.name, str) else row.area_id)}: {pop}, "
               f"{row.along_river_m / 1000:.1f} km downstream of {escape(row.source_id)}")
        area = areas.get(str(row.area_id)) if areas is not None else None
        if area is None:
            continue
        point = area.representative_point()
        folium.CircleMarker([point.y, point.x], radius=8, weight=2, color="#6a3d9a",
                            fill=True, fill_color="#cab2d6", fill_opacity=0.9,
                            class_name="hgw-people-downstream",
                            tooltip=folium.Tooltip(tip)).add_to(group)
    group.add_to(m)
    legend = None
    if reaches:
        near = "" if buffer_m is None else f" within {buffer_m:,.0f} m of the bank"
        legend = ('<div class="hgw-reach-legend"><details open><summary style="cursor:pointer" title='
                  '"both distances are assumptions (config/exposure.toml); population in the tooltip">'
                  '<b>Downstream</b> (assumed distances)</summary><span style="display:inline-block;'
                  'width:18px;height:4px;background:#d7301f;vertical-align:middle"></span> '
                  f"{reach_m / 1000:g} km downstream of {counted(len(reaches), 'mercury source')}<br>"
                  '<span class="hgw-swatch" style="background:#cab2d6;border:2px solid #6a3d9a;'
                  f'border-radius:50%">&nbsp;&nbsp;</span> settlement{near}</details></div>')
        HtmlControl(legend, css_class="hgw-overlay-legend", position="topright").add_to(m)
    _control_last(m)
    return legend


def add_pressure(m: folium.Map, pressure: Pressure, *, opacity: float = 0.6) -> str:
    """The pressure estimate (central) as an image overlay; returns the legend HTML added."""
    hi = float(pressure.central.max()) if pressure.central.size else 0.0
    # cells under 1 % of the peak stay blank; colour follows the square root (faint tails show)
    values = np.where(pressure.central >= 0.01 * hi, pressure.central, np.nan) if hi > 0 else \
        np.full(pressure.central.shape, np.nan)
    warped, bounds = to_web_mercator(values, pressure.grid)
    image = _rgba(np.sqrt(warped), None, PRESSURE_RAMP, 1.0)
    folium.raster_layers.ImageOverlay(image=image, bounds=[list(bounds[0]), list(bounds[1])],
                                      opacity=opacity, name="Mercury pressure (ESTIMATE)",
                                      mercator_project=False, interactive=False,
                                      ).add_to(m)
    legend = (
        '<div class="hgw-pressure-legend"><b>Mercury pressure: ESTIMATE, not a measurement</b>'
        f'<br><span style="background:linear-gradient(to right,{",".join(PRESSURE_RAMP)});'
        'display:inline-block;width:120px">&nbsp;</span> 0 to '
        f"{hi:.3g} kg Hg/yr per km² (central estimate, square-root scale; blank under 1 % "
        "of the peak)<br>"
        f"{pressure_range(pressure)}<br>"
        f"Kernel width {pressure.kernel_width_m:g} m; {counted(pressure.n_sites, 'site')}; "
        f"{counted(pressure.n_not_estimable, 'site')} not estimable (not counted as zero)</div>")
    HtmlControl(legend, css_class="hgw-overlay-legend", position="bottomleft").add_to(m)
    _control_last(m)
    return legend


def pressure_range(pressure: Pressure) -> str:
    """The estimate as a range with its source: the mercury use spread in all and the peak, at the
    low, central and high ends of every site's estimate (the inventory factors)."""
    km2 = (pressure.grid.cell_m / 1000) ** 2
    low, central, high = (float(b.sum()) * km2 for b in (pressure.low, pressure.central, pressure.high))
    peaks = [float(b.max()) if b.size else 0.0 for b in (pressure.low, pressure.high)]
    return (f"In all {low:,.0f}-{high:,.0f} kg Hg/yr (central {central:,.0f}); peak "
            f"{peaks[0]:.3g}-{peaks[1]:.3g} kg Hg/yr per km²: each site's estimated use at the low "
            "and high ends of the inventory factors (config/inventory.toml, with their sources)")
