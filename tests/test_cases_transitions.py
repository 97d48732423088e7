"""Every move of config/cases.toml, allowed and refused, for every role: generated from the data
file, so a transition added there is tested here the moment it exists. Pure decisions
(geo.cases.refusal) and the same moves through services.cases.set_status on a real workspace."""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace

import geopandas as gpd
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from geo.cases import CaseRules, Fingerprint, geometry_sha256, on_flagged, parse_case_rules, path_for_outcome, refusal
from geo.errors import ConfigError, InputError
from layers.store import cases as stored
from layers.store.open import open_store
from layers.store.workspace import Workspace
from services import audit, cases
from services.auth import ROLES, Identity
from settings.cases import DEFAULT_PATH, load_case_rules
from settings.toml import load_toml

RULES = load_case_rules(DEFAULT_PATH, roles=ROLES)
PAIRS = list(itertools.product(RULES.statuses, RULES.statuses))
ALLOWED = [(s, t.target) for t in RULES.transitions for s in t.sources]
REFUSED = [(a, b) for a, b in PAIRS if (a, b) not in ALLOWED]
CASE = "HG-WATER-100/0123456789abcdef"


def _expected(rules: CaseRules, current: str, target: str, role: str) -> bool:
    """Straight from the TOML text (not through CaseRules.find): is the move listed for the role?"""
    raw = load_toml(DEFAULT_PATH, "case file")["transition"]
    return any(current in t["from"] and t["to"] == target and role in t["roles"] for t in raw)


def test_the_file_has_the_issue_statuses_and_rules() -> None:
    assert RULES.statuses == ("new", "triaged", "assigned", "visited", "confirmed", "false_positive", "not_accessible",
                              "remediation_ordered", "resolved", "closed")
    assert all(t.reason for t in RULES.transitions if t.target in ("false_positive", "not_accessible"))
    assert all(set(t.roles) <= {"analyst", "admin"} for t in RULES.transitions if t.target == "closed")
    assert len(ALLOWED) == len(set(ALLOWED)) > 10 and len(REFUSED) > 50


@pytest.mark.parametrize(("current", "target"), PAIRS)
@pytest.mark.parametrize("role", list(ROLES))
def test_every_move_for_every_role(current: str, target: str, role: str) -> None:
    why = refusal(RULES, case=CASE, current=current, target=target, role=role, reason="seen on site")
    if _expected(RULES, current, target, role):
        assert why is None
        return
    assert why is not None and CASE in why and repr(current) in why and repr(target) in why
    if (current, target) in ALLOWED:  # the move exists, not for this role: says which roles may
        assert f"role {role!r} may not" in why
    else:  # names what is allowed from here
        allowed = RULES.targets(current)
        assert all(repr(a) in why for a in allowed)
        assert "nothing (final)" in why if not allowed else True


@pytest.mark.parametrize(("current", "target"), [(s, t.target) for t in RULES.transitions if t.reason for s in t.sources])
def test_moves_that_need_a_reason_are_refused_without_one(current: str, target: str) -> None:
    role = next(t.roles[0] for t in RULES.transitions if current in t.sources and t.target == target)
    for reason in (None, "", "   "):
        why = refusal(RULES, case=CASE, current=current, target=target, role=role, reason=reason)
        assert why == f"case {CASE}: moving from {current!r} to {target!r} needs a reason"
    assert refusal(RULES, case=CASE, current=current, target=target, role=role, reason="gate locked") is None


def test_an_unknown_status_is_named() -> None:
    why = refusal(RULES, case=CASE, current="new", target="done", role="analyst", reason=None)
    assert why is not None and "'done' is not a status" in why and "remediation_ordered" in why


def test_a_visit_outcome_goes_through_visited() -> None:
    assert path_for_outcome(RULES, "assigned", "remediated") == ["visited", "resolved"]
    assert path_for_outcome(RULES, "visited", "confirmed") == ["confirmed"]
    assert path_for_outcome(RULES, "new", "burnt down") is None


@pytest.mark.parametrize(("change", "named"), [
    ({"statuses": ["new", "new"]}, "listed twice"),
    ({"open": ["new", "pending"]}, "status 'pending' is not in statuses"),
    ({"colour": "red"}, "unknown key 'colour'"),
    ({"assign_roles": ["boss"]}, "role 'boss' is not known"),
    ({"visits": {"max_distance_m": -1}}, "visits.max_distance_m"),
    ({"rerun": {"reopen_from": ["resolved"], "reopen_to": "again", "verdicts": []}}, "status 'again'"),
])
def test_a_bad_case_file_is_refused_by_name(change: dict[str, object], named: str) -> None:
    data = {**load_toml(DEFAULT_PATH, "case file"), **change}
    with pytest.raises(ConfigError, match=named):
        parse_case_rules(data, source="my-cases.toml", roles=ROLES)


def test_a_bad_transition_is_refused_by_name() -> None:
    data = load_toml(DEFAULT_PATH, "case file")
    data["transition"] = [*data["transition"], {"from": ["new"], "to": "triaged", "roles": ["analyst", "boss"], "when": 1},
                          {"from": ["new"], "to": "archived", "roles": ["admin"]}]
    with pytest.raises(ConfigError) as err:
        parse_case_rules(data, source="my-cases.toml", roles=ROLES)
    text = str(err.value)
    n = len(data["transition"])
    assert f"my-cases.toml: transition {n - 1}: unknown key 'when'" in text
    assert "role 'boss' is not known" in text and "'new' -> 'triaged' is listed twice" in text
    assert f"transition {n}: status 'archived' is not in statuses" in text


# ---------------------------------------------------------------- the same moves through the service
@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A workspace with one layer and one case (its status is set by each test)."""
    path = tmp_path_factory.mktemp("cases") / "ws.gpkg"
    store = open_store(str(path))
    assert isinstance(store, Workspace)
    store.write_layer("water_bodies", gpd.GeoDataFrame({"water_id": ["W1"], "kind": ["river"]},
                                                       geometry=[shapely.LineString([(0, -0.01), (0, 0.01)])], crs=4326),
                      source="test")
    with stored.writing(store) as tables:
        tables.put([stored.Case(CASE, "HG-WATER-100", "2", "mining_sites", "S1", "Site 1", "North", "new", None, None,
                                None, True, None, 55.66, 0.0005, 0.0, shapely.Point(0.0005, 0).wkb, "a|b|2", None,
                                "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00", 1, 1)])
    yield store


def _put_status(store: Workspace, status: str) -> None:
    with stored.writing(store) as tables:
        case = tables.get(CASE)
        assert case is not None
        tables.put([replace(case, status=status)])


@pytest.mark.parametrize(("current", "target"), PAIRS)
def test_every_move_through_the_service(workspace: Workspace, current: str, target: str) -> None:
    _put_status(workspace, current)
    roles = [r for r in ROLES if _expected(RULES, current, target, r)]
    who = Identity("ana", roles[0], ("North",) if roles[0] == "field" else ()) if roles else Identity("ana", "admin")
    trail = len(audit.trail(workspace))
    if not roles:
        with pytest.raises(InputError, match=f"cannot move from {current!r} to {target!r}"):
            cases.set_status(workspace, who, CASE, target, reason="checked")
        assert len(audit.trail(workspace)) == trail
        with stored.reading(workspace) as tables:
            assert tables.get(CASE).status == current  # type: ignore[union-attr]
        return
    if RULES.needs_reason(current, target):
        with pytest.raises(InputError, match="needs a reason"):
            cases.set_status(workspace, who, CASE, target)
    moved = cases.set_status(workspace, who, CASE, target, reason="checked on site")
    assert moved.status == target
    row = audit.trail(workspace)[-1]
    assert (row.action, row.target) == ("case status", CASE)
    assert f'"status": "{current}"' in row.before and f'"status": "{target}"' in row.after
    for role in set(ROLES) - set(roles):
        _put_status(workspace, current)
        other = Identity("x", role, ("North",) if role == "field" else ())
        with pytest.raises(InputError, match=f"{CASE}|sees case counts by status only"):
            cases.set_status(workspace, other, CASE, target, reason="checked")


@given(st.lists(st.tuples(st.sampled_from(RULES.statuses), st.sampled_from(list(ROLES)),
                          st.sampled_from([None, "why"])), max_size=30))
def test_a_walk_of_moves_only_takes_listed_moves(moves: list[tuple[str, str, str | None]]) -> None:
    """Whatever moves are asked, in any order, by any role: the status only ever follows a listed
    move by a listed role, with a reason where one is needed."""
    status = "new"
    for target, role, reason in moves:
        if refusal(RULES, case=CASE, current=status, target=target, role=role, reason=reason) is None:
            move = RULES.find(status, target)
            assert move is not None and role in move.roles and (reason or not move.reason)
            status = target
        assert status in RULES.statuses


FP = Fingerprint("site", "water", "2")


@pytest.mark.parametrize(("status", "verdict", "current", "expected", "named"), [
    ("false_positive", FP, FP, None, "nothing changed since the verdict"),
    ("closed", FP, FP, None, "nothing changed since the verdict"),
    ("false_positive", FP, Fingerprint("site2", "water", "2"), "new", "the site geometry changed"),
    ("false_positive", FP, Fingerprint("site", "water2", "2"), "new", "the other feature geometry changed"),
    ("closed", FP, Fingerprint("site", "water", "3"), "new", "the rule version changed"),
    ("false_positive", FP, Fingerprint("s", "w", "3"), "new",
     "site geometry, other feature geometry, rule version changed"),
    ("resolved", None, FP, "new", "run 9 flags it again"),
    ("closed", None, FP, "new", "run 9 flags it again"),
    ("confirmed", None, FP, None, "run 9 flags it again"),
    ("new", None, FP, None, "run 9 flags it again"),
])
def test_what_a_run_that_flags_a_case_again_does(status: str, verdict: Fingerprint | None, current: Fingerprint,
                                                  expected: str | None, named: str) -> None:
    decision = on_flagged(RULES, status=status, verdict=verdict, current=current, run="run 9")
    assert decision.status == expected and named in decision.reason
    assert Fingerprint.from_text(current.as_text()) == current


def test_geometry_fingerprints_follow_the_coordinates_only() -> None:
    a, b, c = geometry_sha256([shapely.Point(1, 2), shapely.Point(1, 2, 5), shapely.Point(1, 2.0000001)])
    assert a == b != c and len(a) == 64 and geometry_sha256([None]) == [""]
