"""Issue 15: the wholly restricted layer (``mercury_trade``) and the miners' personal fields never
reach a partner or a field coordinator, on both back ends: not from the store, not in the layer
list, not on the map, not in any download, not on the Registers page. An analyst gets them
(so the checks are not vacuous). The Registers page's tables are checked against hand-made
answers: which licences are valid and expiring, and which active sites no valid licence covers.
"""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from streamlit.testing.v1 import AppTest

from geo.errors import WorkspaceError
from layers.catalogue import spec_for
from layers.io import export
from layers.io.readers import load_layer
from layers.store.base import Store
from layers.store.open import open_store
from layers.store.workspace import DEFAULT_PATH, Workspace
from services import auth
from services.auth import Identity
from services.hgwatch import HgWatch, Query
from services.registers import people_for, registers
from services.view import Filters
from settings import Settings
from tests.test_layers_new import NEW, RECORDS, _write_geojson
from ui import login

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGE = "ui/pages/registers.py"
ANALYST, PARTNER = Identity("ana", "analyst"), Identity("pat", "partner")
FIELD = Identity("kofi", "field", ("Chatkal",))
SECRET = b"SECRET-"  # every planted value a partner may never get starts with it
# (licence, status, valid_from, valid_to): a 1 km box each, side by side along the equator at 30 E
LICENCES = [("L-valid", "valid", "2020-01-01", "2030-12-31"), ("L-soon", "valid", "2024-01-01", "2026-03-01"),
            ("L-expired", "expired", "2020-01-01", "2030-12-31"), ("L-past", "valid", "2020-01-01", "2025-12-31"),
            ("L-open", "valid", None, None)]
DAY = date(2026, 1, 1)  # L-soon ends 59 days later; L-past ended the day before


def _licences() -> gpd.GeoDataFrame:
    rows = [{"licence_id": i, "holder": f"SECRET-holder-{i}", "status": s, "valid_from": a, "valid_to": b}
            for i, s, a, b in LICENCES]
    boxes = [shapely.box(30 + k / 100, 0.0, 30.01 + k / 100, 0.01) for k in range(len(LICENCES))]
    return gpd.GeoDataFrame(rows, geometry=boxes, crs=4326)


def _sites() -> gpd.GeoDataFrame:
    """An active site in each licence box's middle, one straddling the edge between the first two
    boxes (covered by their union), one beyond them all, and an inactive one outside."""
    xs = [30.005 + k / 100 for k in range(len(LICENCES))]
    geoms = [shapely.Point(x, 0.005) for x in xs]
    geoms += [shapely.box(30.009, 0.004, 30.011, 0.006), shapely.Point(31.0, 0.005), shapely.Point(31.5, 0.005)]
    n = len(geoms)
    return gpd.GeoDataFrame({"site_id": [f"S{k + 1}" for k in range(n)], "status": ["active"] * (n - 1) + ["inactive"],
                             "admin_area": ["Chatkal"] * n}, geometry=geoms, crs=4326)


def _fill(store: Store, tmp_path: Path) -> Store:
    frames = [("mining_sites", _sites()), ("licences", _licences())]
    for layer in NEW:
        if layer != "licences":
            path = _write_geojson(tmp_path / f"{layer}.geojson", *RECORDS[layer][:2])
            frames.append((layer, load_layer(path, layer).gdf))
    store.write_layers(frames, source="planted.geojson")
    return store


@pytest.fixture(params=["geopackage", "postgis"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "geopackage":
        _fill(open_store(tmp_path / "ws.gpkg"), tmp_path)
        return Settings.from_env({}, workspace=tmp_path / "ws.gpkg")
    url = str(request.getfixturevalue("pg_url"))
    _fill(open_store(url), tmp_path)
    return Settings.from_env({}, database_url=url)


def test_the_restricted_layer_and_personal_fields_never_reach_a_partner_or_field_coordinator(settings: Settings) -> None:
    seen: dict[str, str] = {}
    for who in (ANALYST, PARTNER, FIELD):
        svc = HgWatch(settings, who)
        layers = {i.layer for i in svc.layers()}
        html = svc.map(Query()).get_root().render()
        seen[who.role] = html
        regs = registers(svc.frames(), today=DAY, people=people_for(who))
        if who is ANALYST:
            assert {"mercury_trade", "miners"} <= layers
            assert regs.trade is not None and list(regs.trade["record_id"]) == ["T1", "T2", "T3"]
            assert regs.miners is not None and "SECRET-cert-001" in set(regs.miners["certificate_no"])
            continue
        assert "mercury_trade" not in layers and "mercury_trade" not in svc.frames()
        with pytest.raises(WorkspaceError, match="restricted"):
            auth.read_layer(svc.store, "mercury_trade", who)
        assert regs.trade is None and regs.miners is None
        assert list(regs.miner_counts["site_id"]) == ["(no site)", "S1"] and list(regs.miner_counts["miners"]) == [1, 2]
        tables = [regs.licences, regs.expiring, regs.facilities, regs.miner_counts, regs.unlicensed]
        assert not any(SECRET.decode() in t.to_csv() for t in tables)
        assert "Mercury trade" not in html and SECRET.decode() not in html
        for layer in layers:
            for fmt in sorted(set(export.FORMATS.values())):
                for profile in ("partner", "public"):
                    assert SECRET not in svc.layer_file(Filters(), layer, fmt, profile), (who.role, layer, fmt)
    assert "Mercury trade (3)" in seen["analyst"] and "SECRET-place-market" in seen["analyst"]


def test_no_export_profile_below_internal_holds_the_restricted_layer() -> None:
    spec = spec_for("mercury_trade")
    gdf = gpd.GeoDataFrame({"record_id": ["T1"], "record_type": ["seizure"]}, geometry=[shapely.Point(0, 0)], crs=4326)
    assert list(export.apply_profile(gdf, spec, "internal").columns) == ["record_id", "record_type", "geometry"]
    for profile in ("partner", "public"):
        with pytest.raises(Exception, match="wholly restricted"):
            export.apply_profile(gdf, spec, profile)


def test_registers_list_the_expiring_licences_and_count_sites_without_a_valid_one() -> None:
    frames = {"licences": _licences(), "mining_sites": _sites()}
    regs = registers(frames, today=DAY, people=False)
    assert list(regs.expiring["licence_id"]) == ["L-soon"] and list(regs.expiring["days_left"]) == [59]
    # valid on DAY: L-valid, L-soon, L-open. Active: S1..S7; bare: S3 (expired), S4 (ended the day before), S7 (beyond)
    assert regs.unlicensed.to_dict("records") == [
        {"admin_unit": "Chatkal", "active_sites": 7, "without_valid_licence": 3}]
    # on the last day of L-past it still counts; bounds are inclusive
    assert registers(frames, today=date(2025, 12, 31), people=False).unlicensed["without_valid_licence"].tolist() == [2]
    # the day after L-soon ends it covers neither S2 nor the half of S6 on its side
    later = registers(frames, today=date(2026, 3, 2), people=False)
    assert later.unlicensed["without_valid_licence"].tolist() == [5] and not len(later.expiring)


@pytest.fixture()
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ws.gpkg"
    shutil.copyfile(DEFAULT_PATH, path)
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(path))
    return path


SIGNATURES = {"reg_expiring": "days_left", "reg_licences": "holder_type", "reg_unlicensed": "without_valid_licence",
              "reg_facilities": "facility_id", "reg_miner_counts": "with_location", "reg_miners": "registered_on",
              "reg_trade": "record_type"}  # a column only that table has


def _tables(at: AppTest) -> dict[str, pd.DataFrame]:
    """The page's tables, named by the column only each one has (AppTest keeps no table keys)."""
    found = {name: d.value for d in at.dataframe for name, column in SIGNATURES.items()
             if column in d.value.columns and not (name == "reg_licences" and "days_left" in d.value.columns)}
    assert len(found) == len(at.dataframe), [list(d.value.columns) for d in at.dataframe]
    return found


def _registers_page(role: str | None, demo: Path) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if role is not None:
        areas = ("DEMO North",) if role == "field" else ()
        auth.add_account(Workspace(demo), f"kim-{role}", role, "a long password", areas)
        at.session_state[login._KEY] = Identity(f"kim-{role}", role, areas)
    at.run()
    at.switch_page(PAGE).run()
    at.date_input(key="reg_day").set_value(date(2026, 11, 26)).run()
    assert not at.exception, at.exception
    return at


def test_the_registers_page_shows_an_analyst_everything_and_a_partner_counts(demo: Path) -> None:
    analyst = _registers_page(None, demo)  # the local user: an analyst
    tables = _tables(analyst)
    assert list(tables["reg_expiring"]["licence_id"]) == ["DEMO-L3"]
    assert list(tables["reg_expiring"]["days_left"]) == [45]
    assert len(tables["reg_trade"]) == 8 and len(tables["reg_miners"]) == 40
    assert tables["reg_unlicensed"]["active_sites"].sum() == 110
    for role in ("partner", "field"):
        at = _registers_page(role, demo)
        tables = _tables(at)
        assert set(tables) == {"reg_expiring", "reg_licences", "reg_unlicensed", "reg_facilities", "reg_miner_counts"}
        assert tables["reg_miner_counts"]["miners"].sum() == 40
        text = " ".join([*(t.to_csv() for t in tables.values()), *(m.value for m in at.markdown),
                         *(s.value for s in at.subheader), *(c.value for c in at.caption)])
        for secret in ("DEMO-CERT", "DEMO trader", "DEMO buyer", "Mercury trade records", "certificate_no", "age_band"):
            assert secret not in text, (role, secret)
        assert "DEMO holder" not in text  # restricted; licences carry no admin_area, so not even in a field's areas


def test_the_registers_page_shows_licence_dates_as_days(demo: Path) -> None:
    """A ``date`` field (``valid_from``, ``valid_to``) is read as a datetime at midnight; the page showed it as
    ``2027-01-10 00:00:00``: its tables now show the day (Streamlit's column settings, on the element itself)."""
    import json

    at = _registers_page(None, demo)
    shown = {name: json.loads(d.proto.columns or "{}") for d in at.dataframe for name, column in SIGNATURES.items()
             if column in d.value.columns and not (name == "reg_licences" and "days_left" in d.value.columns)}
    for table in ("reg_expiring", "reg_licences"):
        for day in ("valid_from", "valid_to"):
            assert shown[table][day]["type_config"] == {"type": "date", "format": "YYYY-MM-DD"}, (table, day)
    assert "days_left" not in shown["reg_expiring"]  # a number stays as it is
