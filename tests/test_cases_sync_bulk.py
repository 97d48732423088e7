"""``services.cases.sync_run`` decides on whole columns; the result is the row-by-row algorithm's.

The row-by-row algorithm it replaced (commit f18c300: every stored case read as a ``Case``, every
violation decided in a Python loop, the facts looked up row by row) is kept here as the oracle.
On both back ends, from the same state, both bring the cases up to date with the same runs: the
cases (every column of every row), the ``SyncReport`` and the rows written agree. The state holds
every kind of case a run meets: new, flagged again unchanged, in each verdict status with and
without a verdict fingerprint, no longer flagged, moved sites, another nearest feature, changed
names and distances, a violation id flagged twice, a site id held twice, a nearest feature whose
first row has no geometry, tailings taking the area of the site they name, a rule that did not
run, and a run repeated with the same id. More than ``COPY_ABOVE`` cases: PostGIS's COPY path."""
from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.cases import Fingerprint, geometry_sha256, on_flagged
from geo.rules import Evaluation, RuleSummary, violation_id
from layers.catalogue import CATALOGUE
from layers.store import cases as stored
from layers.store.base import Store
from layers.store.cases import Case
from layers.store.visibility import AREA_FIELD
from services import cases
from tests.test_store_backends import store  # noqa: F401  (the two-back-end store; backend and location: conftest)

NOW = "2026-11-27T01:02:03+00:00"
N = 700  # sites: more than COPY_ABOVE cases


# ------------------------------------------------------------------ the oracle (f18c300, row by row)
def _text(value: object) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _ref_linked(areas: list[object], rows: Sequence[int], ids: pd.Series, by_id: pd.DataFrame,
                sites: gpd.GeoDataFrame | None) -> None:
    if sites is None or "site_id" not in by_id or AREA_FIELD not in sites or "site_id" not in sites:
        return
    site_area = sites.drop_duplicates("site_id").set_index(sites["site_id"].astype(str).drop_duplicates())[AREA_FIELD]
    linked = by_id["site_id"].reindex(ids).astype(object)
    for i, site in zip(rows, linked.to_numpy(dtype=object)):
        if areas[i] is None and isinstance(site, str) and site in site_area.index and pd.notna(site_area[site]):
            areas[i] = str(site_area[site])


def _ref_facts(violations: gpd.GeoDataFrame, frames: Mapping[str, gpd.GeoDataFrame]) -> pd.DataFrame:
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
        _ref_linked(areas, rows, ids, by_id, frames.get(cases.SITE_LAYER))
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


def _reference(store: Store, evaluation: Evaluation, frames: Mapping[str, gpd.GeoDataFrame], *,  # noqa: F811
               run_id: int) -> cases.SyncReport:
    """``sync_run`` as it was at f18c300 (its last runs written by ``put``, the same values)."""
    rules = cases.case_rules()
    v = evaluation.violations
    ran = set(evaluation.counts)
    facts = _ref_facts(v, frames)
    label, now = f"run {run_id}", cases._now()
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
        columns = {str(name): values.tolist() for name, values in table.items()}
        for row in [dict(zip(columns, values)) for values in zip(*columns.values())]:
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
            if getters is None:
                names = [name for name in current if name != "last_run"]
                getters = operator.attrgetter(*names), operator.itemgetter(*names)
            if decision.status is None and old.flagged and getters[0](old) == getters[1](current):
                if old.status in rules.verdicts or (old.verdict and old.status in rules.reopen_from):
                    kept.append(vid)
                if old.last_run != run_id:
                    touched.append(vid)
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
        done = {c.violation_id: c for c in tables.many(touched)}
        tables.put([replace(done[vid], last_run=run_id) for vid in touched])  # set_last_run, as put
    return cases.SyncReport(run_id, tuple(opened), tuple(reopened), tuple(kept), tuple(gone), tuple(again))


# ------------------------------------------------------------------ the runs
def _frames(moved: bool) -> dict[str, gpd.GeoDataFrame]:
    """N sites (some without a name or area, S5 held twice: the first row counts), 40 water lines
    (W3's first row has no geometry), 10 tailings naming sites (T9 a site not held)."""
    ids = [f"S{i}" for i in range(N)] + ["S5"]
    names = [None if i % 4 == 0 else f"Site {i}" + (" renamed" if moved and i % 19 == 0 else "") for i in range(N)]
    areas = [None if i % 6 == 0 else ("North", "South", "East")[i % 3] for i in range(N)]
    points = [shapely.Point(-1.5 + i / 1000 + (0.001 if moved and i % 7 == 0 else 0), 6.0 + i / 2000) for i in range(N)]
    sites = gpd.GeoDataFrame({"site_id": ids, "name": [*names, "the second S5"], AREA_FIELD: [*areas, "West"]},
                             geometry=[*points, shapely.Point(9, 9)], crs=4326)
    water = gpd.GeoDataFrame({"water_id": [f"W{k}" for k in range(40)] + ["W3"]},
                             geometry=[None if k == 3 else shapely.LineString([(-1.5 + k / 20, 6), (-1.5 + k / 20, 7)])
                                       for k in range(40)] + [shapely.LineString([(0, 0), (0, 1)])], crs=4326)
    tailings = gpd.GeoDataFrame({"tailings_id": [f"T{k}" for k in range(10)],
                                 "site_id": [f"S{k * 7}" for k in range(9)] + ["S9999"]},
                                geometry=[shapely.Point(-1 + k / 100, 6.5) for k in range(10)], crs=4326)
    return {"mining_sites": sites, "water_bodies": water, "tailings": tailings}


def _run(frames: Mapping[str, gpd.GeoDataFrame], flagged: Sequence[int], *, twice: Sequence[int] = (),
         tailings: bool = True, shift: bool = False) -> Evaluation:
    """A run flagging sites ``flagged`` (those of ``twice`` in two rows) and, with ``tailings``, the tailings."""
    sites = frames["mining_sites"].iloc[:N]
    rows = [*flagged, *twice]
    v = gpd.GeoDataFrame({
        "violation_id": [violation_id("HG-WATER-100", 2, "mining_sites", f"S{i}") for i in rows],
        "rule_id": "HG-WATER-100", "rule_version": "2", "subject_layer": "mining_sites",
        "subject_id": [f"S{i}" for i in rows],
        "distance_m": [np.nan if i % 23 == 0 else 10.0 + i / 8 + (1 if shift and i % 13 == 0 else 0) for i in rows],
        "nearest_layer": "water_bodies",
        "nearest_id": [f"W{(i + (1 if shift and i % 11 == 0 else 0)) % 40}" for i in rows]},
        geometry=sites.geometry.iloc[rows].to_numpy(), crs=4326)
    summaries = [RuleSummary("HG-WATER-100", "critical", "t", "mining_sites", N, len(v))]
    if tailings:
        t = gpd.GeoDataFrame({
            "violation_id": [violation_id("TAILINGS-WATER-100", 1, "tailings", f"T{k}") for k in range(10)],
            "rule_id": "TAILINGS-WATER-100", "rule_version": "1", "subject_layer": "tailings",
            "subject_id": [f"T{k}" for k in range(10)], "distance_m": 5.0, "nearest_layer": "water_bodies",
            "nearest_id": "W3"}, geometry=frames["tailings"].geometry.to_numpy(), crs=4326)
        v = pd.concat([v, t], ignore_index=True)
        summaries.append(RuleSummary("TAILINGS-WATER-100", "critical", "t", "tailings", 10, 10))
    return Evaluation(gpd.GeoDataFrame(v, geometry="geometry", crs=4326), tuple(summaries))


def _state(store: Store, sync: Callable[..., cases.SyncReport]) -> None:  # noqa: F811
    """Run 1 on a clean slate, then cases in every status (with and without a verdict)."""
    with stored.writing(store) as tables:
        tables._rows(f"DELETE FROM {stored.CASES}")
    sync(store, _run(_frames(False), range(600)), _frames(False), run_id=1)
    moves: dict[int, dict[str, Any]] = {1: {"status": "false_positive", "verdict": "fingerprint"},
                                        2: {"status": "resolved", "verdict": "fingerprint"},
                                        3: {"status": "closed", "verdict": "fingerprint"},
                                        4: {"status": "false_positive", "verdict": None},
                                        5: {"status": "triaged", "assignee": "ana"},
                                        6: {"flagged": False, "review": "no longer flagged by run 0"},
                                        7: {"status": "resolved", "verdict": None}}
    with stored.writing(store) as tables:
        every = tables.all(with_geometry=True)
        changed = []
        for k, case in enumerate(every):
            move = dict(moves.get(k % 10, {}))
            if move.get("verdict") == "fingerprint":
                move["verdict"] = case.fingerprint
            if move:
                changed.append(replace(case, **move))
        tables.put(changed)


def _after(store: Store, sync: Callable[..., cases.SyncReport]) -> tuple[list[object], list[Case]]:  # noqa: F811
    """The state, then run 2 (moved sites, other features, gone and new sites, one id twice, the
    tailings rule not run), run 2 again and run 3 like it: the reports and the cases after."""
    _state(store, sync)
    frames = _frames(True)
    reports: list[object] = []
    second = _run(frames, range(50, 650), twice=(100, 640), tailings=False, shift=True)
    reports.append(sync(store, second, frames, run_id=2))
    reports.append(sync(store, second, frames, run_id=2))
    reports.append(sync(store, _run(frames, range(50, 650), tailings=True, shift=True), frames, run_id=3))
    with stored.reading(store) as tables:
        return reports, tables.all(with_geometry=True)


def test_sync_run_gives_what_the_row_by_row_algorithm_gave(store: Store,  # noqa: F811
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cases, "_now", lambda: NOW)
    store.write_layer("mining_sites", _frames(False)["mining_sites"].iloc[:N], source="t")
    expected = _after(store, _reference)
    got = _after(store, cases.sync_run)
    assert got[0] == expected[0]
    assert got[1] == expected[1]
    report = got[0][0]
    assert isinstance(report, cases.SyncReport)  # every kind of decision was met
    assert report.opened and report.reopened and report.kept and report.no_longer_flagged and report.flagged_again
    assert {c.site_id: c.admin_area for c in got[1] if c.subject_layer == "tailings"}["T1"] == "South"  # the area of S7
    assert any(c.status == "false_positive" and c.verdict for c in got[1])  # a verdict kept


def test_a_failed_sync_leaves_the_cases_as_they_were(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setattr(cases, "_now", lambda: NOW)
    store.write_layer("mining_sites", _frames(False)["mining_sites"].iloc[:N], source="t")
    _state(store, cases.sync_run)
    with stored.reading(store) as tables:
        before = tables.all(with_geometry=True)

    def fail(self: stored.CaseTables, violation_ids: Sequence[str], run_id: int) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(stored.CaseTables, "set_last_run", fail)  # after the cases were put
    frames = _frames(True)
    with pytest.raises(RuntimeError, match="disk is full"):
        cases.sync_run(store, _run(frames, range(50, 650), shift=True), frames, run_id=2)
    with stored.reading(store) as tables:
        assert tables.all(with_geometry=True) == before


@pytest.mark.parametrize("share", [1, 20, 39, 40])  # one id (the key's index), half (the table read), all but one, all
def test_set_last_run_sets_exactly_the_cases_named(store: Store, share: int) -> None:  # noqa: F811
    store.write_layer("mining_sites", _frames(False)["mining_sites"].iloc[:1], source="t")
    every = [Case(f"HG-WATER-100/{i:04d}", "HG-WATER-100", "2", "mining_sites", f"S{i}", None, None, "new", None, None,
                  None, True, None, None, None, None, None, None, None, NOW, NOW, 1, 5 if i == 7 else 1)
             for i in range(40)]
    with stored.writing(store) as tables:
        tables.put(every)
    named = [c.violation_id for c in every[::-1][:share]]
    with stored.writing(store) as tables:
        tables.set_last_run(named, 5)
    with stored.reading(store) as tables:
        after = tables.all()
    assert after == [replace(c, last_run=5) if c.violation_id in named else c for c in every]


def test_first_rows_finds_the_first_row_of_each_id_as_text() -> None:
    keys = pd.Series(["a", "b", "a", None, "7", "c"], dtype=object)
    assert cases._first_rows(keys, ["a", "c", "z", None, "b", "a"]).tolist() == [0, 5, -1, -1, 1, 0]
    assert cases._first_rows(pd.Series([5, 7, 7]), np.array(["7", 5], dtype=object)).tolist() == [1, 0]  # as text
    assert cases._first_rows(pd.Series([], dtype=object), ["a"]).tolist() == [-1]
