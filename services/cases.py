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
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from geo.cases import CaseRules, Fingerprint, on_flagged, path_for_outcome, refusal, wkb_sha256
from geo.distance import geodesic_distance
from geo.errors import InputError, Problem
from geo.rules import Evaluation
from geo.words import one_of
from layers.catalogue import CATALOGUE
from layers.io.image_types import not_a_photo, unreadable
from layers.io.photos import photo_facts
from layers.io.submissions import Submission
from layers.store import cases as stored
from layers.store.accounts import Account, accounts_for
from layers.store.base import Store
from layers.store.cases import CASE_COLUMNS, Case, CaseTables, Comment, Photo, Visit
from layers.store.visibility import AREA_FIELD
from services import audit
from services.auth import ROLES, Identity
from settings.cases import DEFAULT_PATH, load_case_rules

__all__ = ["ApplyReport", "CaseFile", "FarVisit", "SyncReport", "add_comment", "add_photo", "apply_submissions",
           "assign", "case_counts", "case_file", "case_rules", "check_photo", "history", "list_cases", "same_person",
           "set_status", "sync_run"]

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


def _first_rows(keys: pd.Series, wanted: Sequence[object] | np.ndarray) -> np.ndarray:
    """For each of ``wanted``, the position of the first row of ``keys`` with that value, both
    compared as text (-1: none; a missing value matches nothing). Arrow's hash lookups
    (``index_in``), no Python object per key: the distinct wanted values are hashed and each key
    looked up among them (a layer of 10^6 sites is not hashed for the 144,430 it is asked about)."""
    def text(values: pd.Series) -> pa.Array:
        return pa.array(values if pd.api.types.infer_dtype(values, skipna=False) == "string" else values.astype(str))

    asked = text(pd.Series(np.asarray(wanted, dtype=object), dtype=object))
    distinct = pc.unique(asked)
    hit = np.asarray(pc.index_in(text(keys), value_set=distinct, skip_nulls=True).fill_null(-1)
                     .to_numpy(zero_copy_only=False))
    rows = np.flatnonzero(hit >= 0)
    found, first = np.unique(hit[rows], return_index=True)  # the first key row of each distinct value
    where = np.full(len(distinct), -1, dtype=np.intp)
    where[found] = rows[first]
    back = pc.index_in(asked, value_set=distinct, skip_nulls=True).fill_null(len(distinct))  # a missing value: none
    return np.append(where, -1)[np.asarray(back.to_numpy(zero_copy_only=False), dtype=np.intp)]


def _cells(frame: pd.DataFrame, column: str, pos: np.ndarray) -> np.ndarray:
    """Column ``column`` of ``frame`` at the row positions ``pos`` (-1: none), as text cells: None
    for a missing value, else ``str`` of it (an object array)."""
    values = frame[column].to_numpy(dtype=object)[np.maximum(pos, 0)] if len(frame) else np.full(len(pos), None)
    missing = (pos < 0) | pd.isna(values)
    out = np.full(len(pos), None, dtype=object)
    keep = np.flatnonzero(~missing)
    out[keep] = [v if type(v) is str else str(v) for v in values[keep]]
    return out


def _areas_of_linked_sites(areas: np.ndarray, rows: np.ndarray, pos: np.ndarray, subjects: pd.DataFrame,
                           sites: gpd.GeoDataFrame | None) -> None:
    """A subject with no admin area of its own (a tailings record) takes the area of the mining site
    it names in ``site_id``, so that the case reaches the field coordinator of that area."""
    if sites is None or "site_id" not in subjects or AREA_FIELD not in sites or "site_id" not in sites:
        return
    held = subjects["site_id"].to_numpy(dtype=object) if len(subjects) else np.full(1, None, dtype=object)
    linked = np.where(pos < 0, None, held[np.maximum(pos, 0)])
    named = np.flatnonzero([isinstance(site, str) for site in linked] & pd.isna(areas[rows]))
    if not len(named):
        return
    site_pos = _first_rows(sites["site_id"], linked[named])
    area = _cells(sites, AREA_FIELD, site_pos)
    take = np.flatnonzero(area != None)  # noqa: E711 (elementwise)
    areas[rows[named[take]]] = area[take]


def _site_facts(violations: gpd.GeoDataFrame, frames: Mapping[str, gpd.GeoDataFrame]) -> dict[str, list[Any]]:
    """Per violation, a list each in their order: the site's name and admin area (text or None), a
    point on it (``lon``, ``lat``), its WKB and the SHA-256 of its and the other feature's WKB.

    Whole columns: each subject is found in its layer by one hash lookup of its id (the first
    row with it, as text), each other feature likewise (its first row with a geometry); the WKB
    of each site and of each distinct other feature is made and hashed once."""
    n = len(violations)
    names = np.full(n, None, dtype=object)
    areas = np.full(n, None, dtype=object)
    for layer, rows in violations.groupby("subject_layer").indices.items():
        frame = frames.get(str(layer))
        if frame is None:
            continue
        pos = _first_rows(frame[CATALOGUE[str(layer)].id_field], violations["subject_id"].to_numpy(dtype=object)[rows])
        for column, out in (("name", names), (AREA_FIELD, areas)):
            if column in frame:
                out[rows] = _cells(frame, column, pos)
        _areas_of_linked_sites(areas, rows, pos, frame, frames.get(SITE_LAYER))
    others = np.full(n, "", dtype=object)
    if "nearest_layer" in violations:
        for layer, rows in violations.groupby("nearest_layer").indices.items():
            frame = frames.get(str(layer))
            if frame is None or str(layer) not in CATALOGUE:
                continue
            geoms = frame.geometry.to_numpy()
            present = np.flatnonzero(~pd.isna(geoms))  # the first row of an id WITH a geometry
            pos = _first_rows(frame[CATALOGUE[str(layer)].id_field].iloc[present],
                              violations["nearest_id"].to_numpy(dtype=object)[rows])
            distinct, back = np.unique(pos, return_inverse=True)
            wkbs = shapely.to_wkb(geoms[present[np.maximum(distinct, 0)]], output_dimension=2, byte_order=1)
            sha = np.array(wkb_sha256(w if p >= 0 and isinstance(g, shapely.Geometry) else None
                                      for w, p, g in zip(wkbs, distinct, geoms[present[np.maximum(distinct, 0)]])),
                           dtype=object)
            others[rows] = sha[back]
    sites = violations.geometry.to_numpy()
    point = _on_surface(sites)
    site_wkb = list(shapely.to_wkb(sites, output_dimension=2, byte_order=1))
    return {"site_name": names.tolist(), "admin_area": areas.tolist(), "lon": shapely.get_x(point).tolist(),
            "lat": shapely.get_y(point).tolist(), "site_wkb": site_wkb, "site_sha256": wkb_sha256(site_wkb),
            "other_sha256": others.tolist()}


def _on_surface(geoms: np.ndarray) -> np.ndarray:
    """``shapely.point_on_surface(geoms)``, whose point of a point is that point (a copy of it): the
    points are taken as they are and only the other geometries are asked (144,430 point sites: no
    GEOS copy of each; 0.44 s of a recorded run at load 8)."""
    out = geoms.copy()
    other = np.flatnonzero(shapely.get_type_id(geoms) != 0)  # a missing geometry (-1) too: None, as GEOS gives it
    out[other] = shapely.point_on_surface(geoms[other])
    return out


FLAGGED_SETS = ("rule_id", "rule_version", "subject_layer", "site_id", "site_name", "admin_area", "flagged",
                "distance_m", "lon", "lat", "site_wkb", "fingerprint")  # what a run sets on a case it flags, but last_run


def _run_cases(v: gpd.GeoDataFrame, facts: Mapping[str, list[Any]], run_id: int) -> dict[str, list[Any]]:
    """The values run ``run_id`` gives each case it flags, by ``Case`` field, one list each in the
    order of the violations (plain Python values, as a ``Case`` holds them), and ``violation_id``."""
    distance = v["distance_m"] if "distance_m" in v else pd.Series(None, index=v.index, dtype=object)
    gone = pd.isna(distance).to_numpy()
    fingerprints = Fingerprint.texts(facts["site_sha256"], facts["other_sha256"], v["rule_version"].astype(str).tolist())
    return {"violation_id": v["violation_id"].astype(str).tolist(),
            **{c: v[s].astype(str).tolist() for c, s in (("rule_id", "rule_id"), ("rule_version", "rule_version"),
                                                         ("subject_layer", "subject_layer"), ("site_id", "subject_id"))},
            "site_name": facts["site_name"], "admin_area": facts["admin_area"],
            "flagged": [True] * len(v),
            "distance_m": [None if g else float(d) for d, g in zip(distance.tolist(), gone)],
            "lon": facts["lon"], "lat": facts["lat"], "site_wkb": facts["site_wkb"], "fingerprint": fingerprints,
            "last_run": [run_id] * len(v)}


def _same(a: Sequence[Any], b: Sequence[Any]) -> np.ndarray:
    """Elementwise ``a[i] == b[i]`` as Python compares two values (None equals None, NaN nothing)."""
    left, right = np.empty(len(a), dtype=object), np.empty(len(b), dtype=object)
    left[:], right[:] = a, b
    return np.asarray(left == right, dtype=bool)


def _steady(rules: CaseRules, held: Mapping[str, list[Any]], current: Mapping[str, list[Any]],
            run_id: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Which violations of the run (``current``) are decided on whole columns, given the stored
    cases (``held``): masks of the new cases and of the cases that only get the run as their last
    run, and the ids of those whose last run is not the run yet. A violation id the run flags
    twice is in neither (decided one row at a time, as before)."""
    vids = current["violation_id"]
    at = pd.Index(held["violation_id"]).get_indexer(vids) if vids else np.empty(0, dtype=np.intp)
    once = ~pd.Series(vids, dtype=object).duplicated(keep=False).to_numpy()
    usual = (at >= 0) & once
    if not usual.any():
        return (at < 0) & once, usual, []
    rows = at[usual]
    status = pd.Series(np.asarray(held["status"], dtype=object)[rows], dtype=object)
    steady = ~status.map({s: rules.rerun_decides(s) for s in status.unique()}).to_numpy(dtype=bool)
    steady &= np.asarray(held["flagged"], dtype=bool)[rows]
    for name in FLAGGED_SETS:
        steady &= _same(np.asarray(held[name], dtype=object)[rows], np.asarray(current[name], dtype=object)[usual])
    usual[np.flatnonzero(usual)[~steady]] = False
    last = np.asarray(held["last_run"], dtype=object)[at[usual]]
    touched = [vid for vid, r in zip(np.asarray(vids, dtype=object)[usual], last) if r != run_id]
    return (at < 0) & once, usual, touched


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

    Decided on whole columns (one SELECT of the columns compared, no ``Case`` per stored row): a
    violation id flagged once by the run and without a case is opened; a case flagged again,
    still flagged, in a status the rerun leaves alone (``CaseRules.rerun_decides`` false) and
    with every value the run sets unchanged only gets its last run. Every other case the run
    flags, and every case it no longer flags, is read whole and decided one by one as before.
    """
    rules = case_rules()
    v = evaluation.violations
    ran = set(evaluation.counts)
    label, now = f"run {run_id}", _now()
    current = _run_cases(v, _site_facts(v, frames), run_id)
    vids = current["violation_id"]
    with stored.writing(store) as tables:
        held = tables.columns(["violation_id", *FLAGGED_SETS, "status", "last_run"])
        new, usual, touched = _steady(rules, held, current, run_id)
        seen = set(vids)
        gone_ids = [vid for vid, f, r in zip(held["violation_id"], held["flagged"], held["rule_id"])
                    if vid not in seen and f and r in ran]
        slow = np.flatnonzero(~new & ~usual)
        before = {c.violation_id: c for c in tables.many([*(vids[i] for i in slow), *gone_ids])}
        report, changed, touched_too = _decide(rules, current, slow, before, label, now, run_id)
        report["opened"] |= new
        gone_set = set(gone_ids)
        gone = [vid for vid in before if vid in gone_set]  # in the store's order of violation ids
        rows_out = [changed[k] for k in sorted(changed)] + [tuple(vars(replace(
            before[vid], flagged=False, updated_at=now, review=f"no longer flagged by {label}: review it (not closed)"
        )).values()) for vid in gone]
        tables.put_rows(rows_out)
        tables.add_rows(_opened_rows(current, np.flatnonzero(new), label, now, run_id))  # no case holds their ids
        tables.set_last_run([*touched, *touched_too], run_id)
    picked = {k: tuple(vids[i] for i in np.flatnonzero(mask)) for k, mask in report.items()}
    return SyncReport(run_id, picked["opened"], picked["reopened"], picked["kept"], tuple(gone), picked["again"])


def _opened_rows(current: Mapping[str, list[Any]], positions: np.ndarray, label: str, now: str,
                 run_id: int) -> list[tuple[Any, ...]]:
    """The new cases of the violations at ``positions``, as rows in ``CASE_COLUMNS`` order: the
    run's values and a new case's own (status ``new``, opened now by run ``run_id``)."""
    own: dict[str, Any] = dict(status="new", assignee=None, due_date=None, reason=f"flagged by {label}", review=None,
                               verdict=None, opened_at=now, updated_at=now, first_run=run_id)
    ids = positions.tolist()
    columns = [[own[c]] * len(ids) if c in own else [current[c][i] for i in ids] for c in CASE_COLUMNS]
    return list(zip(*columns))


def _decide(rules: CaseRules, current: Mapping[str, list[Any]], slow: np.ndarray, before: Mapping[str, Case],
            label: str, now: str, run_id: int
            ) -> tuple[dict[str, np.ndarray], dict[int, tuple[Any, ...]], list[str]]:
    """The flagged cases that are not decided on whole columns, one by one, as every case was
    before: a violation id flagged twice, a case whose values changed, one in a status the rerun
    decides (``geo.cases.on_flagged``), one marked "no longer flagged" before.

    Returns masks over the violations (``opened``, ``reopened``, ``kept``, ``again``), the rows
    to write by violation position, and the ids whose last run only is set."""
    n = len(current["violation_id"])
    marks = {k: np.zeros(n, dtype=bool) for k in ("opened", "reopened", "kept", "again")}
    changed: dict[int, tuple[Any, ...]] = {}
    touched: list[str] = []
    mine, theirs = operator.attrgetter(*FLAGGED_SETS), operator.itemgetter(*FLAGGED_SETS)
    for i in (int(k) for k in slow):
        vid = current["violation_id"][i]
        row = {name: current[name][i] for name in (*FLAGGED_SETS, "last_run")}
        old = before.get(vid)
        if old is None:  # a violation id the run flags twice (the later row wins, as before)
            changed[i] = _opened_rows(current, np.array([i]), label, now, run_id)[0]
            marks["opened"][i] = True
            continue
        fingerprint = Fingerprint.from_text(row["fingerprint"])
        assert fingerprint is not None
        decision = on_flagged(rules, status=old.status, verdict=Fingerprint.from_text(old.verdict),
                              current=fingerprint, run=label)
        if decision.status is None and old.flagged and mine(old) == theirs(row):
            if old.status in rules.verdicts or (old.verdict and old.status in rules.reopen_from):
                marks["kept"][i] = True
            if old.last_run != run_id:
                touched.append(vid)  # flagged again, nothing else changed: only its last run is set
            continue
        new = replace(old, **row)
        if not old.flagged:
            new = replace(new, review=None, updated_at=now)
            marks["again"][i] = True
        if decision.status is not None:
            new = replace(new, status=decision.status, reason=decision.reason, verdict=None, assignee=None,
                          updated_at=now)
            marks["reopened"][i] = True
        elif old.status in rules.verdicts or (old.verdict and old.status in rules.reopen_from):
            marks["kept"][i] = True
        if new != old:
            changed[i] = tuple(vars(new).values())
    return marks, changed, touched


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
        raise InputError(f"--status {status!r} is not a status; expected {one_of(rules.statuses)}")
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


def check_photo(name: str, data: bytes) -> None:
    """Refuse, naming the file and the types expected, a photo a person attaches (``cases set --photo``,
    the workbench) that is empty, no JPEG, PNG, GIF, WebP or HEIC/HEIF, or one Pillow cannot open."""
    if not data:
        raise InputError(f"{name}: the photo is empty")
    if expected := not_a_photo(data):
        raise InputError(f"{name}: not a photo; expected {expected}")
    if why := unreadable(data):
        raise InputError(f"{name}: not a photo that opens: {why}")


def set_status(store: Store, identity: Identity, violation_id: str, status: str, *, reason: str | None = None,
               note: str | None = None, photos: Sequence[tuple[str, bytes]] = ()) -> Case:
    """Move case ``violation_id`` to ``status`` as ``identity``, with a ``reason`` (required by some
    moves), a ``note`` (a comment) and ``photos`` ((file name, bytes)). A move to ``visited``
    records a visit (now, no position). Refused with a message naming the case, both statuses and
    what is allowed; one transaction, its audit row (``case status``) included. A photo that is none
    (``check_photo``) is refused before anything is written."""
    for name, data in photos:
        check_photo(name, data)
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


def _may_not_take(account: Account, admin_area: str | None) -> str | None:
    """Why the enabled ``account`` may not be given a case whose site is in ``admin_area`` (None: it may)."""
    if account.role == "field" and admin_area is None:
        return (f"field account {account.name!r} works areas {', '.join(account.areas)}; this case's site has no"
                " admin area, so only an analyst or an admin may take it: give the sites an admin_area (a column"
                " in the file, or `import --set admin_area=NAME`) and run the rules again")
    if account.role == "field" and admin_area not in account.areas:
        return (f"field account {account.name!r} works areas {', '.join(account.areas)};"
                f" this case's site is in {admin_area!r}")
    if account.role == "partner":
        return f"{account.name!r} is a partner account; a partner sees counts only"
    return None


def assignees(store: Store, admin_area: str | None) -> list[str] | None:
    """The enabled accounts a case whose site is in ``admin_area`` may be given to (``assign``'s
    rules), by name; None when the store holds no account (any name is taken then)."""
    accounts = accounts_for(store).all()
    if not accounts:
        return None
    return [a.name for a in accounts if not a.disabled and _may_not_take(a, admin_area) is None]


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
            if why := _may_not_take(account, before.admin_area):
                raise InputError(f"case {violation_id}: {why}")
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
    ``case photo`` with the hash); a file that is no photo (``check_photo``) is refused."""
    check_photo(name, data)
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
    """What ``apply_submissions`` did: the cases changed (``applied``, one per submission applied,
    whose keys are ``applied_keys``), the keys already imported, the rows refused (each names file,
    row, field and value) or warned about, and the far visits. ``case_of``: each of those keys' case."""

    applied: list[str] = field(default_factory=list)
    skipped_duplicates: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    far_visits: list[FarVisit] = field(default_factory=list)
    applied_keys: list[str] = field(default_factory=list)
    case_of: dict[str, str] = field(default_factory=dict)

    def named(self, keys: Sequence[str]) -> list[str]:
        """Submission keys as "KEY (case VIOLATION_ID)", for a person to find both."""
        return [f"{key} (case {self.case_of[key]})" if key in self.case_of else key for key in keys]


def _problem(s: Submission, part: str, value: object, expected: str, kind: str = "invalid",
             severity: str = "error") -> Problem:
    """A problem of submission ``s`` naming the file's column of ``part`` (``visit-violation_id``), as
    the reader's problems do."""
    return Problem(s.source, s.row, s.column(part), value, expected, severity, kind=kind)


def _words(name: str) -> tuple[str, ...]:
    """A person's name as lower-case words without accents: 'Kofi Mensah', 'kofi.mensah' and
    'KOFI_MENSAH' all give ('kofi', 'mensah')."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii") or name
    return tuple(w for w in re.split(r"[\W_]+", plain.casefold()) if w)


def same_person(submitter: str, account: str) -> bool:
    """Whether a server's submitter name (ODK Central's display name of the app user or web user,
    KoBoToolbox's user name) can be the HgWatch account ``account``: their words (``_words``) are the
    same, written together are the same ('kofimensah'), or one's words are all among the other's
    ('kofi' and 'Kofi Mensah'). Two people whose names share every word of the shorter cannot be
    told apart this way; a name with nothing in common is another person."""
    a, b = _words(submitter), _words(account)
    if not a or not b:
        return submitter.strip() == account.strip()
    return a == b or "".join(a) == "".join(b) or set(a) <= set(b) or set(b) <= set(a)


def _reassigned(s: Submission, case: Case) -> Problem | None:
    """A warning when the case is assigned now to someone other than the submission's submitter
    (reassigned after the pack went out): the visit happened, so it is applied all the same."""
    if not s.submitter or not case.assignee or same_person(s.submitter, case.assignee):
        return None
    return _problem(s, "submitter", s.submitter, (
        f"case {s.violation_id} is assigned now to {case.assignee!r}, not to the submitter (reassigned after the pack"
        f" went out?); the visit is applied all the same: tell {case.assignee}, or assign the case back"
        " (`cli.py cases assign`)"), "reassigned", "warning")


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


def _plan(rules: CaseRules, s: Submission, case: Case | None, identity: Identity,
          earlier: int | None = None) -> tuple[list[str], Problem | None]:
    """The statuses submission ``s`` moves ``case`` through, or the problem that refuses it;
    ``earlier``: the row of the same file that moved the case last (a refused move names it)."""
    if case is None or not _sees(identity, case):
        where = f" in the areas of {identity.name}" if identity.rights.restricted == "areas" else ""
        return [], _problem(s, "violation_id", s.violation_id, f"the id of a case{where} (`cli.py cases list`)", "unknown")
    path = path_for_outcome(rules, case.status, s.outcome)
    if path is None:
        return [], _problem(s, "outcome", s.outcome, one_of(sorted(rules.outcomes)), "allowed")
    current = case.status
    for target in path:
        why = refusal(rules, case=case.violation_id, current=current, target=target, role=identity.role, reason=s.reason)
        if why:
            missing = why.endswith("needs a reason")
            if earlier is not None and not missing:
                why += (f"; row {earlier} of {s.source} moved it to {case.status!r} already (a second submission"
                        " for the same visit?)")
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
                      all_or_nothing: bool = True, max_visit_distance_m: float | None = None,
                      dry_run: bool = False) -> ApplyReport:
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
    ``dry_run``: plan and report only, write nothing (the command line lists every problem in one pass).
    """
    _no_partner(identity)
    rules = case_rules()
    limit = rules.max_visit_distance_m if max_visit_distance_m is None else float(max_visit_distance_m)
    report = ApplyReport()
    now, who = _now(), audit.actor()
    changes: dict[str, tuple[Case, Case]] = {}  # violation id -> (before, after)
    moved_by: dict[str, int] = {}  # violation id -> the row of this file that moved it last
    with stored.writing(store) as tables:
        done = tables.imported(s.key for s in submissions)
        work: list[tuple[Submission, Case, Case, float | None]] = []
        for s in submissions:
            if s.key in done:
                report.skipped_duplicates.append(s.key)
                report.case_of.setdefault(s.key, s.violation_id)
                if s.edits:  # edited on the server since it was imported (the key stays, the data changed)
                    report.problems.append(_problem(
                        s, "edits", s.edits, f"submission {s.key} was imported before; its edits on the"
                        " server are not applied again: correct case " + s.violation_id + " in HgWatch"
                        " (`cli.py cases set`, or the workbench)", "edited", "warning"))
                continue
            start = changes[s.violation_id][1] if s.violation_id in changes else tables.get(s.violation_id)
            path, problem = _plan(rules, s, start, identity, moved_by.get(s.violation_id))
            if problem is not None:
                report.problems.append(problem)
                continue
            assert start is not None  # _plan refuses an unknown case
            if warning := _reassigned(s, start):
                report.problems.append(warning)
            done.add(s.key)
            moved_by[s.violation_id] = s.row
            after = start
            for target in path:
                after = _move(rules, after, target, identity, s.reason, now)
            changes[s.violation_id] = (changes.get(s.violation_id, (start, start))[0], after)
            distance = _distance(start, s)
            work.append((s, start, after, distance))
            if distance is not None and distance > limit:
                report.far_visits.append(FarVisit(s.violation_id, s.key, s.source, s.row, distance, limit))
        if dry_run:
            return report
        if all_or_nothing and any(p.severity == "error" for p in report.problems):  # a warning blocks nothing
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
            report.applied_keys.append(s.key)
            report.case_of[s.key] = s.violation_id
        for s, start, after, distance in work:
            audit.record_in(tables.con, "case visit", s.violation_id, before=_state(start), after={
                **_state(after), "submission": s.key, "source": s.source, "row": s.row,
                "visited_at": str(s.visited_at), "lat": s.lat, "lon": s.lon, "accuracy_m": s.accuracy_m,
                "distance_m": distance, "photos": [{"name": n, "sha256": hashlib.sha256(d).hexdigest()}
                                                   for n, d in s.photos]})
    return report
