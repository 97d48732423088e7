"""The rule file: every example of every rule, and refusals by name for bad files."""
from __future__ import annotations

import copy
import os
import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.errors import ConfigError
from geo.rules import RuleSet, example_frames, run_rules
from layers.catalogue import CATALOGUE
from settings.rules import DEFAULT_RULES, load_rules, parse_rules

BUILT_IN = {"HG-WATER-100", "TAILINGS-WATER-100", "HG-BURN-RESIDENTIAL",
            "WORST-PRACTICE-WHOLE-ORE", "WORST-PRACTICE-OPEN-BURNING",
            "WORST-PRACTICE-CYANIDE-ON-HG", "SITE-IN-PROHIBITED-ZONE", "SITE-OUTSIDE-LICENCE",
            "HG-NEAR-RECEPTOR"}
# An agency can run its own file's examples too: HGWATCH_RULE_FILES=a.toml:b.toml pytest ...
RULE_FILES = [DEFAULT_RULES] + [Path(p) for p in
                                os.environ.get("HGWATCH_RULE_FILES", "").split(os.pathsep) if p]


def _examples() -> list:
    cases = []
    for path in RULE_FILES:
        for rule in load_rules(path, run_examples=False).rules:
            cases += [pytest.param(rule, ex, id=f"{path.stem}:{rule.id}:{n + 1}")
                      for n, ex in enumerate(rule.examples)]
    return cases


@pytest.mark.parametrize(("rule", "example"), _examples())
def test_every_rule_example_behaves_as_declared(rule, example) -> None:
    frames = example_frames(rule, example, schemas=CATALOGUE)
    found = run_rules(RuleSet(format=1, title="t", rules=[rule]), frames,
                      schemas=CATALOGUE, today=example.today).violations
    assert (len(found) == 1) == (example.expect == "flagged"), example.note
    if example.distance_m is not None:
        assert abs(found["distance_m"].iloc[0] - example.distance_m) <= 0.01
    if example.area_m2 is not None:
        assert abs(found["area_m2"].iloc[0] - example.area_m2) <= max(0.01, 1e-4 * example.area_m2)


def _data() -> dict:
    return tomllib.loads(DEFAULT_RULES.read_text(encoding="utf-8"))


def _refusal(data: dict) -> str:
    with pytest.raises(ConfigError) as err:
        parse_rules(data, schemas=CATALOGUE)
    return str(err.value)


def test_shipped_file_holds_the_built_in_rules_with_citations() -> None:
    rules = load_rules().rules
    assert {r.id for r in rules} == BUILT_IN
    for rule in rules:
        assert rule.citation and rule.severity and rule.version is not None
    water = load_rules().rule("HG-WATER-100")
    assert water.distance_m == 100 and "003" in water.citation and "L1549" in water.citation
    burn = load_rules().rule("HG-BURN-RESIDENTIAL")
    assert burn.assumption and burn.distance_m == 500 and burn.assumption_note


W = "rule 'HG-WATER-100'"


@pytest.mark.parametrize(("path", "key", "value", "message"), [
    ((), "colour", "red", "rule file: key 'colour': unknown key"),
    ((0,), "distanc_m", 100, f"{W}: key 'distanc_m': unknown key"),
    ((0, "subject"), "where", {}, f"{W}: key 'subject.where': unknown key"),
    ((0,), "severity", "urgent",
     f"{W}: key 'severity': Input should be 'critical', 'high', 'medium' or 'low'; got 'urgent'"),
    ((0,), "distance_m", "100", f"{W}: key 'distance_m': Input should be a valid number; got '100'"),
    ((0,), "distance_m", -5,
     f"{W}: key 'distance_m': Input should be greater than or equal to 0; got -5"),
    ((0,), "distance_m", 600_000,  # the kernel's reach; a longer rule ended check in a traceback
     f"{W}: key 'distance_m': Input should be less than or equal to 500000; got 600000"),
    ((0,), "relation", "near", f"{W}: key 'relation': Input should be 'within_distance', 'inside'"
                               ", 'not_covered' or 'attribute'; got 'near'"),
    ((0,), "version", 1.5, f"{W}: key 'version': Input should be a valid integer; got 1.5 or Input"
                           " should be a valid string; got 1.5"),
])
def test_unknown_keys_and_bad_values_are_refused_by_name(path, key, value, message) -> None:
    data = _data()
    node = data
    for step in path:
        node = node["rules"][step] if isinstance(step, int) else node[step]
    node[key] = value
    assert _refusal(data) == message


@pytest.mark.parametrize(("filt", "message"), [
    ({"field": "burning", "equals": "open", "in": ["x"]},
     "key 'subject.filter': field 'burning' needs exactly one of 'equals', 'in', 'is_true'; got"
     " ['equals', 'in']"),
    ({"any": [{"fild": "burning", "equals": "open"}]}, "key 'subject.filter.any[0].fild': unknown key"),
    ({"field": "mercury_used", "is_true": True},
     "key 'subject.filter': field 'mercury_used' is not declared for layer 'mining_sites'"),
    ({"field": "amalgamation", "in": ["wholeore"]},
     "key 'subject.filter': field 'amalgamation': value 'wholeore' is not allowed; expected one of:"
     " none, whole_ore, concentrate, partial, unknown"),
    ({"field": "burning", "is_true": True}, "key 'subject.filter': 'is_true' needs a bool field;"
                                            " 'burning' is str"),
    ({"field": "miners", "equals": "many"},
     "key 'subject.filter': field 'miners': value 'many' is not an int"),
    ({"field": "mercury_use", "equals": "yes"},
     "key 'subject.filter': field 'mercury_use': value 'yes' is not allowed; expected one of:"
     " uses mercury, no mercury, not recorded"),
])
def test_bad_filters_and_undeclared_fields_and_values_are_refused(filt, message) -> None:
    data = _data()
    data["rules"][0]["subject"]["filter"] = filt
    assert _refusal(data) == f"{W}: {message}"


def test_the_derived_field_is_accepted_where_its_inputs_are_declared_and_nowhere_else() -> None:
    data = _data()
    data["rules"][0]["subject"]["filter"] = {"field": "mercury_use", "in": ["no mercury", "not recorded"]}
    accepted = parse_rules(data, schemas=CATALOGUE).rule("HG-WATER-100").subject.where
    assert accepted is not None and (accepted.field, accepted.in_) == (
        "mercury_use", ["no mercury", "not recorded"])
    data = _data()
    data["rules"][0]["other"][0]["filter"] = {"field": "mercury_use", "equals": "uses mercury"}
    assert _refusal(data) == (
        f"{W}: key 'other[0].filter': derived field 'mercury_use' is computed from"
        " uses_mercury, amalgamation or burning, none of which layer 'water_bodies' declares")
    data = _data()
    data["rules"][0]["examples"][0]["subject"]["fields"] = {"mercury_use": "uses mercury"}
    assert _refusal(data) == (
        f"{W}: example 1: field 'mercury_use' is derived (computed from uses_mercury,"
        " amalgamation or burning); give those fields instead")


def test_unknown_layer_kind_and_example_field_are_refused() -> None:
    data = _data()
    data["rules"][0]["other"][0]["layer"] = "rivers"
    lines = _refusal(data).splitlines()
    assert lines[0] == (f"{W}: key 'other[0].layer': unknown layer 'rivers'; expected one of:"
                        f" {', '.join(sorted(CATALOGUE))}")
    n = len(data["rules"][0]["examples"])
    assert lines[1:] == [f"{W}: example {i}: key 'other': layers ['water_bodies'] are not among the"
                         " rule's other layers ['rivers']" for i in range(1, n + 1)
                         if "other" in data["rules"][0]["examples"][i - 1]]
    data = _data()
    data["rules"][0]["other"][0]["distance_by_kind"] = {"sea": 200}
    assert _refusal(data) == (
        f"{W}: key 'other[0].distance_by_kind': kind 'sea' is not allowed; expected one of: river,"
        " stream, canal, lake, reservoir, pond, wetland, unknown")
    data = _data()
    data["rules"][0]["other"][0]["distance_by_kind"] = {"lake": 750_000}
    assert _refusal(data) == (f"{W}: key 'other[0]': distance_by_kind.lake must be a distance in metres from 0 to"
                              " 500,000; got 750000.0")
    data = _data()
    data["rules"][0]["examples"][0]["subject"]["fields"] = {"hg_use": True}
    assert _refusal(data) == f"{W}: example 1: field 'hg_use' is not declared for layer 'mining_sites'"


def test_inconsistent_rules_are_refused() -> None:
    data = _data()
    del data["rules"][0]["distance_m"]
    assert _refusal(data) == (f"{W}: 'distance_m' is required for relation 'within_distance' and"
                              " not allowed for any other relation")
    data = _data()
    data["rules"][2]["assumption_note"] = ""
    assert _refusal(data) == ("rule 'HG-BURN-RESIDENTIAL': 'assumption = true' needs an"
                              " 'assumption_note' saying what is assumed, and a note needs"
                              " 'assumption = true'")
    data = _data()
    data["rules"][0]["examples"] = [e for e in data["rules"][0]["examples"]
                                    if e["expect"] == "flagged"]
    assert _refusal(data) == (f"{W}: 'examples' needs at least one with expect = \"flagged\" and"
                              " one with expect = \"clear\"; got flagged")
    data = _data()
    data["rules"][1]["id"] = "HG-WATER-100"
    assert _refusal(data) == "rule file: rule ids must be unique; repeated: ['HG-WATER-100']"
    data = _data()
    data["rules"][3]["other"] = [{"layer": "water_bodies"}]
    assert _refusal(data) == ("rule 'WORST-PRACTICE-WHOLE-ORE': relation 'attribute' reads the"
                              " subject alone; remove 'other'")


def test_a_file_whose_example_fails_is_refused_naming_file_rule_and_example(tmp_path) -> None:
    text = DEFAULT_RULES.read_text(encoding="utf-8").replace(
        'note = "mercury site 55.66 m east of a river centre line"\n'
        'subject = { wkt = "POINT (0.0005 0)"',
        'note = "mercury site 55.66 m east of a river centre line"\n'
        'subject = { wkt = "POINT (0.005 0)"')
    path = tmp_path / "agency.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_rules(path)
    assert f"{path}: rule 'HG-WATER-100': example 1" in str(err.value)
    assert "expected flagged, got clear" in str(err.value)


def test_unreadable_files_are_refused(tmp_path) -> None:
    with pytest.raises(ConfigError, match="rule file not found"):
        load_rules(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("format = 1\n[[rules]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml: not valid TOML"):
        load_rules(bad)


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                     lambda kids: st.lists(kids, max_size=4)
                     | st.dictionaries(st.text(max_size=8), kids, max_size=4), max_leaves=20)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.lists(st.sampled_from(["rules", 0, "subject", "filter", "examples", "other"]),
                     max_size=3), garbage=_json)
def test_garbage_anywhere_gives_config_error_or_a_rule_set(path, garbage) -> None:
    data = copy.deepcopy(_DATA)
    node: object = data
    for step in path[:-1]:
        try:
            node = node[step]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            break
    try:
        node[path[-1] if path else "rules"] = garbage  # type: ignore[index]
    except (TypeError, IndexError):
        pass
    try:
        ruleset = parse_rules(data, schemas=CATALOGUE)
    except ConfigError as exc:
        lines = str(exc).splitlines()
        assert lines, "a refusal says why"
        for line in lines:  # where (the file or a rule, then key or example), then what
            assert _PROBLEM.fullmatch(line), line
    else:  # accepted: exactly what the models make of the data, its rules in order
        assert ruleset == RuleSet.model_validate(data)
        assert [r.id for r in ruleset.rules] == [r["id"] for r in data["rules"]]
        if data == _DATA:
            assert ruleset == _SHIPPED


_DATA = _data()
_SHIPPED = parse_rules(_DATA, schemas=CATALOGUE)
_PROBLEM = re.compile(r"(rule file|rule '[^']+'|rule #\d+)(: example \d+)?(: key '[^']*')?: \S.*")
