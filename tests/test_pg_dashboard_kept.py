"""What the dashboard's pages keep between clicks, on a GeoPackage and on a real PostGIS.

Found walking the dashboard on PostGIS after a move, at 5,382 sites (the demo and the 5,232 Amazon Mining
Watch footprints): every click on the Mercury inventory page made the roll-up per admin unit again
(0.7-0.8 s) and drew its maps again (2.3 s), and every click on the Contamination overlays page built its
base map again (1.4 s), and every click on the Registers page found the sites no licence covers again
(2-5 s), on both back ends. The roll-up was kept per service object, and ``HgWatch.shared``
gives each run of a page a new one, so it was never found again. ``HgWatch.kept`` keeps such answers
with the view's shared answers: found again by the next run, made anew after a change to the store,
never handed to another view.
"""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point
from streamlit.testing.v1 import AppTest

from layers.store.workspace import DEFAULT_PATH, Workspace
from services.auth import LOCAL, Identity
from services.hgwatch import HgWatch
from services.registers import service_registers
from services.rollups import service_rollup
from settings import Settings

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TODAY = date(2026, 11, 27)
PARTNER = Identity("unep", "partner")
LAYERS = ("mining_sites", "water_bodies", "residential_areas", "samples", "admin_areas", "licences")
pytestmark = pytest.mark.skipif(not DEFAULT_PATH.exists(), reason="demo workspace missing (make install builds it)")


def _demo_into(settings: Settings) -> int:
    """The demo's sites, water, settlements, samples and units written to the store; the number of sites."""
    demo = Workspace(DEFAULT_PATH)
    frames = [(layer, demo.read(layer)) for layer in LAYERS]
    HgWatch(settings).store.write_layers(frames, source="demo", replace_all=True)
    return len(frames[0][1])


def _more_sites(settings: Settings, area: str, n: int) -> None:
    sites = gpd.GeoDataFrame({"site_id": [f"NEW-{i}" for i in range(n)], "name": [f"new {i}" for i in range(n)],
                              "status": "active", "uses_mercury": True, "admin_area": area},
                             geometry=[Point(-2.0 + i / 1000, 5.3) for i in range(n)], crs=4326)
    HgWatch(settings).store.write_layers([("mining_sites", sites)], source="more sites", append=True)


def _total(table: gpd.GeoDataFrame) -> int:
    return int(table["sites"].sum())


@pytest.fixture
def settings(backend: str, location: str) -> Settings:
    return Settings(database_url=location) if backend == "postgis" else Settings(workspace=Path(location))


def test_kept_is_found_by_the_next_run_of_its_view_only_and_made_anew_after_a_change(settings: Settings) -> None:
    _demo_into(settings)
    made: list[str] = []

    def make(tag: str) -> list[str]:
        made.append(tag)
        return [tag]

    first = HgWatch.shared(settings, LOCAL).kept("test", "k", lambda: make("local"))
    assert HgWatch.shared(settings, LOCAL).kept("test", "k", lambda: make("again")) is first  # the next run
    assert HgWatch.shared(settings, PARTNER).kept("test", "k", lambda: make("partner")) == ["partner"]  # its own
    assert HgWatch.shared(settings, LOCAL).kept("test", "other key", lambda: make("other")) == ["other"]
    assert HgWatch.shared(settings, LOCAL).kept("other kind", "k", lambda: make("kind")) == ["kind"]
    _more_sites(settings, "DEMO North", 1)
    assert HgWatch.shared(settings, LOCAL).kept("test", "k", lambda: make("after")) == ["after"]
    assert made == ["local", "partner", "other", "kind", "after"]


def test_the_next_run_finds_the_rollup_and_a_change_makes_it_anew(settings: Settings) -> None:
    count = _demo_into(settings)
    svc = HgWatch.shared(settings, LOCAL)
    rolled = service_rollup(svc, today=TODAY)
    assert _total(rolled.table) == count == 150
    again = HgWatch.shared(settings, LOCAL)  # what the page's next run gets
    assert again is not svc
    assert service_rollup(again, today=TODAY) is rolled  # was made again: kept per service object
    partner = service_rollup(HgWatch.shared(settings, PARTNER), today=TODAY)
    assert partner is not rolled and _total(partner.table) == 150  # its own frames, its own roll-up
    _more_sites(settings, "DEMO North", 7)
    after = service_rollup(HgWatch.shared(settings, LOCAL), today=TODAY)
    assert after is not rolled and _total(after.table) == 157
    assert int(after.table["open_cases"].sum()) == 0
    HgWatch.shared(settings, LOCAL).check()  # a recorded run opens cases: the counts are in the roll-up at once
    cased = service_rollup(HgWatch.shared(settings, LOCAL), today=TODAY)
    assert int(cased.table["open_cases"].sum()) > 0


def test_the_next_run_finds_the_registers_and_a_change_makes_them_anew(settings: Settings) -> None:
    _demo_into(settings)
    regs = service_registers(HgWatch.shared(settings, LOCAL), today=TODAY)
    bare = int(regs.units.table["active_sites"].sum())
    assert len(regs.licences) == 6 and bare > 0
    assert service_registers(HgWatch.shared(settings, LOCAL), today=TODAY) is regs  # was made again on every click
    partner = service_registers(HgWatch.shared(settings, PARTNER), today=TODAY)
    assert partner is not regs and partner.miners is None  # its own frames, no people
    _more_sites(settings, "DEMO North", 7)  # active, far from every licence
    after = service_registers(HgWatch.shared(settings, LOCAL), today=TODAY)
    assert after is not regs and int(after.units.table["active_sites"].sum()) == bare + 7


@pytest.fixture
def app(backend: str, location: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The dashboard's environment on the store (the GeoPackage a copy of the demo); its settings."""
    if backend == "postgis":
        monkeypatch.setenv("HGWATCH_DATABASE_URL", location)
        settings = Settings(database_url=location)
        _demo_into(settings)
        return settings
    path = tmp_path / "demo.gpkg"
    shutil.copyfile(DEFAULT_PATH, path)
    monkeypatch.delenv("HGWATCH_DATABASE_URL", raising=False)
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(path))
    return Settings(workspace=path)


def test_the_inventory_and_overlays_pages_draw_a_change_after_keeping(app: Settings) -> None:
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("ui/pages/inventory.py").run()
    assert not at.exception, at.exception
    areas = [c.value for c in at.caption if c.value.startswith("DEMO ")]
    assert areas == ["DEMO South", "DEMO North", "DEMO Centre"]  # largest first
    at.run()  # a click: the maps and the roll-up are found again
    assert not at.exception, at.exception
    assert [c.value for c in at.caption if c.value.startswith("DEMO ")] == areas
    _more_sites(app, "DEMO <Zeta>", 25)  # more sites than DEMO North's 31 and fewer than DEMO South's 98
    at.run()
    assert not at.exception, at.exception
    names = [c.value for c in at.caption if c.value.startswith("DEMO ")]
    # largest first, three to a row: South, North, Zeta, Centre, read column by column
    assert names == ["DEMO South", "DEMO Centre", "DEMO North", "DEMO <Zeta>"], names
    units = next(d.value for d in at.dataframe if "sites" in d.value.columns and "unit" in " ".join(d.value.columns))
    assert int(units["sites"].sum()) == 175
    at.switch_page("ui/pages/overlays.py").run()
    assert not at.exception, at.exception
    at.run()
    assert not at.exception, at.exception
