"""Counts of sites on the dashboard are written with thousands separators, on a GeoPackage and on PostGIS.

Found walking the dashboard on PostGIS at 5,382 and 10,614 sites (the demo and the Amazon Mining Watch
footprints): the Map page's headline said "5,382" sites but its mercury line "5249 not estimable", and the
Mercury inventory page's metrics said "10614" sites and "10481" not estimable, beside "5,382" elsewhere.
"""
from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point
from streamlit.testing.v1 import AppTest

from layers.store.workspace import DEFAULT_PATH, Workspace
from services.hgwatch import HgWatch
from settings import Settings

APP = str(Path(__file__).resolve().parent.parent / "app.py")
MORE = 1000  # sites added to the demo's 150, each using mercury with no gold figure: not estimable
LAYERS = ("mining_sites", "water_bodies", "residential_areas", "admin_areas")
BARE = re.compile(r"(?<![\d,.])\d{4,}(?![\d,.])")  # a count of 1000 or more with no separator
pytestmark = pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing (make install builds it)")


@pytest.fixture
def store_env(backend: str, location: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's layers and MORE sites in the store; the dashboard's environment pointing at it."""
    settings = Settings(database_url=location) if backend == "postgis" else Settings(workspace=Path(location))
    demo = Workspace(DEFAULT_PATH)
    frames = [(layer, demo.read(layer)) for layer in LAYERS]
    more = gpd.GeoDataFrame({"site_id": [f"X-{i}" for i in range(MORE)], "name": [f"x {i}" for i in range(MORE)],
                             "status": "active", "uses_mercury": True, "admin_area": "DEMO North"},
                            geometry=[Point(-2.0 + i / 10_000, 5.3) for i in range(MORE)], crs=4326)
    store = HgWatch(settings).store
    store.write_layers(frames, source="demo", replace_all=True)
    store.write_layers([("mining_sites", more)], source="more", append=True)
    monkeypatch.delenv("HGWATCH_DATABASE_URL", raising=False)
    monkeypatch.delenv("HGWATCH_WORKSPACE", raising=False)
    monkeypatch.setenv("HGWATCH_DATABASE_URL" if backend == "postgis" else "HGWATCH_WORKSPACE", location)


@pytest.mark.usefixtures("store_env")
def test_site_counts_have_thousands_separators() -> None:
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Sites in view"] == "1,150"
    line = next(e.label for e in at.expander if e.label.startswith("Estimated mercury use in view"))
    assert re.search(r"\b1,0\d\d not estimable", line), line
    assert not BARE.findall(line), line
    at.switch_page("ui/pages/inventory.py").run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Sites"] == "1,150"
    assert re.fullmatch(r"1,0\d\d", metrics["Not estimable"]), metrics["Not estimable"]
