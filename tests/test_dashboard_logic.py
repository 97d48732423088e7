"""The dashboard's logic without Streamlit: filters, what-if distances, the workbench table and
field list, CSV safety, grouped import problems, violation exports."""
from __future__ import annotations

import datetime as dt
import json

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point

from geo.errors import Problem
from layers.store.workspace import LayerInfo
from services.exports import violations_file
from services.imports import group_problems
from services.view import Filters, filter_sites, mercury_use, violations_for, with_distance, zone_distance
from services.workbench import change_status, csv_text, field_list, violations_table
from settings.rules import load_rules


def _sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"site_id": ["A", "B", "C", "D"], "name": ["a", "b", "c", "=HYPERLINK(1)"],
         "status": ["active", "inactive", "active", "abandoned"],
         "uses_mercury": [True, False, None, None],
         "amalgamation": ["none", "none", "whole_ore", None],
         "admin_area": ["North", "South", "North", None],
         "survey_date": pd.to_datetime(["2024-01-01", "2024-06-30", None, "2023-12-31"])},
        geometry=[Point(0, 0), Point(0.01, 0), Point(0.02, 0), Point(0.03, 0)], crs=4326)


def test_mercury_use_counts_amalgamation_as_use() -> None:
    assert mercury_use(_sites()).tolist() == ["uses mercury", "no mercury", "uses mercury",
                                              "not recorded"]


def test_the_mercury_filter_counts_burning_amalgam_as_use() -> None:
    """The sidebar filter reads ``geo.sites``: a site that burns amalgam uses mercury, and its
    choices are ``geo.sites.MERCURY_USE``."""
    from geo.sites import MERCURY_USE

    burns = _sites().assign(uses_mercury=None, amalgamation=None, burning=["open", None, None, None])
    kept = filter_sites(burns, Filters(mercury=("uses mercury",)))
    assert kept["site_id"].tolist() == ["A"]
    assert set(mercury_use(burns)) <= set(MERCURY_USE)


@pytest.mark.parametrize(("filters", "expected"), [
    (Filters(), ["A", "B", "C", "D"]),
    (Filters(admin_areas=("North",)), ["A", "C"]),
    (Filters(statuses=("active",), mercury=("uses mercury",)), ["A", "C"]),
    (Filters(mercury=("not recorded",)), ["D"]),
    # date bounds are inclusive; undated sites stay unless dated_only
    (Filters(survey_from=dt.date(2024, 1, 1), survey_to=dt.date(2024, 6, 30)), ["A", "B", "C"]),
    (Filters(survey_from=dt.date(2024, 1, 2), dated_only=True), ["B"]),
])
def test_filter_sites(filters: Filters, expected: list[str]) -> None:
    assert filter_sites(_sites(), filters)["site_id"].tolist() == expected


def test_what_if_distance_overrides_only_the_chosen_distance_rules() -> None:
    rules = load_rules(run_examples=False)
    water = next(r for r in rules.rules if r.id == "HG-WATER-100")
    other = next(r for r in rules.rules if r.relation == "within_distance" and r.id != water.id)
    changed = with_distance(rules, (water.id,), 237.5)
    assert changed.rule(water.id).distance_m == 237.5
    assert changed.rule(other.id).distance_m == other.distance_m
    assert with_distance(rules, (water.id,), None) is rules
    assert zone_distance(rules, (water.id,), None) == water.distance_m
    assert zone_distance(rules, (water.id,), 80.0) == 80.0


def test_what_if_moves_the_flag_across_the_line() -> None:
    # a mercury site 150.0 m east of a north-south river at the equator (1e-4 deg = 11.132 m)
    rules = load_rules(run_examples=False)
    site = gpd.GeoDataFrame({"site_id": ["S"], "uses_mercury": [True]},
                            geometry=[Point(150 / 111_319.49, 0.0)], crs=4326)
    water = gpd.GeoDataFrame({"water_id": ["W"], "name": ["R"], "kind": ["river"]},
                             geometry=[LineString([(0, -0.01), (0, 0.01)])], crs=4326)
    frames = {"mining_sites": site, "water_bodies": water}
    counts = {d: len(violations_for(rules, frames, ("HG-WATER-100",), d)[0])
              for d in (None, 149.0, 151.0)}
    assert counts == {None: 0, 149.0: 0, 151.0: 1}


def _violations() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"violation_id": ["R1/a", "R1/b", "R2/c"], "rule_id": ["R1", "R1", "R2"],
         "severity": ["high", "critical", "high"], "title": ["t", "t", "u"],
         "site_id": ["A", "C", None], "tailings_id": [None, None, "T1"],
         "distance_m": [40.0, 12.5, 3.0], "threshold_m": [100.0] * 3,
         "nearest_id": ["W1", "W2", "W1"], "nearest_name": ["Ankobra", None, "Ankobra"],
         "nearest_line": [LineString([(0, 0), (0, 0.001)]), None, None]},
        geometry=[Point(0, 0), Point(0.02, 0), Point(0.05, 0)], crs=4326)


def test_table_status_and_field_list() -> None:
    v = _violations()
    runs: list[dict[str, object]] = [{"violation_ids": ["R1/a", "gone/x"]}]
    change = change_status(v, runs)
    assert change.tolist() == ["persisting", "new", "new"]
    assert change_status(v, []).unique().tolist() == ["no earlier run"]
    tailings = pd.DataFrame({"tailings_id": ["T1"], "site_id": ["A"]})
    table = violations_table(v, _sites(), change, tailings)
    assert table["violation_id"].tolist() == ["R1/b", "R2/c", "R1/a"]  # worst, then nearest
    assert table["nearest_water"].tolist() == ["W2", "Ankobra", "Ankobra"]
    assert table.loc[1, "admin_area"] == "North"  # tailings take their site's area
    fl = field_list(table)
    assert fl[["area", "site"]].values.tolist() == [["North", "C"], ["North", "T1"],
                                                    ["North", "A"]]
    assert fl.loc[0, "worst_severity"] == "critical" and fl.loc[0, "closest_m"] == 12.5


def test_csv_defuses_formulas() -> None:
    text = csv_text(pd.DataFrame({"name": ["=HYPERLINK(1)", "+1", "ok"]}), header_lines=["h"])
    assert text.splitlines() == ["# h", "name", "'=HYPERLINK(1)", "+1", "ok"]


def test_problems_grouped_errors_first_biggest_first() -> None:
    problems = [Problem("f.csv", 2, "status", "x", "one of ...", "warning", kind="allowed"),
                Problem("f.csv", 3, "status", "y", "one of ...", kind="allowed"),
                Problem("f.csv", 4, "miners", -1, ">= 0", kind="range"),
                Problem("f.csv", 5, "miners", -2, ">= 0", kind="range")]
    groups = group_problems(problems)
    assert [h for h, _ in groups] == ["error: 2 x range in field 'miners'",
                                      "error: 1 x allowed in field 'status'",
                                      "warning: 1 x allowed in field 'status'"]
    assert groups[0][1]["value"].tolist() == ["-1", "-2"]


def test_violation_export_names_profile_and_sources() -> None:
    infos = [LayerInfo("water_bodies", "GSHHG 2.3.7", "LGPL-3.0-or-later", "t", 2, 500.0, "", False)]
    doc = json.loads(violations_file(_violations(), "geojson", profile="public", infos=infos,
                                     layers=["water_bodies", "mining_sites"]))
    assert doc["hgwatch"]["profile"] == "public"
    assert doc["hgwatch"]["layers"] == [{"layer": "water_bodies", "source": "GSHHG 2.3.7",
                                         "licence": "LGPL-3.0-or-later", "synthetic": False,
                                         "expected_error_m": 500.0, "accuracy_note": ""}]
    assert len(doc["features"]) == 3
    assert doc["features"][0]["properties"]["nearest_line"].startswith("LINESTRING")


def test_the_detail_distance_line_says_when_a_rule_measures_no_distance() -> None:
    from services.workbench import distance_text

    assert distance_text(55.6612, 100) == "distance 55.66 m (rule 100.00 m)"
    assert distance_text(float("nan"), float("nan")).startswith("distance: not measured")  # was "distance nan m"
    assert distance_text(None, None).startswith("distance: not measured")
    assert distance_text(0.0, None) == "distance 0.00 m"
