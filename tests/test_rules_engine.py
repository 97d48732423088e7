"""The rule engine on hand-made geometries whose distances are known exactly.

Truth comes from pyproj ``Geod`` (Karney): a point placed with ``Geod.fwd`` at d metres from a
point target is exactly d metres away; on the equator a meridian's nearest point lies on the
equator, so the distance to it is an arc of the equator.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import LineString, Point, Polygon

from geo.errors import ConfigError, CRSError, InputError
from geo.rules import (
    BASIS_BANK,
    BASIS_EDGE,
    BASIS_INSIDE,
    BASIS_REPORTED,
    Condition,
    Evaluation,
    RuleSet,
    diff_runs,
    run_rules,
    violation_id,
)
from geo.sites import mercury_use
from layers.catalogue import CATALOGUE
from settings import Settings
from settings.rules import DEFAULT_RULES, examples_cache, load_rules, parse_rules

GEOD = Geod(ellps="WGS84")
SHIPPED = load_rules(run_examples=False)  # test_rules_file.py runs its examples
RIVER = LineString([(0, -0.01), (0, 0.01)])
_EXAMPLES = [{"expect": "flagged", "note": "f", "subject": {"wkt": "POINT (0 0)"}},
             {"expect": "clear", "note": "c", "subject": {"wkt": "POINT (1 1)"}}]


def rules(*specs: dict) -> RuleSet:
    """A parsed rule set; each spec overrides a within-100 m mining-site/water rule."""
    out = []
    for n, spec in enumerate(specs):
        rule = {"id": f"R{n}", "version": 1, "title": "t", "citation": "c", "severity": "high",
                "relation": "within_distance", "distance_m": 100.0,
                "subject": {"layer": "mining_sites"}, "other": [{"layer": "water_bodies"}],
                "examples": _EXAMPLES}
        rule.update(spec)
        out.append(rule)
    return parse_rules({"format": 1, "title": "test", "rules": out}, schemas=CATALOGUE)


def sites(geoms: list, **fields: list) -> gpd.GeoDataFrame:
    ids = fields.pop("site_id", [f"S{i}" for i in range(len(geoms))])
    return gpd.GeoDataFrame({"site_id": ids, **fields}, geometry=geoms, crs="EPSG:4326")


def water(geoms: list, **fields: list) -> gpd.GeoDataFrame:
    ids = fields.pop("water_id", [f"W{i}" for i in range(len(geoms))])
    return gpd.GeoDataFrame({"water_id": ids, **fields}, geometry=geoms, crs="EPSG:4326")


def run(ruleset: RuleSet, **frames: gpd.GeoDataFrame) -> Evaluation:
    return run_rules(ruleset, frames, schemas=CATALOGUE)


def east(lon: float, lat: float, metres: float) -> Point:
    x, y, _ = GEOD.fwd(lon, lat, 90.0, metres)
    return Point(x, y)


def test_the_boundary_is_within_and_a_centimetre_decides() -> None:
    s = sites([east(0, 0, 99.99), east(0, 0, 100.0), east(0, 0, 100.01)],
              site_id=["in", "edge", "out"])
    found = run(rules({}), mining_sites=s, water_bodies=water([RIVER])).violations
    assert list(found["site_id"]) == ["in", "edge"]
    assert list(found["distance_m"]) == [99.99, 100.0]
    assert set(found["distance_basis"]) == {BASIS_EDGE}


@pytest.mark.parametrize(("lon", "lat", "azimuth"), [
    (-177.0, 10.0, 30.0),      # UTM zone 1
    (3.0, -33.0, 200.0),       # zone 31
    (-1.9, 5.3, 90.0),         # zone 30 (Ghana)
    (179.9995, 0.5, 90.0),     # across the antimeridian
    (15.6, 78.2, 10.0),        # Svalbard, high latitude
    (-60.0, -89.5, 45.0),      # near the South Pole
])
def test_boundary_holds_in_every_zone_and_at_the_edges_of_the_map(lon, lat, azimuth) -> None:
    # the water is the geodesic through P perpendicular to the azimuth: the foot of the
    # perpendicular from a site placed d metres from P along the azimuth is P, so truth is d
    bank = [GEOD.fwd(lon, lat, azimuth + turn, 1000.0)[:2] for turn in (90.0, -90.0)]
    river = LineString([bank[0], (lon, lat), bank[1]])
    geoms = [Point(*GEOD.fwd(lon, lat, azimuth, d)[:2]) for d in (99.99, 100.01, 0.0)]
    far = geoms[1]
    square = Polygon([(far.x - 1e-6, far.y - 1e-6), (far.x + 1e-6, far.y - 1e-6),
                      (far.x + 1e-6, far.y + 1e-6), (far.x - 1e-6, far.y + 1e-6)])
    s = sites(geoms + [square], site_id=["near", "far", "on", "poly"])
    found = run(rules({}), mining_sites=s, water_bodies=water([river])).violations
    flagged = dict(zip(found["site_id"], found["distance_m"], strict=True))
    assert set(flagged) == {"near", "on", "poly"}
    assert flagged["near"] == 99.99 and flagged["on"] == 0.0
    assert 99.7 < flagged["poly"] < 100.0  # the square reaches ~0.1-0.2 m closer than its centre
    point = run(rules({}), mining_sites=s, water_bodies=water([Point(lon, lat)])).violations
    assert list(point["distance_m"])[:2] == [99.99, 0.0]


def test_polygon_site_is_measured_from_its_nearest_edge() -> None:
    x = GEOD.fwd(0, 0, 90, 60.0)[0]
    square = Polygon([(x, -0.001), (x + 0.002, -0.001), (x + 0.002, 0.001), (x, 0.001)])
    found = run(rules({}), mining_sites=sites([square]), water_bodies=water([RIVER])).violations
    assert found["distance_m"].iloc[0] == 60.0


def test_centre_line_with_width_is_measured_to_the_bank_and_never_below_zero() -> None:
    s = sites([east(0, 0, 110.0), east(0, 0, 110.0), east(0, 0, 110.0)], site_id=["a", "b", "c"])
    for width, expect in ((20.0, 100.0), (300.0, 0.0)):
        found = run(rules({}), mining_sites=s.iloc[:1],
                    water_bodies=water([RIVER], width_m=[width])).violations
        assert found["distance_m"].iloc[0] == expect
        assert found["distance_basis"].iloc[0] == BASIS_BANK
    assert not len(run(rules({}), mining_sites=s.iloc[:1],
                       water_bodies=water([RIVER], width_m=[19.98])).violations)
    lake = Polygon([(-0.01, -0.01), (0, -0.01), (0, 0.01), (-0.01, 0.01)])
    found = run(rules({}), mining_sites=sites([east(0, 0, 95.0)]),
                water_bodies=water([lake], width_m=[50.0])).violations
    assert found["distance_m"].iloc[0] == 95.0 and found["distance_basis"].iloc[0] == BASIS_EDGE


def test_per_kind_distances() -> None:
    ruleset = rules({"other": [{"layer": "water_bodies", "distance_by_kind": {"lake": 200.0}}]})
    lake = Polygon([(-0.01, 0.02), (0, 0.02), (0, 0.03), (-0.01, 0.03)])
    river = LineString([(0, -0.01), (0, 0.01)])
    s = sites([east(0, 0, 150.0), Point(GEOD.fwd(0, 0.025, 90, 150.0)[:2])],
              site_id=["by-river", "by-lake"])
    found = run(ruleset, mining_sites=s,
                water_bodies=water([river, lake], kind=["river", "lake"])).violations
    assert list(found["site_id"]) == ["by-lake"]
    assert list(found["threshold_m"]) == [200.0]
    found = run(ruleset, mining_sites=s, water_bodies=water([river, lake])).violations
    assert found.empty  # no kind: every water body gets distance_m


def test_nearest_feature_over_several_layers_and_the_line_that_shows_it() -> None:
    ruleset = rules({"distance_m": 500.0, "other": [{"layer": "water_bodies"},
                                                    {"layer": "residential_areas"}]})
    site = east(0, 0, 300.0)
    village = Point(GEOD.fwd(site.x, site.y, 0.0, 120.0)[:2])
    area = gpd.GeoDataFrame({"area_id": ["V1"], "name": ["Dunkwa"]}, geometry=[village],
                            crs="EPSG:4326")
    found = run(ruleset, mining_sites=sites([site]),
                water_bodies=water([RIVER, LineString([(1, 1), (1, 2)])], name=["Offin", "x"]),
                residential_areas=area).violations
    row = found.iloc[0]
    assert (row.nearest_layer, row.nearest_id, row.nearest_name) == ("residential_areas", "V1",
                                                                      "Dunkwa")
    assert row.distance_m == 120.0
    line = row.nearest_line
    assert Point(line.coords[0]).distance(site) < 1e-9
    assert abs(GEOD.geometry_length(line) - 120.0) < 0.01
    assert row.geometry.equals(site)


def test_filters() -> None:
    frame = pd.DataFrame({"uses_mercury": pd.array([True, False, None, True], dtype="boolean"),
                          "burning": ["open", "retort", None, "open"],
                          "amalgamation": ["none", "whole_ore", None, "partial"]})
    cond = lambda **kw: Condition.model_validate(kw)
    assert list(cond(field="uses_mercury", is_true=True).mask(frame)) == [1, 0, 0, 1]
    assert list(cond(field="uses_mercury", is_true=False).mask(frame)) == [0, 1, 1, 0]
    assert list(cond(field="burning", equals="open").mask(frame)) == [1, 0, 0, 1]
    assert list(cond(field="amalgamation", **{"in": ["whole_ore", "partial"]}).mask(frame)) \
        == [0, 1, 0, 1]
    both = cond(all=[{"field": "burning", "equals": "open"},
                     {"any": [{"field": "amalgamation", "equals": "partial"},
                              {"field": "uses_mercury", "is_true": False}]}])
    assert list(both.mask(frame)) == [0, 0, 0, 1]
    assert list(cond(field="cyanide_leaching", is_true=True).mask(frame)) == [0, 0, 0, 0]
    assert both.fields() == {"burning", "amalgamation", "uses_mercury"}


def test_subject_and_other_filters_and_the_note_for_an_absent_field() -> None:
    ruleset = rules({"subject": {"layer": "mining_sites",
                                 "filter": {"field": "uses_mercury", "is_true": True}},
                     "other": [{"layer": "water_bodies",
                                "filter": {"field": "kind", "equals": "river"}}]})
    lake = Polygon([(-0.01, -0.01), (0, -0.01), (0, 0.01), (-0.01, 0.01)])
    s = sites([east(0, 0, 50.0)] * 3, uses_mercury=[True, False, None])
    found = run(ruleset, mining_sites=s, water_bodies=water([lake], kind=["lake"])).violations
    assert found.empty
    result = run(ruleset, mining_sites=s, water_bodies=water([lake, RIVER],
                                                            kind=["lake", "river"]))
    assert list(result.violations["site_id"]) == ["S0"]
    assert result.summaries[0].checked == 1
    result = run(ruleset, mining_sites=sites([east(0, 0, 50.0)]), water_bodies=water([RIVER]))
    assert result.violations.empty
    assert result.summaries[0].notes[0] == (  # the field named in words, and what the user can do
        "field uses_mercury, which this rule reads, is absent from layer 'mining_sites': treated as missing, so "
        "no subject matched on it; add the column to the file, or, where a survey says so, fill it with import "
        "--set uses_mercury=VALUE (check --set mining_sites.uses_mercury=VALUE for a --layer file)")


def test_derived_mercury_use_is_the_one_definition_and_beats_a_column_of_that_name() -> None:
    ruleset = rules({"subject": {"layer": "mining_sites",
                                 "filter": {"field": "mercury_use", "equals": "uses mercury"}}})
    s = sites([east(0, 0, 50.0)] * 5, site_id=["said", "retort", "amalgamates", "none", "unknown"],
              uses_mercury=[True, None, False, False, None],
              amalgamation=[None, None, "concentrate", "none", "unknown"],
              burning=[None, "retort", None, "none", None],
              mercury_use=["no mercury"] * 3 + ["uses mercury"] * 2)  # a stale column: ignored
    result = run(ruleset, mining_sites=s, water_bodies=water([RIVER]))
    assert list(result.violations["site_id"]) == ["said", "retort", "amalgamates"]
    assert result.summaries[0].notes == ()
    assert "mercury_use" not in result.violations.columns


def test_derived_field_on_a_layer_without_its_inputs_matches_nothing_with_a_note() -> None:
    ruleset = rules({"subject": {"layer": "mining_sites",
                                 "filter": {"field": "mercury_use", "equals": "uses mercury"}}})
    result = run(ruleset, mining_sites=sites([east(0, 0, 50.0)]), water_bodies=water([RIVER]))
    assert result.violations.empty
    assert result.summaries[0].notes == (  # mercury_use is derived: the note names what it is computed from
        "field 'mercury_use' is computed from uses_mercury, amalgamation or burning, and layer"
        " 'mining_sites' has none of them: no subject matched on it; give one from a field survey (e.g. import"
        " --set uses_mercury=true only where a survey says so)",)


def test_inside_relation() -> None:
    ruleset = rules({"relation": "inside", "distance_m": None,
                     "other": [{"layer": "residential_areas"}]})
    town = Polygon([(0, 0), (0.01, 0), (0.01, 0.01), (0, 0.01)])
    areas = gpd.GeoDataFrame({"area_id": ["T", "P"]}, geometry=[town, Point(0.02, 0.02)],
                             crs="EPSG:4326")
    s = sites([Point(0.005, 0.005), Point(0.02, 0.02), Point(0.011, 0.005)])
    result = run(ruleset, mining_sites=s, residential_areas=areas)
    found = result.violations
    assert list(found["site_id"]) == ["S0"] and found["distance_basis"].iloc[0] == BASIS_INSIDE
    assert found["distance_m"].iloc[0] == 0.0 and found["nearest_id"].iloc[0] == "T"
    assert any("is not a polygon and cannot contain anything; it was left out" in n for n in result.summaries[0].notes)


def test_attribute_rule_and_reported_if() -> None:
    attr = rules({"relation": "attribute", "distance_m": None, "other": [],
                  "subject": {"layer": "mining_sites",
                              "filter": {"field": "amalgamation", "equals": "whole_ore"}}})
    s = sites([Point(0, 0), Point(1, 1)], amalgamation=["whole_ore", "none"])
    found = run(attr, mining_sites=s).violations
    assert list(found["site_id"]) == ["S0"]
    assert math.isnan(found["distance_m"].iloc[0]) and found["nearest_line"].iloc[0] is None
    burn = rules({"distance_m": 500.0, "other": [{"layer": "residential_areas"}],
                  "subject": {"layer": "mining_sites",
                              "filter": {"field": "burning", "equals": "open"}},
                  "reported_if": {"field": "burning_in_residential", "is_true": True}})
    s = sites([Point(0, 0), Point(5, 5), Point(6, 6)], burning=["open", "retort", "open"],
              burning_in_residential=[False, True, False])
    areas = gpd.GeoDataFrame({"area_id": ["A"]}, geometry=[east(0, 0, 400.0)], crs="EPSG:4326")
    found = run(burn, mining_sites=s, residential_areas=areas).violations
    assert list(found["site_id"]) == ["S0", "S1"]
    assert list(found["distance_basis"]) == [BASIS_EDGE, BASIS_REPORTED]
    assert found["distance_m"].iloc[0] == 400.0 and math.isnan(found["distance_m"].iloc[1])


def test_violation_ids_are_stable_and_versioned() -> None:
    s = sites([east(0, 0, 10.0), east(0, 0, 20.0)], site_id=["A", "B"])
    first = run(rules({}), mining_sites=s, water_bodies=water([RIVER])).violations
    again = run(rules({}), mining_sites=s.iloc[::-1], water_bodies=water([RIVER])).violations
    assert set(first["violation_id"]) == set(again["violation_id"])
    assert first["violation_id"].iloc[0] == violation_id("R0", 1, "mining_sites", "A")
    bumped = run(rules({"version": 2}), mining_sites=s, water_bodies=water([RIVER])).violations
    assert not set(bumped["violation_id"]) & set(first["violation_id"])
    assert first["violation_id"].is_unique


@settings(max_examples=25, deadline=None)
@given(metres=st.lists(st.floats(0.0, 300.0), min_size=1, max_size=8), seed=st.integers(0, 99))
def test_result_does_not_depend_on_row_order(metres: list[float], seed: int) -> None:
    s = sites([east(0.0, 0.001, m) for m in metres])
    w = water([RIVER, LineString([(0.002, -0.01), (0.002, 0.01)])])
    a = run(rules({}), mining_sites=s, water_bodies=w).violations
    order = np.random.default_rng(seed).permutation(len(s))
    b = run(rules({}), mining_sites=s.iloc[order], water_bodies=w.iloc[::-1]).violations
    key = ["violation_id", "distance_m", "nearest_id"]
    assert a[key].sort_values("violation_id").reset_index(drop=True).equals(
        b[key].sort_values("violation_id").reset_index(drop=True))


def test_any_crs_goes_in_and_the_answer_is_the_same() -> None:
    s = sites([east(-1.9, 5.3, 80.0)])
    w = water([LineString([(-1.9, 5.2), (-1.9, 5.4)])])
    a = run(rules({}), mining_sites=s, water_bodies=w).violations
    b = run(rules({}), mining_sites=s.to_crs(32630), water_bodies=w.to_crs(32630)).violations
    assert abs(a["distance_m"].iloc[0] - 80.0) <= 0.01
    assert abs(a["distance_m"].iloc[0] - b["distance_m"].iloc[0]) <= 0.01
    assert b.crs.to_epsg() == 4326


def test_missing_layer_no_crs_and_bad_ids_are_refused_by_name() -> None:
    with pytest.raises(InputError) as err:
        run(rules({}), mining_sites=sites([Point(0, 0)]))
    assert "rule R0 needs layer 'water_bodies'" in str(err.value)
    skipped = run_rules(rules({}), {"mining_sites": sites([Point(0, 0)])}, schemas=CATALOGUE,
                        missing="skip")
    assert not skipped.summaries[0].ran and "not run" in skipped.summaries[0].notes[0]
    with pytest.raises(CRSError, match=r"^layer water_bodies has no coordinate reference system"):
        run(rules({}), mining_sites=sites([Point(0, 0)]),
            water_bodies=water([RIVER]).set_crs(None, allow_override=True))
    with pytest.raises(InputError) as err:
        run(rules({}), mining_sites=sites([Point(0, 0)] * 3, site_id=["A", "A", None]),
            water_bodies=water([RIVER]))
    text = str(err.value)
    assert "row 3, field 'site_id'" in text and "value 'A': a unique id" in text


def test_empty_layers_give_no_violations_and_a_note() -> None:
    result = run(rules({}), mining_sites=sites([]), water_bodies=water([RIVER]))
    assert result.violations.empty and result.summaries[0].checked == 0
    assert "layer 'mining_sites' is empty" in result.summaries[0].notes[0]
    result = run(rules({}), mining_sites=sites([Point(0, 0)]), water_bodies=water([]))
    assert result.violations.empty and "no water_bodies features" in result.summaries[0].notes[0]
    assert {"violation_id", "rule_id", "severity", "site_id", "distance_m", "distance_basis",
            "nearest_layer", "nearest_id", "nearest_name", "rule_version", "nearest_line",
            "geometry"} <= set(result.violations.columns)


def test_diff_of_two_runs() -> None:
    a, b, c = (violation_id("R0", 1, "mining_sites", x) for x in "abc")
    t = violation_id("T", 1, "tailings", "t1")
    d = diff_runs([a, b, t], [b, c], new_rules=["R0"])
    assert (d.new, d.resolved, d.persisting, d.not_checked) == ((c,), (a,), (b,), (t,))
    assert d.by_rule()["R0"] == {"new": 1, "resolved": 1, "persisting": 1, "not_checked": 0}


_garbage = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=True),
                     st.sampled_from(["open", "whole_ore", "true", "", "retort", "concentrate"]))


@settings(max_examples=30, deadline=None)
@given(values=st.lists(st.tuples(_garbage, _garbage, _garbage, _garbage), min_size=0,
                       max_size=6))
def test_garbage_attributes_never_crash_the_shipped_rules(values: list[tuple]) -> None:
    cols: list[tuple] = list(zip(*values, strict=True)) if values else [(), (), (), ()]
    s = sites([east(0, 0, 15.0 * i) for i in range(len(values))],
              uses_mercury=list(cols[0]), amalgamation=list(cols[1]), burning=list(cols[2]),
              cyanide_leaching=list(cols[3]))
    empty = gpd.GeoDataFrame({"tailings_id": []}, geometry=[], crs="EPSG:4326")
    areas = gpd.GeoDataFrame({"area_id": ["A"]}, geometry=[Point(0, 0)], crs="EPSG:4326")
    none = {layer: gpd.GeoDataFrame({CATALOGUE[layer].id_field: []}, geometry=[], crs="EPSG:4326")
            for layer in ("zones", "licences", "receptors")}
    result = run_rules(SHIPPED, {
        "mining_sites": s, "water_bodies": water([RIVER]), "tailings": empty,
        "residential_areas": areas, **none}, schemas=CATALOGUE)
    assert result.violations["violation_id"].is_unique
    strict = s["uses_mercury"].map(lambda v: v is True or v is np.True_)
    water_hits = set(result.violations.query("rule_id == 'HG-WATER-100'")["site_id"])
    assert set(s["site_id"][strict]) <= water_hits  # all sites lie within 75 m of the river


# ---- the rule file's examples run once per file: cached by its SHA-256 (issue 13) ----------
def _copy_of_shipped(tmp_path: Path, extra: bytes = b"") -> Path:
    path = tmp_path / "agency.toml"
    path.write_bytes(DEFAULT_RULES.read_bytes() + extra)
    return path


def test_examples_are_cached_by_the_rule_files_sha256(tmp_path: Path) -> None:
    path, cache = _copy_of_shipped(tmp_path), tmp_path / "cache" / "rule-examples.json"
    load_rules(path, cache=cache)
    entries = json.loads(cache.read_text(encoding="utf-8"))
    [key] = entries
    assert key.startswith(hashlib.sha256(path.read_bytes()).hexdigest() + ":")
    assert entries[key] == []  # the shipped examples all pass
    # the next load takes the outcome from the cache, not from a new run: a planted one shows
    entries[key] = ["rule 'HG-WATER-100': example 1 (planted): expected flagged, got clear"]
    cache.write_text(json.dumps(entries), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_rules(path, cache=cache)
    assert str(err.value) == f"{path}: rule 'HG-WATER-100': example 1 (planted): expected flagged, got clear"
    # an edited file is another key: its examples run again, and both outcomes are kept
    _copy_of_shipped(tmp_path, b"\n# edited by the agency\n")
    assert len(load_rules(path, cache=cache).rules) == len(SHIPPED.rules)
    assert len(json.loads(cache.read_text(encoding="utf-8"))) == 2


def test_a_failing_file_is_refused_again_from_the_cache(tmp_path: Path) -> None:
    text = DEFAULT_RULES.read_text(encoding="utf-8").replace('subject = { wkt = "POINT (0.0005 0)"',
                                                             'subject = { wkt = "POINT (0.005 0)"')
    path, cache = tmp_path / "agency.toml", tmp_path / "rule-examples.json"
    path.write_text(text, encoding="utf-8")
    messages = []
    for _ in range(2):
        with pytest.raises(ConfigError) as err:
            load_rules(path, cache=cache)
        messages.append(str(err.value))
    assert messages[0] == messages[1]
    assert f"{path}: rule 'HG-WATER-100': example 1" in messages[0]
    assert "expected flagged, got clear" in messages[0]


@pytest.mark.parametrize("content", [b"\x00\xffnot json{", b"[1, 2]", b'{"k": "not a list"}', b""])
def test_a_corrupt_cache_is_a_miss_and_is_rewritten(tmp_path: Path, content: bytes) -> None:
    path, cache = _copy_of_shipped(tmp_path), tmp_path / "rule-examples.json"
    cache.write_bytes(content)
    assert len(load_rules(path, cache=cache).rules) == len(SHIPPED.rules)
    entries = json.loads(cache.read_text(encoding="utf-8"))
    assert [v for k, v in entries.items() if k.startswith(hashlib.sha256(path.read_bytes()).hexdigest())] == [[]]


def test_a_cache_that_cannot_be_written_is_skipped(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    path = _copy_of_shipped(tmp_path)
    for _ in range(2):  # the cache would live under a plain file: every load runs the examples
        assert len(load_rules(path, cache=blocker / "hgwatch" / "rule-examples.json").rules) == len(SHIPPED.rules)
    assert blocker.read_text(encoding="utf-8") == "x"


def test_the_cache_lives_in_the_users_cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert examples_cache({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "hgwatch" / "rule-examples.json"
    assert examples_cache({"XDG_CACHE_HOME": "relative/dir"}) == Path.home() / ".cache" / "hgwatch" / "rule-examples.json"
    assert examples_cache({}) == Path.home() / ".cache" / "hgwatch" / "rule-examples.json"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert len(Settings(rules_path=_copy_of_shipped(tmp_path)).rules.rules) == len(SHIPPED.rules)
    assert len(json.loads((tmp_path / "hgwatch" / "rule-examples.json").read_text(encoding="utf-8"))) == 1


def test_mercury_use_reads_a_boolean_column_like_an_object_column() -> None:
    flags = [True, False, None, True, None, False]
    amal = ["none", None, "none", None, "whole_ore", "partial"]
    nullable = pd.DataFrame({"uses_mercury": pd.array(flags, dtype="boolean"), "amalgamation": amal})
    plain = pd.DataFrame({"uses_mercury": pd.Series(flags, dtype=object), "amalgamation": amal})
    numpy_bool = pd.DataFrame({"uses_mercury": np.array([bool(f) for f in flags])})
    expected = ["uses mercury", "no mercury", "no mercury", "uses mercury", "uses mercury", "uses mercury"]
    assert mercury_use(nullable).tolist() == mercury_use(plain).tolist() == expected
    assert mercury_use(numpy_bool).tolist() == ["uses mercury", "no mercury", "no mercury", "uses mercury",
                                                "no mercury", "no mercury"]
