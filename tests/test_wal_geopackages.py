"""GeoPackages another program left in WAL mode, without QGIS (``tests/test_qgis.py`` does it with
QGIS itself): the other program is a second process that switches the file to WAL and commits
there with SQLite (``PRAGMA wal_autocheckpoint = 0``: its committed pages stay in the ``-wal``), as
QGIS does while a layer is in an edit session, then stays (a live edit session) or is killed (a
QGIS that died mid-session).

- An import reads the edits saved in a ``-wal`` beside the file (SQLite/GDAL immutable mode alone
  ignores it), writes nothing beside the user's file, refuses naming both files when they keep
  changing while copied, and refuses an SQL view created in the ``-wal`` as it does any view. An
  upload (its bytes alone) whose header says WAL is imported with a warning that saved edits may be
  missing.
- HgWatch's next write puts a workspace left in WAL back in rollback mode, with every page of the
  ``-wal`` kept, and the change stamp is the header counter again; while the other program holds
  the file, the write goes on in WAL and loses nothing.
"""
from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from geo.errors import InputError
from layers.io.readers import load_layer
from layers.store.workspace import Workspace
from services import audit
from services.hgwatch import HgWatch
from services.imports import load_upload
from settings import Settings
from tests.api_kit import SECRET, fill, planted, run_cli
from tests.conftest import ROOT

_PROGRAM = """
import sqlite3, sys
from layers.store.gpkg import register_functions
con = sqlite3.connect(sys.argv[1], isolation_level=None)
register_functions(con)
con.execute("PRAGMA wal_autocheckpoint = 0")
print(con.execute("PRAGMA journal_mode = WAL").fetchone()[0], flush=True)
for line in sys.stdin:
    try:
        print(repr(con.execute(line).fetchall()), flush=True)
    except sqlite3.Error as exc:
        print("error: " + str(exc), flush=True)
"""
VERIFIED = "UPDATE mining_sites SET name = 'Alpha (verified)' WHERE site_id = 'S1'"


class Program:
    """Another program with GeoPackage ``path`` open in WAL mode, in its own process (as QGIS in an
    edit session): ``run`` commits a statement there, ``kill`` ends it as a crash does."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _PROGRAM, str(path)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout
        assert self.stdout.readline().strip() == "wal"

    def run(self, sql: str) -> str:
        self.stdin.write(sql + "\n")
        self.stdin.flush()
        answer = self.stdout.readline().strip()
        assert not answer.startswith("error"), (sql, answer)
        return answer

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


@contextlib.contextmanager
def program(path: Path, *statements: str) -> Iterator[Program]:
    """``Program`` on ``path`` having committed ``statements``; killed on the way out."""
    other = Program(path)
    try:
        for sql in statements:
            other.run(sql)
        yield other
    finally:
        if other.proc.poll() is None:
            other.kill()


def journal(path: Path) -> tuple[int, bool, bool]:
    """The file's journal mode as its header says (1: rollback, 2: WAL) and whether -wal, -shm exist."""
    with open(path, "rb") as fh:
        head = fh.read(20)
    return head[18], path.with_name(path.name + "-wal").exists(), path.with_name(path.name + "-shm").exists()


def main_file_only(path: Path, sql: str) -> list[tuple[Any, ...]]:
    """``sql`` on the file alone, as SQLite reads it when told to ignore any -wal beside it."""
    with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True)) as con:
        return con.execute(sql).fetchall()


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def names(ws: Workspace) -> dict[str, str]:
    frame = ws.read("mining_sites")
    return dict(zip(frame["site_id"], frame["name"]))


@pytest.fixture
def sites(tmp_path: Path) -> Path:
    """A GIS officer's sites.gpkg (mining sites and tailings) in a folder of its own."""
    folder = tmp_path / "officer"
    folder.mkdir()
    path = folder / "sites.gpkg"
    layers = planted()
    for name in ("mining_sites", "tailings"):
        frame = layers[name]
        frame.drop(columns=[c for c in frame.columns if SECRET in str(frame[c].iloc[0])]).to_file(
            path, layer=name, driver="GPKG")
    return path


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    made = Workspace(tmp_path / "ws.gpkg")
    fill(made)
    return made


# ---------------------------------------------------------------- importing a user's file
@pytest.mark.parametrize("other_program", ["editing", "died"])
def test_an_import_stores_the_edits_saved_in_the_wal_and_writes_nothing_beside_the_file(
        sites: Path, ws: Workspace, other_program: str) -> None:
    with program(sites, VERIFIED, "DELETE FROM mining_sites WHERE site_id = 'S2'") as other:
        if other_program == "died":
            other.kill()
        assert journal(sites) == (2, True, True)
        assert main_file_only(sites, "SELECT name FROM mining_sites WHERE site_id = 'S1'") == [("Alpha",)]
        before = folder_bytes(sites.parent)
        code, _, err = run_cli(str(ws.path), "import", str(sites), "--layer", "mining_sites")
        assert code == 0, err
        assert folder_bytes(sites.parent) == before  # no -shm written or made, the -wal untouched
    assert names(ws) == {"S1": "Alpha (verified)", "S3/odd id": "${HOME} Gamma"}


def test_a_chunked_check_takes_the_edits_saved_in_the_wal_and_writes_nothing_beside_the_file(
        tmp_path: Path, ws: Workspace) -> None:
    """``check --chunk-rows`` reads a GeoPackage of one layer in pages (``layers.io.chunked``), opened
    as a whole read opens it."""
    sites, water, out = tmp_path / "officer" / "sites.gpkg", tmp_path / "water.geojson", tmp_path / "v.csv"
    sites.parent.mkdir()
    layers = planted()
    frame = layers["mining_sites"]
    frame.drop(columns=[c for c in frame.columns if SECRET in str(frame[c].iloc[0])]).to_file(
        sites, layer="mining_sites", driver="GPKG")
    layers["water_bodies"].drop(columns="local_code").to_file(water)
    moved = ("UPDATE mining_sites SET geom = (SELECT geom FROM mining_sites WHERE site_id = 'S1')"
             " WHERE site_id = 'S3/odd id'")
    with program(sites, moved) as other:  # S3 (uses mercury, 2 km away) moved onto S1, 55 m from the river
        other.kill()
        before = folder_bytes(sites.parent)
        code, _, err = run_cli(str(ws.path), "check", "--layer", f"mining_sites={sites}", "--layer",
                               f"water_bodies={water}", "--only", "HG-WATER-100", "--out", str(out), "--no-record",
                               "--chunk-rows", "1")
        assert code == 0, err
        assert folder_bytes(sites.parent) == before  # no -shm written or made, the -wal untouched
    flagged = out.read_text()
    assert ",S1,S1," in flagged and ",S3/odd id,S3/odd id," in flagged


def test_a_symlinked_file_is_read_with_the_wal_beside_its_target(sites: Path, tmp_path: Path) -> None:
    link = tmp_path / "link.gpkg"
    link.symlink_to(sites)
    with program(sites, VERIFIED):
        loaded = load_layer(link, "mining_sites")
    assert dict(zip(loaded.gdf["site_id"], loaded.gdf["name"]))["S1"] == "Alpha (verified)"


def test_a_file_whose_wal_keeps_changing_while_copied_is_refused_naming_both(
        sites: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = shutil.copyfile
    with program(sites, VERIFIED) as other:
        def copy_while_saving(src: Any, dst: Any, **kw: Any) -> Any:
            done = copy(src, dst, **kw)
            other.run("UPDATE tailings SET hg_mg_per_kg = hg_mg_per_kg + 1")  # QGIS saves meanwhile
            return done

        monkeypatch.setattr(shutil, "copyfile", copy_while_saving)
        with pytest.raises(InputError) as refused:
            load_layer(sites, "mining_sites")
    assert "sites.gpkg: cannot read the file: a program kept saving into it and its sites.gpkg-wal" in str(refused.value)


def test_a_file_saved_into_during_one_copy_is_read_whole_from_the_next(
        sites: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = shutil.copyfile
    with program(sites, VERIFIED) as other:
        saves = ["UPDATE mining_sites SET name = 'Alpha (checked)' WHERE site_id = 'S1'"]

        def copy_while_saving(src: Any, dst: Any, **kw: Any) -> Any:
            done = copy(src, dst, **kw)
            if saves and str(src).endswith("-wal"):
                other.run(saves.pop())  # once: the next copy is of both files as they are then
            return done

        monkeypatch.setattr(shutil, "copyfile", copy_while_saving)
        loaded = load_layer(sites, "mining_sites")
    assert dict(zip(loaded.gdf["site_id"], loaded.gdf["name"]))["S1"] == "Alpha (checked)"


def test_a_view_created_in_the_wal_is_refused_as_a_view(sites: Path) -> None:
    view = ["CREATE VIEW sites_view AS SELECT * FROM mining_sites",
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
            "VALUES ('sites_view', 'features', 'sites_view', 4326)",
            "INSERT INTO gpkg_geometry_columns SELECT 'sites_view', column_name, geometry_type_name, srs_id, z, m "
            "FROM gpkg_geometry_columns WHERE table_name = 'mining_sites'"]
    with program(sites, *view), pytest.raises(InputError) as refused:
        load_layer(sites, "mining_sites", source_layer="sites_view")
    assert "layer 'sites_view' is an SQL view, not a table" in str(refused.value)


def test_an_upload_in_wal_mode_warns_that_saved_edits_may_be_missing(sites: Path) -> None:
    plain = load_upload("sites.gpkg", sites.read_bytes(), "mining_sites")
    assert not [w for w in plain.warnings if w.kind == "wal"]
    with program(sites, VERIFIED) as other:
        other.kill()
    loaded = load_upload("sites.gpkg", sites.read_bytes(), "mining_sites")  # the bytes alone: no -wal
    (warning,) = [w for w in loaded.warnings if w.kind == "wal"]
    assert warning.severity == "warning" and warning.file == "sites.gpkg"
    assert "edits saved in its sites.gpkg-wal file do not come with an upload and may be missing" in warning.expected
    assert dict(zip(loaded.gdf["site_id"], loaded.gdf["name"]))["S1"] == "Alpha"  # what the bytes hold


# ---------------------------------------------------------------- the workspace
@pytest.mark.parametrize("write", ["check", "sign-in"])
def test_a_workspace_left_in_wal_is_back_in_rollback_mode_after_a_write_with_nothing_lost(
        ws: Workspace, write: str) -> None:
    with program(ws.path, VERIFIED, "DELETE FROM tailings") as other:
        other.kill()
    assert journal(ws.path) == (2, True, True)
    if write == "check":
        code, _, err = run_cli(str(ws.path), "check")
        assert code == 0, err
    else:
        audit.record_session(ws, "sign in", "ana", via="password")  # bookkeeping only
    assert journal(ws.path) == (1, False, False)
    assert main_file_only(ws.path, "SELECT name FROM mining_sites WHERE site_id = 'S1'") == [("Alpha (verified)",)]
    assert main_file_only(ws.path, "SELECT count(*) FROM tailings") == [(0,)]
    assert names(ws)["S1"] == "Alpha (verified)"


def test_the_change_stamp_is_the_counter_again_and_bookkeeping_keeps_it(ws: Workspace) -> None:
    with program(ws.path, VERIFIED) as other:
        other.kill()
    in_wal = ws.change_stamp()
    assert len(in_wal) == 6  # the size+mtime fallback: it moves on every write
    code, _, err = run_cli(str(ws.path), "check")
    assert code == 0, err
    stamp = ws.change_stamp()
    assert len(stamp) == 3  # (device, inode, counter less bookkeeping)
    audit.record_session(ws, "sign in", "ana", via="password")
    audit.record_session(ws, "log out", "ana", via="password")
    assert ws.change_stamp() == stamp
    ws.mark_shareable("mining_sites", ["miners"])  # data
    assert ws.change_stamp() != stamp


def test_a_write_while_another_program_holds_the_wal_succeeds_and_loses_nothing(ws: Workspace) -> None:
    with program(ws.path, VERIFIED) as other:
        code, _, err = run_cli(str(ws.path), "check")  # the other program holds the file: it stays in WAL
        assert code == 0, err
        audit.record_session(ws, "sign in", "ana", via="password")
        assert journal(ws.path) == (2, True, True)
        other.run("UPDATE mining_sites SET name = 'Beta (closed)' WHERE site_id = 'S2'")  # and saves again
        assert names(ws)["S1"] == "Alpha (verified)" and names(ws)["S2"] == "Beta (closed)"
        other.kill()
    assert len(ws.runs(limit=5)) == 1
    audit.record_session(ws, "log out", "ana", via="password")  # the next write puts it back
    assert journal(ws.path) == (1, False, False)
    assert main_file_only(ws.path, "SELECT site_id, name FROM mining_sites WHERE site_id IN ('S1', 'S2') "
                          "ORDER BY site_id") == [("S1", "Alpha (verified)"), ("S2", "Beta (closed)")]
    assert [r.action for r in audit.trail(ws)][-3:] == ["rule run", "sign in", "log out"]
    assert len(main_file_only(ws.path, "SELECT run_id FROM hgw_runs")) == 1


def test_answers_cached_before_an_edit_in_wal_are_not_served_after_it(ws: Workspace) -> None:
    """Bookkeeping committed while another program holds the file in WAL does not raise SQLite's
    header counter: had it been subtracted from it, the stamp would come back to its value before
    the edit once the program put the file back in rollback mode, and stale answers be served."""
    svc = HgWatch(Settings.from_env({}, workspace=ws.path))
    assert svc.frames()["mining_sites"].set_index("site_id").loc["S1", "name"] == "Alpha"
    before = ws.change_stamp()
    with program(ws.path, VERIFIED) as other:
        audit.record_session(ws, "sign in", "ana", via="password")
        audit.record_session(ws, "sign in", "unep", via="password")
        assert other.run("PRAGMA journal_mode = DELETE") == "[('delete',)]"  # QGIS puts it back when it saves
    assert journal(ws.path) == (1, False, False)
    assert ws.change_stamp() != before
    assert svc.frames()["mining_sites"].set_index("site_id").loc["S1", "name"] == "Alpha (verified)"
