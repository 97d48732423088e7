"""The Map page's headline on national satellite footprints (helper HW's walk, session 17).

An agency imports Amazon Mining Watch footprints with ``--set uses_mercury=true``: every site uses
mercury, none has a gold or a mercury figure. The headline showed "Hg used (kg/yr) 0-0" and
"Estimated mercury use in view: 0 kg/yr (range 0-0)", which reads as "no mercury used", while the
Mercury inventory page said "not estimable" for the same sites. Hand-made sites with known answers.
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point
from streamlit.testing.v1 import AppTest

from layers.store.open import open_store

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def _sites(path: Path, gold: list[float | None]) -> None:
    """Three active mercury-using sites whose gold figures are ``gold`` (None: no figure)."""
    sites = gpd.GeoDataFrame({
        "site_id": ["S1", "S2", "S3"], "name": ["a", "b", "c"], "status": ["active"] * 3,
        "uses_mercury": [True] * 3, "admin_area": ["North"] * 3, "gold_kg_per_year": gold,
    }, geometry=[Point(-2.0, 5.0), Point(-2.1, 5.1), Point(-2.2, 5.2)], crs="EPSG:4326")
    open_store(path).write_layer("mining_sites", sites, source="sites.geojson")


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gold: list[float | None]) -> AppTest:
    path = tmp_path / "ws.gpkg"
    _sites(path, gold)
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(path))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, at.exception
    return at


def test_no_figure_at_all_is_not_estimable_not_zero(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _run(tmp_path, monkeypatch, [None, None, None])
    metric = next(m for m in at.metric if m.label.startswith("Hg used"))
    assert metric.value == "not estimable"
    assert "none of the 3 operating sites" in metric.help and "unknown, not zero" in metric.help
    folded = [e.label for e in at.expander if e.label.startswith("Estimated mercury use in view")]
    assert folded == ["Estimated mercury use in view: not estimable; 3 sites using mercury without a gold or"
                      " mercury figure"]
    assert not any("0-0" in m.value for m in at.metric)


def test_one_figure_gives_a_range(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One site with gold: a range from it, the other two still counted as not estimable."""
    at = _run(tmp_path, monkeypatch, [100.0, None, None])
    metric = next(m for m in at.metric if m.label.startswith("Hg used"))
    low, high = (float(v.replace(",", "")) for v in metric.value.split("-"))
    assert 0 < low <= high
    folded = next(e.label for e in at.expander if e.label.startswith("Estimated mercury use in view"))
    assert "1 estimated from gold, 2 not estimable" in folded
