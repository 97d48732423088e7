"""Issue 15, the choropleth by admin unit on the case workbench and the registers page.

Hand-made admin areas with known answers: open cases placed by the unit that contains the case's
subject (a tailings deposit with no admin_area text is still placed), the sites flagged per unit,
the registers' sites without a valid licence and licences per unit by containment (the free-text
area as the fallback, saying so), the choropleth's values per unit and the escaping of a unit
name with markup."""
from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, Polygon
from streamlit.testing.v1 import AppTest

from geo.errors import InputError
from geo.inventory import Range
from services import auth
from services.auth import Identity
from services.hgwatch import HgWatch
from services.registers import registers
from services.registers import unit_map as licence_map
from services.rollups import CASE_TOOLTIP, NOT_LOCATED, unit_map, unit_rollup
from settings import Settings
from settings.factors import load_factors
from ui import login

TODAY = date(2026, 11, 26)
FACTORS = load_factors()
POINT = replace(FACTORS, hg_au_ratio={k: Range(r.central, r.central, r.central, r.source, r.unit)
                                      for k, r in FACTORS.hg_au_ratio.items()})
MARKUP = "<img src=x onerror=alert(1)>"
ESCAPED = "\\u003cimg src=x onerror=alert(1)\\u003e"
SECRET = "SECRET-informant-Aigul"
HOLDER = "SECRET-holder-Bakyt"
ANALYST, PARTNER = Identity("ana", "analyst"), Identity("pat", "partner")
APP = str(Path(__file__).resolve().parent.parent / "app.py")


def box(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    return Polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])


# region R1 holds districts D11 (west half) and D12 (east half, named with markup); R2 holds D21
AREAS = gpd.GeoDataFrame({
    "area_code": ["R1", "R2", "D11", "D12", "D21"],
    "name": ["Chui", "Naryn", "Alamudun", MARKUP, "At-Bashy"],
    "level": ["region", "region", "district", "district", "district"],
    "parent_code": [None, None, "R1", "R1", "R2"],
}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 0, 0.5, 1), box(0.5, 0, 1, 1), box(1, 0, 2, 1)], crs=4326)


def sites() -> gpd.GeoDataFrame:
    """a, b in Alamudun; c in D12; d in At-Bashy. Their admin_area text is wrong on purpose (Nowhere)."""
    return gpd.GeoDataFrame({
        "site_id": ["a", "b", "c", "d"], "name": ["A", "B", "C", "D"], "status": ["active"] * 4,
        "uses_mercury": [True] * 4, "amalgamation": ["concentrate"] * 4, "burning": ["open"] * 4,
        "mercury_kg_per_year": [1.0, 2.0, 3.0, 4.0], "admin_area": ["Nowhere"] * 4,
        "survey_date": ["2025-06-01"] * 4, "informant_name": [SECRET] * 4,
    }, geometry=[Point(0.25, 0.5), Point(0.3, 0.5), Point(0.75, 0.5), Point(1.5, 0.5)], crs=4326)


def tailings() -> gpd.GeoDataFrame:
    """T1 lies in D12 (no admin_area text), T2 in At-Bashy, T3 in no unit."""
    return gpd.GeoDataFrame({"tailings_id": ["T1", "T2", "T3"], "site_id": [None, None, None]},
                            geometry=[box(0.7, 0.1, 0.8, 0.2), Point(1.2, 0.2), Point(9, 9)], crs=4326)


def frames() -> dict[str, gpd.GeoDataFrame]:
    return {"mining_sites": sites(), "tailings": tailings(), "admin_areas": AREAS}


CASES = pd.DataFrame({
    "subject_layer": ["mining_sites", "mining_sites", "mining_sites", "tailings", "tailings", "tailings", "tailings"],
    "site_id": ["a", "b", "c", "T1", "T1", "T2", "T3"],
    "status": ["new", "closed", "visited", "new", "assigned", "resolved", "new"],
    "flagged": [True, True, False, True, True, True, True],
    "cases": [2, 1, 1, 1, 1, 4, 1]})


def by_unit(table: pd.DataFrame, column: str) -> dict[str, object]:
    return dict(zip(table["unit"], table[column], strict=True))


def test_cases_are_placed_by_the_unit_that_contains_their_subject() -> None:
    r = unit_rollup(frames(), POINT, today=TODAY, level="district", cases=CASES)
    # a: 2 open; b: closed; c: 1 open (no longer flagged); T1: 2 open; T2: resolved (settled); T3: in no unit
    assert by_unit(r.table, "open_cases") == {"Alamudun": 2, MARKUP: 3, "At-Bashy": 0}
    assert by_unit(r.table, "flagged_sites") == {"Alamudun": 1, MARKUP: 1, "At-Bashy": 0}
    assert r.notes == ["1 open case concerns tailings (or other features) that lie in no unit of the district level"
                       " listed here and is not placed in a unit."]  # T3
    region = unit_rollup(frames(), POINT, today=TODAY, level="region", cases=CASES)
    assert by_unit(region.table, "open_cases") == {"Chui": 5, "Naryn": 0}
    assert by_unit(region.table, "flagged_sites") == {"Chui": 2, "Naryn": 0}


def test_counts_by_site_alone_are_still_read_as_mining_sites() -> None:
    plain = CASES.drop(columns=["subject_layer", "flagged"]).iloc[:3]
    r = unit_rollup(frames(), POINT, today=TODAY, level="district", cases=plain)
    assert by_unit(r.table, "open_cases") == {"Alamudun": 2, MARKUP: 1, "At-Bashy": 0}
    assert by_unit(r.table, "flagged_sites") == {"Alamudun": 1, MARKUP: 1, "At-Bashy": 0}


@hypothesis_settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(-0.5, 2.5), st.floats(-0.5, 1.5), st.sampled_from(["new", "closed", "visited"]),
                          st.integers(1, 3)), min_size=1, max_size=8), st.randoms(use_true_random=False))
def test_every_open_case_is_placed_once_whatever_the_order(pits: list[tuple[float, float, str, int]],
                                                           rnd: object) -> None:
    """Tailings cases at random places: the open cases per unit plus those not placed are all the open
    cases, and shuffling the tailings rows changes nothing."""
    ids = [f"T{i}" for i in range(len(pits))]
    pit = gpd.GeoDataFrame({"tailings_id": ids}, geometry=[Point(x, y) for x, y, _, _ in pits], crs=4326)
    cases = pd.DataFrame({"subject_layer": "tailings", "site_id": ids, "status": [p[2] for p in pits],
                          "flagged": True, "cases": [p[3] for p in pits]})
    got = unit_rollup({**frames(), "tailings": pit}, POINT, today=TODAY, level="district", cases=cases)
    lost = sum(int(n.split(" ", 1)[0].replace(",", "")) for n in got.notes if " open case" in n)
    assert int(got.table["open_cases"].sum()) + lost == sum(p[3] for p in pits if p[2] != "closed")
    order = list(range(len(pits)))
    rnd.shuffle(order)  # type: ignore[attr-defined]
    shuffled = unit_rollup({**frames(), "tailings": pit.iloc[order]}, POINT, today=TODAY, level="district",
                           cases=cases.iloc[order[::-1]])
    pd.testing.assert_frame_equal(got.table, shuffled.table)


def _rows(html: str) -> dict[str, list[object]]:
    """The choropleth's rows by unit name: [class, value, further tooltip values...]."""
    found = re.search(r"var rows = (\[.*?\]);\n", html, re.S)
    assert found is not None
    return {str(r[2]): [r[0], *r[3:]] for r in json.loads(found.group(1))}


def test_the_case_choropleth_carries_each_units_values_and_escapes_markup() -> None:
    r = unit_rollup(frames(), POINT, today=TODAY, level="district", cases=CASES)
    fmap = unit_map(r, "open_cases", tooltip=CASE_TOOLTIP)
    assert fmap is not None
    html = fmap.get_root().render()
    got = _rows(html)
    assert {u: v[1] for u, v in got.items()} == {"Alamudun": 2, MARKUP: 3, "At-Bashy": 0}
    assert {u: v[-1] for u, v in got.items()} == {"Alamudun": 1, MARKUP: 1, "At-Bashy": 0}  # sites flagged
    assert got["At-Bashy"][0] == "zero"
    assert "<img src=x" not in html and "\\u003cimg src=x onerror=alert(1)\\u003e" in html
    flagged = _rows(unit_map(r, "flagged_sites", tooltip=CASE_TOOLTIP).get_root().render())  # type: ignore[union-attr]
    assert {u: v[1] for u, v in flagged.items()} == {"Alamudun": 1, MARKUP: 1, "At-Bashy": 0}


# ---------------------------------------------------------------- registers per unit
def licences() -> gpd.GeoDataFrame:
    """L1 (valid) covers Alamudun, so a and b; L2 (expired) lies in D12 over c; L3 (valid) lies in no unit."""
    return gpd.GeoDataFrame({
        "licence_id": ["L1", "L2", "L3"], "holder": [HOLDER] * 3, "licence_type": ["mining"] * 3,
        "valid_from": ["2020-01-01", "2020-01-01", "2020-01-01"], "valid_to": ["2030-12-31", "2024-12-31", None],
        "status": ["valid", "expired", "valid"],
    }, geometry=[box(0.01, 0.01, 0.49, 0.99), box(0.6, 0.1, 0.9, 0.9), box(9, 9, 9.1, 9.1)], crs=4326)


def test_registers_count_sites_without_a_licence_and_licences_per_unit_by_containment() -> None:
    regs = registers({"mining_sites": sites(), "licences": licences(), "admin_areas": AREAS}, today=TODAY,
                     people=False, level="district")
    u = regs.units
    assert (u.level, u.basis) == ("district", "containment")
    got = u.table.set_index("admin_unit")[["active_sites", "without_valid_licence", "licences", "valid_licences"]]
    assert {k: [int(x) for x in v] for k, v in got.T.to_dict("list").items()} == {
        "Alamudun": [2, 0, 1, 1], MARKUP: [1, 1, 1, 0], "At-Bashy": [1, 1, 0, 0], NOT_LOCATED: [0, 0, 1, 1]}
    assert regs.unlicensed.to_dict("records") == [  # the sites' table: the units with active sites, by name
        {"admin_unit": MARKUP, "active_sites": 1, "without_valid_licence": 1},
        {"admin_unit": "Alamudun", "active_sites": 2, "without_valid_licence": 0},
        {"admin_unit": "At-Bashy", "active_sites": 1, "without_valid_licence": 1}]
    region = registers({"mining_sites": sites(), "licences": licences(), "admin_areas": AREAS}, today=TODAY,
                       people=False).units  # default: the highest level below the country
    assert region.level == "region"
    assert dict(zip(region.table["admin_unit"], region.table["without_valid_licence"], strict=True)) == {
        "Chui": 1, "Naryn": 1, NOT_LOCATED: 0}
    with pytest.raises(InputError, match="'commune'.*expected one of: region, district"):
        registers({"mining_sites": sites(), "admin_areas": AREAS}, today=TODAY, people=False, level="commune")


def test_registers_without_admin_areas_fall_back_to_the_text_and_say_so() -> None:
    u = registers({"mining_sites": sites(), "licences": licences()}, today=TODAY, people=False).units
    assert (u.level, u.basis, u.shapes) == (None, "attribute", None)
    assert u.table[["admin_unit", "active_sites", "without_valid_licence"]].values.tolist() == [["Nowhere", 4, 2]]
    assert u.table["licences"].isna().all() and "not counted per unit" in u.note
    assert licence_map(u, "licences") is None


def test_the_licence_choropleth_carries_each_units_values_and_escapes_markup() -> None:
    u = registers({"mining_sites": sites(), "licences": licences(), "admin_areas": AREAS}, today=TODAY,
                  people=False, level="district").units
    html = licence_map(u, "without_valid_licence").get_root().render()  # type: ignore[union-attr]
    got = _rows(html)
    assert {k: v[1] for k, v in got.items()} == {"Alamudun": 0, MARKUP: 1, "At-Bashy": 1}
    assert "<img src=x" not in html and ESCAPED in html and HOLDER not in html
    by_licences = _rows(licence_map(u, "licences").get_root().render())  # type: ignore[union-attr]
    assert {k: v[1] for k, v in by_licences.items()} == {"Alamudun": 1, MARKUP: 1, "At-Bashy": 0}
    with pytest.raises(InputError, match="'holder'.*expected one of"):
        licence_map(u, "holder")


# ---------------------------------------------------------------- the pages (AppTest)
@pytest.fixture()
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Sites a (Alamudun) and c (D12) lie 55 m from a river, and tailings T9 (no site, no admin_area
    text) lie 33 m from the river in Alamudun: a recorded run opens one case each."""
    path = tmp_path / "ws.gpkg"
    s = sites()
    s["geometry"] = [Point(0.2505, 0.5), Point(0.3, 0.5), Point(0.7505, 0.5), Point(1.5, 0.5)]
    water = gpd.GeoDataFrame({"water_id": ["W1", "W2"], "name": ["River", "Brook"], "kind": ["river", "river"]},
                             geometry=[LineString([(0.25, 0.4), (0.25, 0.6)]), LineString([(0.75, 0.4), (0.75, 0.6)])],
                             crs=4326)
    svc = HgWatch(Settings(workspace=path))
    pit = gpd.GeoDataFrame({"tailings_id": ["T9"]}, geometry=[box(0.2503, 0.45, 0.2507, 0.46)], crs=4326)
    svc.store.write_layers([("mining_sites", s), ("water_bodies", water), ("admin_areas", AREAS),
                            ("licences", licences()), ("tailings", pit)], source="test", replace_all=True)
    outcome = svc.check(only=["HG-WATER-100", "TAILINGS-WATER-100"], record=True)
    assert sorted(outcome.evaluation.violations["subject_id"]) == ["T9", "a", "c"]
    auth.add_account(svc.store, "pat", "partner", "a long password")
    auth.add_account(svc.store, "ana", "analyst", "a long password")
    monkeypatch.setenv("HGWATCH_WORKSPACE", str(path))
    return path


def _page(page: str, who: Identity, **state: object) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state[login._KEY] = who
    at.run()
    at.switch_page(page)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def _everything(at: AppTest) -> str:
    return " ".join([*(d.value.to_csv() for d in at.dataframe), *(str(e.value) for e in [
        *at.text, *at.markdown, *at.caption, *at.subheader, *at.info])])


def _unit_table(at: AppTest, column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if column in d.value.columns and "unit_code" in d.value.columns)


@pytest.mark.parametrize("who", [ANALYST, PARTNER], ids=["analyst", "partner"])
def test_the_workbench_shows_open_cases_and_sites_flagged_by_unit(workspace: Path, who: Identity) -> None:
    at = _page("ui/pages/violations.py", who, wb_units_on=True)
    assert at.selectbox(key="wb_unit_level").value == "region"
    at.selectbox(key="wb_unit_level").set_value("district").run()
    assert not at.exception, at.exception
    table = _unit_table(at, "open_cases")
    assert list(table.columns) == ["unit_code", "unit", "within", "sites", "open_cases", "flagged_sites"]
    assert table[["unit", "sites", "open_cases", "flagged_sites"]].values.tolist() == [
        [MARKUP, 1, 1, 1], ["Alamudun", 2, 2, 2], ["At-Bashy", 1, 0, 0]]  # T9 placed by its location
    assert at.radio(key="wb_unit_measure").options == ["Open cases", "Sites and tailings flagged (open case, still flagged)"]
    shown = _everything(at)
    assert SECRET not in shown and HOLDER not in shown and "informant" not in shown
    if who == PARTNER:  # counts only, no case
        assert all("violation_id" not in d.value.columns for d in at.dataframe) and not at.get("download_button")


@pytest.mark.parametrize("who", [ANALYST, PARTNER], ids=["analyst", "partner"])
def test_the_registers_page_shows_licences_and_unlicensed_sites_by_unit(workspace: Path, who: Identity) -> None:
    at = _page("ui/pages/registers.py", who)
    at.date_input(key="reg_day").set_value(TODAY).run()
    at.selectbox(key="reg_unit_level").set_value("district").run()
    assert not at.exception, at.exception
    table = _unit_table(at, "without_valid_licence")
    assert table[["admin_unit", "active_sites", "without_valid_licence", "licences", "valid_licences"]].values.tolist() \
        == [[MARKUP, 1, 1, 1, 0], ["Alamudun", 2, 0, 1, 1], ["At-Bashy", 1, 1, 0, 0], [NOT_LOCATED, 0, 0, 1, 1]]
    assert any("Units by containment" in c.value for c in at.caption)
    assert at.radio(key="reg_unit_measure").options == [
        "Active sites without a valid licence", "Licences", "Licences valid on the day"]
    shown = _everything(at)
    assert SECRET not in shown and "informant" not in shown
    if who == PARTNER:
        assert HOLDER not in shown

