"""Roll-ups per admin unit (services.rollups) on hand-made admin areas and sites with known answers:
exact site counts, mercury ranges and open cases at the region and district level, units with no
site, sites no unit contains, the free-text fallback, the open statuses read from the case file,
agreement with the inventory's own by_unit table, and, on both back ends, a partner's roll-up
through the service with cases from a recorded run (no planted secret in anything it gets)."""
from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry import box as shapely_box

from geo.cases import parse_case_rules
from geo.errors import InputError
from geo.inventory import Range
from render.report.tables import inventory_tables
from services.areas import with_units
from services.auth import ROLES, Identity
from services.cases import case_rules, list_cases, set_status
from services.hgwatch import HgWatch
from services.rollups import NOT_LOCATED, default_level, open_statuses, service_rollup, unit_levels, unit_map, unit_rollup
from settings import Settings
from settings.cases import DEFAULT_PATH as CASES_TOML
from settings.factors import load_factors

TODAY = date(2026, 11, 26)
FACTORS = load_factors()
# every Hg:Au ratio a point (its central value), so the Monte Carlo range of a unit is exact
POINT = replace(FACTORS, hg_au_ratio={k: Range(r.central, r.central, r.central, r.source, r.unit)
                                      for k, r in FACTORS.hg_au_ratio.items()})
SECRET = "SECRET-informant-Aigul"


def box(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    return Polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])


# Chui (R1) holds Alamudun (D11) and Sokuluk (D12); Naryn (R2) holds At-Bashy (D21), where no site lies
AREAS = gpd.GeoDataFrame({
    "area_code": ["R1", "R2", "D11", "D12", "D21"],
    "name": ["Chui", "Naryn", "Alamudun", "Sokuluk", "At-Bashy"],
    "level": ["region", "region", "district", "district", "district"],
    "parent_code": [None, None, "R1", "R1", "R2"],
}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 0, 0.5, 1), box(0.5, 0, 1, 1), box(1, 0, 2, 1)], crs=4326)


def sites() -> gpd.GeoDataFrame:
    """a, b in Alamudun (10 and 5 kg measured); c (2 kg gold a year, concentrate) and d (no figure)
    in Sokuluk; f outside every unit but its admin_area names Sokuluk (4 kg measured); e outside
    every unit, its admin_area naming none (7 kg measured)."""
    return gpd.GeoDataFrame({
        "site_id": ["a", "b", "c", "d", "e", "f"],
        "name": ["A", "B", "C", "D", "E", "F"],
        "status": ["active"] * 6, "uses_mercury": [True] * 6,
        "amalgamation": ["concentrate"] * 6, "burning": ["open"] * 6,
        "mercury_kg_per_year": [10.0, 5.0, None, None, 7.0, 4.0],
        "gold_kg_per_year": [None, None, 2.0, None, None, None],
        "admin_area": ["Chui", "Chui", "Sokuluk", "Sokuluk", "Nowhere", "Sokuluk"],
        "survey_date": ["2025-06-01"] * 6,
        "informant_name": [SECRET] * 6,
    }, geometry=[Point(0.25, 0.5), Point(0.3, 0.5), Point(0.75, 0.5), Point(0.8, 0.5), Point(5, 5), Point(6, 6)],
        crs=4326)


def frames(with_areas: bool = True) -> dict[str, gpd.GeoDataFrame]:
    return {"mining_sites": sites(), **({"admin_areas": AREAS} if with_areas else {})}


def rows(table: pd.DataFrame) -> dict[str, dict[str, object]]:
    return table.set_index("unit").to_dict("index")


def test_exact_counts_and_ranges_at_the_district_level() -> None:
    r = unit_rollup(frames(), POINT, today=TODAY, level="district")
    assert (r.level, r.basis, r.levels) == ("district", "containment", ("region", "district"))
    got = rows(r.table)
    assert list(got) == ["Alamudun", "Sokuluk", "At-Bashy", NOT_LOCATED]
    assert [got[u]["sites"] for u in got] == [2, 3, 0, 1]
    assert got["Sokuluk"]["within"] == "Chui" and got["At-Bashy"]["within"] == "Naryn"
    # measured sites are exact; c: 2 kg gold x 0.5 g/g = 1 kg; d has no figure and adds nothing
    assert (got["Alamudun"]["hg_low"], got["Alamudun"]["hg_central"], got["Alamudun"]["hg_high"]) == (15, 15, 15)
    assert got["Sokuluk"]["hg_central"] == pytest.approx(5.0) and got["Sokuluk"]["hg_high"] == pytest.approx(5.0)
    assert (got["Sokuluk"]["estimable_sites"], got["Sokuluk"]["not_estimable"]) == (2, 1)
    assert got["Sokuluk"]["hg_range"] == "5.0-5.0 kg/yr (central 5.0); 1 site not estimable, not counted"
    assert got[NOT_LOCATED]["hg_central"] == 7.0
    # a unit with no site: 0 sites, and no mercury figure at all (not zero)
    assert np.isnan(got["At-Bashy"]["hg_central"]) and got["At-Bashy"]["hg_range"] == "no sites"
    assert got["At-Bashy"]["targets_met"] == "no data"
    assert any("1 site lies in no district and its admin_area names none: it is counted" in n for n in r.notes)


def test_exact_counts_at_the_region_level_and_the_default_level() -> None:
    r = unit_rollup(frames(), POINT, today=TODAY)
    assert r.level == "region"
    got = rows(r.table)
    assert {u: v["sites"] for u, v in got.items()} == {"Chui": 5, "Naryn": 0, NOT_LOCATED: 1}
    assert got["Chui"]["hg_central"] == pytest.approx(20.0) and got["Chui"]["hg_low"] == pytest.approx(20.0)
    assert np.isnan(got["Naryn"]["hg_high"])
    assert r.shapes is not None and set(r.shapes["unit"]) == {"Chui", "Naryn"}  # not located: no polygon


def test_a_unit_whose_sites_have_no_figure_has_no_estimate_not_zero() -> None:
    s = sites()
    s.loc[s["site_id"].isin(["c", "f"]), ["mercury_kg_per_year", "gold_kg_per_year"]] = None
    r = unit_rollup({"mining_sites": s, "admin_areas": AREAS}, POINT, today=TODAY, level="district")
    got = rows(r.table)["Sokuluk"]
    assert got["sites"] == 3 and np.isnan(got["hg_central"])
    assert got["hg_range"] == "not estimable (3 sites with no gold or mercury figure)"


def test_ranges_with_the_real_factors_are_the_inventory_by_unit_table() -> None:
    """One home for the estimate: the unit ranges are the inventory's own roll-up, to the last digit."""
    r = unit_rollup(frames(), FACTORS, today=TODAY, level="district")
    got = rows(r.table)["Sokuluk"]
    # c: 2 kg gold x 0.2-1 g/g: the 5th-95th percentile lies inside 4 + [0.4, 2]
    assert got["hg_central"] == pytest.approx(5.0)
    assert 4.4 <= got["hg_low"] < got["hg_central"] < got["hg_high"] <= 6.0
    located = with_units(sites(), AREAS)
    inventory = inventory_tables(located, FACTORS, today=TODAY).tables["by_unit"]
    theirs = inventory.set_index(["region", "district"]).loc[("Chui", "Sokuluk")]
    assert (got["hg_low"], got["hg_central"], got["hg_high"]) == (
        theirs["used_low"], theirs["used_kg"], theirs["used_high"])
    assert "5th-95th percentile of 5000 Monte Carlo draws" in r.source and "003 L" in r.source


def test_the_fallback_groups_by_the_free_text_admin_area_and_says_so() -> None:
    r = unit_rollup(frames(with_areas=False), POINT, today=TODAY)
    assert (r.level, r.basis, r.shapes, r.levels) == (None, "attribute", None, ())
    got = rows(r.table)
    assert {u: v["sites"] for u, v in got.items()} == {"Chui": 2, "Nowhere": 1, "Sokuluk": 3}
    assert got["Chui"]["hg_central"] == 15.0
    assert any("no admin_areas layer" in n and "free-text admin_area" in n for n in r.notes)
    assert unit_map(r, "sites") is None
    with pytest.raises(InputError, match="holds no admin areas, so there is no level 'district'"):
        unit_rollup(frames(with_areas=False), POINT, today=TODAY, level="district")


def test_a_view_with_no_site_lists_every_unit_with_nothing_in_it() -> None:
    cases = pd.DataFrame({"site_id": ["a"], "status": ["new"], "cases": [1]})
    r = unit_rollup({"mining_sites": sites().iloc[0:0], "admin_areas": AREAS}, POINT, today=TODAY, level="district",
                    cases=cases)
    assert r.table[["unit", "sites", "open_cases", "hg_range"]].values.tolist() == [
        ["Alamudun", 0, 0, "no sites"], ["Sokuluk", 0, 0, "no sites"], ["At-Bashy", 0, 0, "no sites"]]
    assert r.table["hg_central"].isna().all()
    assert r.notes == ["1 open case belongs to a site not in view (or no longer in mining_sites) and is not placed"
                       " in a unit."]


def test_a_level_the_areas_do_not_hold_is_refused_by_name() -> None:
    with pytest.raises(InputError, match=r"admin_areas: field 'level': value 'commune': expected one of: "
                                         r"region, district$"):
        unit_rollup(frames(), POINT, today=TODAY, level="commune")


# points kept 0.001 degree off every edge: a box's east-west edges are geodesics there to far less than that
COORD = st.tuples(st.sampled_from([-0.4, 0.1, 0.3, 0.6, 0.9, 1.2, 1.7, 2.3]), st.floats(0.001, 0.999))
FAST = replace(POINT, draws=20)


@hypothesis_settings(max_examples=10, deadline=None)
@given(st.lists(COORD, min_size=1, max_size=25))
def test_every_site_is_counted_once_and_order_does_not_matter(points: list[tuple[float, float]]) -> None:
    frame = gpd.GeoDataFrame({"site_id": [f"s{i}" for i in range(len(points))], "status": "active",
                              "mercury_kg_per_year": 1.0},
                             geometry=[Point(x, y) for x, y in points], crs=4326)
    table = unit_rollup({"mining_sites": frame, "admin_areas": AREAS}, FAST, today=TODAY, level="district").table
    assert table["sites"].sum() == len(points)
    for unit in ("Alamudun", "Sokuluk", "At-Bashy"):
        poly = AREAS.loc[AREAS["name"] == unit].geometry.iloc[0]
        want = sum(shapely_box(*poly.bounds).contains(Point(x, y)) for x, y in points)
        assert int(table.loc[table["unit"] == unit, "sites"].iloc[0]) == want
        assert table.loc[table["unit"] == unit, "hg_central"].fillna(0).iloc[0] == pytest.approx(want)
    shuffled = frame.sample(frac=1.0, random_state=len(points))
    again = unit_rollup({"mining_sites": shuffled, "admin_areas": AREAS}, FAST, today=TODAY, level="district").table
    pd.testing.assert_frame_equal(table, again)


def test_levels_held_top_first_and_the_one_shown_first() -> None:
    assert unit_levels(AREAS) == ("region", "district") and unit_levels(None) == ()
    assert default_level(("country", "region", "district")) == "region"
    assert default_level(("country", "province", "commune")) == "province"
    assert default_level(("country", "district")) == "district"
    assert (default_level(("country",)), default_level(())) == ("country", None)


def test_open_statuses_come_from_the_case_file() -> None:
    assert open_statuses(case_rules()) == ("new", "triaged", "assigned", "visited", "confirmed",
                                           "remediation_ordered")
    data = tomllib.loads(CASES_TOML.read_text(encoding="utf-8"))
    data["transition"].append({"from": ["confirmed"], "to": "closed", "roles": ["analyst"]})
    changed = parse_case_rules(data, source="cases.toml", roles=ROLES)
    assert "confirmed" not in open_statuses(changed) and "visited" in open_statuses(changed)


def test_open_cases_per_unit_from_counts_by_site_and_status() -> None:
    cases = pd.DataFrame({"site_id": ["a", "a", "c", "d", "f", "e", "gone"],
                          "status": ["new", "closed", "visited", "resolved", "false_positive", "new", "new"],
                          "cases": [1, 1, 2, 1, 1, 1, 3]})
    r = unit_rollup(frames(), POINT, today=TODAY, level="district", cases=cases)
    assert {u: v["open_cases"] for u, v in rows(r.table).items()} == {
        "Alamudun": 1, "Sokuluk": 2, "At-Bashy": 0, NOT_LOCATED: 1}
    assert any(n.startswith("3 open cases belong to sites not in view") for n in r.notes)
    none = unit_rollup(frames(), POINT, today=TODAY, level="district")
    assert none.table["open_cases"].isna().all()  # no recorded run: no data, not zero
    assert any("No rule run has been recorded" in n for n in none.notes)


# ---------------------------------------------------------------- through the service, both back ends
PARTNER = Identity("unep", "partner")


@pytest.fixture
def settings(backend: str, location: str) -> Settings:
    return Settings(database_url=location) if backend == "postgis" else Settings(workspace=Path(location))


def test_a_partner_gets_counts_by_unit_and_nothing_restricted(settings: Settings) -> None:
    """Sites a (Alamudun) and c (Sokuluk) lie 55 m from a river: a recorded run opens two cases."""
    s = sites()
    s["geometry"] = [Point(0.2505, 0.5), Point(0.3, 0.5), Point(0.7505, 0.5), Point(0.8, 0.5), Point(5, 5),
                     Point(6, 6)]
    water = gpd.GeoDataFrame({"water_id": ["W1", "W2"], "name": ["River", "Brook"], "kind": ["river", "river"]},
                             geometry=[LineString([(0.25, 0.4), (0.25, 0.6)]), LineString([(0.75, 0.4), (0.75, 0.6)])],
                             crs=4326)
    admin = AREAS.copy()
    admin.loc[admin["area_code"] == "D21", "name"] = "<img src=x onerror=alert(1)>"
    svc = HgWatch(settings)
    svc.store.write_layers([("mining_sites", s), ("water_bodies", water), ("admin_areas", admin)], source="test",
                           replace_all=True)
    assert svc.check(only=["HG-WATER-100"]).run_id is not None
    partner = HgWatch(settings, PARTNER)
    r = service_rollup(partner, today=TODAY, level="district")
    got = rows(r.table)
    assert {u: v["open_cases"] for u, v in got.items()} == {
        "Alamudun": 1, "Sokuluk": 1, "<img src=x onerror=alert(1)>": 0, NOT_LOCATED: 0}
    assert {u: v["sites"] for u, v in got.items()}["Sokuluk"] == 3
    fmap = unit_map(r, "open_cases")
    assert fmap is not None
    html = fmap.get_root().render()
    everything = r.table.to_csv() + r.targets.to_csv() + html + " ".join(r.notes) + r.source
    assert SECRET not in everything and "informant" not in everything
    assert "<img src=x" not in html and "\\u003cimg src=x onerror=alert(1)\\u003e" in html
    region = service_rollup(partner, today=TODAY)
    assert rows(region.table)["Chui"]["open_cases"] == 2
    assert service_rollup(partner, today=TODAY, level="district") is r  # kept while nothing changed
    analyst = Identity("ana", "analyst")
    listed = list_cases(svc.store, analyst)
    set_status(svc.store, analyst, str(listed.loc[listed["site_id"] == "a", "violation_id"].iloc[0]), "false_positive",
               reason="seen: no mercury")
    after = service_rollup(partner, today=TODAY, level="district")
    assert after is not r and rows(after.table)["Alamudun"]["open_cases"] == 0
    assert rows(after.table)["Sokuluk"]["open_cases"] == 1
