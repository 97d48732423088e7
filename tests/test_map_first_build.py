"""The map's first build does each piece of work once (issue 13: the cold start of the national map).

``build_map`` made the sites' style classes (``symbology.site_classes``: 0.06 s at 100,000 sites)
twice on every build, once for the layer (vector tiles or rows) and once more for the legend; it now
makes them once and hands them to both. The classes the layer and the legend show are the same as
before: the legend lists the classes present, the archive holds each site's class.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from render.map import symbology as sym
from render.map.mapview import MapOptions, build_map
from tests.test_map_tiles import _features, needs_tippecanoe
from tests.test_mapview import _sites, _violations, _water


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of sites of every ``site_classes`` call (the real function runs)."""
    calls: list[int] = []
    real = sym.site_classes

    def counting(sites: pd.DataFrame) -> pd.Series:
        calls.append(len(sites))
        return real(sites)
    monkeypatch.setattr(sym, "site_classes", counting)
    return calls


def _legend(html: str) -> str:
    """The legend's HTML on the page (a JSON string in the map script)."""
    found = re.search(r'"hgw-legend"\);\s*div\.innerHTML = ("(?:[^"\\]|\\.)*");', html)
    assert found, "no legend on the map"
    legend = json.loads(found.group(1))
    assert "<b>Legend</b>" in legend
    return str(legend)


def test_rows_map_makes_the_site_classes_once(counted: list[int]) -> None:
    sites = _sites()
    html = build_map({"mining_sites": sites, "water_bodies": _water()}, violations=_violations(),
                     zone_m=100).get_root().render()
    assert counted == [len(sites)]
    legend = _legend(html)
    # the three classes of the three sites, and no other (labels from SITE_CLASSES)
    shown = {k for k, label in sym.SITE_CLASSES if label in legend}
    assert shown == {"whole_ore", "mercury_idle", "no_mercury"}


@needs_tippecanoe
def test_tiled_map_makes_the_site_classes_once(counted: list[int], tmp_path: Path) -> None:
    from render.map.tiles import PMTILES, TileStore

    sites = _sites()
    store = TileStore(tmp_path / "tiles", "/app/static/tiles")
    html = build_map({"mining_sites": sites, "water_bodies": _water()}, violations=_violations(),
                     zone_m=100, options=MapOptions(tiles=store, tiles_above=2)).get_root().render()
    assert counted == [len(sites)]
    assert {k for k, label in sym.SITE_CLASSES if label in _legend(html)} == {"whole_ore", "mercury_idle", "no_mercury"}
    (bundle,) = [p for p in (tmp_path / "tiles").iterdir() if not p.name.startswith(".")]
    by_id = {f["id"]: f["properties"]["c"] for f in _features(bundle / PMTILES)}
    assert by_id == {0: "whole_ore", 1: "mercury_idle", 2: "no_mercury"}
