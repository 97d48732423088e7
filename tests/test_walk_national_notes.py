"""The Map page's notes on rules that did not run (helper HW's walk, session 17).

A national workspace of satellite footprints, rivers and settlements (no tailings, zones, licences or
receptors, no amalgamation field) gave seven notes, each its own warning box, which pushed the map
below the fold of a 1500x1100 screen. More than two notes are now folded under one line that counts
them and says what to do. Hand-made workspaces with known notes.
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point
from streamlit.testing.v1 import AppTest

from geo.words import counted
from layers.store.open import open_store
from services.hgwatch import HgWatch, Query
from settings import Settings

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def _workspace(path: Path, *, river: bool) -> None:
    """Two active mercury sites, one 50 m from a river line when ``river``."""
    store = open_store(path)
    sites = gpd.GeoDataFrame({
        "site_id": ["S1", "S2"], "name": ["<b>a</b>", "b"], "status": ["active"] * 2, "uses_mercury": [True] * 2,
        "admin_area": ["North"] * 2}, geometry=[Point(0.0, 0.00045), Point(0.5, 0.5)], crs="EPSG:4326")
    store.write_layer("mining_sites", sites, source="sites.geojson")
    if river:
        water = gpd.GeoDataFrame({"water_id": ["W1"], "name": ["R"], "kind": ["river"]},
                                 geometry=[LineString([(-0.1, 0.0), (0.1, 0.0)])], crs="EPSG:4326")
        store.write_layer("water_bodies", water, source="rivers.geojson")


def _page(path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(path))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception, at.exception
    return at


def test_many_notes_fold_under_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ws.gpkg"
    _workspace(path, river=True)
    notes = HgWatch(Settings(workspace=path)).violations(Query())[1]
    assert len(notes) > 2, notes  # tailings, residential areas, zones, licences, receptors, fields...
    at = _page(path, monkeypatch)
    assert not [w.value for w in at.warning if "not run" in w.value or "absent from layer" in w.value]
    rules = {n.split(":", 1)[0] for n in notes}
    folded = [e for e in at.expander if e.label.startswith(f"{len(notes)} notes: {counted(len(rules), 'rule')} did not run")]
    assert len(folded) == 1, [e.label for e in at.expander]
    listed = folded[0].markdown[0].value
    assert listed.count("\n- ") == len(notes) - 1 and "TAILINGS\\-WATER\\-100\\: not run" in listed
    assert "Import the missing layers or fields on the Import data page" in folded[0].caption[0].value
    # the one violation (S1, 50 m from the river) still shows
    assert next(m.value for m in at.metric if m.label == "Violations") == "1"


def test_two_notes_stay_warnings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ws.gpkg"
    _workspace(path, river=True)
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(path))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["f_rules"] = ["HG-WATER-100", "TAILINGS-WATER-100", "SITE-IN-PROHIBITED-ZONE"]
    at.run()
    assert not at.exception, at.exception
    shown = [w.value for w in at.warning]
    assert any(w.startswith("TAILINGS\\-WATER\\-100\\: not run") for w in shown), shown
    assert any(w.startswith("SITE\\-IN\\-PROHIBITED\\-ZONE\\: not run") for w in shown), shown
    assert not [e.label for e in at.expander if " notes: " in e.label]
