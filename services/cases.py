"""Cases: one per violation, from the flag to a verified outcome, with the evidence.

What the faces (the command line, the workbench, the dossier) call:

- ``sync_run(store, evaluation, frames, run_id=...)``: after a RECORDED rule run (``services.checks.check``;
  the run's audit row says what it did to the cases):
  opens a case per new violation id, reopens resolved/closed cases flagged again (a false
  positive only when its fingerprint changed since the verdict), marks cases the run no longer
  flags as "no longer flagged" for review (never closes them).
- ``list_cases(store, identity, status=, area=, assignee=) -> DataFrame``: the cases a role may see.
- ``case_file(store, identity, violation_id) -> CaseFile``: one case with comments, visits, photos
  (their SHA-256, not their bytes) and its history from the audit trail.
- ``set_status(...)``, ``assign(...)``, ``add_comment(...)``, ``add_photo(...)``: one small
  in-place transaction each, holding its audit row with the values before and after (one commit:
  the change and its record stand or fall together).
- ``apply_submissions(store, identity, submissions, ...) -> ApplyReport``: field submissions
  (``layers.io.submissions.Submission``) become visits and moves, idempotent by key.
- ``case_counts(store, identity, by=...)``: counts by area and status, the one thing a partner sees.

Who may do what: the moves are data (``config/cases.toml``, ``geo.cases``) with the roles that may
make them; a ``field`` account sees and works only the cases whose site lies in its admin areas;
a ``partner`` gets counts and nothing else (no case row is read for it).
"""
from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.cases import CaseRules, Fingerprint, geometry_sha256, on_flagged, path_for_outcome, refusal
from geo.distance import geodesic_distance
from geo.errors import InputError, Problem
from geo.rules import Evaluation
from layers.catalogue import CATALOGUE
from layers.io.photos import photo_facts
from layers.io.submissions import Submission
from layers.store import cases as stored
from layers.store.accounts import accounts_for
from layers.store.base import Store
from layers.store.cases import Case, CaseTables, Comment, Photo, Visit
from layers.store.visibility import AREA_FIELD
from services import audit
from services.auth import ROLES, Identity
from settings.cases import DEFAULT_PATH, load_case_rules

__all__ = ["ApplyReport", "CaseFile", "FarVisit", "SyncReport", "add_comment", "add_photo", "apply_submissions",
           "assign", "case_counts", "case_file", "case_rules", "history", "list_cases", "set_status", "sync_run"]

LIST_COLUMNS = ("violation_id", "site_id", "rule_id", "status", "assignee", "updated_at", "visits")
DETAIL_COLUMNS = ("site_name", "admin_area", "distance_m", "lon", "lat", "rule_version", "subject_layer", "due_date",
                  "flagged", "review", "reason", "last_visit", "opened_at")


def case_rules() -> CaseRules:
    """The statuses and moves of ``config/cases.toml``, checked against the roles of ``services.auth``."""
    return load_case_rules(DEFAULT_PATH, roles=ROLES)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ------------------------------------------------------------------ who may see which case
def _no_partner(identity: Identity) -> None:
    if identity.rights.restricted == "none":
        raise InputError(f"role {identity.role!r} sees case counts by status only, never a case's detail"
                         " (`cases list` is for field, analyst and admin accounts)")


def _sees(identity: Identity, case: Case) -> bool:
    return identity.rights.restricted == "all" or (
        identity.rights.restricted == "areas" and case.admin_area in identity.areas)


def _visible(tables: CaseTables, identity: Identity, violation_id: str) -> Case:
    """The case ``violation_id`` if ``identity`` may see it; the same message for an unknown case
    and one outside a field account's areas (it does not learn which exist)."""
    _no_partner(identity)
    case = tables.get(violation_id)
    if case is None or not _sees(identity, case):
        where = f" in your areas ({', '.join(identity.areas)})" if identity.rights.restricted == "areas" else ""
        raise InputError(f"case {violation_id!r}: no such case{where}; see `cli.py cases list`")
    return case


# ------------------------------------------------------------------ after a run
@dataclass(frozen=True)
class SyncReport:
    """What a recorded run did to the cases (violation ids)."""

    run_id: int
    opened: tuple[str, ...] = ()
    reopened: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()              # a verdict that stays (nothing changed since it)
    no_longer_flagged: tuple[str, ...] = ()
    flagged_again: tuple[str, ...] = ()     # marked "no longer flagged" before, flagged by this run

    def audit(self) -> dict[str, object]:
        """What the audit trail records of it (the new cases by number; the others by id)."""
        return {"run_id": self.run_id, "opened": len(self.opened), "reopened": list(self.reopened),
                "kept": list(self.kept), "no_longer_flagged": list(self.no_longer_flagged),
                "flagged_again": list(self.flagged_again)}


SITE_LAYER = "mining_sites"


def _text(value: object) -> str | None:
    """A text cell, or None for a missing one (pandas may hand a missing text over as NaN, which
    PostgreSQL would store as the text 'NaN')."""
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _areas_of_linked_sites(areas: list[object], rows: Sequence[int], ids: pd.Series, by_id: pd.DataFrame,
                           sites: gpd.GeoDataFrame | None) -> None:
    """A subject with no admin area of its own (a tailings record) takes the area of the mining site
    it names in ``site_id``, so that the case reaches the field coordinator of that area."""
    if sites is None or "site_id" not in by_id or AREA_FIELD not in sites or "site_id" not in sites:
        return
    site_area = sites.drop_duplicates("site_id").set_index(sites["site_id"].astype(str).drop_duplicates())[AREA_FIELD]
    linked = by_id["site_id"].reindex(ids).astype(object)
    for i, site in zip(rows, linked.to_numpy(dtype=object)):
        if areas[i] is None and isinstance(site, str) and site in site_area.index and pd.notna(site_area[site]):
            areas[i] = str(site_area[site])


def _site_facts(violations: gpd.GeoDataFrame, frames: Mapping[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    """Per violation: the site's name and admin area, a point on it, its WKB and the fingerprint."""
    names: list[object] = [None] * len(violations)
    areas: list[object] = [None] * len(violations)
    others: list[object] = [None] * len(violations)
    for layer, rows in violations.groupby("subject_layer").indices.items():
        frame = frames.get(str(layer))
        if frame is None:
            continue
        spec = CATALOGUE[str(layer)]
        by_id = frame.drop_duplicates(spec.id_field).set_index(frame[spec.id_field].astype(str).drop_duplicates())
        ids = violations["subject_id"].iloc[rows].astype(str)
        for column, out in (("name", names), (AREA_FIELD, areas)):
            if column in by_id:
                values = by_id[column].reindex(ids).to_numpy(dtype=object)
                for i, v in zip(rows, values):
                    out[i] = None if v is None or (isinstance(v, float) and np.isnan(v)) or pd.isna(v) else str(v)
        _areas_of_linked_sites(areas, rows, ids, by_id, frames.get(SITE_LAYER))
    if "nearest_layer" in violations:
        for layer, rows in violations.groupby("nearest_layer").indices.items():
            frame = frames.get(str(layer))
            if frame is None or str(layer) not in CATALOGUE:
                continue
            id_field = CATALOGUE[str(layer)].id_field
            geoms = pd.Series(frame.geometry.to_numpy(), index=frame[id_field].astype(str)).groupby(level=0).first()
            found = geoms.reindex(violations["nearest_id"].iloc[rows].astype(str)).to_numpy(dtype=object)
            for i, g in zip(rows, found):
                others[i] = g if isinstance(g, shapely.Geometry) else None
    sites = violations.geometry.to_numpy()
    point = shapely.point_on_surface(sites)
    return pd.DataFrame({
        "site_name": names, "admin_area": areas, "lon": shapely.get_x(point), "lat": shapely.get_y(point),
        "site_wkb": list(shapely.to_wkb(sites, output_dimension=2, byte_order=1)),
        "site_sha256": geometry_sha256(list(sites)), "other_sha256": geometry_sha256(others),
    }, index=violations.index)


def sync_run(store: Store, evaluation: Evaluation, frames: Mapping[str, gpd.GeoDataFrame], *,
             run_id: int) -> SyncReport:
    """Bring the cases up to date with recorded run ``run_id`` (its ``evaluation`` on ``frames``).

    - a violation id without a case opens one (``new``);
    - a case flagged again: ``geo.cases.on_flagged`` decides (reopened with the run as the reason,
      or a false positive kept because nothing changed since the verdict);
    - a case of a rule that ran but that the run no longer flags is marked "no longer flagged"
      (``flagged`` false, a note in ``review``) and keeps its status; rules that did not run
      (``--only``, a missing layer) leave their cases alone.

    One write transaction for every case. The run's audit row (``rule run``, written by
    ``services.hgwatch.HgWatch.check``) carries ``SyncReport.audit()`` under ``cases``: the
    reopened, kept and no-longer-flagged cases by id.
    """
    rules = case_rules()
    v = evaluation.violations
    ran = set(evaluation.counts)
    facts = _site_facts(v, frames)
    label, now = f"run {run_id}", _now()
    opened: list[str] = []
    reopened: list[str] = []
    kept: list[str] = []
    gone: list[str] = []
    again: list[str] = []
    touched: list[str] = []
    getters: tuple[Callable[[Any], Any], Callable[[Any], Any]] | None = None
    with stored.writing(store) as tables:
        before = {c.violation_id: c for c in tables.all(with_geometry=True)}
        changed: list[Case] = []
        table = pd.DataFrame({"vid": v["violation_id"].astype(str), **{c: v[c] for c in (
            "rule_id", "rule_version", "subject_layer", "subject_id")}, "distance_m": v.get("distance_m")},
            index=v.index).join(facts)
        columns = {str(name): values.tolist() for name, values in table.items()}  # plain lists: no per-row pandas
        rows = [dict(zip(columns, values)) for values in zip(*columns.values())]
        for row in rows:
            vid, fact = str(row["vid"]), row
            fingerprint = Fingerprint(str(fact["site_sha256"]), str(fact["other_sha256"]), str(row["rule_version"]))
            distance = None if row["distance_m"] is None or pd.isna(row["distance_m"]) else float(row["distance_m"])
            current: dict[str, Any] = dict(rule_id=str(row["rule_id"]), rule_version=str(row["rule_version"]),
                           subject_layer=str(row["subject_layer"]), site_id=str(row["subject_id"]),
                           site_name=_text(fact["site_name"]), admin_area=_text(fact["admin_area"]), flagged=True,
                           distance_m=distance, lon=float(fact["lon"]), lat=float(fact["lat"]),
                           site_wkb=bytes(fact["site_wkb"]), fingerprint=fingerprint.as_text(), last_run=run_id)
            old = before.get(vid)
            if old is None:
                changed.append(Case(violation_id=vid, status="new", assignee=None, due_date=None,
                                    reason=f"flagged by {label}", review=None, verdict=None, opened_at=now,
                                    updated_at=now, first_run=run_id, **current))
                opened.append(vid)
                continue
            decision = on_flagged(rules, status=old.status, verdict=Fingerprint.from_text(old.verdict),
                                  current=fingerprint, run=label)
            if getters is None:  # what a run sets on a case it flags besides its last run, read in C below
                names = [name for name in current if name != "last_run"]
                getters = operator.attrgetter(*names), operator.itemgetter(*names)
            if decision.status is None and old.flagged and getters[0](old) == getters[1](current):
                if old.status in rules.verdicts or (old.verdict and old.status in rules.reopen_from):
                    kept.append(vid)
                if old.last_run != run_id:
                    touched.append(vid)  # flagged again, nothing else changed: only its last run is set
                continue
            new = replace(old, **current)
            if not old.flagged:
                new = replace(new, review=None, updated_at=now)
                again.append(vid)
            if decision.status is not None:
                new = replace(new, status=decision.status, reason=decision.reason, verdict=None, assignee=None,
                              updated_at=now)
                reopened.append(vid)
            elif old.status in rules.verdicts or (old.verdict and old.status in rules.reopen_from):
                kept.append(vid)
            if new != old:
                changed.append(new)
        seen = set(v["violation_id"].astype(str))
        for vid, old in before.items():
            if vid not in seen and old.flagged and old.rule_id in ran:
                changed.append(replace(old, flagged=False, updated_at=now,
                                       review=f"no longer flagged by {label}: review it (not closed)"))
                gone.append(vid)
        tables.put(changed)
        tables.set_last_run(touched, run_id)
    return SyncReport(run_id, tuple(opened), tuple(reopened), tuple(kept), tuple(gone), tuple(again))


# ------------------------------------------------------------------ reading
def list_cases(store: Store, identity: Identity, status: str | None = None, area: str | None = None,
               assignee: str | None = None) -> pd.DataFrame:
    """The cases ``identity`` may see, by violation id, filtered by ``status``, admin ``area`` and
    ``assignee`` when given.

    Columns: ``violation_id``, ``site_id``, ``rule_id``, ``status``, ``assignee``, ``updated_at``,
    ``visits`` (a count), then ``site_name``, ``admin_area``, ``distance_m`` (metres), ``lon``,
    ``lat`` (a point on the site, WGS84), ``rule_version``, ``subject_layer``, ``due_date``,
    ``flagged`` (the last run still flags it), ``review``, ``reason``, ``last_visit``, ``opened_at``.
    A partner is refused (``case_counts`` is what it gets); a field account gets its areas only.
    """
    _no_partner(identity)
    rules = case_rules()
    if status is not None and status not in rules.statuses:
        raise InputError(f"--status {status!r} is not a status; expected one of {list(rules.statuses)}")
    columns = list(LIST_COLUMNS) + list(DETAIL_COLUMNS)
    stored_columns = [c for c in columns if c in stored.CASE_COLUMNS]
    equals = {k: v for k, v in (("status", status), ("admin_area", area), ("assignee", assignee)) if v is not None}
    areas = list(identity.areas) if identity.rights.restricted == "areas" else None
    with stored.reading(store) as tables:
        rows = tables.select(stored_columns, equals=equals, areas=areas)
        visits = tables.visit_counts()
    frame = pd.DataFrame(rows, columns=stored_columns)
    frame["flagged"] = frame["flagged"].astype(bool)
    frame["visits"] = [visits.get(v, (0, None))[0] for v in frame["violation_id"]]
    frame["last_visit"] = [visits.get(v, (0, None))[1] for v in frame["violation_id"]]
    return frame.loc[:, columns].astype({"visits": int})


@dataclass(frozen=True)
class CaseFile:
    """Everything about one case: the case, its comments, visits, photos (``data`` empty: ask
    ``photo_bytes``) and its history from the audit trail, oldest first."""

    case: Case
    comments: list[Comment]
    visits: list[Visit]
    photos: list[Photo]
    history: list[audit.AuditRow]


def case_file(store: Store, identity: Identity, violation_id: str) -> CaseFile:
    """The case ``violation_id`` with its comments, visits, photos and history (see ``CaseFile``)."""
    with stored.reading(store) as tables:
        case = _visible(tables, identity, violation_id)
        comments, visits, photos = tables.comments(violation_id), tables.visits(violation_id), tables.photos(violation_id)
    return CaseFile(case, comments, visits, photos, _history(store, case))


def photo_bytes(store: Store, identity: Identity, violation_id: str) -> list[Photo]:
    """The photos of a case with their bytes (for the dossier and the workbench)."""
    with stored.reading(store) as tables:
        _visible(tables, identity, violation_id)
        return tables.photos(violation_id, with_data=True)


def history(store: Store, identity: Identity, violation_id: str) -> list[audit.AuditRow]:
    """The audit rows of case ``violation_id``, oldest first: the run that opened it, its own
    changes, and the runs that reopened it, kept its verdict or no longer flagged it."""
    with stored.reading(store) as tables:
        case = _visible(tables, identity, violation_id)
    return _history(store, case)


def _history(store: Store, case: Case) -> list[audit.AuditRow]:
    out, violation_id, opened_by = [], case.violation_id, f"run {case.first_run}"
    for row in audit.trail(store):
        if row.target == violation_id or (row.action == "rule run" and row.target == opened_by):
            out.append(row)
        elif row.action == "rule run" and violation_id in row.after:
            synced = (json.loads(row.after) or {}).get("cases") or {}
            if any(violation_id in synced.get(k, ()) for k in ("reopened", "kept", "no_longer_flagged", "flagged_again")):
                out.append(row)
    return out


def case_counts(store: Store, identity: Identity, by: Sequence[str] = ("admin_area", "status")) -> pd.DataFrame:
    """The number of cases grouped by the columns ``by`` (of ``layers.store.cases.COUNT_BY``), as a
    frame with those columns and ``cases``. Counted by the store itself: no case row is read, so
    a partner may call it. Every role gets the counts of every area."""
    del identity  # every role may see counts; kept so every face calls it the same way
    with stored.reading(store) as tables:
        rows = tables.counts(list(by))
    return pd.DataFrame(rows, columns=[*by, "cases"])


# ------------------------------------------------------------------ changes
def _state(case: Case) -> dict[str, object]:
    """What the audit trail records of a case."""
    return {"status": case.status, "assignee": case.assignee, "due_date": case.due_date, "reason": case.reason}


def _move(rules: CaseRules, case: Case, target: str, identity: Identity, reason: str | None, now: str) -> Case:
    """``case`` moved to ``target`` by ``identity`` (InputError naming what is allowed otherwise)."""
    why = refusal(rules, case=case.violation_id, current=case.status, target=target, role=identity.role, reason=reason)
    if why:
        raise InputError(why)
    if target in rules.verdicts:
        verdict = case.fingerprint  # what the verdict was about: the run's site, other feature, rule version
    elif target in rules.reopen_from:
        verdict = case.verdict  # closing a false positive keeps the fingerprint of its verdict
    else:
        verdict = None
    return replace(case, status=target, reason=(reason or "").strip() or None, verdict=verdict, updated_at=now)


def _photo(violation_id: str, name: str, data: bytes, who: str, now: str, visit_id: int | None = None) -> Photo:
    """A photo with its SHA-256 and the EXIF time and position ``layers.io.photos`` reads."""
    facts = photo_facts(data)
    taken = facts.taken_at.isoformat() if facts.taken_at is not None else None
    return Photo(violation_id, name, hashlib.sha256(data).hexdigest(), data, taken, facts.lat, facts.lon, now, who,
                 visit_id)


def set_status(store: Store, identity: Identity, violation_id: str, status: str, *, reason: str | None = None,
               note: str | None = None, photos: Sequence[tuple[str, bytes]] = ()) -> Case:
    """Move case ``violation_id`` to ``status`` as ``identity``, with a ``reason`` (required by some
    moves), a ``note`` (a comment) and ``photos`` ((file name, bytes)). A move to ``visited``
    records a visit (now, no position). Refused with a message naming the case, both statuses and
    what is allowed; one transaction, its audit row (``case status``) included."""
    rules, now, who = case_rules(), _now(), audit.actor()
    with stored.writing(store) as tables:
        before = _visible(tables, identity, violation_id)
        after = _move(rules, before, status, identity, reason, now)
        tables.put([after])
        visit_id = None
        if status == "visited":
            visit_id = tables.add_visit(Visit(violation_id, now, None, None, None, None, None, note, who))
        if note:
            tables.add_comment(Comment(violation_id, now, who, note))
        added = [_photo(violation_id, name, data, who, now, visit_id) for name, data in photos]
        for p in added:
            tables.add_photo(p)
        audit.record_in(tables.con, "case status", violation_id, before=_state(before), after={
            **_state(after), "note": note, "photos": [{"name": p.name, "sha256": p.sha256} for p in added]})
    return after


def assign(store: Store, identity: Identity, violation_id: str, to: str, *, due_date: str | None = None) -> Case:
    """Give case ``violation_id`` to account ``to`` (and a due date, YYYY-MM-DD); a case that is
    ``new`` or ``triaged`` moves to ``assigned``. Only the roles of ``assign_roles`` may; in a store
    with accounts ``to`` must be one, and a field account only gets cases in its areas."""
    rules, now = case_rules(), _now()
    if identity.role not in rules.assign_roles:
        raise InputError(f"case {violation_id}: role {identity.role!r} may not assign cases; roles"
                         f" {', '.join(rules.assign_roles)} may")
    if due_date is not None:
        try:
            due_date = datetime.strptime(due_date, "%Y-%m-%d").date().isoformat()
        except ValueError:
            raise InputError(f"--due {due_date!r} is not a date; expected YYYY-MM-DD, e.g. 2026-01-31") from None
    accounts = {a.name: a for a in accounts_for(store).all()}
    with stored.writing(store) as tables:
        before = _visible(tables, identity, violation_id)
        if accounts:
            account = accounts.get(to)
            if account is None or account.disabled:
                raise InputError(f"case {violation_id}: --to {to!r} is not an enabled account; see `cli.py users list`")
            if account.role == "field" and before.admin_area not in account.areas:
                raise InputError(f"case {violation_id}: field account {to!r} works areas {', '.join(account.areas)};"
                                 f" this case's site is in {before.admin_area!r}")
            if account.role == "partner":
                raise InputError(f"case {violation_id}: {to!r} is a partner account; a partner sees counts only")
        after = replace(before, assignee=to, due_date=due_date or before.due_date, updated_at=now)
        if before.status != "assigned" and rules.find(before.status, "assigned"):
            after = _move(rules, after, "assigned", identity, None, now)
            after = replace(after, reason=before.reason)
        tables.put([after])
        audit.record_in(tables.con, "case assign", violation_id, before=_state(before), after=_state(after))
    return after


def add_comment(store: Store, identity: Identity, violation_id: str, text: str) -> Comment:
    """Add a comment to a case the identity may see (audit: ``case comment``)."""
    if not text.strip():
        raise InputError(f"case {violation_id}: the comment is empty")
    comment = Comment(violation_id, _now(), audit.actor(), text)
    with stored.writing(store) as tables:
        _visible(tables, identity, violation_id)
        tables.add_comment(comment)
        audit.record_in(tables.con, "case comment", violation_id, after={"text": text})
    return comment


def add_photo(store: Store, identity: Identity, violation_id: str, name: str, data: bytes) -> Photo:
    """Attach a photo (its bytes stored with their SHA-256 and EXIF time and position; audit:
    ``case photo`` with the hash)."""
    if not data:
        raise InputError(f"{name}: the photo is empty")
    photo = _photo(violation_id, name, data, audit.actor(), _now())
    with stored.writing(store) as tables:
        _visible(tables, identity, violation_id)
        tables.add_photo(photo)
        audit.record_in(tables.con, "case photo", violation_id, after={
            "name": name, "sha256": photo.sha256, "taken_at": photo.taken_at, "lat": photo.lat, "lon": photo.lon})
    return photo


# ------------------------------------------------------------------ field submissions
@dataclass(frozen=True)
class FarVisit:
    """A visit farther from its site than the setting: flagged, kept."""

    violation_id: str
    key: str
    source: str
    row: int
    distance_m: float
    limit_m: float

    def __str__(self) -> str:
        return (f"{self.source}, row {self.row}: case {self.violation_id}: the visit was {self.distance_m:,.1f} m"
                f" from its site (more than {self.limit_m:g} m)")


@dataclass
class ApplyReport:
    """What ``apply_submissions`` did: the cases changed, the keys already imported, the rows
    refused (each names file, row, field and value) and the far visits."""

    applied: list[str] = field(default_factory=list)
    skipped_duplicates: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    far_visits: list[FarVisit] = field(default_factory=list)


def _problem(s: Submission, name: str, value: object, expected: str, kind: str = "invalid") -> Problem:
    return Problem(s.source, s.row, name, value, expected, kind=kind)


def _position_problem(s: Submission) -> Problem | None:
    if (s.lat is None) != (s.lon is None):
        return _problem(s, "visit_location", (s.lat, s.lon), "both latitude and longitude, or neither")
    if s.lat is not None and not (np.isfinite(s.lat) and -90 <= s.lat <= 90):
        return _problem(s, "visit_location", s.lat, "a latitude in degrees, -90 to 90")
    if s.lon is not None and not (np.isfinite(s.lon) and -180 <= s.lon <= 180):
        return _problem(s, "visit_location", s.lon, "a longitude in degrees, -180 to 180")
    if s.accuracy_m is not None and not (np.isfinite(s.accuracy_m) and s.accuracy_m >= 0):
        return _problem(s, "accuracy", s.accuracy_m, "an accuracy in metres >= 0")
    return None


def _plan(rules: CaseRules, s: Submission, case: Case | None, identity: Identity) -> tuple[list[str], Problem | None]:
    """The statuses submission ``s`` moves ``case`` through, or the problem that refuses it."""
    if case is None or not _sees(identity, case):
        where = f" in the areas of {identity.name}" if identity.rights.restricted == "areas" else ""
        return [], _problem(s, "violation_id", s.violation_id, f"the id of a case{where} (`cli.py cases list`)", "unknown")
    path = path_for_outcome(rules, case.status, s.outcome)
    if path is None:
        return [], _problem(s, "outcome", s.outcome, f"one of {sorted(rules.outcomes)}", "allowed")
    current = case.status
    for target in path:
        why = refusal(rules, case=case.violation_id, current=current, target=target, role=identity.role, reason=s.reason)
        if why:
            missing = why.endswith("needs a reason")
            return [], _problem(s, "reason" if missing else "outcome", s.reason if missing else s.outcome, why,
                                "missing" if missing else "transition")
        current = target
    bad = _position_problem(s)
    return (path, None) if bad is None else ([], bad)


def _distance(case: Case, s: Submission) -> float | None:
    """Geodesic distance in metres (0.01 m) from the visit position to the site; None without either."""
    if s.lat is None or s.lon is None or case.site_wkb is None:
        return None
    return round(geodesic_distance(shapely.Point(s.lon, s.lat), shapely.from_wkb(case.site_wkb)), 2)


def apply_submissions(store: Store, identity: Identity, submissions: Sequence[Submission], *,
                      all_or_nothing: bool = True, max_visit_distance_m: float | None = None) -> ApplyReport:
    """Apply field submissions to their cases, as ``identity``.

    Each submission becomes a visit on its case (time, position, accuracy, geodesic distance from
    the site in metres) and moves the case to ``visited`` and then to its outcome's status
    (``config/cases.toml [outcomes]``: ``remediated`` -> ``resolved``), from any status the moves
    allow (new, triaged, assigned; visited; not_accessible). Its photos are stored with their
    SHA-256 and EXIF facts. A key already imported (or repeated in ``submissions``) is skipped.

    A row naming an unknown case (or one outside a field account's areas), an outcome the case
    cannot take, a missing reason or a bad position is a ``Problem`` (file, row, field, value).
    With ``all_or_nothing`` one problem means nothing is applied; otherwise the good rows are
    applied. Either way in ONE transaction. A visit more than ``max_visit_distance_m`` (default:
    the case file's ``[visits] max_distance_m``, 500 m) from its site is in ``far_visits``, kept.
    """
    _no_partner(identity)
    rules = case_rules()
    limit = rules.max_visit_distance_m if max_visit_distance_m is None else float(max_visit_distance_m)
    report = ApplyReport()
    now, who = _now(), audit.actor()
    changes: dict[str, tuple[Case, Case]] = {}  # violation id -> (before, after)
    with stored.writing(store) as tables:
        done = tables.imported(s.key for s in submissions)
        work: list[tuple[Submission, Case, Case, float | None]] = []
        for s in submissions:
            if s.key in done:
                report.skipped_duplicates.append(s.key)
                continue
            start = changes[s.violation_id][1] if s.violation_id in changes else tables.get(s.violation_id)
            path, problem = _plan(rules, s, start, identity)
            if problem is not None:
                report.problems.append(problem)
                continue
            assert start is not None  # _plan refuses an unknown case
            done.add(s.key)
            after = start
            for target in path:
                after = _move(rules, after, target, identity, s.reason, now)
            changes[s.violation_id] = (changes.get(s.violation_id, (start, start))[0], after)
            distance = _distance(start, s)
            work.append((s, start, after, distance))
            if distance is not None and distance > limit:
                report.far_visits.append(FarVisit(s.violation_id, s.key, s.source, s.row, distance, limit))
        if report.problems and all_or_nothing:
            report.far_visits.clear()
            return report
        tables.put([after for _, after in changes.values()])
        for s, _, _, distance in work:
            visited = s.visited_at.astimezone(UTC).isoformat(timespec="seconds") if s.visited_at else None
            visit_id = tables.add_visit(Visit(s.violation_id, visited, s.lat, s.lon, s.accuracy_m, distance, s.outcome,
                                              s.notes, s.submitter or who, s.key, s.source))
            for name, data in s.photos:
                tables.add_photo(_photo(s.violation_id, name, data, s.submitter or who, now, visit_id))
            if s.notes:
                tables.add_comment(Comment(s.violation_id, now, s.submitter or who, s.notes))
            tables.add_submission(s.key, s.violation_id, s.source, s.row, now)
            report.applied.append(s.violation_id)
        for s, start, after, distance in work:
            audit.record_in(tables.con, "case visit", s.violation_id, before=_state(start), after={
                **_state(after), "submission": s.key, "source": s.source, "row": s.row,
                "visited_at": str(s.visited_at), "lat": s.lat, "lon": s.lon, "accuracy_m": s.accuracy_m,
                "distance_m": distance, "photos": [{"name": n, "sha256": hashlib.sha256(d).hexdigest()}
                                                   for n, d in s.photos]})
    return report
