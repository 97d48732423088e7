"""The Mercury inventory page's totals charts with no estimable site (helper HW's walk, session 17).

On national satellite footprints (no gold or mercury figure at all) the "By area", "By method" and
"By survey round" tabs drew an empty chart whose only axis label read 0.000000. They now say why
there is nothing to chart; with one estimable site the charts come back. Hand-made sites.
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point
from streamlit.testing.v1 import AppTest

from layers.store.open import open_store

APP = str(Path(__file__).resolve().parent.parent / "app.py")
WHY = "No site in these groups has a gold or a mercury figure, so there is no range to chart"


def _page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gold: list[float | None]) -> AppTest:
    path = tmp_path / "ws.gpkg"
    sites = gpd.GeoDataFrame({
        "site_id": ["S1", "S2"], "name": ["a", "b"], "status": ["active"] * 2, "uses_mercury": [True] * 2,
        "admin_area": ["North", "South"], "gold_kg_per_year": gold,
    }, geometry=[Point(-2.0, 5.0), Point(-2.1, 5.1)], crs="EPSG:4326")
    open_store(path).write_layer("mining_sites", sites, source="sites.geojson")
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(path))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("ui/pages/inventory.py").run()
    assert not at.exception, at.exception
    return at


def test_no_figure_says_why_instead_of_an_empty_chart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(tmp_path, monkeypatch, [None, None])
    assert sum(i.value.startswith(WHY) for i in at.info) == 3  # by area, by method, by survey round
    assert next(m.value for m in at.metric if m.label.startswith("Mercury used")) == "not estimable"


def test_a_figure_brings_the_charts_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(tmp_path, monkeypatch, [100.0, None])
    assert not [i.value for i in at.info if i.value.startswith(WHY)]
