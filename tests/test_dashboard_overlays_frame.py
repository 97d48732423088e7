"""The Contamination overlays page's map opens on the sites, as the Map page's does, not on every layer's
bounds: in the national walk of 2026-11-28 its 7,249 OSM places framed all of Ghana and put the 685
mining footprints in a corner at the map's bottom edge. Known answer on a hand-made workspace: two sites
in the south-west, places across the country."""
from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from streamlit.testing.v1 import AppTest

from layers.store.workspace import Workspace

APP = str(Path(__file__).resolve().parent.parent / "app.py")
FIT = re.compile(r"fitBounds\((?:\\+n|\s)*\[\[([-\d.e]+), ([-\d.e]+)\], \[([-\d.e]+), ([-\d.e]+)\]\]")


def _fits(node: object) -> list[tuple[float, ...]]:
    """The first views of every map element under ``node`` of an AppTest's tree (south, west, north, east)."""
    found = [tuple(float(v) for v in m) for m in FIT.findall(str(getattr(node, "proto", "")))]
    children = getattr(node, "children", None)
    for child in children.values() if isinstance(children, dict) else []:
        found += _fits(child)
    return found


def test_the_overlays_map_frames_the_sites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ws.gpkg"
    sites = gpd.GeoDataFrame({"site_id": ["S1", "S2"], "name": ["a", "b"], "status": ["active"] * 2,
                              "uses_mercury": [True, False]},
                             geometry=[shapely.Point(-2.9, 5.0), shapely.Point(-2.8, 5.1)], crs=4326)
    places = gpd.GeoDataFrame({"area_id": ["P1", "P2"], "name": ["Accra", "Tamale"], "population": [10, 20]},
                              geometry=[shapely.Point(-0.2, 5.6), shapely.Point(-0.85, 9.4)], crs=4326)
    Workspace(path).write_layers([("mining_sites", sites), ("residential_areas", places)], source="hand-made")
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(path))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("ui/pages/overlays.py").run()
    assert not at.exception, at.exception
    assert _fits(at._tree) == [(5.0, -2.9, 5.1, -2.8)]  # the two sites, not the places to (9.4, -0.2)
