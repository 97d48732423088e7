"""The Registers page on a workspace of mining sites alone (helper HW's walk, session 17).

On national satellite footprints (no licences, facilities or miners layer) the page counted every
active site "without a valid licence" (5,917 of 5,917, while the SITE-OUTSIDE-LICENCE rule said it
did not run: there is no licence to judge by), and showed the facilities and miners as empty tables
with no header. Each now says what is missing and where to import it. Hand-made sites.
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point
from streamlit.testing.v1 import AppTest

from layers.store.open import open_store

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def test_missing_registers_say_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ws.gpkg"
    sites = gpd.GeoDataFrame({
        "site_id": ["S1", "S2"], "name": ["a", "b"], "status": ["active"] * 2, "uses_mercury": [True] * 2,
        "admin_area": ["North", "South"]}, geometry=[Point(-2.0, 5.0), Point(-2.1, 5.1)], crs="EPSG:4326")
    open_store(path).write_layer("mining_sites", sites, source="sites.geojson")
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(path))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("ui/pages/registers.py").run()
    assert not at.exception, at.exception
    assert not [list(d.value.columns) for d in at.dataframe]  # no table of 2 sites "without a valid licence"
    infos = [i.value for i in at.info if not i.value.startswith("Local single-user mode")]
    assert infos[0] == "The workspace holds no licences layer."
    assert infos[1].startswith("With no licences layer no site can be judged against a licence")
    assert infos[2].startswith("No facility is recorded. Import a facilities layer")  # HD's wording (8b1f8c6)
    assert infos[3].startswith("No miner is registered. Import a miners register")
    assert not [m.value for m in at.markdown if "miner(s) registered" in m.value]
