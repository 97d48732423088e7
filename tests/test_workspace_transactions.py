"""Workspace writes are SQLite transactions inside the GeoPackage itself: no copy of the file, GDAL
reads back what it would have written, and a writer SIGKILLed inside the transaction (or at any
moment of a large replace) leaves the previous state, a file that passes ``PRAGMA
integrity_check`` and that GDAL reads layer by layer. The killed writers are other processes."""
from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import given, settings
from hypothesis import strategies as st

from layers.store import gpkg
from layers.store.workspace import Workspace
from tests.conftest import ROOT


def _sites(n: int, start: int = 0, **extra: list[object]) -> gpd.GeoDataFrame:
    """``n`` sites: points, polygons and an empty geometry, with typed and undeclared columns."""
    ids = range(start, start + n)
    geoms = [shapely.Point(-2 + i * 1e-4, 5 + (i % 7) * 1e-3) if i % 3 else
             shapely.box(-2 + i * 1e-4, 5.1, -2 + i * 1e-4 + 1e-3, 5.2 + (i % 5) * 1e-2) for i in ids]
    data: dict[str, object] = {"site_id": [f"S{i}" for i in ids], "name": [f"site {i}" for i in ids],
                               "gold_kg_per_year": [i * 0.5 for i in ids], "local_code": [f"c{i}" for i in ids]}
    data.update(extra)
    return gpd.GeoDataFrame(data, geometry=geoms, crs=4326)


def _gdal(path: Path, layer: str) -> gpd.GeoDataFrame:
    return pyogrio.read_dataframe(path, layer=layer)


def _contents(path: Path, layer: str) -> tuple[object, ...]:
    with contextlib.closing(sqlite3.connect(path)) as con:
        extent = con.execute("SELECT min_x, min_y, max_x, max_y, srs_id FROM gpkg_contents WHERE table_name = ?",
                             (layer,)).fetchone()
        # each feature's R-tree box in row order (a replace keeps stored fids and numbers new rows above the
        # layer's highest fid, so the R-tree's ids are the workspace's fids, not 1..n), and no box without a feature
        rtree = con.execute(f'SELECT r.minx, r.maxx, r.miny, r.maxy FROM "{layer}" t JOIN rtree_{layer}_geom r'
                            " ON r.id = t.fid ORDER BY t.fid").fetchall()
        stray = con.execute(f'SELECT count(*) FROM rtree_{layer}_geom WHERE id NOT IN (SELECT fid FROM "{layer}")'
                            ).fetchone()
        count = con.execute("SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = ?", (layer,)).fetchone()
    return extent, rtree, stray, count


def _sound(path: Path) -> None:
    """The file is whole (integrity and foreign keys) and GDAL reads every layer."""
    with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as con:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    for name in pyogrio.list_layers(path)[:, 0]:
        _gdal(path, str(name))


def _reference(tmp_path: Path, frames: list[gpd.GeoDataFrame]) -> Path:
    """What GDAL itself writes for ``frames`` concatenated, in a file of its own."""
    path = tmp_path / "reference.gpkg"
    whole = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=4326)
    gpkg.write_gdf(path, "mining_sites", whole)
    return path


# ---------------------------------------------------------------- in place, GDAL's own bytes
def test_every_write_changes_the_file_in_place(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws.gpkg")
    ws.write_layer("mining_sites", _sites(20), source="a")
    inode = os.stat(ws.real).st_ino
    ws.write_layer("mining_sites", _sites(20, 100), source="b")
    ws.write_layers([("mining_sites", _sites(2, 500))], source="c", append=True)
    ws.mark_shareable("mining_sites", ["local_code"])
    ws.record_run(rules_hash="h", input_hashes={}, counts={}, violation_ids=[])
    assert os.stat(ws.real).st_ino == inode  # never a copy renamed over it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ws.gpkg", "ws.gpkg.lock"]
    _sound(ws.real)


def test_a_replacement_reads_back_as_gdal_wrote_it(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws.gpkg")
    ws.write_layers([("mining_sites", _sites(30)), ("water_bodies", gpd.GeoDataFrame(
        {"water_id": ["W1"]}, geometry=[shapely.LineString([(-2, 5), (-1, 5)])], crs=4326))], source="a")
    new = _sites(25, 1000, visits=list(range(25)), checked=[i % 2 == 0 for i in range(25)],
                 seen=pd.to_datetime(["2024-01-01"] * 25))
    ws.write_layer("mining_sites", new, source="b")
    reference = _reference(tmp_path, [new])
    assert_geodataframe_equal(_gdal(ws.real, "mining_sites"), _gdal(reference, "mining_sites"), check_dtype=True)
    assert pyogrio.read_info(ws.real, layer="mining_sites")["dtypes"].tolist() == \
        pyogrio.read_info(reference, layer="mining_sites")["dtypes"].tolist()
    assert _contents(ws.real, "mining_sites") == _contents(reference, "mining_sites")
    assert len(_gdal(ws.real, "water_bodies")) == 1
    assert ws.info("mining_sites").rows == 25
    _sound(ws.real)


def test_an_append_reads_back_as_a_rewrite_would(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws.gpkg")
    first, more = _sites(40), _sites(5, 40, new_col=["n"] * 5)
    ws.write_layer("mining_sites", first, source="a")
    [info] = ws.write_layers([("mining_sites", more)], source="b", append=True)
    reference = _reference(tmp_path, [first, more])
    assert_geodataframe_equal(_gdal(ws.real, "mining_sites"), _gdal(reference, "mining_sites"), check_dtype=True)
    assert _contents(ws.real, "mining_sites") == _contents(reference, "mining_sites")  # extent, R-tree, count
    assert info.rows == 45 == ws.info("mining_sites").rows
    _sound(ws.real)


def test_an_append_that_would_change_a_column_type_rewrites_the_layer(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws.gpkg")
    first, more = _sites(4, visits=[1, 2, 3, 4]), _sites(1, 4, visits=[2.5])  # INTEGER, then REAL
    ws.write_layer("mining_sites", first, source="a")
    ws.write_layers([("mining_sites", more)], source="b", append=True)
    reference = _reference(tmp_path, [first, more])
    back = _gdal(ws.real, "mining_sites")
    assert_geodataframe_equal(back, _gdal(reference, "mining_sites"), check_dtype=True)
    assert back["visits"].tolist() == [1.0, 2.0, 3.0, 4.0, 2.5]
    _sound(ws.real)


_GEOMETRIES = st.one_of(
    st.builds(shapely.Point, st.floats(-180, 180), st.floats(-90, 90)),
    st.builds(lambda x, y, w, h: shapely.box(x, y, x + w, y + h), st.floats(-170, 170), st.floats(-80, 80),
              st.floats(0, 5), st.floats(0, 5)),
    st.builds(lambda x, y: shapely.LineString([(x, y), (x + 1, y - 2), (x - 0.5, y + 0.25)]),
              st.floats(-170, 170), st.floats(-80, 80)),
    st.just(shapely.Point()), st.just(shapely.Polygon()), st.none())


@settings(max_examples=25, deadline=None)
@given(st.lists(_GEOMETRIES, min_size=1, max_size=6), st.lists(_GEOMETRIES, min_size=1, max_size=6))
def test_rows_appended_in_place_index_as_gdal_indexes_them(before: list[object], after: list[object]) -> None:
    """The R-tree rows, extent and count after an append equal GDAL's own for the same features:
    the ST_* functions read the GeoPackage binary envelope or WKB as GDAL does."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        first = gpd.GeoDataFrame({"site_id": [f"A{i}" for i in range(len(before))]}, geometry=before, crs=4326)
        more = gpd.GeoDataFrame({"site_id": [f"B{i}" for i in range(len(after))]}, geometry=after, crs=4326)
        ws = Workspace(tmp / "ws.gpkg")
        ws.write_layer("mining_sites", first, source="a")
        ws.write_layers([("mining_sites", more)], source="b", append=True)
        reference = _reference(tmp, [first, more])
        assert _contents(ws.real, "mining_sites") == _contents(reference, "mining_sites")


# ---------------------------------------------------------------- killed inside the transaction
def _writer(location: Path, body: str, big: int) -> subprocess.Popen[str]:
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from layers.store import staging
        from layers.store.workspace import Workspace
        from tests.test_workspace_transactions import _sites
        real = staging.replace
    """) + textwrap.dedent(body) + textwrap.dedent(f"""
        Workspace({str(location)!r}).write_layer("mining_sites", _sites({big}, 10**6), source="big")
    """)
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)


def _state(ws: Workspace) -> tuple[object, ...]:
    return ws.layers(), ws.read("mining_sites").to_wkb(hex=True).astype(str).to_dict("list"), ws.runs(10)


def test_a_writer_killed_inside_the_file_transaction_leaves_the_previous_state(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws.gpkg")
    ws.write_layer("mining_sites", _sites(3000), source="a")
    ws.record_run(rules_hash="h", input_hashes={}, counts={}, violation_ids=["v"])
    before = _state(ws)
    proc = _writer(ws.real, """
        def hook(con, layer):
            real(con, layer)  # the old layer is dropped and the new one copied in, uncommitted ...
            con.execute("PRAGMA cache_size = 1"); con.execute("PRAGMA cache_spill = ON")
            con.execute("CREATE TABLE spill AS SELECT * FROM stage.mining_sites")  # ... pages reach the file
            print("written", flush=True)
            time.sleep(60)  # ... and the writer is killed before it commits
        staging.replace = hook
    """, 20_000)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "written"
    assert (tmp_path / "ws.gpkg-journal").exists()  # the transaction is open in the workspace file itself
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert _state(ws) == before  # the same object: reading rolls the dead writer's journal back
    assert not (tmp_path / "ws.gpkg-journal").exists()
    assert len(Workspace(ws.path).removed_strays) == 1  # its staging file goes when the workspace is opened
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ws.gpkg", "ws.gpkg.lock"]
    _sound(ws.real)
    ws.write_layer("mining_sites", _sites(3000, 5), source="b")  # the dead writer's lock went with it
    assert ws.info("mining_sites").source == "b"


@pytest.mark.parametrize("delay_s", [0.0, 0.05, 0.2, 0.5])
def test_a_writer_killed_at_any_moment_of_a_large_replace(tmp_path: Path, delay_s: float) -> None:
    """SIGKILL a little after the transaction starts writing the workspace file: the workspace
    holds either the old layer whole or the new one whole, and is sound."""
    ws = Workspace(tmp_path / "ws.gpkg")
    ws.write_layer("mining_sites", _sites(2000), source="old")
    old = _state(ws)
    proc = _writer(ws.real, "", 60_000)
    journal = tmp_path / "ws.gpkg-journal"
    deadline = time.monotonic() + 120
    while proc.poll() is None and not journal.exists() and time.monotonic() < deadline:
        time.sleep(0.001)
    time.sleep(delay_s)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    reopened = Workspace(ws.path)
    now = _state(reopened)
    if now != old:  # the commit had finished: the new layer, whole
        assert reopened.info("mining_sites").source == "big"
        assert np.array_equal(reopened.read("mining_sites")["site_id"], _sites(60_000, 10**6)["site_id"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ws.gpkg", "ws.gpkg.lock"]
    _sound(ws.real)


# ---------------------------------------------------------------- cost that does not grow
def _sqlite_steps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A counter of the SQLite VM instructions (in hundreds) run by every connection opened from
    Python from now on (GDAL's own SQLite is not counted)."""
    steps = [0]
    real = sqlite3.connect

    def counted(*args: object, **kwargs: object) -> sqlite3.Connection:
        con = real(*args, **kwargs)  # type: ignore[arg-type]

        def tick() -> int:
            steps[0] += 1
            return 0
        con.set_progress_handler(tick, 100)
        return con

    monkeypatch.setattr(sqlite3, "connect", counted)
    return steps


def _one_row_writes(ws: Workspace, n: int, steps: list[int]) -> tuple[int, int, int]:
    """SQLite work of a one-row append, a shareable mark and a recorded run on ``ws`` (n sites)."""
    counts = []
    for write in (lambda: ws.write_layers([("mining_sites", _sites(1, n))], source="one", append=True),
                  lambda: ws.mark_shareable("mining_sites", ["local_code"]),
                  lambda: ws.record_run(rules_hash="h", input_hashes={}, counts={}, violation_ids=[])):
        before = steps[0]
        write()
        counts.append(steps[0] - before)
    return counts[0], counts[1], counts[2]


def test_a_one_row_write_does_no_work_that_grows_with_the_layer(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The same one-row writes on 1,000 and on 40,000 sites run the same SQLite work: no scan of
    the layer (the id clash check without its index fails this), no copy."""
    small, large = Workspace(tmp_path / "small.gpkg"), Workspace(tmp_path / "large.gpkg")
    small.write_layer("mining_sites", _sites(1000), source="a")
    large.write_layer("mining_sites", _sites(40_000), source="a")
    steps = _sqlite_steps(monkeypatch)
    on_small, on_large = _one_row_writes(small, 1000, steps), _one_row_writes(large, 40_000, steps)
    assert all(s > 0 for s in on_small)  # the counter counts
    assert all(big <= 2 * s + 20 for s, big in zip(on_small, on_large, strict=True)), (on_small, on_large)
    assert large.info("mining_sites").rows == 40_001


# ---------------------------------------------------------------- two SQLite libraries, one process
def test_a_gdal_read_in_another_thread_waits_for_the_write_transaction(tmp_path: Path) -> None:
    """GDAL carries its own SQLite, whose POSIX locks do not see Python's in the same process:
    without ``layers.store.libraries`` this read would run in the middle of the commit."""
    import threading

    ws = Workspace(tmp_path / "ws.gpkg")
    ws.write_layer("mining_sites", _sites(50), source="a")
    inside, times = threading.Event(), {}

    def writer() -> None:
        with ws.writing() as con:
            con.execute("UPDATE mining_sites SET name = 'changed'")
            inside.set()
            time.sleep(1.0)
            times["commit"] = time.monotonic()

    thread = threading.Thread(target=writer)
    thread.start()
    assert inside.wait(30)
    names = ws.read("mining_sites")["name"]
    times["read"] = time.monotonic()
    thread.join(30)
    assert times["read"] >= times["commit"] and set(names) == {"changed"}  # after the commit, and sees it


def test_a_gdal_read_inside_the_same_threads_transaction_does_not_wait_for_itself(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws.gpkg")
    ws.write_layer("mining_sites", _sites(5), source="a")
    started = time.monotonic()
    with ws.writing():
        assert len(ws.read("mining_sites")) == 5
    assert time.monotonic() - started < 10  # not the libraries' 30 s give-up


def test_a_plain_sqlite_file_with_a_hot_journal_is_refused_and_never_rolled_back(tmp_path: Path) -> None:
    from geo.errors import WorkspaceError

    path = tmp_path / "notes.db"
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        con.execute("CREATE TABLE t (x)")
        con.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(20_000)])
    killed = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import os, sqlite3
        con = sqlite3.connect({str(path)!r}, isolation_level=None)
        con.execute("PRAGMA cache_size = 1")
        con.execute("BEGIN IMMEDIATE")
        con.execute("UPDATE t SET x = -x")  # pages reach the file: the journal is hot
        os._exit(0)
    """)], timeout=60)
    assert killed.returncode == 0 and (tmp_path / "notes.db-journal").exists()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(WorkspaceError, match="cannot be read as a GeoPackage|not a GeoPackage"):
        Workspace(path).layers()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # the user's file and journal


def test_a_write_gives_up_on_a_reader_that_keeps_the_file_and_changes_nothing(tmp_path: Path) -> None:
    """Another process reading (an open read transaction) keeps the commit out; after the
    workspace's timeout the write is a WorkspaceError and nothing changed."""
    from geo.errors import WorkspaceError

    ws = Workspace(tmp_path / "ws.gpkg", lock_timeout_s=0.5)
    ws.write_layer("mining_sites", _sites(5), source="a")
    reader = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sqlite3, time
        con = sqlite3.connect({ws.real.as_uri() + '?mode=ro'!r}, uri=True, isolation_level=None)
        con.execute("BEGIN")
        con.execute("SELECT count(*) FROM mining_sites").fetchone()  # a shared lock, held
        print("reading", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "reading"
        with pytest.raises(WorkspaceError, match=r"is busy: .* for 0.5 s; nothing was changed"):
            ws.mark_shareable("mining_sites", ["local_code"])
    finally:
        reader.kill()
        reader.wait(timeout=30)
    assert ws.info("mining_sites").shareable == ()
    assert ws.mark_shareable("mining_sites", ["local_code"]) == ("local_code",)  # the reader gone, it goes through
    _sound(ws.real)
