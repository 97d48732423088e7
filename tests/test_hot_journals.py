"""A GeoPackage left by a program killed halfway through a save: its ``-journal`` is hot (it holds the
pages to put back) and the file holds part of the save until SQLite rolls it back, which needs a
connection able to write.

- The workspace: every read rolls the dead writer's change back first (``files.roll_back_dead_writer``),
  a GDAL read alone (``arrowread``) included; before, that one said "attempt to write a readonly
  database" (GDAL opens the file read-only).
- A user's own file: HgWatch never writes beside it, so it is refused naming the file and what to do;
  before, an import printed GDAL's SQL and that text, and a chunked read (``check --chunk-rows``) read the
  half-saved rows as if they were the file.

The killed program spills its change into the file before its commit (a small page cache), as a
large edit does; it runs in another process and is killed with SIGKILL.
"""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.errors import InputError
from layers.io.chunked import read_chunks
from layers.store import arrowread
from layers.store.workspace import Workspace
from services import imports

N = 20_000  # sites: enough pages that a two-page cache spills the change into the file
_HALF_SAVE = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
for name in ("ST_IsEmpty", "ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY"):  # GDAL's R-tree triggers call them
    con.create_function(name, 1, lambda g: 0)
con.execute("PRAGMA cache_size = 2")
con.execute("BEGIN")
con.execute("UPDATE mining_sites SET name = 'half-saved'")
print("written", flush=True)
time.sleep(120)
"""


def _sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"site_id": [f"B{i}" for i in range(N)], "name": ["a"] * N, "status": ["active"] * N},
                            geometry=shapely.points(np.linspace(-3, -1, N), np.linspace(5, 7, N)), crs=4326)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _killed_halfway(path: Path) -> None:
    """A program renames every site in ``path`` and is killed before its commit, its change partly in the file."""
    before = _digest(path)
    other = subprocess.Popen([sys.executable, "-c", _HALF_SAVE, str(path)], stdout=subprocess.PIPE, text=True)
    assert other.stdout is not None and other.stdout.readline().strip() == "written"
    os.kill(other.pid, signal.SIGKILL)
    other.wait(30)
    assert path.with_name(path.name + "-journal").exists()
    assert _digest(path) != before  # the file holds part of the save


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    made = Workspace(tmp_path / "ws.gpkg")
    made.write_layers([("mining_sites", _sites())], source="sites.geojson", licence="CC-BY-4.0")
    _killed_halfway(made.real)
    return made


@pytest.fixture
def user_file(tmp_path: Path) -> Path:
    path = tmp_path / "officer" / "mining_sites.gpkg"
    path.parent.mkdir()
    _sites().to_file(path, layer="mining_sites")
    _killed_halfway(path)
    return path


def test_a_gdal_read_of_the_workspace_alone_rolls_a_killed_writer_back(ws: Workspace) -> None:
    got = arrowread.read_layer(ws.real, "mining_sites")  # before: "attempt to write a readonly database"
    assert len(got) == N and set(got["name"]) == {"a"}
    assert not ws.real.with_name(ws.real.name + "-journal").exists()


def test_a_field_list_of_the_workspace_alone_rolls_a_killed_writer_back(ws: Workspace) -> None:
    assert arrowread.field_names(ws.real, "mining_sites") == ["site_id", "name", "status"]
    assert set(ws.read("mining_sites")["name"]) == {"a"}


def _refusal(path: Path, said: str) -> None:
    assert path.name in said and "halfway through saving" in said and "-journal" in said, said
    assert "readonly" not in said and "SELECT" not in said, said


def test_an_import_of_a_user_file_left_half_saved_is_refused_naming_it(user_file: Path) -> None:
    files_before = {p.name: _digest(p) for p in user_file.parent.iterdir()}
    with pytest.raises(InputError) as refused:
        imports.load_file(user_file)
    _refusal(user_file, str(refused.value))
    lines, problems = imports.validate_file(user_file)
    assert not lines
    _refusal(user_file, " ".join(str(p) for p in problems))
    assert {p.name: _digest(p) for p in user_file.parent.iterdir()} == files_before  # nothing written


def test_a_chunked_read_of_a_user_file_left_half_saved_never_gives_its_rows(user_file: Path) -> None:
    with pytest.raises(InputError) as refused:  # before: the half-saved rows, some of them lost
        list(read_chunks(user_file, 5_000))
    _refusal(user_file, str(refused.value))
