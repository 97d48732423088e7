"""A field coordinator's dashboard opens on its own admin areas (HW): the sidebar's "Admin area" filter starts
on the account's areas for that role, as the workbench's "My areas" does, so the Map's headline counts the
sites of those areas; the coordinator may clear it (every area's sites, as before), and the choice sticks
across reruns and pages. Analysts and admins still open on every area. Expected counts come from the
demo's mining_sites read with geopandas."""
from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import pytest
from streamlit.testing.v1 import AppTest

from layers.store.open import open_store
from layers.store.workspace import DEFAULT_PATH
from services import auth
from services.auth import Identity
from ui import login

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PASSWORD = "a long password"
pytestmark = pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing (make install builds it)")


@pytest.fixture()
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, path)
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(path))
    return path


def _sites(ws: Path) -> gpd.GeoDataFrame:
    return gpd.read_file(ws, layer="mining_sites")


def _app(who: Identity) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state[login._KEY] = who
    at.run()
    assert not at.exception, at.exception
    return at


def _sites_in_view(at: AppTest) -> int:
    return int(next(m.value for m in at.metric if m.label == "Sites in view").replace(",", ""))


def test_a_field_coordinator_opens_on_its_areas_and_may_clear_them(ws: Path) -> None:
    sites = _sites(ws)
    areas = ["DEMO Centre", "DEMO North"]
    auth.add_account(open_store(ws), "kofi", "field", PASSWORD, [*areas, "no such area"])
    at = _app(Identity("kofi", "field", (*areas, "no such area")))  # an area with no site is not offered
    assert at.multiselect(key="f_admin").value == areas
    assert _sites_in_view(at) == int(sites["admin_area"].isin(areas).sum()) == 52  # 21 + 31 of the 150
    at.multiselect(key="f_admin").set_value([]).run()  # cleared: every area, and it stays so
    assert _sites_in_view(at) == len(sites) == 150
    at.run()
    assert at.multiselect(key="f_admin").value == [] and _sites_in_view(at) == 150
    at.switch_page("ui/pages/violations.py").run()
    assert not at.exception, at.exception
    assert at.multiselect(key="f_admin").value == []
    at.multiselect(key="f_admin").set_value(["DEMO South"]).run()
    at.switch_page("ui/pages/map.py").run()
    assert at.multiselect(key="f_admin").value == ["DEMO South"]
    assert _sites_in_view(at) == int((sites["admin_area"] == "DEMO South").sum()) == 98


@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_analysts_and_admins_open_on_every_area(ws: Path, role: str) -> None:
    auth.add_account(open_store(ws), "ana", role, PASSWORD)
    at = _app(Identity("ana", role))
    assert at.multiselect(key="f_admin").value == [] and _sites_in_view(at) == len(_sites(ws)) == 150
