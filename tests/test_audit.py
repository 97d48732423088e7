"""The audit trail on both back ends (the embedded GeoPackage and PostGIS, a real server): the hash
chain detects an edited and a deleted row (made with direct SQL); an import, a rule run, a share
mark and an export each leave one row with the right who, what, before and after; on PostGIS an
edit made with plain SQL from outside the app is recorded by the database's trigger."""
from __future__ import annotations

import contextlib
import getpass
import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import psycopg
import pytest

import cli
from layers.store.audit import AuditRow, row_hash
from layers.store.base import Store
from layers.store.open import open_store
from layers.store.workspace import Workspace
from services import audit, auth
from services.hgwatch import HgWatch, Query
from services.view import Filters
from settings import DEMO_WORKSPACE, Settings

WHO = f"cli:{getpass.getuser()}"


@pytest.fixture
def store(location: str, sites: gpd.GeoDataFrame) -> Store:
    """A store holding the three hand-made sites (written by the store itself: no audit row)."""
    opened = open_store(location)
    opened.write_layer("mining_sites", sites, source="sites.geojson")
    return opened


@contextlib.contextmanager
def sql(location: str) -> Iterator[Any]:
    """A plain SQL connection to the store, committed at the end: what psql or sqlite3 would do."""
    if location.startswith("postgresql"):
        with psycopg.connect(location) as pg:
            yield pg
    else:
        with contextlib.closing(sqlite3.connect(location)) as lite, lite:
            yield lite


def _flags(location: str) -> list[str]:
    return ["--database-url" if location.startswith("postgresql") else "--workspace", location]


def _three(store: Store) -> list[AuditRow]:
    return [audit.record(store, "settings change", f"file {i}", before={"v": i}, after={"v": i + 1}, who="ana")
            for i in range(3)]


def test_the_store_write_alone_records_nothing_and_three_records_chain(store: Store) -> None:
    assert audit.trail(store) == []  # the app's own layer write fired no trigger
    written = _three(store)
    rows = audit.trail(store)
    assert rows == written
    assert [r.seq for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == "0" * 64
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    assert [json.loads(r.after) for r in rows] == [{"v": 1}, {"v": 2}, {"v": 3}]
    assert audit.verify(store) == audit.Verdict(3)


def test_the_chain_detects_an_edited_row(store: Store, location: str) -> None:
    _three(store)
    with sql(location) as con:
        con.execute("UPDATE hgw_audit SET who = 'mallory' WHERE seq = 2")
    verdict = audit.verify(store)
    assert (verdict.ok, verdict.broken_seq) == (False, 2)
    assert verdict.reason == "row 2: its content does not match its hash (the row was edited)"


def test_the_chain_detects_a_row_edited_with_its_hash_recomputed(store: Store, location: str) -> None:
    rows = _three(store)
    forged = AuditRow(**{**rows[1].__dict__, "who": "mallory"})
    with sql(location) as con:
        con.execute(f"UPDATE hgw_audit SET who = 'mallory', hash = '{row_hash(forged.content())}'"
                    " WHERE seq = 2")
    verdict = audit.verify(store)
    assert verdict.broken_seq == 3
    assert "prev_hash does not match" in verdict.reason


def test_the_chain_detects_a_deleted_row(store: Store, location: str) -> None:
    _three(store)
    with sql(location) as con:
        con.execute("DELETE FROM hgw_audit WHERE seq = 2")
    verdict = audit.verify(store)
    assert verdict.broken_seq == 3
    assert verdict.reason == "row 3: expected row 2 here; row 2 was deleted"


def test_audit_verify_exits_1_naming_the_first_broken_row(store: Store, location: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    _three(store)
    assert cli.main([*_flags(location), "audit", "verify"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("3 rows, the chain is whole")
    with sql(location) as con:
        con.execute("DELETE FROM hgw_audit WHERE seq = 1")
    assert cli.main([*_flags(location), "audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "BROKEN at row 2: expected row 1 here; row 1 was deleted" in err
    assert "Traceback" not in err


def _rows_by(location: str, action: str) -> list[AuditRow]:
    return [r for r in audit.trail(open_store(location)) if r.action == action]


def test_import_run_share_export_each_leave_one_row(location: str, sites: gpd.GeoDataFrame, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "mining_sites.geojson"
    sites.drop(columns=["informant_name"]).to_file(src)
    flags = _flags(location)
    assert cli.main([*flags, "import", str(src), "--licence", "CC-BY-4.0"]) == 0
    assert cli.main([*flags, "import", str(src), "--licence", "CC0"]) == 0
    imports = _rows_by(location, "import")
    assert [(r.who, r.target) for r in imports] == [(WHO, "mining_sites")] * 2
    assert json.loads(imports[0].before) is None
    assert json.loads(imports[0].after) == {"rows": 3, "source": src.name, "licence": "CC-BY-4.0", "append": False}
    assert json.loads(imports[1].before) == {"rows": 3, "source": src.name, "licence": "CC-BY-4.0"}
    assert json.loads(imports[1].after)["licence"] == "CC0"

    assert cli.main([*flags, "check"]) == 0
    (run,) = _rows_by(location, "rule run")
    after = json.loads(run.after)
    assert (run.who, run.target, json.loads(run.before)) == (WHO, f"run {after['run_id']}", None)
    assert after["counts"] == open_store(location).runs(1)[0]["counts"]

    assert cli.main([*flags, "share", "mining_sites", "local_code"]) == 0
    (share,) = _rows_by(location, "share")
    assert (share.who, share.target) == (WHO, "mining_sites")
    assert (json.loads(share.before), json.loads(share.after)) == ({"shareable": []}, {"shareable": ["local_code"]})

    out = tmp_path / "out.csv"
    assert cli.main([*flags, "export", "mining_sites", "--out", str(out), "--profile", "public"]) == 0
    (export,) = _rows_by(location, "export")
    assert (export.who, export.target, json.loads(export.before)) == (WHO, "mining_sites", None)
    assert json.loads(export.after) == {"profile": "public", "rows": 3, "file": str(out), "filters": [], "bbox": None}
    assert audit.verify(open_store(location)).ok
    capsys.readouterr()
    assert cli.main([*flags, "audit", "list", "--user", WHO]) == 0
    listed = capsys.readouterr().out
    assert listed.count(f" {WHO}: ") == 5 and "share (mining_sites)" in listed
    assert cli.main([*flags, "audit", "list", "--user", "nobody"]) == 0
    assert capsys.readouterr().out.strip() == "no audit rows"


def test_the_service_records_imports_and_downloads_by_its_identity_or_actor(location: str, sites: gpd.GeoDataFrame) -> None:
    on_pg = location.startswith("postgresql")
    svc = HgWatch(Settings.from_env({}, database_url=location) if on_pg else Settings.from_env({}, workspace=location))
    from layers.io.readers import Loaded

    item = Loaded(layer="mining_sites", gdf=sites, source="s.geojson", warnings=[])
    svc.add_layers([item], source="s.geojson")
    with audit.acting_as("maria"):
        svc.layer_file(Filters(), "mining_sites", "csv", "partner")
        svc.violations_file(Query(rule_ids=()), "geojson", "public")
    assert audit.actor() == "local"
    rows = audit.trail(svc.store)
    assert [(r.who, r.action, r.target) for r in rows] == [
        ("local", "import", "mining_sites"), ("maria", "download", "mining_sites"),
        ("maria", "download", "violations")]
    assert json.loads(rows[1].after) == {"format": "csv", "profile": "partner", "rows": 3}
    assert json.loads(rows[2].after) == {"format": "geojson", "profile": "public", "rows": 0}
    as_kim = HgWatch(svc.settings, auth.Identity("kim", "field"))
    as_kim.layer_file(Filters(), "mining_sites", "csv", "partner")
    assert (audit.trail(svc.store)[-1].who, audit.actor()) == ("kim", "local")


def test_an_outside_sql_edit_is_recorded_by_the_trigger(pg_url: str, sites: gpd.GeoDataFrame) -> None:
    store = open_store(pg_url)
    store.write_layer("mining_sites", sites, source="sites.geojson")
    with psycopg.connect(pg_url) as con:
        con.execute("UPDATE mining_sites SET status = 'closed' WHERE site_id = 'S2'")
        con.execute("DELETE FROM mining_sites WHERE site_id = 'S3'")
        user = con.execute("SELECT session_user").fetchone()[0]  # type: ignore[index]
    rows = audit.trail(store)
    assert [(r.who, r.action, r.target) for r in rows] == [
        (f"db:{user}", "sql update", "mining_sites"), (f"db:{user}", "sql delete", "mining_sites")]
    (old,), (new,) = json.loads(rows[0].before), json.loads(rows[0].after)
    assert (old["site_id"], old["status"], new["status"]) == ("S2", "inactive", "closed")
    assert json.loads(rows[1].after) is None
    assert [r["site_id"] for r in json.loads(rows[1].before)] == ["S3"]
    assert audit.verify(store).ok
    assert audit.trail(store, user="local") == []


def test_an_outside_editor_who_is_not_the_owner_is_recorded_too(pg_url: str, sites: gpd.GeoDataFrame) -> None:
    """A QGIS user given UPDATE on a layer table (not the schema owner) can edit, and the trail
    names that user: the audit functions run with their owner's rights (v0008), not the editor's,
    and the editor still cannot read or write the trail itself."""
    store = open_store(pg_url)
    store.write_layer("mining_sites", sites, source="sites.geojson")
    editor = f"qgis_{uuid.uuid4().hex[:8]}"  # roles are cluster-wide: one per test
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f"CREATE ROLE {editor} LOGIN")
        con.execute(f"GRANT SELECT, UPDATE ON mining_sites TO {editor}")
    scheme, rest = pg_url.split("//", 1)
    editor_url = f"{scheme}//{editor}@{rest.split('@', 1)[1]}"
    try:
        with psycopg.connect(editor_url) as con:
            con.execute("UPDATE mining_sites SET status = 'closed' WHERE site_id = 'S2'")
        with psycopg.connect(editor_url) as con, pytest.raises(psycopg.errors.InsufficientPrivilege):
            con.execute("DELETE FROM hgw_audit")
        rows = audit.trail(store)
        assert [(r.who, r.action, r.target) for r in rows] == [(f"db:{editor}", "sql update", "mining_sites")]
        assert audit.verify(store).ok
    finally:
        with psycopg.connect(pg_url, autocommit=True) as con:
            con.execute(f"REVOKE ALL ON mining_sites FROM {editor}")
            con.execute(f"DROP ROLE {editor}")


def test_an_outside_sql_edit_of_a_case_is_recorded(pg_url: str) -> None:
    store = open_store(pg_url)
    store.write_layer("mining_sites", gpd.GeoDataFrame({"site_id": ["S1"]}, geometry=gpd.points_from_xy([0], [0]),
                                                       crs=4326), source="s.geojson")
    with psycopg.connect(pg_url) as con:
        columns = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public'"
            " AND table_name = 'hgw_cases' AND is_nullable = 'NO' AND column_default IS NULL")]
        assert "violation_id" in columns and "status" in columns
        values = {c: "2026-01-01T00:00:00+00:00" if c.endswith("_at") else "x" for c in columns}
        values |= {"violation_id": "R/1", "status": "new"}
        con.execute(f"INSERT INTO hgw_cases ({', '.join(values)}) VALUES ({', '.join(['%s'] * len(values))})",
                    list(values.values()))
        con.execute("UPDATE hgw_cases SET status = 'triaged' WHERE violation_id = 'R/1'")
    rows = audit.trail(store)
    assert [(r.action, r.target) for r in rows] == [("sql insert", "hgw_cases"), ("sql update", "hgw_cases")]
    assert json.loads(rows[1].after)[0]["status"] == "triaged"
    assert audit.verify(store).ok


def test_outputs_of_the_shipped_demo_are_not_recorded_in_it(tmp_path: Path) -> None:
    demo = Workspace(DEMO_WORKSPACE)
    before = DEMO_WORKSPACE.read_bytes()
    assert cli.main(["--workspace", str(DEMO_WORKSPACE), "export", "water_bodies", "--out",
                     str(tmp_path / "w.csv"), "--profile", "public"]) == 0
    assert cli.main(["--workspace", str(DEMO_WORKSPACE), "report", "--out", str(tmp_path / "r.html")]) == 0
    assert DEMO_WORKSPACE.read_bytes() == before
    assert audit.trail(demo) == []
