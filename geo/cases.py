"""Cases, as pure logic: the statuses, the allowed moves (data, ``config/cases.toml``) and what a
later rule run does to a case.

``parse_case_rules`` checks a parsed case file (every status named, every role known, no unknown
key) and gives ``CaseRules``; ``refusal`` says why one move is not allowed (or None);
``path_for_outcome`` gives the moves a field visit makes; ``on_flagged`` decides what a run that
flags a case again does with it, comparing the ``Fingerprint`` stored with the verdict (the
site's and the other feature's geometry SHA-256 and the rule version) with the run's own.
Nothing here reads a file or a store.
"""
from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from geo.errors import ConfigError
from geo.words import listed, one_of

TOP_KEYS = {"statuses", "open", "assign_roles", "outcomes", "rerun", "visits", "transition"}
TRANSITION_KEYS = {"from", "to", "roles", "reason"}
RERUN_KEYS = {"reopen_from", "reopen_to", "verdicts"}
VISIT_KEYS = {"max_distance_m"}
VISITED = "visited"


@dataclass(frozen=True)
class Transition:
    """Moves from each status in ``sources`` to ``target``, for ``roles``; ``reason``: one is required."""

    sources: tuple[str, ...]
    target: str
    roles: tuple[str, ...]
    reason: bool = False


@dataclass(frozen=True)
class CaseRules:
    """A case file, checked.

    Attributes
    ----------
    statuses : every status, in workflow order.
    open : the statuses a field visit can still settle.
    outcomes : a visit's outcome -> the status it moves the case to (after ``visited``).
    transitions : the allowed moves.
    reopen_from, reopen_to : a run that flags a case in ``reopen_from`` again moves it to ``reopen_to``.
    verdicts : statuses that stay unless the case's fingerprint changed since the verdict.
    max_visit_distance_m : visits farther than this from their site are flagged, metres.
    assign_roles : the roles that may give a case an assignee and a due date.
    """

    statuses: tuple[str, ...]
    open: tuple[str, ...]
    outcomes: Mapping[str, str]
    transitions: tuple[Transition, ...]
    reopen_from: tuple[str, ...]
    reopen_to: str
    verdicts: tuple[str, ...]
    max_visit_distance_m: float
    assign_roles: tuple[str, ...] = ()

    def rerun_decides(self, status: str) -> bool:
        """True when a run that flags a case in ``status`` again may reopen it or keep its verdict
        (``on_flagged``); a case in any other status is left as it is."""
        return status in self.verdicts or status in self.reopen_from

    def find(self, current: str, target: str) -> Transition | None:
        """The transition that allows ``current`` -> ``target``, or None."""
        return next((t for t in self.transitions if current in t.sources and t.target == target), None)

    def targets(self, current: str, role: str | None = None) -> list[str]:
        """The statuses ``current`` may move to (by ``role`` when given), in status order."""
        found = {t.target for t in self.transitions if current in t.sources and (role is None or role in t.roles)}
        return [s for s in self.statuses if s in found]

    def needs_reason(self, current: str, target: str) -> bool:
        """True when the move ``current`` -> ``target`` needs a reason."""
        t = self.find(current, target)
        return bool(t and t.reason)


def _strings(value: object, where: str, problems: list[str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        problems.append(f"{where}: expected a list of non-empty strings; got {value!r}")
        return ()
    return tuple(value)


def _unknown(table: Mapping[str, Any], allowed: set[str], where: str, problems: list[str]) -> None:
    problems += [f"{where}: unknown key {k!r}; expected {one_of(sorted(allowed))}" for k in table if k not in allowed]


def parse_case_rules(data: Mapping[str, Any], *, source: str, roles: Collection[str]) -> CaseRules:
    """Check the parsed case file ``data`` (from ``source``, for messages) against the known ``roles``.

    Every problem is collected and raised once as a ``ConfigError`` naming the file, the key and
    the value: an unknown key, a status or role not declared, a transition listed twice, a
    missing key.
    """
    problems: list[str] = []
    _unknown(data, TOP_KEYS, source, problems)
    statuses = _strings(data.get("statuses"), f"{source}: statuses", problems)
    known = set(statuses)
    if len(known) != len(statuses):
        problems.append(f"{source}: statuses: a status is listed twice in {listed(statuses)}")

    def status(value: object, where: str) -> None:
        if value not in known:
            problems.append(f"{where}: status {value!r} is not in statuses {listed(statuses)}")

    open_ = _strings(data.get("open"), f"{source}: open", problems)
    for s in open_:
        status(s, f"{source}: open")
    outcomes_raw = data.get("outcomes", {})
    outcomes: dict[str, str] = {}
    if not isinstance(outcomes_raw, dict) or not outcomes_raw:
        problems.append(f"{source}: [outcomes]: expected a table outcome = status; got {outcomes_raw!r}")
    else:
        for k, v in outcomes_raw.items():
            status(v, f"{source}: outcomes.{k}")
            outcomes[str(k)] = str(v)
    rerun = data.get("rerun", {})
    if not isinstance(rerun, dict):
        problems.append(f"{source}: [rerun]: expected a table; got {rerun!r}")
        rerun = {}
    _unknown(rerun, RERUN_KEYS, f"{source}: [rerun]", problems)
    reopen_from = _strings(rerun.get("reopen_from"), f"{source}: rerun.reopen_from", problems)
    verdicts = _strings(rerun.get("verdicts"), f"{source}: rerun.verdicts", problems)
    reopen_to = rerun.get("reopen_to")
    for named in (*reopen_from, *verdicts, reopen_to):
        status(named, f"{source}: [rerun]")
    visits = data.get("visits", {})
    if not isinstance(visits, dict):
        problems.append(f"{source}: [visits]: expected a table; got {visits!r}")
        visits = {}
    _unknown(visits, VISIT_KEYS, f"{source}: [visits]", problems)
    far = visits.get("max_distance_m")
    if isinstance(far, bool) or not isinstance(far, int | float) or not 0 < float(far) < float("inf"):
        problems.append(f"{source}: visits.max_distance_m: expected a number of metres > 0; got {far!r}")
        far = 0.0
    assign_roles = _strings(data.get("assign_roles"), f"{source}: assign_roles", problems)
    problems += [f"{source}: assign_roles: role {r!r} is not known; expected {one_of(sorted(roles))}"
                 for r in assign_roles if r not in roles]
    transitions = _transitions(data.get("transition"), source, status, set(roles), problems)
    if problems:
        raise ConfigError("\n".join(problems))
    return CaseRules(statuses, open_, outcomes, transitions, reopen_from, str(reopen_to), verdicts, float(far),
                     assign_roles)


def _transitions(raw: object, source: str, status: Any, roles: set[str], problems: list[str]) -> tuple[Transition, ...]:
    if not isinstance(raw, list) or not raw:
        problems.append(f"{source}: [[transition]]: expected at least one; got {raw!r}")
        return ()
    out: list[Transition] = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(raw, start=1):
        where = f"{source}: transition {i}"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected a table; got {item!r}")
            continue
        _unknown(item, TRANSITION_KEYS, where, problems)
        sources = _strings(item.get("from"), f"{where}: from", problems)
        who = _strings(item.get("roles"), f"{where}: roles", problems)
        target = item.get("to")
        reason = item.get("reason", False)
        for s in (*sources, target):
            status(s, where)
        problems += [f"{where}: role {r!r} is not known; expected {one_of(sorted(roles))}" for r in who if r not in roles]
        if not isinstance(reason, bool):
            problems.append(f"{where}: reason: expected true or false; got {reason!r}")
        for s in sources:
            if (s, str(target)) in seen:
                problems.append(f"{where}: the move {s!r} -> {target!r} is listed twice")
            seen.add((s, str(target)))
        out.append(Transition(sources, str(target), who, bool(reason)))
    return tuple(out)


def refusal(rules: CaseRules, *, case: str, current: str, target: str, role: str | None,
            reason: str | None) -> str | None:
    """Why case ``case`` may not move from ``current`` to ``target`` (by ``role``; None: a system
    move, no role checked), or None when it may. The message names the case, both statuses and
    what is allowed."""
    if target not in rules.statuses:
        return f"case {case}: {target!r} is not a status; expected {one_of(rules.statuses)}"
    move = rules.find(current, target)
    if move is None:
        allowed = rules.targets(current)
        return (f"case {case}: cannot move from {current!r} to {target!r}; from {current!r} a case may move to "
                f"{', '.join(map(repr, allowed)) or 'nothing (final)'}")
    if role is not None and role not in move.roles:
        mine = rules.targets(current, role)
        return (f"case {case}: role {role!r} may not move it from {current!r} to {target!r} (roles "
                f"{', '.join(move.roles)} may); role {role!r} may move it to "
                f"{', '.join(map(repr, mine)) or 'nothing'}")
    if move.reason and not (reason or "").strip():
        return f"case {case}: moving from {current!r} to {target!r} needs a reason"
    return None


def path_for_outcome(rules: CaseRules, current: str, outcome: str) -> list[str] | None:
    """The statuses a field visit with ``outcome`` moves a case in ``current`` through:
    ``visited`` (unless already there), then the outcome's status; None for an unknown outcome."""
    target = rules.outcomes.get(outcome)
    if target is None:
        return None
    return ([] if current == VISITED else [VISITED]) + [target]


@dataclass(frozen=True)
class Fingerprint:
    """What a verdict was about: SHA-256 (hex) of the site's geometry WKB and of the other feature's
    (the water body, village ... the violation measured to; "" when none), and the rule version."""

    site_sha256: str
    other_sha256: str
    rule_version: str

    def as_text(self) -> str:
        """The fingerprint as stored: the three values joined by ``|``."""
        return Fingerprint.texts([self.site_sha256], [self.other_sha256], [self.rule_version])[0]

    @staticmethod
    def texts(site_sha256: Iterable[str], other_sha256: Iterable[str], rule_version: Iterable[str]) -> list[str]:
        """``as_text`` of the fingerprints of many cases at once, given as three columns."""
        return ["|".join(values) for values in zip(site_sha256, other_sha256, rule_version)]

    @classmethod
    def from_text(cls, text: str | None) -> Fingerprint | None:
        """A stored fingerprint back (None for none)."""
        if not text:
            return None
        site, other, version = (text.split("|", 2) + ["", ""])[:3]
        return cls(site, other, version)

    def changes(self, newer: Fingerprint) -> list[str]:
        """What differs in ``newer``: "site geometry", "other feature geometry", "rule version"."""
        names = ("site geometry", "other feature geometry", "rule version")
        pairs = zip((self.site_sha256, self.other_sha256, self.rule_version),
                    (newer.site_sha256, newer.other_sha256, newer.rule_version))
        return [n for n, (a, b) in zip(names, pairs) if a != b]


def geometry_sha256(geoms: Sequence[BaseGeometry | None]) -> list[str]:
    """SHA-256 (hex) of each geometry's 2D little-endian WKB ("" for a missing one)."""
    return wkb_sha256(shapely.to_wkb(list(geoms), output_dimension=2, byte_order=1))


def wkb_sha256(wkbs: Iterable[bytes | None]) -> list[str]:
    """SHA-256 (hex) of each WKB as ``geometry_sha256`` makes it ("" for a missing one): for
    geometries whose WKB is at hand already."""
    return ["" if w is None else hashlib.sha256(w).hexdigest() for w in wkbs]


@dataclass(frozen=True)
class Rerun:
    """What a run that flags a case again does: ``status`` (None: unchanged) and why."""

    status: str | None
    reason: str


def on_flagged(rules: CaseRules, *, status: str, verdict: Fingerprint | None, current: Fingerprint,
               run: str) -> Rerun:
    """Decide what run ``run`` (a label, e.g. "run 12"), which flags a case in ``status`` again, does.

    - a verdict status (``false_positive``, or closed after one: ``verdict`` given) stays unless
      the fingerprint changed since the verdict; then it reopens, naming what changed;
    - a status in ``reopen_from`` reopens, the run recorded as the reason;
    - any other status is left as it is.
    """
    if not rules.rerun_decides(status):
        return Rerun(None, f"{run} flags it again")
    if verdict is not None:
        changed = verdict.changes(current)
        if not changed:
            return Rerun(None, f"{run} flags it again; nothing changed since the verdict")
        return Rerun(rules.reopen_to, f"{run} flags it again and the {', '.join(changed)} changed since the verdict")
    if status in rules.verdicts:  # a verdict stored before fingerprints: keep it, say so
        return Rerun(None, f"{run} flags it again; no fingerprint stored with the verdict")
    return Rerun(rules.reopen_to, f"{run} flags it again")  # a status in reopen_from
