"""Reading the GeoPackage change stamp (``layers.store.changes``) never takes SQLite's locks from
under this process: closing any descriptor of a file drops every POSIX lock the process holds on it
(SQLite's "How To Corrupt An SQLite Database File", section 2.2), so a stamp read that opened and
closed the file let another program write while this process's transaction believed it held the
file. The header is read through a descriptor kept open; one of a file removed or replaced is closed
at the next new one. Real files, a real second process, nothing mocked.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point

from layers.store import changes
from layers.store.workspace import Workspace
from services import audit

SITES = gpd.GeoDataFrame({"site_id": ["S-1"], "name": ["a"], "status": ["active"]}, geometry=[Point(0.0, 0.0)], crs=4326)
_WRITER = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
try:
    con.execute("BEGIN IMMEDIATE")
    print("began a write")
    con.execute("ROLLBACK")
except sqlite3.OperationalError as exc:
    print(exc)
"""


def another_writer(path: Path) -> str:
    """What another program gets when it asks to begin a write on ``path`` at once (no waiting)."""
    return subprocess.run([sys.executable, "-c", _WRITER, str(path)], capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    made = Workspace(tmp_path / "ws.gpkg")
    made.write_layers([("mining_sites", SITES)], source="hand-made test layer")
    return made


@pytest.mark.parametrize("read", ["first", "again", "after a commit"])
def test_reading_the_stamp_keeps_this_process_s_write_lock(ws: Workspace, read: str) -> None:
    if read != "first":
        changes.stamp(ws.real)
    with contextlib.closing(sqlite3.connect(ws.real, isolation_level=None)) as con:
        if read == "after a commit":
            con.execute("CREATE TABLE t (x)")  # the header counter moved: the stamp's slow path
        con.execute("BEGIN IMMEDIATE")
        assert another_writer(ws.real) == "database is locked"
        changes.stamp(ws.real)
        assert another_writer(ws.real) == "database is locked"
        con.execute("ROLLBACK")
    assert another_writer(ws.real) == "began a write"


def test_a_bookkeeping_write_keeps_its_lock_to_the_end(ws: Workspace) -> None:
    audit.record_session(ws, "sign in", "ana", via="password")
    with ws.writing(data=False) as con:  # count_bookkeeping has read the header by now
        assert another_writer(ws.real) == "database is locked"
        con.execute("CREATE TABLE IF NOT EXISTS t (x)")
        assert another_writer(ws.real) == "database is locked"
    assert another_writer(ws.real) == "began a write"


def _open_names() -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            found.append(os.readlink(f"/proc/self/fd/{fd}"))
    return found


def test_the_descriptor_of_a_removed_or_replaced_file_is_closed_at_the_next_new_one(tmp_path: Path) -> None:
    made = []
    for name in ("a.gpkg", "b.gpkg", "c.gpkg"):
        ws = Workspace(tmp_path / name)
        ws.write_layers([("mining_sites", SITES)], source="hand-made test layer")
        changes.stamp(ws.real)
        made.append(ws.real)
    assert sum(name == str(made[0]) for name in _open_names()) == 1  # kept open, once
    made[0].unlink()
    os.replace(made[2], tmp_path / "moved.gpkg")
    (tmp_path / "moved.gpkg").rename(made[2].with_name("elsewhere.gpkg"))
    Workspace(tmp_path / "d.gpkg").write_layers([("mining_sites", SITES)], source="hand-made test layer")
    changes.stamp(tmp_path / "d.gpkg")
    names = _open_names()
    assert not [n for n in names if n.startswith((str(made[0]), str(made[2].with_name("elsewhere.gpkg"))))]
    assert str(made[1]) in names  # still at its path: kept
