"""Drinking-water intakes downstream of a mercury site are listed with its people (services.people,
geo.exposure.receptors_downstream), on a hand-made river with known answers."""
from __future__ import annotations

import dataclasses
import math

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, Polygon

from services.people import detail_lines, intakes_downstream, people_figure, source_people, trace_view
from settings.exposure import load_exposure

DEG = 6378137.0 * math.pi / 180.0  # metres per degree of longitude on the equator
SETTINGS = dataclasses.replace(load_exposure(), downstream={
    "reach_m": 20_000.0, "settlement_buffer_m": 1_000.0, "entry_distance_m": 100.0,
    "entry_citation": "test", "snap_tolerance_m": 25.0})
WATER = gpd.GeoDataFrame({"water_id": ["R"], "name": ["River"]},
                         geometry=[LineString([(0.0, 0.0), (0.3, 0.0)])], crs=4326)  # flows east
SITES = gpd.GeoDataFrame({"site_id": ["S-hg", "S-clean"], "name": ["Hg site", "Clean"],
                          "uses_mercury": [True, False], "amalgamation": ["whole_ore", "none"]},
                         geometry=[Point(0.05, 0.0005), Point(0.2, 0.0005)], crs=4326)
AREAS = gpd.GeoDataFrame({"area_id": ["V"], "name": ["Village"], "population": [800]},
                         geometry=[Point(0.1, -0.005)], crs=4326)
# intakes: 0.05 deg (5.57 km) downstream 111 m off the river; upstream; past the 20 km reach;
# 1.11 km off the river (beyond the 1 km buffer); a school downstream; an intake drawn as a polygon
RECEPTORS = gpd.GeoDataFrame({
    "receptor_id": ["I-down", "I-up", "I-beyond", "I-off", "School", "I-poly"],
    "name": ["Town intake", "Upstream intake", "Far intake", "Off intake", "School", "Works"],
    "receptor_type": ["water_intake", "water_intake", "water_intake", "water_intake", "school", "water_intake"],
    "population": [12000, 500, 300, 200, 400, None],
}, geometry=[Point(0.1, 0.001), Point(0.02, 0.001), Point(0.05 + 21_000 / DEG, 0.001), Point(0.15, -0.01),
             Point(0.12, 0.001), Polygon([(0.16, 0.002), (0.17, 0.002), (0.17, 0.004), (0.16, 0.004)])], crs=4326)


def test_intakes_on_the_reach_are_listed_with_the_people() -> None:
    down = trace_view({"mining_sites": SITES, "water_bodies": WATER, "residential_areas": AREAS}, SETTINGS)
    table = intakes_downstream(down, RECEPTORS, SETTINGS)
    assert table["receptor_id"].tolist() == ["I-down", "I-poly"]
    assert set(table["source_id"]) == {"S-hg"}
    row = table.iloc[0]
    assert row["along_river_m"] == pytest.approx(0.05 * DEG, rel=1e-3)
    assert row["distance_to_river_m"] == pytest.approx(110.57, abs=0.05)  # 0.001 deg of latitude
    found = source_people(down, "S-hg", intakes=table)
    assert found.people == 800 and found.intakes["receptor_id"].tolist() == ["I-down", "I-poly"]
    lines = detail_lines(found, people_figure(down, SETTINGS))
    assert "Drinking-water intakes downstream: 2" in lines
    assert any(line.startswith("  water intake Town intake (I-down), serving 12,000 people: 5.57 km") for line in lines)


def test_no_intakes_without_receptors_or_for_a_clean_site() -> None:
    down = trace_view({"mining_sites": SITES, "water_bodies": WATER}, SETTINGS)
    assert intakes_downstream(down, None, SETTINGS).empty
    assert intakes_downstream(None, RECEPTORS, SETTINGS).empty
    table = intakes_downstream(down, RECEPTORS, SETTINGS)
    assert source_people(down, "S-clean", intakes=table).intakes.empty
    wider = intakes_downstream(down, RECEPTORS, SETTINGS, buffer_m=1_500.0)
    assert wider["receptor_id"].tolist() == ["I-down", "I-off", "I-poly"]
