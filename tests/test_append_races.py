"""An append that rewrites a stored layer (its new rows cannot be inserted in place) reads the stored
rows with GDAL outside the workspace's write transaction. Another program (QGIS saving an edit, the
``sqlite3`` shell, GDAL) may commit between that read and the transaction: the append must keep that
edit (a renamed site keeps its new name, a site it added stays, one it deleted stays deleted), not
write the old rows back over it.

The other program is a separate process that commits to the file; the test runs it exactly between
the read and the transaction by wrapping ``gpkg.appended`` (the read), so nothing waits on time.
"""
from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from geo.errors import WorkspaceError
from layers.store import gpkg, staging
from layers.store.workspace import RESTAGES, Workspace
from tests.conftest import ROOT

# the other program: renames S1, deletes S2, adds S9 (a point, with the R-tree kept by GDAL's triggers)
_EDIT = """
import sqlite3, struct, sys
import shapely
from layers.store.gpkg import register_functions
con = sqlite3.connect(sys.argv[1], timeout=60)
register_functions(con)  # the ST_* functions GDAL's R-tree triggers call, as QGIS and GDAL have them
with con:
    con.execute("UPDATE mining_sites SET name = ? WHERE site_id = 'S1'", (sys.argv[2],))
    con.execute("DELETE FROM mining_sites WHERE site_id = 'S2'")
    blob = b"GP\\x00\\x01" + struct.pack("<i", 4326) + shapely.to_wkb(shapely.Point(-1.5, 5.5))
    con.execute("INSERT INTO mining_sites (geom, site_id, name) VALUES (?, ?, ?)", (blob, sys.argv[3], "added"))
con.close()
"""


def _sites(ids: list[str], **extra: list[object]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"site_id": ids, "name": [f"site {i}" for i in ids], **extra},
                            geometry=[shapely.Point(-2 + k * 1e-3, 5) for k in range(len(ids))], crs=4326)


def _other_program(path: Path, name: str, added: str) -> None:
    subprocess.run([sys.executable, "-c", _EDIT, str(path), name, added], cwd=ROOT, check=True, timeout=120)


def _names(path: Path) -> dict[str, str]:
    frame = pyogrio.read_dataframe(path, layer="mining_sites")
    return dict(zip(frame["site_id"], frame["name"]))


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path / "ws.gpkg")
    workspace.write_layer("mining_sites", _sites(["S1", "S2", "S3"]), source="first.geojson")
    return workspace


def _edit_after_reads(monkeypatch: pytest.MonkeyPatch, ws: Workspace, times: int) -> list[int]:
    """Make the other program commit right after each of the first ``times`` reads of the stored rows."""
    read = gpkg.appended
    done: list[int] = []

    def then_edit(path: Path, layer: str, new: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        frame = read(path, layer, new)
        if len(done) < times:
            done.append(1)
            _other_program(ws.real, f"renamed {len(done)}", f"S9-{len(done)}")
        return frame
    monkeypatch.setattr(gpkg, "appended", then_edit)
    return done


def test_an_edit_committed_between_the_read_and_the_rewrite_is_kept(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    edits = _edit_after_reads(monkeypatch, ws, 1)
    more = _sites(["S4", "S5"], visits=[1, 2])  # an INTEGER column the stored layer lacks: a rewrite
    [info] = ws.write_layers([("mining_sites", more)], source="more.geojson", append=True)
    assert edits == [1]  # the other program did commit in between
    names = _names(ws.real)
    assert names == {"S1": "renamed 1", "S3": "site S3", "S9-1": "added", "S4": "site S4", "S5": "site S5"}
    assert info.rows == 5 == ws.info("mining_sites").rows
    visits = pyogrio.read_dataframe(ws.real, layer="mining_sites").set_index("site_id")["visits"]
    assert visits[["S4", "S5"]].tolist() == [1, 2]


def test_an_append_that_cannot_get_a_quiet_read_changes_nothing_and_says_so(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    edits = _edit_after_reads(monkeypatch, ws, RESTAGES)
    with pytest.raises(WorkspaceError, match=r"ws\.gpkg.*another program kept editing layer mining_sites.*"
                                             r"nothing was changed; try again"):
        ws.write_layers([("mining_sites", _sites(["S4"], visits=[1]))], source="more.geojson", append=True)
    assert len(edits) == RESTAGES
    # the other program's last edit, and nothing of the append
    assert _names(ws.real) == {"S1": f"renamed {RESTAGES}", "S3": "site S3", **{f"S9-{k}": "added" for k in
                                                                               range(1, RESTAGES + 1)}}
    assert "visits" not in pyogrio.read_info(ws.real, layer="mining_sites")["fields"].tolist()


def test_rows_appended_in_place_keep_an_edit_committed_after_they_were_staged(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-place path reads no stored row: it inserts the staged ones inside the transaction."""
    check: Callable[[Path, Path, str], bool] = staging.appends_in_place

    def then_edit(workspace: Path, stage: Path, layer: str) -> bool:
        answer = check(workspace, stage, layer)
        _other_program(ws.real, "renamed", "S9")
        return answer
    monkeypatch.setattr(staging, "appends_in_place", then_edit)
    ws.write_layers([("mining_sites", _sites(["S4"]))], source="more.geojson", append=True)
    assert _names(ws.real) == {"S1": "renamed", "S3": "site S3", "S9": "added", "S4": "site S4"}


_SESSION = """
import sqlite3, sys
from layers.store.gpkg import register_functions
con = sqlite3.connect(sys.argv[1], isolation_level=None)
register_functions(con)
con.execute("PRAGMA journal_mode = WAL")
con.execute("UPDATE mining_sites SET name = 'saved in the session' WHERE site_id = 'S3'")
print("open", flush=True)
sys.stdin.readline()
con.close()
"""


def test_a_rewriting_append_while_another_program_holds_the_file_in_wal_is_refused(ws: Workspace) -> None:
    """A live edit session (QGIS keeps the file in WAL) hides its commits from the header counter."""
    session = subprocess.Popen([sys.executable, "-c", _SESSION, str(ws.real)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert session.stdout is not None and session.stdout.readline().strip() == "open"
        with pytest.raises(WorkspaceError, match=r"ws\.gpkg.*edit session.*mining_sites.*nothing was changed"):
            ws.write_layers([("mining_sites", _sites(["S4"], visits=[1]))], source="more.geojson", append=True)
        ws.write_layers([("mining_sites", _sites(["S5"]))], source="more.geojson", append=True)  # in place: fine
    finally:
        assert session.stdin is not None
        session.stdin.write("\n")
        session.stdin.flush()
        session.wait(60)
    assert _names(ws.real) == {"S1": "site S1", "S2": "site S2", "S3": "saved in the session", "S5": "site S5"}
    with contextlib.closing(sqlite3.connect(ws.real)) as con:
        assert "visits" not in {r[1] for r in con.execute("PRAGMA table_info(mining_sites)")}
