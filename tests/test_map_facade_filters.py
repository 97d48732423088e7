"""``HgWatch.map``, the public facade's map (the HTML download, ``cli.py tiles``, any Python caller), draws
the query as the dashboard's pages do: the filtered view's sites and a first view framed on what the
filters keep. Known answers on a hand-made workspace of four sites in two districts.

Found in review of 2026-11-28: the framing lived in ``services.tiles.view_map`` around the facade, so
``HgWatch.map`` itself kept the whole workspace's extent under any filter (the North district's map
opened on the whole country). One home now: the facade; the pages call it.
"""
from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from layers.store.workspace import Workspace
from services.hgwatch import HgWatch, Query
from services.view import Filters
from settings import Settings

SITES = {"S1": (-2.9, 5.0), "S2": (-2.8, 5.1), "N1": (-0.60, 7.60), "N2": (-0.45, 7.65)}
AREAS = {"S1": "South", "S2": "South", "N1": "North", "N2": "North"}
FIT = re.compile(r"fitBounds\(\s*\[\[([-\d.e]+), ([-\d.e]+)\], \[([-\d.e]+), ([-\d.e]+)\]\]")


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory) -> HgWatch:
    path: Path = tmp_path_factory.mktemp("facade") / "ws.gpkg"
    sites = gpd.GeoDataFrame(
        {"site_id": list(SITES), "name": ["South One", "South Two", "North One", "North Two"],
         "status": ["active"] * 4, "uses_mercury": [True, False, False, False],
         "admin_area": [AREAS[k] for k in SITES]},
        geometry=[shapely.Point(*xy) for xy in SITES.values()], crs=4326)
    water = gpd.GeoDataFrame(  # a river along the south and east edges: the whole workspace reaches (-3.2, 4.8)
        {"water_id": ["W1"], "name": ["Ankobra"], "kind": ["river"]},
        geometry=[shapely.LineString([(-3.2, 4.8), (-0.3, 4.8), (-0.3, 7.7)])], crs=4326)
    Workspace(path).write_layers([("mining_sites", sites), ("water_bodies", water)], source="hand-made")
    return HgWatch(Settings.from_env(None, workspace=path))


def _fit(svc: HgWatch, q: Query) -> tuple[float, ...]:
    """The first view (south, west, north, east) of the facade's map of ``q``."""
    found = FIT.findall(svc.map(q).get_root().render())
    assert len(found) == 1
    return tuple(float(v) for v in found[0])


def _site_ids(svc: HgWatch, q: Query) -> set[str]:
    html = svc.map(q).get_root().render()
    return {k for k in SITES if f'"{k}"' in html}


def test_the_facade_frames_and_draws_what_the_filter_keeps(svc: HgWatch) -> None:
    north = Query(Filters(admin_areas=("North",)))
    assert _fit(svc, north) == (7.60, -0.60, 7.65, -0.45)  # the two North sites, not the river's reach
    assert _site_ids(svc, north) == {"N1", "N2"}
    south = Query(Filters(admin_areas=("South",)))
    assert _fit(svc, south) == (5.0, -2.9, 5.1, -2.8)
    assert _site_ids(svc, south) == {"S1", "S2"}


def test_no_filter_frames_every_site_not_the_context_layers(svc: HgWatch) -> None:
    assert _fit(svc, Query()) == (5.0, -2.9, 7.65, -0.45)  # the four sites, not the river's reach to (-3.2, 4.8)
    assert _site_ids(svc, Query()) == set(SITES)
