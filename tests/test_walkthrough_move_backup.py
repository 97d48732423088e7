"""An agency's PostGIS backup restored on a new server (walkthrough HA, session 12).

The agency moved its GeoPackage into PostGIS (`cli.py db upgrade --from-workspace`), backs the
database up with `pg_dump -Fc`, and after losing the machine restores the dump with `pg_restore`
on a NEW PostgreSQL server. The roles `hgw_partner` and `hgw_field` belong to the old cluster, not
to the dump, so the restore cannot grant them anything (pg_restore reports 38 such errors on the
demo); `cli.py db upgrade` is the repair: it makes the roles again, with their grants and row
policies. Until session 12 it failed ("role hgw_field does not exist") and a partner's export
ended in a traceback. Both servers are real (tests/postgis.py); nothing is mocked.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from layers.store.workspace import DEFAULT_PATH
from tests.conftest import ROOT
from tests.postgis import PG_BIN, Server, running_server
from tests.postgis_agency import new_database


def _cli(url: str, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), "--database-url", url, *argv], cwd=ROOT,
                          input=stdin, capture_output=True, text=True, timeout=600)


def _tool(name: str, server: Server, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(PG_BIN / name), "-h", server.host, "-p", str(server.port), "-U", server.user, *argv],
                          capture_output=True, text=True, timeout=600)


def test_a_pg_dump_restored_on_a_new_server_works_after_db_upgrade(postgis_server: Server, tmp_path: Path) -> None:
    source = new_database(postgis_server, "ha_backup_source")
    ws = tmp_path / "agency.gpkg"
    shutil.copyfile(DEFAULT_PATH, ws)
    assert _cli(source, "db", "upgrade", "--from-workspace", str(ws)).returncode == 0
    assert _cli(source, "users", "add", "pat", "--role", "partner", "--password-stdin",
                stdin="correct horse battery\n").returncode == 0
    assert _cli(source, "users", "add", "kofi", "--role", "field", "--areas", "DEMO North", "--password-stdin",
                stdin="correct horse battery\n").returncode == 0
    dump = tmp_path / "agency.dump"
    done = _tool("pg_dump", postgis_server, "-Fc", "-f", str(dump), "ha_backup_source")
    assert done.returncode == 0, done.stderr
    with running_server() as fresh:  # another cluster: no hgw_partner, no hgw_field
        target = new_database(fresh, "agency")
        restored = _tool("pg_restore", fresh, "-d", "agency", str(dump))
        assert 'role "hgw_partner" does not exist' in restored.stderr  # what the agency sees
        upgraded = _cli(target, "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        assert "already at revision" in upgraded.stdout
        out = tmp_path / "partner.geojson"
        exported = _cli(target, "--as", "pat", "export", "mining_sites", "--out", str(out))
        assert exported.returncode == 0, exported.stderr
        features = json.loads(out.read_text())["features"]
        assert len(features) == 150
        assert not {"informant_name", "informant_contact", "inspector_name"} & set(features[0]["properties"])
        assert {"site_id", "status", "uses_mercury"} <= set(features[0]["properties"])
        out = tmp_path / "field.geojson"  # the row policy again: restricted values in kofi's area only
        exported = _cli(target, "--as", "kofi", "export", "mining_sites", "--out", str(out), "--profile", "internal")
        assert exported.returncode == 0, exported.stderr
        named = {(f["properties"]["admin_area"], f["properties"]["informant_name"] is not None)
                 for f in json.loads(out.read_text())["features"]}
        assert named == {("DEMO North", True), ("DEMO Centre", False), ("DEMO South", False)}
        verified = _cli(target, "audit", "verify")
        assert verified.returncode == 0 and "the chain is whole" in verified.stdout, verified.stdout
        from layers.store.pgschema import forget_engine
        forget_engine(target)


@pytest.fixture(autouse=True)
def _drop_source(postgis_server: Server) -> object:
    yield None
    from layers.store.pgschema import forget_engine
    from tests.postgis import url_of
    forget_engine(url_of(postgis_server.host, postgis_server.port, postgis_server.user, "ha_backup_source"))
    _tool("dropdb", postgis_server, "--if-exists", "ha_backup_source")
    return None


def test_db_backup_copies_a_workspace_in_use_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A plain `cp` of a GeoPackage being written copied half a commit 7 times in 474 (walkthrough
    HA); `db backup` copies one commit's state, checks it and then puts it in place."""
    import threading

    import cli
    from layers.store import audit as stored_audit
    from layers.store.workspace import Workspace
    from services import audit, auth

    ws = tmp_path / "agency.gpkg"
    shutil.copyfile(DEFAULT_PATH, ws)
    auth.add_account(Workspace(ws), "ada", "admin", "correct horse battery")
    auth.add_account(Workspace(ws), "pat", "partner", "correct horse battery")
    done = threading.Event()

    def writer() -> None:
        while not done.is_set():
            audit.record(Workspace(ws), "note", "x" * 2000, after={"pad": "y" * 5000})

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for i in range(25):
            out = tmp_path / f"copy{i}.gpkg"
            assert cli.main(["--workspace", str(ws), "db", "backup", "--out", str(out)]) == 0
            copy = Workspace(out)
            assert audit.verify(copy).ok
            assert len(copy.layers()) == 13 and {a.name for a in auth.accounts_for(copy).all()} == {"ada", "pat"}
            assert f"audit trail of {len(stored_audit.rows(copy)):,} rows whole" in capsys.readouterr().out
    finally:
        done.set()
        thread.join()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]  # no half copy left


def test_db_backup_refuses_what_it_cannot_do(pg_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import cli
    from layers.store.workspace import Workspace
    from services import auth

    ws = tmp_path / "agency.gpkg"
    shutil.copyfile(DEFAULT_PATH, ws)
    auth.add_account(Workspace(ws), "pat", "partner", "correct horse battery")
    before = ws.read_bytes()
    assert cli.main(["--database-url", pg_url, "db", "backup", "--out", str(tmp_path / "b.gpkg")]) == 2
    assert "back it up with `pg_dump -Fc`, restore with `pg_restore`, then run `db upgrade`" in capsys.readouterr().err
    assert cli.main(["--workspace", str(ws), "db", "backup", "--out", str(ws)]) == 2
    assert "is the workspace itself" in capsys.readouterr().err
    assert cli.main(["--workspace", str(ws), "--as", "pat", "db", "backup", "--out", str(tmp_path / "b.gpkg")]) == 2
    assert "role 'partner' may not back the store up" in capsys.readouterr().err
    assert cli.main(["--workspace", str(ws), "db", "backup", "--out", str(tmp_path / "b.csv")]) == 2
    assert "expected a file name ending in .gpkg" in capsys.readouterr().err
    assert ws.read_bytes() == before and not (tmp_path / "b.gpkg").exists()


def test_db_backup_of_a_workspace_qgis_holds_in_wal_keeps_its_saved_edits(tmp_path: Path) -> None:
    """QGIS switches a GeoPackage to WAL while it edits; a save sits in the -wal until then. The
    copy holds the saved edit and is an ordinary rollback-journal file (no -wal made beside it)."""
    import sqlite3
    from contextlib import closing

    import cli
    from layers.store.workspace import Workspace
    from services import auth

    ws = tmp_path / "agency.gpkg"
    shutil.copyfile(DEFAULT_PATH, ws)
    auth.add_account(Workspace(ws), "kofi", "field", "correct horse battery", ["DEMO North"])
    with closing(sqlite3.connect(ws)) as qgis:  # stays open, as QGIS does while it edits
        assert qgis.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)
        with qgis:
            qgis.execute("""UPDATE hgw_accounts SET areas = '["DEMO South"]' WHERE name = 'kofi'""")
        assert (tmp_path / "agency.gpkg-wal").stat().st_size > 0
        out = tmp_path / "copy.gpkg"
        assert cli.main(["--workspace", str(ws), "db", "backup", "--out", str(out)]) == 0
    with closing(sqlite3.connect(out)) as con:
        assert con.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert con.execute("SELECT areas FROM hgw_accounts WHERE name = 'kofi'").fetchone() == ('["DEMO South"]',)
    assert not (tmp_path / "copy.gpkg-wal").exists()
