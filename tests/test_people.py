"""People downstream for the headline and a site's detail (services.people), on a hand-made river
with known answers. No Streamlit."""
from __future__ import annotations

import dataclasses
import math

import geopandas as gpd
import pandas as pd
import pytest
from pyproj import Geod
from shapely.geometry import LineString, Point

from services.people import (
    detail_lines,
    headline_people,
    people_figure,
    source_people,
    trace_view,
    violation_source,
)
from settings.exposure import load_exposure

DEG = 6378137.0 * math.pi / 180.0  # metres per degree of longitude on the equator
GEOD = Geod(ellps="WGS84")
SETTINGS = dataclasses.replace(load_exposure(), downstream={
    "reach_m": 20_000.0, "settlement_buffer_m": 1_000.0, "entry_distance_m": 100.0,
    "entry_citation": "test", "snap_tolerance_m": 25.0})

# one river flowing east along the equator for 0.3 degrees (~33.4 km)
WATER = gpd.GeoDataFrame({"water_id": ["R"], "name": ["River"]},
                         geometry=[LineString([(0.0, 0.0), (0.3, 0.0)])], crs=4326)
# the site enters the river at lon 0.05, so "Below" is 0.05 degrees (5.57 km) downstream,
# "Above" lies upstream of it, "Beyond" is 20.0 km + 1.1 km downstream (past the reach),
# "Off" is 1.1 km from the river
AREAS = gpd.GeoDataFrame({
    "area_id": ["V-below", "V-above", "V-beyond", "V-off", "V-nopop"],
    "name": ["Below", "Above", "Beyond", "Off", "No count"],
    "population": [1200, 5000, 700, 900, None],
    "admin_area": ["East", "West", "East", "East", "East"],
}, geometry=[Point(0.1, -0.005), Point(0.02, 0.003), Point(0.05 + 21_100 / DEG, 0.002),
             Point(0.12, 0.01), Point(0.15, 0.004)], crs=4326)
SITES = gpd.GeoDataFrame({
    "site_id": ["S-hg", "S-clean", "S-far"], "name": ["Hg site", "Clean", "Far from river"],
    "uses_mercury": [True, False, True], "amalgamation": ["whole_ore", "none", "whole_ore"],
    "admin_area": ["West", "West", "West"],
}, geometry=[Point(0.05, 0.0005), Point(0.01, 0.0005), Point(0.05, 0.05)], crs=4326)
TAILINGS = gpd.GeoDataFrame({"tailings_id": ["T-1"], "site_id": ["S-hg"]},
                            geometry=[Point(0.04, -0.0005)], crs=4326)  # above S-hg


def frames(sites: gpd.GeoDataFrame = SITES, areas: gpd.GeoDataFrame = AREAS,
           tailings: gpd.GeoDataFrame | None = None) -> dict[str, gpd.GeoDataFrame]:
    out = {"mining_sites": sites, "water_bodies": WATER, "residential_areas": areas}
    if tailings is not None:
        out["tailings"] = tailings
    return out


def test_headline_counts_the_village_downstream_only() -> None:
    fig = headline_people(frames(), SETTINGS)
    # Below (1200) and No count (population unknown, adds 0); never Above, Beyond or Off
    assert (fig.people, fig.settlements, fig.unknown_population) == (1200, 2, 1)
    assert fig.sources == 1 and fig.rivers  # S-clean uses no mercury; S-far is 5.5 km away
    text = fig.help()
    assert "20 km downstream" in text and "within 1 km" in text
    assert "config/exposure.toml" in text and "upstream are never counted" in text


def test_a_settlement_below_two_sources_is_counted_once() -> None:
    fig = headline_people(frames(tailings=TAILINGS), SETTINGS)
    assert (fig.people, fig.settlements, fig.sources) == (1200, 2, 2)


def test_only_sources_in_view_count_but_settlements_anywhere() -> None:
    no_hg = SITES[SITES["site_id"] != "S-hg"]
    assert headline_people(frames(sites=no_hg), SETTINGS).people == 0
    # a view filtered to the West admin area keeps only "Above" among the areas; the people
    # downstream in the East still count when the whole layer is passed
    west = AREAS[AREAS["admin_area"] == "West"]
    assert headline_people(frames(areas=west), SETTINGS).people == 0
    assert headline_people(frames(areas=west), SETTINGS, areas=AREAS).people == 1200


def test_no_rivers_no_figure() -> None:
    fig = headline_people({"mining_sites": SITES, "residential_areas": AREAS}, SETTINGS)
    assert (fig.people, fig.rivers) == (0, False) and "No river" in fig.help()


def test_site_detail_lists_settlements_with_distance_along_the_river() -> None:
    down = trace_view(frames(), SETTINGS)
    found = source_people(down, "S-hg")
    assert found.traced and found.people == 1200
    assert found.settlements["name"].tolist() == ["Below", "No count"]
    below = found.settlements.iloc[0]
    assert below["along_river_m"] == pytest.approx(0.05 * DEG, abs=0.01)
    assert below["distance_to_river_m"] == pytest.approx(GEOD.inv(0.1, 0, 0.1, -0.005)[2],
                                                         abs=0.01)
    lines = detail_lines(found, people_figure(down, SETTINGS))
    assert lines[0].startswith("People downstream: 1,200 in 2 settlements")
    assert "Below (V-below): 1,200 people, 5.57 km along the river, 553 m from it" in lines[1]
    assert "No count (V-nopop): population unknown" in lines[2]
    clean = source_people(down, "S-clean")
    assert not clean.traced and clean.people == 0
    assert "not traced" in detail_lines(clean, people_figure(down, SETTINGS))[0]


def test_violation_source_is_its_site_or_tailings() -> None:
    assert violation_source(pd.Series({"subject_layer": "tailings", "subject_id": "T-1"})) == "T-1"
    assert violation_source({"subject_layer": "mining_sites", "subject_id": "S-hg"}) == "S-hg"
    assert violation_source({"subject_layer": "samples", "subject_id": "X"}) is None
    assert violation_source({"subject_layer": "mining_sites", "subject_id": float("nan")}) is None
