"""Re-surveys: a site surveyed again in a later round under a new id must not count twice.

Known answers: hand-made sites at known geodesic distances (30 m, 300 m, across the antimeridian, at
85 degrees north, a point beyond a polygon's corner and one inside it), the links and their errors, and
the inventory's figures before and after linking. Hypothesis: unlinked data gives the figures of the
estimates as they are, and linking never changes a round's figures, only counts a site once in the totals.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import Point, Polygon

from geo.errors import InputError
from geo.inventory import (
    estimate_sites,
    resolve_links,
    resurvey_candidates,
    rollup,
    search_distance_m,
    survey_rounds,
)
from render.report.tables import inventory_tables
from settings.factors import load_factors

WGS84 = Geod(ellps="WGS84")
FACTORS = load_factors()
FAST = replace(FACTORS, draws=400)  # the figures compared are between two runs with the same draws
TODAY = date(2026, 1, 1)
NM = 1e-6  # metres: the kernel's distances agree with pyproj's Geod to far below this


def away(lon: float, lat: float, azimuth: float, metres: float) -> Point:
    x, y, _ = WGS84.fwd(lon, lat, azimuth, metres)
    return Point(x, y)


def layer(records: list[dict[str, object]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(pd.DataFrame(records), geometry="geometry", crs=4326)


R1, R2, R3 = ("2021", "2021-03-01"), ("2023", "2023-03-01"), ("2025", "2025-03-01")


def rec(site_id: str, rnd: tuple[str, str], geometry: object, **fields: object) -> dict[str, object]:
    out: dict[str, object] = {"site_id": site_id, "name": f"site {site_id}", "admin_area": "North",
                              "survey_round": rnd[0], "survey_date": rnd[1], "geometry": geometry}
    out.update(fields)
    return out


def pairs(sites: gpd.GeoDataFrame, within: float = 100.0) -> dict[tuple[str, str], float]:
    found = resurvey_candidates(sites, resolve_links(sites).same_site, distance_m=within)
    return {(str(a), str(b)): float(d) for a, b, d in zip(found["site_id"], found["resurvey_of"],
                                                          found["distance_m"], strict=True)}


# ------------------------------------------------------------------------------ candidates
def test_a_pair_at_30_m_is_a_candidate_and_one_at_300_m_is_not() -> None:
    sites = layer([rec("A", R1, Point(-1.5, 5.5)), rec("B", R2, away(-1.5, 5.5, 90, 30)),
                   rec("C", R1, Point(-1.6, 5.6)), rec("D", R2, away(-1.6, 5.6, 0, 300))])
    found = pairs(sites)
    assert list(found) == [("B", "A")]  # the later record first, the earlier one as resurvey_of
    assert found["B", "A"] == pytest.approx(30.0, abs=NM)
    assert pairs(sites, within=300.0)["D", "C"] == pytest.approx(300.0, abs=NM)  # inclusive


def test_across_the_antimeridian_and_at_high_latitude() -> None:
    east = Point(179.9998, -16.5)  # Fiji: 180 E is a few metres west of the later fix
    sites = layer([rec("E", R1, east), rec("F", R2, away(179.9998, -16.5, 90, 40)),
                   rec("G", R1, Point(10.0, 85.0)), rec("H", R2, away(10.0, 85.0, 270, 75)),
                   rec("I", R1, Point(100.0, 85.0)), rec("J", R2, away(100.0, 85.0, 270, 101))])
    assert away(179.9998, -16.5, 90, 40).x < 0  # the later fix is across the antimeridian
    found = pairs(sites)
    assert set(found) == {("F", "E"), ("H", "G")}
    assert found["F", "E"] == pytest.approx(40.0, abs=NM)
    assert found["H", "G"] == pytest.approx(75.0, abs=NM)


def test_polygon_sites_measure_from_their_edges_and_a_point_inside_is_at_0_m() -> None:
    corner = (-1.5, 5.5)
    sw = away(*corner, 225, 200)
    square = Polygon([(sw.x, sw.y), (sw.x, corner[1]), corner, (corner[0], sw.y)])  # NE corner at `corner`
    inside = Point((sw.x + corner[0]) / 2, (sw.y + corner[1]) / 2)
    sites = layer([rec("P", R1, square), rec("Q", R2, away(*corner, 45, 60)), rec("S", R2, inside),
                   rec("T", R2, away(*corner, 45, 140))])
    found = pairs(sites)
    assert set(found) == {("Q", "P"), ("S", "P")}
    assert found["Q", "P"] == pytest.approx(60.0, abs=1e-3)  # to the corner, beyond it on the diagonal
    assert found["S", "P"] == 0.0


def test_same_round_pairs_and_linked_pairs_are_no_candidates() -> None:
    sites = layer([rec("A", R1, Point(-1.5, 5.5)), rec("A2", R1, away(-1.5, 5.5, 0, 10)),
                   rec("B", R2, away(-1.5, 5.5, 90, 30), resurvey_of="A")])
    assert pairs(sites) == {("B", "A2"): pytest.approx(float(WGS84.inv(
        *away(-1.5, 5.5, 0, 10).coords[0], *away(-1.5, 5.5, 90, 30).coords[0])[2]), abs=NM)}


def test_the_layers_expected_error_widens_the_search_twice() -> None:
    assert search_distance_m(100.0, None) == 100.0
    assert search_distance_m(100.0, 5.0) == 110.0
    sites = layer([rec("A", R1, Point(-1.5, 5.5)), rec("B", R2, away(-1.5, 5.5, 90, 110))])
    assert pairs(sites, search_distance_m(100.0, 5.0))["B", "A"] == pytest.approx(110.0, abs=NM)
    assert pairs(sites, search_distance_m(100.0, 4.9)) == {}


# ------------------------------------------------------------------------------ links
def test_a_chain_of_links_is_one_site_counted_at_its_latest_survey() -> None:
    sites = layer([rec("A", R1, Point(0, 0)), rec("B", R2, Point(0, 0), resurvey_of="A"),
                   rec("C", R3, Point(0, 0), resurvey_of=" B "), rec("D", R2, Point(1, 1), resurvey_of="")])
    links = resolve_links(sites)
    assert links.same_site.tolist() == ["A", "A", "A", "D"]
    assert links.superseded.tolist() == [True, True, False, False]
    assert links.resurvey_of.tolist() == [None, "A", "B", None]


@pytest.mark.parametrize(("records", "row", "expected"), [
    ([rec("A", R1, Point(0, 0)), rec("B", R2, Point(0, 0), resurvey_of="Z")], 2, "no site has this id"),
    ([rec("A", R1, Point(0, 0), resurvey_of="A")], 1, "not the record's own id"),
    ([rec("A", R2, Point(0, 0)), rec("B", R1, Point(0, 0), resurvey_of="A")], 2,
     "A is of round 2023, not before this record's round 2021"),
    ([rec("A", R1, Point(0, 0)), rec("B", R1, Point(0, 0), resurvey_of="A")], 2,
     "A is of round 2021, not before this record's round 2021"),
    ([rec("A", R1, Point(0, 0)), rec("B", R2, Point(0, 0), resurvey_of="A"),
      rec("C", R2, Point(0, 0), resurvey_of="A")], 3, "row 2 (B) is already this site in round 2023"),
])
def test_a_bad_link_names_row_field_value_and_what_was_expected(records: list[dict[str, object]], row: int,
                                                                 expected: str) -> None:
    sites = layer(records)
    with pytest.raises(InputError) as err:
        resolve_links(sites, source="sites.csv")
    [problem] = err.value.problems
    assert (problem.file, problem.row, problem.field) == ("sites.csv", row, "resurvey_of")
    assert expected in problem.expected and problem.value == records[row - 1]["resurvey_of"]
    lenient = resolve_links(sites, strict=False)  # a filtered view: the bad link is no link
    assert lenient.resurvey_of.iloc[row - 1] is None and not lenient.superseded.iloc[row - 1]


# ------------------------------------------------------------------------------ the inventory's figures
def three_sites(link: str | None) -> gpd.GeoDataFrame:
    """A (2021, 1 kg gold), B (2023, 0.4 kg gold, 30 m from A, a re-survey of A when linked), C (2021, 2 kg
    gold, 5 km away). Concentrate, open burning: central 0.5 g Hg per g Au, everything used is released."""
    base = {"amalgamation": "concentrate", "burning": "open", "status": "active"}
    return layer([rec("A", R1, Point(-1.5, 5.5), gold_kg_per_year=1.0, **base),
                  rec("B", R2, away(-1.5, 5.5, 90, 30), gold_kg_per_year=0.4, resurvey_of=link, **base),
                  rec("C", R1, away(-1.5, 5.5, 0, 5000), gold_kg_per_year=2.0, **base)])


def test_the_figures_before_and_after_linking() -> None:
    before = inventory_tables(three_sites(None), FACTORS, today=TODAY)
    after = inventory_tables(three_sites("A"), FACTORS, today=TODAY)
    t0, t1 = before.tables["totals"].iloc[0], after.tables["totals"].iloc[0]
    assert (int(t0["n_sites"]), int(t1["n_sites"])) == (3, 2)
    assert t0["used_kg"] == pytest.approx(1.7) and t1["used_kg"] == pytest.approx(1.2)  # A left out: B replaces it
    for t in (t0, t1):  # still a range
        assert t["used_low"] < t["used_kg"] < t["used_high"]
    ours = after.tables["comparison"].iloc[0]
    assert ours["central_kg"] == pytest.approx(1.2) and "factors inventory.toml" in ours["source"]
    # the rounds are as they were: every record in its round, a linked site once per round
    for inv in (before, after):
        by_round = inv.tables["by_round"].set_index("survey_round")
        assert by_round["n_sites"].to_dict() == {"2021": 2, "2023": 1}
        assert by_round["used_kg"].to_dict() == pytest.approx({"2021": 1.5, "2023": 0.2})
    assert before.tables["by_round"]["n_resurveys"].tolist() == [0, 0]
    assert after.tables["by_round"]["n_resurveys"].tolist() == [0, 1]
    # the trend: all sites of each round (unchanged), and the same sites (only with the link)
    for inv, same, fall in ((before, 0, np.nan), (after, 1, 1 - 0.2 / 0.5)):
        later = inv.tables["trends"].set_index("survey_round").loc["2023"]
        assert later["released_reduction_vs_baseline"] == pytest.approx(1 - 0.2 / 1.5)
        assert later["n_same_sites"] == same
        assert later["released_reduction_same_sites"] == pytest.approx(fall, nan_ok=True)
    # the pair is listed until it is linked
    assert before.tables["resurveys"][["site_id", "resurvey_of"]].values.tolist() == [["B", "A"]]
    assert before.tables["resurveys"]["distance_m"].iloc[0] == pytest.approx(30.0, abs=NM)
    assert after.tables["resurveys"].empty
    assert (before.resurvey.candidates, before.resurvey.superseded) == (1, 0)  # type: ignore[union-attr]
    assert (after.resurvey.candidates, after.resurvey.superseded) == (0, 1)  # type: ignore[union-attr]
    sites = after.tables["sites"].set_index("site_id")
    assert sites["counted"].to_dict() == {"A": False, "B": True, "C": True}
    assert sites["same_site"].to_dict() == {"A": "A", "B": "A", "C": "C"}


def test_linked_totals_are_those_of_the_latest_surveys_alone() -> None:
    linked = inventory_tables(three_sites("A"), FAST, today=TODAY).tables["totals"]
    latest = inventory_tables(three_sites(None).iloc[1:], FAST, today=TODAY).tables["totals"]
    pd.testing.assert_frame_equal(linked, latest)


def test_a_link_across_areas_holds_in_an_area_report() -> None:
    sites = three_sites("A")
    sites.loc[1, "admin_area"] = "South"  # the later survey wrote another area
    north = inventory_tables(sites, FACTORS, area="North", today=TODAY)
    assert int(north.tables["totals"].iloc[0]["n_sites"]) == 1  # A is now counted where B is
    assert north.tables["totals"].iloc[0]["used_kg"] == pytest.approx(1.0)


# ------------------------------------------------------------------------------ invariants
@st.composite
def surveys(draw: st.DrawFn) -> tuple[gpd.GeoDataFrame, list[str | None]]:
    """Records over up to four rounds, with gold or not, and valid links: each to a record of an earlier
    round whose site has no record in the linking record's round yet."""
    n = draw(st.integers(1, 12))
    rounds = [draw(st.integers(0, 3)) for _ in range(n)]
    order = sorted(range(n), key=lambda k: rounds[k])
    links: list[str | None] = [None] * n
    site_of = list(range(n))
    taken: set[tuple[int, int]] = set()
    for k in order:
        earlier = [j for j in order if rounds[j] < rounds[k] and (site_of[j], rounds[k]) not in taken]
        if len(earlier) > 0 and draw(st.booleans()):
            j = draw(st.sampled_from(earlier))
            links[k], site_of[k] = f"s{j}", site_of[j]
        taken.add((site_of[k], rounds[k]))
    records = [rec(f"s{k}", (f"r{rounds[k]}", f"202{rounds[k]}-06-01"), Point(0.001 * k, 0.0),
                   admin_area=draw(st.sampled_from(["North", "South"])),
                   gold_kg_per_year=draw(st.one_of(st.none(), st.floats(0, 10))),
                   amalgamation=draw(st.sampled_from(["concentrate", "whole_ore", "none", None])),
                   burning=draw(st.sampled_from(["open", "retort", None])))
               for k in range(n)]
    return layer(records), links


@settings(max_examples=15, deadline=None)
@given(surveys())
def test_linking_changes_no_rounds_figures_and_counts_each_site_once(case: tuple[gpd.GeoDataFrame,
                                                                                 list[str | None]]) -> None:
    plain, links = case
    linked = plain.assign(resurvey_of=links)
    a = inventory_tables(plain, FAST, today=TODAY)
    b = inventory_tables(linked, FAST, today=TODAY)
    # unlinked: the totals are the roll-up of every record, as the inventory gave before links existed
    est = estimate_sites(pd.DataFrame(plain.drop(columns="geometry")), FAST)
    est["survey_round"] = survey_rounds(est)
    today = rollup(est, FAST).assign(group="All areas").rename(columns={"group": "area"})
    pd.testing.assert_frame_equal(a.tables["totals"], today)
    pd.testing.assert_frame_equal(a.tables["by_round"].drop(columns="n_resurveys"),
                                  rollup(est, FAST, by="survey_round"))
    # linked: every round's figures as they were; the totals count each site once
    pd.testing.assert_frame_equal(a.tables["by_round"].drop(columns="n_resurveys"),
                                  b.tables["by_round"].drop(columns="n_resurveys"))
    n_links = sum(v is not None for v in links)
    assert b.tables["by_round"]["n_resurveys"].sum() == n_links
    sites = b.tables["sites"]
    assert int(b.tables["totals"].iloc[0]["n_sites"]) == sites["same_site"].nunique() == len(plain) - int(
        (~sites["counted"]).sum())
    per_round = sites.assign(r=survey_rounds(sites)).groupby("r")["same_site"].nunique()
    assert per_round.to_dict() == b.tables["by_round"].set_index("survey_round")["n_sites"].to_dict()
    trend_cols = [c for c in a.tables["trends"].columns if c not in ("n_same_sites", "released_reduction_same_sites")]
    pd.testing.assert_frame_equal(a.tables["trends"][trend_cols], b.tables["trends"][trend_cols])


# ------------------------------------------------------------------------------ the search misses no pair
@st.composite
def near_sites(draw: st.DrawFn) -> gpd.GeoDataFrame:
    """Up to 7 points or squares (made on the ellipsoid, so they may straddle the antimeridian) within
    a few hundred metres of one place anywhere from 85 S to 85 N, in two or three rounds."""
    lon = draw(st.sampled_from([-180.0, 179.9995, 0.0])) + draw(st.floats(-0.001, 0.001))
    lat = draw(st.floats(-85.0, 85.0))
    records = []
    for k in range(draw(st.integers(2, 7))):
        c = away(lon, lat, draw(st.floats(0, 360)), draw(st.floats(0, 250)))
        size = draw(st.sampled_from([0.0, 20.0, 150.0, 3000.0]))  # 3 km: a large ball (searched on its own)
        shape = c if size == 0 else Polygon([away(c.x, c.y, az, size).coords[0] for az in (45, 135, 225, 315)])
        r = draw(st.sampled_from([R1, R2, R3]))
        records.append(rec(f"s{k}", r, shape))
    return layer(records)


@settings(max_examples=30, deadline=None)
@given(near_sites(), st.sampled_from([50.0, 100.0, 200.0]))
def test_every_pair_within_the_distance_is_found_and_no_other(sites: gpd.GeoDataFrame, within: float) -> None:
    """The oracle measures every pair of different rounds with the kernel; the search prefilters in ECEF."""
    from geo.distance import geodesic_distance

    rounds = survey_rounds(sites).tolist()
    rank = {r: i for i, r in enumerate(sorted(set(rounds)))}
    expected = {}
    for i in range(len(sites)):
        for j in range(len(sites)):
            if rank[rounds[i]] > rank[rounds[j]]:
                d = geodesic_distance(sites.geometry.iloc[i], sites.geometry.iloc[j])
                if d <= within + NM:
                    expected[str(sites["site_id"].iloc[i]), str(sites["site_id"].iloc[j])] = d
    found = pairs(sites, within)
    assert set(found) == set(expected)
    for key, d in found.items():
        assert d == pytest.approx(expected[key], abs=NM)


def test_one_large_polygon_does_not_widen_every_sites_search() -> None:
    """A 30 km concession typed as a site: every point used to search 30 km around itself (its pairs with
    every other point then measured); now only the large polygon searches that far."""
    from geo.inventory.resurvey import _balls, _near

    line = [away(-1.5, 5.5, 90, 50.0 * k) for k in range(2000)]  # 100 km of points 50 m apart
    big = Polygon([away(-1.3, 5.5, az, 30_000).coords[0] for az in (45, 135, 225, 315)])
    centre, radius = _balls(np.array([*line, big], dtype=object))
    a, b = _near(centre, radius, 100.0)
    near_points = int((b != 2000).sum())
    assert near_points == 1999 + 1998  # the neighbours at 50 m and at 100 m, each pair once (was: within 30 km)
    assert int((b == 2000).sum()) <= 2000  # the polygon's own search
    assert ((a >= 0) & (a < b)).all()
