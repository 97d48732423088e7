"""Vector tiles for the dashboard's map: where they are written and served, and from what size.

Streamlit serves the folder ``static/`` beside the main script at ``/app/static/``
(``server.enableStaticServing``) and answers HTTP range requests, which is all a PMTiles archive
needs. Bundles go to ``static/tiles/`` (gitignored). A layer is drawn as vector tiles when it has
more features than ``HGWATCH_TILES_ABOVE`` (default ``MapOptions.tiles_above``), and only when
tippecanoe and the protomaps-leaflet files are installed (``make install``); otherwise every
layer draws as rows, as before. ``HGWATCH_BASEMAP`` picks the base layer shown first.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import folium
import geopandas as gpd

from geo.errors import InputError
from geo.words import counted
from render.map.assets import STATIC_DIR, VENDOR_DIR, installed
from render.map.mapview import MapOptions, build_map
from render.map.tiles import TileError, TileStore, tippecanoe_path
from render.map.vectortiles import VectorTiles

if TYPE_CHECKING:
    from services.hgwatch import HgWatch

LOG = logging.getLogger(__name__)

TILES_DIR = STATIC_DIR / "tiles"
TILES_URL = "/app/static/tiles"
ENV_ABOVE = "HGWATCH_TILES_ABOVE"
ENV_BASEMAP = "HGWATCH_BASEMAP"
BASEMAPS = ("osm", "satellite", "none")


def tiles_above(env: dict[str, str] | None = None) -> int:
    """The feature count above which a layer is tiled: ``$HGWATCH_TILES_ABOVE`` or the default.

    Raises
    ------
    InputError
        When the variable is set but is not a whole number >= 0 (names the variable and value).
    """
    raw = (os.environ if env is None else env).get(ENV_ABOVE, "").strip()
    if not raw:
        return MapOptions.tiles_above
    if not raw.isdigit():
        raise InputError(f"environment variable {ENV_ABOVE}: value {raw!r}: expected a whole "
                         "number of features >= 0")
    return int(raw)


def basemap(env: dict[str, str] | None = None) -> str:
    """The base layer shown first: ``$HGWATCH_BASEMAP`` (osm, satellite or none; "none" for an
    office with no internet) or osm.

    Raises
    ------
    InputError
        When the variable names no known basemap (names the variable, value and choices).
    """
    raw = (os.environ if env is None else env).get(ENV_BASEMAP, "").strip().lower() or "osm"
    if raw not in BASEMAPS:
        raise InputError(f"environment variable {ENV_BASEMAP}: value {raw!r}: expected one of "
                         f"{list(BASEMAPS)}")
    return raw


def available(vendor: Path = VENDOR_DIR) -> bool:
    """True when tippecanoe and the protomaps-leaflet files are installed."""
    return tippecanoe_path() is not None and installed(vendor, "protomaps-leaflet")


def map_options(folder: Path | None = None, url: str = TILES_URL) -> MapOptions:
    """The dashboard's map options: vector tiles in ``folder`` (default ``TILES_DIR``, served at
    ``url``) above the threshold when they can be built and drawn, else the row-based map."""
    if not available():
        return MapOptions(basemap=basemap())
    return MapOptions(tiles=TileStore(Path(folder or TILES_DIR), url), tiles_above=tiles_above(),
                      basemap=basemap())


def draw_map(layers: Mapping[str, gpd.GeoDataFrame], *, violations: gpd.GeoDataFrame | None,
             zone_m: float | None, options: MapOptions | None = None, focus: Collection[str] = ()) -> folium.Map:
    """``render.map.mapview.build_map`` with ``options`` (default: the dashboard's
    ``map_options``) and ``focus``; when the tiles cannot be built (tippecanoe failed, the folder
    cannot be written), the row-based map, and the reason goes to the log."""
    options = options or map_options()
    try:
        return build_map(layers, violations=violations, zone_m=zone_m, options=options, focus=focus)
    except TileError as exc:
        LOG.warning("vector tiles not built, drawing rows instead: %s", exc)
        return build_map(layers, violations=violations, zone_m=zone_m,
                         options=MapOptions(basemap=options.basemap), focus=focus)


@dataclass(frozen=True)
class Prebuilt:
    """What ``prebuild`` did: the tiled layers of the first map (switcher name, features) and
    the seconds it took; ``reason`` says why nothing was tiled."""

    layers: tuple[tuple[str, int], ...]
    seconds: float
    reason: str = ""


def vector_layers(element: object) -> Iterator[VectorTiles]:
    """Every vector-tile layer of a folium ``element`` and its children."""
    if isinstance(element, VectorTiles):
        yield element
    for child in getattr(element, "_children", {}).values():
        yield from vector_layers(child)


def prebuild(svc: HgWatch) -> Prebuilt:
    """Build the vector tiles of the dashboard's first map (no filter, every rule, the rule
    file's distances) for ``svc``'s identity, so that the first visitor after an import finds
    them on disk: the map of ``svc.map`` for the default query, whose archives land in
    ``TILES_DIR`` under the same keys the dashboard computes (``render.map.tiles.data_key``:
    the same data give the same archive whichever rules were picked). Archives already built
    are reused, so a second run only checks them.
    """
    from services.hgwatch import Query  # the service module loads the store and the rules

    start = time.perf_counter()
    if not available():
        return Prebuilt((), 0.0, "tippecanoe or the protomaps-leaflet files are not installed (`make install`)")
    layers = tuple((str(t.layer_name), int(t.bundle.features)) for t in vector_layers(svc.map(Query())))
    reason = "" if layers else f"no layer has more than {counted(tiles_above(), 'feature')} (${ENV_ABOVE})"
    return Prebuilt(layers, time.perf_counter() - start, reason)
