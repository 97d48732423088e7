"""Issue 15 rules: SITE-IN-PROHIBITED-ZONE, SITE-OUTSIDE-LICENCE, HG-NEAR-RECEPTOR, through the engine
with the shipped rule file: every example, boundaries 1 cm either side of a geodesic edge across a UTM
zone boundary, holes and vertices, licence validity on each bound and status, and both violations
for a site in a protected area with no valid licence."""
from __future__ import annotations

import datetime
import json
from pathlib import Path

import geopandas as gpd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import Point, Polygon, box

from geo.errors import ConfigError
from geo.rules import BASIS_INSIDE, BASIS_NOT_COVERED, RuleSet, example_failures, run_rules
from geo.rules.evaluate import Evaluation
from layers.catalogue import CATALOGUE
from layers.io.violations import write_violations
from settings.rules import load_rules, parse_rules

G = Geod(ellps="WGS84")
NEW = ("SITE-IN-PROHIBITED-ZONE", "SITE-OUTSIDE-LICENCE", "HG-NEAR-RECEPTOR")
SHIPPED = load_rules(run_examples=False)
DAY = datetime.date(2026, 6, 1)
# a zone across the UTM boundary at 6 deg E; its north edge (1.58 km at 45 N) bulges 4.86 cm north
ZONE = Polygon([(5.99, 45.0), (6.01, 45.0), (6.01, 45.01), (5.99, 45.01)],
               holes=[[(5.995, 45.004), (6.005, 45.004), (6.005, 45.006), (5.995, 45.006)]])


def frame(layer: str, geoms: list, **fields: list) -> gpd.GeoDataFrame:
    ids = fields.pop("ids", [f"{layer[:2].upper()}{i}" for i in range(len(geoms))])
    return gpd.GeoDataFrame({CATALOGUE[layer].id_field: ids, **fields}, geometry=geoms, crs="EPSG:4326")


def run(rule_ids: tuple[str, ...], *, today: datetime.date = DAY, **frames: gpd.GeoDataFrame) -> Evaluation:
    rules = RuleSet(format=1, title="t", rules=[SHIPPED.rule(r) for r in rule_ids])
    return run_rules(rules, frames, schemas=CATALOGUE, today=today)


def edge_points() -> dict[str, Point]:
    """On the middle of ZONE's north edge (a geodesic), and 1 cm north (out) and south (in) of it."""
    az, _, length = G.inv(5.99, 45.01, 6.01, 45.01)
    lon, lat, back = G.fwd(5.99, 45.01, az, length / 2)
    travel = back + 180.0

    def at(turn: float) -> Point:
        lo, la, _ = G.fwd(lon, lat, travel + turn, 0.01)
        return Point(lo, la)
    return {"on": Point(lon, lat), "out": at(-90.0), "in": at(90.0)}


def test_every_example_of_the_new_rules_behaves_as_declared() -> None:
    rules = [SHIPPED.rule(r) for r in NEW]
    assert all({e.expect for e in r.examples} == {"flagged", "clear"} for r in rules)
    assert example_failures(RuleSet(format=1, title="t", rules=rules), schemas=CATALOGUE) == []
    assert SHIPPED.rule("HG-NEAR-RECEPTOR").assumption and SHIPPED.rule("HG-NEAR-RECEPTOR").distance_m == 500


def test_zone_boundary_one_centimetre_either_side_across_utm_zones() -> None:
    pts = edge_points()
    holes = [Point(6.0, 45.005), Point(5.995, 45.004)]  # in the hole; a vertex of the hole
    sites = frame("mining_sites", [pts["on"], pts["in"], pts["out"], *holes, Point(5.99, 45.0)],
                  ids=["on", "in", "out", "hole", "hole-vertex", "vertex"], status=["active"] * 6)
    zones = frame("zones", [ZONE], name=["Example reserve"], prohibits_mining=[True],
                  legal_source=["Decree 1 art. 2"])
    v = run(NEW[:1], mining_sites=sites, zones=zones).violations
    assert sorted(v["site_id"]) == ["hole-vertex", "in", "on", "vertex"]
    assert set(v["nearest_name"]) == {"Example reserve"} and set(v["nearest_source"]) == {"Decree 1 art. 2"}
    assert set(v["distance_basis"]) == {BASIS_INSIDE} and v["area_m2"].isna().all()


def test_polygon_site_overlap_area_and_a_site_that_only_touches() -> None:
    zone = Polygon([(0, 0), (0.002, 0), (0.002, 0.002), (0, 0.002)])
    half = Polygon([(0.0015, 0.0005), (0.0025, 0.0005), (0.0025, 0.0015), (0.0015, 0.0015)])
    touching = Polygon([(0.002, 0.0005), (0.003, 0.0005), (0.003, 0.0015), (0.002, 0.0015)])
    apart = Polygon([(0.00201, 0.0005), (0.003, 0.0005), (0.003, 0.0015), (0.00201, 0.0015)])  # 1.11 m away
    sites = frame("mining_sites", [half, touching, apart], ids=["half", "touch", "apart"], status=["active"] * 3)
    v = run(NEW[:1], mining_sites=sites, zones=frame("zones", [zone], prohibits_mining=[True])).violations
    assert list(v["site_id"]) == ["half", "touch"]
    assert v["area_m2"].tolist() == [pytest.approx(abs(G.geometry_area_perimeter(half)[0]) / 2, abs=0.01), 0.0]


def both_layers(valid_from: list, valid_to: list, status: list, survey: list) -> dict[str, gpd.GeoDataFrame]:
    box = Polygon([(0, 0), (0.002, 0), (0.002, 0.002), (0, 0.002)])
    n = len(survey)
    return {"mining_sites": frame("mining_sites", [Point(0.001, 0.001)] * n, ids=[f"S{i}" for i in range(n)],
                                  status=["active"] * n, survey_date=survey),
            "licences": frame("licences", [box] * len(status), status=status, valid_from=valid_from,
                              valid_to=valid_to)}


@pytest.mark.parametrize(("survey", "flagged"), [
    ("2026-01-31", True), ("2026-02-01", False), ("2026-02-02", False),   # around valid_from
    ("2026-08-30", False), ("2026-08-31", False), ("2026-09-01", True),   # around valid_to
])
def test_licence_valid_from_and_to_are_included(survey: str, flagged: bool) -> None:
    v = run(NEW[1:2], **both_layers(["2026-02-01"], ["2026-08-31"], ["valid"], [survey])).violations
    assert (len(v) == 1) == flagged
    if flagged:
        assert v["distance_basis"].iloc[0] == BASIS_NOT_COVERED and v["nearest_id"].iloc[0] is None


@pytest.mark.parametrize(("start", "end", "survey", "flagged"), [
    (None, None, "1990-01-01", False), (None, "2026-08-31", "1990-01-01", False),
    ("2026-02-01", None, "2099-12-31", False), ("", "", "2030-05-05", False),
    (None, "2026-08-31", "2026-09-01", True), ("2026-02-01", None, "2026-01-31", True),
    ("1 Feb 2026 maybe", None, "2026-03-01", True),  # a bound that is not a date never counts
])
def test_empty_bounds_are_open(start: str | None, end: str | None, survey: str, flagged: bool) -> None:
    result = run(NEW[1:2], **both_layers([start], [end], ["valid"], [survey]))
    assert (len(result.violations) == 1) == flagged
    if start and "maybe" in start:
        said = "1 licences feature gives a validity bound that is not a date; it counts on no day"
        assert said in result.summaries[0].notes[0]


@pytest.mark.parametrize(("status", "flagged"), [("valid", False), ("suspended", True), ("revoked", True),
                                                  ("expired", True), (None, True)])
def test_only_a_valid_status_counts(status: str | None, flagged: bool) -> None:
    v = run(NEW[1:2], **both_layers([None], [None], [status], ["2026-03-01"])).violations
    assert (len(v) == 1) == flagged


def test_today_is_injected_for_sites_without_a_survey_date() -> None:
    layers = both_layers(["2026-02-01"], ["2026-08-31"], ["valid"], [None])
    assert len(run(NEW[1:2], today=datetime.date(2026, 8, 31), **layers).violations) == 0
    assert len(run(NEW[1:2], today=datetime.date(2026, 9, 1), **layers).violations) == 1


def test_each_site_is_checked_on_its_own_day_against_a_union_of_licences() -> None:
    west = Polygon([(0, 0), (0.002, 0), (0.002, 0.002), (0, 0.002)])
    east = Polygon([(0.002, 0), (0.004, 0), (0.004, 0.002), (0.002, 0.002)])
    site = Polygon([(0.0015, 0.0005), (0.0025, 0.0005), (0.0025, 0.0015), (0.0015, 0.0015)])
    sites = frame("mining_sites", [site, site], ids=["early", "late"], status=["active"] * 2,
                  survey_date=["2026-03-01", "2027-03-01"])
    licences = frame("licences", [west, east], status=["valid", "valid"], valid_from=[None, None],
                     valid_to=[None, "2026-12-31"])
    v = run(NEW[1:2], mining_sites=sites, licences=licences).violations
    assert list(v["site_id"]) == ["late"]  # east expired before the late survey: half the site is outside
    assert v["area_m2"].iloc[0] == pytest.approx(abs(G.geometry_area_perimeter(site)[0]) / 2, abs=0.01)


def test_licence_edge_one_centimetre_either_side() -> None:
    pts = edge_points()
    sites = frame("mining_sites", [pts["on"], pts["in"], pts["out"]], ids=["on", "in", "out"],
                  status=["active"] * 3, survey_date=["2026-03-01"] * 3)
    licences = frame("licences", [Polygon(ZONE.exterior.coords)], status=["valid"])
    assert list(run(NEW[1:2], mining_sites=sites, licences=licences).violations["site_id"]) == ["out"]


def test_a_site_in_a_protected_area_without_a_valid_licence_gets_both() -> None:
    reserve = Polygon([(0, 0), (0.01, 0), (0.01, 0.01), (0, 0.01)])
    sites = frame("mining_sites", [Point(0.005, 0.005), Point(0.02, 0.005)], ids=["in-reserve", "licensed"],
                  status=["active", "active"], survey_date=["2026-03-01"] * 2, uses_mercury=[True, True])
    zones = frame("zones", [reserve], zone_type=["protected_area"], prohibits_mining=[True])
    licences = frame("licences", [reserve, Polygon([(0.015, 0), (0.03, 0), (0.03, 0.01), (0.015, 0.01)])],
                     status=["revoked", "valid"], valid_from=["2020-01-01"] * 2)
    receptors = frame("receptors", [Point(0.005, 0.008)], receptor_type=["school"])  # 333.96 m north
    v = run(NEW, mining_sites=sites, zones=zones, licences=licences, receptors=receptors).violations
    got = sorted(zip(v["rule_id"], v["site_id"], strict=True))
    assert got == [("HG-NEAR-RECEPTOR", "in-reserve"), ("SITE-IN-PROHIBITED-ZONE", "in-reserve"),
                   ("SITE-OUTSIDE-LICENCE", "in-reserve")]
    near = v[v["rule_id"] == "HG-NEAR-RECEPTOR"].iloc[0]
    assert near["distance_m"] == pytest.approx(G.inv(0.005, 0.005, 0.005, 0.008)[2], abs=0.01)


def test_receptors_by_type_and_polygon_edges() -> None:
    sites = frame("mining_sites", [Point(0.0029, 0.001)] * 3, ids=["a", "b", "c"], status=["active"] * 3,
                  amalgamation=["whole_ore", "none", "whole_ore"], uses_mercury=[None, False, None])
    grounds = Polygon([(0, 0), (0.002, 0), (0.002, 0.002), (0, 0.002)])
    for kind, expect in (("water_intake", ["a", "c"]), ("fishing_community", [])):
        receptors = frame("receptors", [grounds], receptor_type=[kind])
        v = run(NEW[2:], mining_sites=sites, receptors=receptors).violations
        assert list(v["site_id"]) == expect
        assert v["distance_m"].tolist() == [100.19] * len(expect)


def test_the_rule_file_refuses_undeclared_validity_and_source_fields() -> None:
    data = SHIPPED.model_dump(by_alias=True, exclude_none=True)
    lic = next(r for r in data["rules"] if r["id"] == "SITE-OUTSIDE-LICENCE")
    lic["other"][0]["valid_on"] = {"from_field": "starts", "to_field": "valid_to", "date_field": "visited"}
    zone = next(r for r in data["rules"] if r["id"] == "SITE-IN-PROHIBITED-ZONE")
    zone["other"][0]["source_field"] = "law"
    with pytest.raises(ConfigError) as err:
        parse_rules(data, schemas=CATALOGUE)
    text = str(err.value)
    assert "key 'other[0].valid_on.from_field': field 'starts' is not declared for layer 'licences'" in text
    assert "key 'other[0].valid_on.date_field': field 'visited' is not declared for layer 'mining_sites'" in text
    assert "key 'other[0].source_field': field 'law' is not declared for layer 'zones'" in text


def near(v: float, *edges: float) -> bool:
    """Within 1e-9 degrees of an edge but not on it: where the straight reading below, the oracle,
    and the 1 micrometre boundary tolerance may differ."""
    return any(0 < abs(v - e) < 1e-9 for e in edges)


@settings(max_examples=25, deadline=None)
@given(xs=st.lists(st.floats(-0.0005, 0.0045).filter(lambda v: not near(v, 0.0, 0.004)), min_size=1, max_size=12),
       ys=st.lists(st.floats(-0.0005, 0.0025).filter(lambda v: not near(v, 0.0, 0.002)), min_size=12, max_size=12),
       cut=st.floats(0.0005, 0.0035))
def test_a_licence_split_in_two_covers_what_the_whole_covered(xs: list[float], ys: list[float], cut: float) -> None:
    """Coverage is by the union: a licence cut along a meridian (a geodesic) into two adjacent
    licences covers exactly the same sites, and the answer does not depend on the licences' order."""
    pts = [Point(x, y) for x, y in zip(xs, ys, strict=False)]
    sites = frame("mining_sites", pts, ids=[f"S{i}" for i in range(len(pts))], status=["active"] * len(pts),
                  survey_date=["2026-03-01"] * len(pts))
    whole = frame("licences", [box(0, 0, 0.004, 0.002)], status=["valid"])
    halves = frame("licences", [box(cut, 0, 0.004, 0.002), box(0, 0, cut, 0.002)], status=["valid", "valid"])
    flagged = [sorted(run(NEW[1:2], mining_sites=sites, licences=lic).violations["site_id"])
               for lic in (whole, halves, halves.iloc[::-1])]
    assert flagged[0] == flagged[1] == flagged[2]
    assert flagged[0] == sorted(f"S{i}" for i, p in enumerate(pts) if not (0 <= p.x <= 0.004 and 0 <= p.y <= 0.002))


def test_violation_files_carry_the_zone_source_and_area_under_partner(tmp_path: Path) -> None:
    half = Polygon([(0.0015, 0.0005), (0.0025, 0.0005), (0.0025, 0.0015), (0.0015, 0.0015)])
    sites = frame("mining_sites", [half], ids=["half"], status=["active"])
    zones = frame("zones", [box(0, 0, 0.002, 0.002)], prohibits_mining=[True], legal_source=["Decree 7"])
    v = run(NEW[:1], mining_sites=sites, zones=zones).violations
    out = json.loads(write_violations(v, tmp_path / "v.geojson", profile="partner").read_text())
    props = out["features"][0]["properties"]
    assert props["nearest_source"] == "Decree 7" and props["area_m2"] == pytest.approx(6154.54, abs=0.01)
