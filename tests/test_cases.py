"""Cases on both back ends (the embedded GeoPackage and PostGIS, a real server): one case per
violation from recorded runs, reopening, false positives and their fingerprint, "no longer
flagged", roles, field submissions (built by hand) and the command line."""
from __future__ import annotations

import getpass
import hashlib
import json
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import Geod

import cli
from geo.errors import InputError
from geo.rules import violation_id
from layers.io.submissions import Submission
from layers.store import cases as stored
from layers.store.base import Store
from layers.store.open import open_store
from services import audit, auth, cases
from services.auth import Identity
from services.hgwatch import HgWatch
from settings import Settings

ANALYST = Identity("ana", "analyst")
NORTH = Identity("kofi", "field", ("North",))
PARTNER = Identity("unep", "partner")
S1, S2 = (violation_id("HG-WATER-100", 2, "mining_sites", s) for s in ("S1", "S2"))
SECRET = "SECRET-informant-Ama-Boateng"


def _sites(s1: tuple[float, float] = (0.0005, 0.0), s2: tuple[float, float] = (0.0004, 0.002)) -> gpd.GeoDataFrame:
    """S1 (North) and S2 (South) use mercury near the river; S3 (North) is 1.1 km away."""
    return gpd.GeoDataFrame({"site_id": ["S1", "S2", "S3"], "name": ["Site 1", "Site 2", "Site 3"],
                             "uses_mercury": [True, True, True], "admin_area": ["North", "South", "North"]},
                            geometry=[shapely.Point(*s1), shapely.Point(*s2), shapely.Point(0.01, 0.0)], crs=4326)


def _water(shift: float = 0.0) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"water_id": ["W1"], "name": ["River"], "kind": ["river"]},
                            geometry=[shapely.LineString([(shift, -0.01), (shift, 0.01)])], crs=4326)


def _store(settings: Settings, sites: gpd.GeoDataFrame | None = None, water: gpd.GeoDataFrame | None = None) -> Store:
    store = open_store(settings.workspace, settings.database_url)
    items = [(lay, gdf) for lay, gdf in (("mining_sites", sites), ("water_bodies", water)) if gdf is not None]
    store.write_layers(items, source="test", replace_all=True)
    return store


def _run(settings: Settings) -> int:
    """A recorded run of HG-WATER-100, as `cli.py check` makes it (the service records it)."""
    outcome = HgWatch(settings).check(only=["HG-WATER-100"])
    assert outcome.run_id is not None
    return outcome.run_id


def _case(store: Store, vid: str) -> stored.Case:
    with stored.reading(store) as tables:
        case = tables.get(vid)
    assert case is not None
    return case


def _set(store: Store, vid: str, **values: object) -> None:
    """Put a case in a state directly (test set-up; the service's own moves are tested elsewhere)."""
    from dataclasses import replace

    with stored.writing(store) as tables:
        tables.put([replace(_case(store, vid), **values)])  # type: ignore[arg-type]


def test_one_case_per_violation_and_a_rerun_never_duplicates(settings: Settings) -> None:
    store = _store(settings, _sites(), _water())
    _run(settings)
    first = cases.list_cases(store, ANALYST)
    assert list(first.columns[:7]) == ["violation_id", "site_id", "rule_id", "status", "assignee", "updated_at", "visits"]
    assert list(first["violation_id"]) == sorted([S1, S2]) and set(first["status"]) == {"new"}
    row = first.set_index("site_id").loc["S1"]
    assert (row["site_name"], row["admin_area"], row["visits"]) == ("Site 1", "North", 0)
    assert row["distance_m"] == pytest.approx(55.66, abs=0.01) and (row["lon"], row["lat"]) == (0.0005, 0.0)
    run2 = _run(settings)
    again = cases.list_cases(store, ANALYST)
    assert list(again["violation_id"]) == list(first["violation_id"]) and set(again["status"]) == {"new"}
    runs = [r for r in audit.trail(store) if r.action == "rule run"]
    assert [json.loads(r.after)["cases"]["opened"] for r in runs] == [2, 0] and runs[-1].target == f"run {run2}"


def test_a_resolved_or_closed_case_flagged_again_reopens_with_the_run_as_reason(settings: Settings) -> None:
    store = _store(settings, _sites(), _water())
    _run(settings)
    _set(store, S1, status="resolved", assignee="kofi")
    _set(store, S2, status="closed")
    run = _run(settings)
    for vid in (S1, S2):
        case = _case(store, vid)
        assert (case.status, case.reason, case.assignee) == ("new", f"run {run} flags it again", None)
        assert any(r.action == "rule run" and vid in json.loads(r.after)["cases"]["reopened"]
                   for r in cases.history(store, ANALYST, vid))


def test_a_false_positive_stays_unless_its_site_water_or_rule_changed(settings: Settings) -> None:
    store = _store(settings, _sites(), _water())
    _run(settings)
    cases.set_status(store, ANALYST, S1, "false_positive", reason="a farm pond, not a mine")
    cases.set_status(store, ANALYST, S2, "false_positive", reason="river dry since 2019")
    cases.set_status(store, ANALYST, S2, "closed")
    _run(settings)  # nothing changed: both verdicts stay
    assert (_case(store, S1).status, _case(store, S2).status) == ("false_positive", "closed")
    _store(settings, sites=_sites(s1=(0.0006, 0.0)))  # S1's site moved 11 m, still within 100 m
    run = _run(settings)
    assert _case(store, S1).status == "new" and "site geometry changed" in str(_case(store, S1).reason)
    assert _case(store, S1).reason == f"run {run} flags it again and the site geometry changed since the verdict"
    assert _case(store, S2).status == "closed"  # its site and water did not change
    _store(settings, water=_water(shift=0.00002))  # the river moved 2 m
    _run(settings)
    assert _case(store, S2).status == "new" and "other feature geometry changed" in str(_case(store, S2).reason)


def test_a_violation_no_longer_flagged_is_marked_for_review_not_closed(settings: Settings) -> None:
    store = _store(settings, _sites(), _water())
    _run(settings)
    cases.assign(store, ANALYST, S2, "amina")
    _store(settings, sites=_sites(s2=(0.02, 0.002)))  # S2 moved 2.2 km from the river
    run = _run(settings)
    case = _case(store, S2)
    assert (case.status, case.flagged, case.assignee) == ("assigned", False, "amina")
    assert case.review == f"no longer flagged by run {run}: review it (not closed)"
    assert _case(store, S1).flagged
    listed = cases.list_cases(store, ANALYST).set_index("violation_id")
    assert not listed.loc[S2, "flagged"] and listed.loc[S2, "review"].startswith("no longer flagged")
    _store(settings, sites=_sites())
    _run(settings)
    case = _case(store, S2)
    assert (case.status, case.flagged, case.review) == ("assigned", True, None)


def test_roles_field_in_its_areas_analyst_closes_partner_counts_only(settings: Settings) -> None:
    store = _store(settings, _sites(), _water())
    _run(settings)
    assert list(cases.list_cases(store, NORTH)["violation_id"]) == [S1]
    with pytest.raises(InputError, match="no such case in your areas"):
        cases.set_status(store, NORTH, S2, "visited")
    with pytest.raises(InputError, match="no such case in your areas"):
        cases.history(store, NORTH, S2)
    with pytest.raises(InputError, match="may not assign"):
        cases.assign(store, NORTH, S1, "kofi")
    cases.set_status(store, NORTH, S1, "visited", note=SECRET)
    cases.set_status(store, NORTH, S1, "resolved")
    with pytest.raises(InputError, match="role 'field' may not move it from 'resolved' to 'closed'"):
        cases.set_status(store, NORTH, S1, "closed")
    assert cases.set_status(store, ANALYST, S1, "closed").status == "closed"
    cases.set_status(store, ANALYST, S2, "false_positive", reason=SECRET)
    for call in (lambda: cases.list_cases(store, PARTNER), lambda: cases.case_file(store, PARTNER, S1),
                 lambda: cases.history(store, PARTNER, S1)):
        with pytest.raises(InputError, match="sees case counts by status only"):
            call()
    counts = cases.case_counts(store, PARTNER)
    assert counts.to_dict("records") == [{"admin_area": "North", "status": "closed", "cases": 1},
                                         {"admin_area": "South", "status": "false_positive", "cases": 1}]
    assert SECRET not in counts.to_csv() and S1 not in counts.to_csv()
    assert audit.verify(store).ok  # the case rows written inside the case transactions chain on


def _submission(key: str, vid: str, outcome: str, row: int, *, reason: str | None = None, lat: float | None = 0.001,
                lon: float | None = 0.0005, photos: tuple[tuple[str, bytes], ...] = ()) -> Submission:
    from datetime import UTC, datetime

    return Submission(key=key, violation_id=vid, outcome=outcome, reason=reason,
                      visited_at=datetime(2026, 11, 20, 9, 30, tzinfo=UTC), lat=lat, lon=lon, accuracy_m=4.5,
                      notes="seen from the bank", submitter="kofi", photos=photos, source="export.csv", row=row)


def test_submissions_all_or_nothing_idempotent_and_bad_rows_reported(settings: Settings) -> None:
    store = _store(settings, _sites(), _water())
    _run(settings)
    photo = b"\xff\xd8\xff\xe0 not really a jpeg \xff\xd9"
    good = _submission("uuid:a", S1, "confirmed", 1, photos=(("p1.jpg", photo),))
    remedied = _submission("uuid:b", S2, "remediated", 2, lat=0.002, lon=0.0004)
    bad = [_submission("uuid:c", "HG-WATER-100/ffffffffffffffff", "confirmed", 3),
           _submission("uuid:d", S2, "false_positive", 4),
           _submission("uuid:e", S2, "burnt down", 5)]
    trail = len(audit.trail(store))
    report = cases.apply_submissions(store, ANALYST, [*bad, good, remedied])
    assert report.applied == [] and report.far_visits == []
    assert [(p.file, p.row, p.field, p.value) for p in report.problems] == [
        ("export.csv", 3, "violation_id", "HG-WATER-100/ffffffffffffffff"), ("export.csv", 4, "reason", None),
        ("export.csv", 5, "outcome", "burnt down")]
    assert "needs a reason" in report.problems[1].expected and "remediated" in report.problems[2].expected
    assert (_case(store, S1).status, _case(store, S2).status) == ("new", "new")
    assert len(audit.trail(store)) == trail and cases.list_cases(store, ANALYST)["visits"].sum() == 0

    report = cases.apply_submissions(store, ANALYST, [*bad, good, remedied], all_or_nothing=False,
                                     max_visit_distance_m=100)
    assert report.applied == [S1, S2] and len(report.problems) == 3
    assert (_case(store, S1).status, _case(store, S2).status) == ("confirmed", "resolved")
    expected = Geod(ellps="WGS84").inv(0.0005, 0.0, 0.0005, 0.001)[2]
    assert [(f.violation_id, f.row) for f in report.far_visits] == [(S1, 1)]
    assert report.far_visits[0].distance_m == pytest.approx(expected, abs=0.01) and "110.6 m" in str(report.far_visits[0])
    file = cases.case_file(store, ANALYST, S1)
    visit = file.visits[0]
    assert (visit.visited_at, visit.lat, visit.lon, visit.accuracy_m, visit.who, visit.submission_key) == (
        "2026-11-20T09:30:00+00:00", 0.001, 0.0005, 4.5, "kofi", "uuid:a")
    assert visit.distance_m == pytest.approx(expected, abs=0.01)
    assert [(p.name, p.sha256, p.taken_at) for p in file.photos] == [("p1.jpg", hashlib.sha256(photo).hexdigest(), None)]
    assert cases.photo_bytes(store, ANALYST, S1)[0].data == photo
    assert [c.text for c in file.comments] == ["seen from the bank"]
    assert [r.action for r in file.history] == ["rule run", "case visit"]  # the run that opened it, the visit
    assert cases.case_file(store, ANALYST, S2).visits[0].distance_m == 0.0

    trail = len(audit.trail(store))
    again = cases.apply_submissions(store, ANALYST, [good, remedied])
    assert (again.applied, again.skipped_duplicates, again.problems) == ([], ["uuid:a", "uuid:b"], [])
    assert len(audit.trail(store)) == trail and len(cases.case_file(store, ANALYST, S1).visits) == 1


def test_submissions_of_a_field_account_outside_its_areas_are_refused(settings: Settings) -> None:
    store = _store(settings, _sites(), _water())
    _run(settings)
    report = cases.apply_submissions(store, NORTH, [_submission("k1", S1, "not_accessible", 1, reason="flooded"),
                                                    _submission("k2", S2, "confirmed", 2)], all_or_nothing=False)
    assert report.applied == [S1] and [(p.row, p.field) for p in report.problems] == [(2, "violation_id")]
    assert _case(store, S1).status == "not_accessible" and _case(store, S1).reason == "flooded"
    with pytest.raises(InputError, match="sees case counts"):
        cases.apply_submissions(store, PARTNER, [])


def test_the_command_line(settings: Settings, location: str, capsys: pytest.CaptureFixture[str]) -> None:
    store = _store(settings, _sites(), _water())
    _run(settings)
    where = ["--database-url", location] if location.startswith("postgresql") else ["--workspace", location]
    assert cli.main([*where, "cases", "list", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "violation_id,site_id,rule_id,status,assignee,updated_at,visits" and len(lines) == 3
    assert cli.main([*where, "cases", "set", S1, "--status", "closed"]) == 2
    assert "cannot move from 'new' to 'closed'" in capsys.readouterr().err
    assert cli.main([*where, "cases", "assign", S1, "--to", "kofi", "--due", "2026-12-01"]) == 0
    assert cli.main([*where, "cases", "history", S1]) == 0
    assert "local: case assign" in capsys.readouterr().out  # no accounts: the local analyst
    auth.add_account(store, "kofi", "field", "a long password", ["North"])
    assert cli.main([*where, "cases", "assign", S2, "--to", "kofi"]) == 2  # S2 is in South
    assert "field account 'kofi' works areas North; this case's site is in 'South'" in capsys.readouterr().err
    assert cli.main([*where, "cases", "assign", S2, "--to", "nobody"]) == 2
    assert "--to 'nobody' is not an enabled account" in capsys.readouterr().err
    assert cli.main([*where, "cases", "assign", S1, "--to", "kofi", "--due", "1 Dec"]) == 2
    assert "--due '1 Dec' is not a date" in capsys.readouterr().err
    photo = Path(location).parent / "p.jpg" if not location.startswith("postgresql") else None
    if photo is not None:
        from tests.field_exports import jpeg
        photo.write_bytes(jpeg())  # a real JPEG: bytes that are none are refused since H2F (session 11)
    extra = ["--photo", str(photo)] if photo is not None else []
    assert cli.main([*where, "--as", "kofi", "cases", "set", S1, "--status", "visited", *extra]) == 0
    assert cli.main([*where, "--as", "kofi", "cases", "list", "--status", "visited"]) == 0
    out = capsys.readouterr().out
    assert S1 in out and S2 not in out
    assert cli.main([*where, "cases", "set", S1, "--status", "confirmed", "--note", "seen"]) == 0
    assert cli.main([*where, "cases", "history", S1]) == 0
    out = capsys.readouterr().out
    assert "kofi: case status" in out and f"cli:{getpass.getuser()}: case status" in out
    if photo is not None:
        assert hashlib.sha256(photo.read_bytes()).hexdigest() in out
    assert cli.main([*where, "cases", "set", S1, "--status", "visited", "--photo", "/nonexistent.jpg"]) == 2
    assert "--photo /nonexistent.jpg: cannot be read" in capsys.readouterr().err


def test_photos_keep_their_exif_time_and_position(settings: Settings) -> None:
    from datetime import datetime

    from tests.field_exports import jpeg

    store = _store(settings, _sites(), _water())
    _run(settings)
    shot = jpeg(lat=0.0011, lon=0.0005, when=datetime(2026, 11, 20, 9, 31, 5))
    cases.apply_submissions(store, ANALYST, [_submission("k1", S1, "confirmed", 1, photos=(("a.jpg", shot),))])
    added = cases.add_photo(store, NORTH, S1, "b.jpg", jpeg())
    photos = cases.case_file(store, ANALYST, S1).photos
    assert [(p.name, p.sha256) for p in photos] == [("a.jpg", hashlib.sha256(shot).hexdigest()), ("b.jpg", added.sha256)]
    assert photos[0].taken_at == "2026-11-20T09:31:05" and photos[0].lat == pytest.approx(0.0011, abs=1e-7)
    assert photos[0].lon == pytest.approx(0.0005, abs=1e-7) and (photos[1].lat, photos[1].taken_at) == (None, None)
    assert photos[0].visit_id is not None and photos[1].visit_id is None


def test_a_run_of_other_rules_leaves_the_cases_alone_and_history_shows_the_runs(settings: Settings) -> None:
    store = _store(settings, _sites(), _water())
    _run(settings)
    HgWatch(settings).check(only=["WORST-PRACTICE-WHOLE-ORE"])  # HG-WATER-100 did not run: not "no longer flagged"
    assert _case(store, S1).flagged and _case(store, S2).flagged
    _store(settings, sites=_sites(s2=(0.02, 0.002)))
    run = _run(settings)
    rows = cases.history(store, ANALYST, S2)
    assert [(r.action, r.target) for r in rows] == [("rule run", "run 1"), ("rule run", f"run {run}")]
    assert json.loads(rows[0].after)["cases"]["opened"] == 2
    assert json.loads(rows[1].after)["cases"]["no_longer_flagged"] == [S2]


def test_the_database_roles_of_partners_and_field_staff_read_no_case(settings: Settings, location: str) -> None:
    if not location.startswith("postgresql"):
        pytest.skip("database roles exist on PostGIS only")
    import psycopg

    store = _store(settings, _sites(), _water())
    _run(settings)
    cases.add_comment(store, ANALYST, S1, SECRET)
    for role in ("hgw_partner", "hgw_field"):
        for table in stored.TABLES:
            with psycopg.connect(location, autocommit=True) as con:
                con.execute(f"SET ROLE {role}")
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    con.execute(f"SELECT * FROM {table}")


def test_a_tailings_case_takes_the_area_of_the_site_it_names(settings: Settings) -> None:
    """Tailings carry no admin_area of their own: their case gets the area of the site in ``site_id``,
    so the field coordinator of that area sees it (before: no area, so no field account did)."""
    store = _store(settings, _sites(), _water())
    tailings = gpd.GeoDataFrame({"tailings_id": ["T1", "T2"], "site_id": ["S2", "nowhere"]},
                                geometry=[shapely.Point(0.0003, 0.0), shapely.Point(-0.0003, 0.0)], crs=4326)
    store.write_layer("tailings", tailings, source="test")
    outcome = HgWatch(settings).check(only=["TAILINGS-WATER-100"])
    assert outcome.run_id is not None
    listed = cases.list_cases(store, ANALYST).set_index("site_id")
    assert listed.loc["T1", "admin_area"] == "South"  # S2 lies in South
    assert listed.loc["T2", "admin_area"] is None or pd.isna(listed.loc["T2", "admin_area"])  # names no stored site


def test_a_rerun_sets_the_last_run_of_each_case_flagged_again_and_changes_nothing_else(settings: Settings) -> None:
    store = _store(settings, _sites(), _water())
    run1 = _run(settings)
    first = {vid: _case(store, vid) for vid in (S1, S2)}
    assert {(c.first_run, c.last_run) for c in first.values()} == {(run1, run1)}
    run2 = _run(settings)  # nothing changed: only the last run moves
    for vid, case in first.items():
        assert _case(store, vid) == replace(case, last_run=run2)
    _store(settings, _sites(s1=(0.0007, 0.0)))  # S1 moved 22 m further from the river
    run3 = _run(settings)
    moved, still = _case(store, S1), _case(store, S2)
    assert moved.last_run == run3 and moved.distance_m == pytest.approx(77.92, abs=0.01) and moved.lon == 0.0007
    assert moved.first_run == run1 and moved.updated_at == first[S1].updated_at and moved.status == "new"
    assert still == replace(first[S2], last_run=run3)
