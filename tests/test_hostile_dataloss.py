"""Issue 10, data lost with exit 0, in the store. A workspace path that is not a GeoPackage is
never read, replaced or written into; a symlinked workspace stays a symlink, its target is
updated and both paths share one lock; a layer is not replaced by one with fewer than half its rows
(or none) without ``replace_all``; stray temporary copies (which hold restricted fields) are
removed on the next open; no refused or failed store operation changes any file."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest

from geo.errors import InputError, WorkspaceError
from layers.store import gpkg
from layers.store.gpkg import Replacement, ReplaceRefused
from layers.store.workspace import Workspace
from tests.hostile_kit import ROOT, SECRET, demo_copy, digest, run, sites, tree_digest


# ---------------------------------------------------------------- paths that are not a GeoPackage
def _plain_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE t (x)")
        con.execute("INSERT INTO t VALUES (1)")
    con.close()


def _not_geopackages(folder: Path) -> dict[str, Path]:
    """A CSV, a PDF, a plain SQLite database and an empty file, each with a .gpkg-free name."""
    csv, pdf, plain, empty = (folder / n for n in ("budget.csv", "report.pdf", "other.sqlite", "empty.gpkg"))
    csv.write_text("line,amount\n1,100\n")
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n")
    _plain_sqlite(plain)
    empty.write_bytes(b"")
    return {"csv": csv, "pdf": pdf, "sqlite": plain, "empty": empty}


def _refusal(err: str) -> str:
    """What the command line printed as its refusal (after progress lines such as 'validated')."""
    assert "hgwatch: " in err, err
    return err.split("hgwatch: ", 1)[1]


KINDS = ["csv", "pdf", "sqlite", "empty"]
WHY = {"csv": "is not a GeoPackage (it is not an SQLite database)",
       "pdf": "is not a GeoPackage (it is not an SQLite database)",
       "sqlite": "is an SQLite database but not a GeoPackage (it has no gpkg_contents or"
                 " gpkg_spatial_ref_sys table)",
       "empty": "is an empty file, not a GeoPackage"}


@pytest.mark.parametrize("kind", KINDS)
def test_import_into_a_file_that_is_not_a_geopackage_is_refused_and_the_file_kept(
        tmp_path: Path, kind: str) -> None:
    precious = _not_geopackages(tmp_path)[kind]
    src = tmp_path / "in" / "mining_sites.geojson"
    src.parent.mkdir()
    sites(2).to_file(src)
    before = tree_digest(tmp_path)
    code, _, err = run("--workspace", str(precious), "import", str(src))
    assert code == 2
    assert _refusal(err).startswith(f"workspace {precious} {WHY[kind]}"), err
    assert tree_digest(tmp_path) == before  # byte-identical, and no lock or copy beside it


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("operation", [
    lambda ws: ws.layers(), lambda ws: ws.runs(), lambda ws: ws.read("mining_sites"),
    lambda ws: ws.has("mining_sites"), lambda ws: ws.replacement("mining_sites", 3),
    lambda ws: ws.write_layer("mining_sites", sites(3), source="s.geojson"),
    lambda ws: ws.write_layers([("mining_sites", sites(3))], source="s.geojson", append=True),
    lambda ws: ws.record_run(rules_hash="h", input_hashes={}, counts={}, violation_ids=[]),
], ids=["layers", "runs", "read", "has", "replacement", "write", "append", "record_run"])
def test_the_store_refuses_every_operation_on_a_file_that_is_not_a_geopackage(
        tmp_path: Path, kind: str, operation: Callable[[Workspace], object]) -> None:
    path = _not_geopackages(tmp_path)[kind]
    before = tree_digest(tmp_path)
    with pytest.raises(WorkspaceError) as info:
        operation(Workspace(path))
    assert str(info.value).startswith(f"workspace {path} {WHY[kind]}")
    assert "a path that does not exist yet to start a new workspace" in str(info.value)
    assert tree_digest(tmp_path) == before


@pytest.mark.parametrize("command", [["layers"], ["check", "--no-record"], ["check"], ["diff"]])
def test_a_plain_sqlite_file_is_not_written_to(tmp_path: Path, command: list[str]) -> None:
    plain = tmp_path / "other.gpkg"
    _plain_sqlite(plain)
    before = tree_digest(tmp_path)
    code, _, err = run("--workspace", str(plain), *command)
    assert code == 2, err
    assert f"workspace {plain} is an SQLite database but not a GeoPackage" in err
    assert tree_digest(tmp_path) == before
    with sqlite3.connect(f"{plain.as_uri()}?mode=ro", uri=True) as con:
        assert [r[0] for r in con.execute("SELECT name FROM sqlite_master")] == ["t"]  # no hgw_* table
    con.close()


@pytest.mark.parametrize("command", [["layers"], ["import", "IN"]])
def test_a_folder_as_workspace_gets_a_clear_message(tmp_path: Path, command: list[str]) -> None:
    folder = tmp_path / "ws"
    folder.mkdir()
    src = tmp_path / "mining_sites.geojson"
    sites(2).to_file(src)
    before = tree_digest(tmp_path)
    code, _, err = run("--workspace", str(folder), *[str(src) if c == "IN" else c for c in command])
    assert code == 2
    assert _refusal(err) == (f"workspace {folder} is a folder, not a GeoPackage file; give the path of a .gpkg"
                   f" file, e.g. {folder / 'workspace.gpkg'}\n")
    assert tree_digest(tmp_path) == before and not list(folder.iterdir())


# ---------------------------------------------------------------- a symlinked workspace
def test_a_symlinked_workspace_stays_a_symlink_and_its_target_changes(tmp_path: Path) -> None:
    real = demo_copy(tmp_path)  # tmp/ws/workspace.gpkg; the link lives in another folder
    link = tmp_path / "elsewhere" / "link.gpkg"
    link.parent.mkdir()
    link.symlink_to(real)
    src = tmp_path / "deposits.geojson"
    sites(5).rename(columns={"site_id": "deposit_id"})[["deposit_id", "name", "geometry"]].to_file(src)
    code, _, err = run("--workspace", str(link), "import", str(src), "--layer", "deposits")
    assert code == 0, err
    assert link.is_symlink() and link.resolve() == real
    assert sorted(pyogrio.read_dataframe(real, layer="deposits")["deposit_id"]) == ["S1", "S2", "S3", "S4", "S5"]
    assert sorted(p.name for p in link.parent.iterdir()) == ["link.gpkg"]  # no copy, no lock by the link
    assert sorted(p.name for p in real.parent.iterdir()) == ["workspace.gpkg", "workspace.gpkg.lock"]


def test_two_workspaces_via_the_link_and_the_target_share_one_lock(tmp_path: Path) -> None:
    real = demo_copy(tmp_path)
    link = tmp_path / "link.gpkg"
    link.symlink_to(real)
    via_link, via_target = Workspace(link, lock_timeout_s=0.3), Workspace(real)
    assert via_link.lock_path == via_target.lock_path == real.with_name("workspace.gpkg.lock")
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time, filelock
        lock = filelock.FileLock({str(via_target.lock_path)!r})
        lock.acquire()
        print("locked", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(WorkspaceError, match=f"workspace {link} \\(which leads to {real}\\) is locked"):
            via_link.write_layer("deposits", sites(8).rename(columns={"site_id": "deposit_id"}), source="d")
    finally:
        holder.kill()
        holder.wait(timeout=30)
    via_link.write_layer("deposits", sites(8).rename(columns={"site_id": "deposit_id"}), source="d")
    assert link.is_symlink() and len(via_target.read("deposits")) == 8


# ---------------------------------------------------------------- replacing most of a layer
def _empty_inputs(folder: Path) -> list[Path]:
    """Files with no rows that the readers accept. (A zip holding only whitespace never reaches the
    store: the reader refuses it as not a zipped Shapefile.)"""
    folder.mkdir()
    empty_fc = folder / "mining_sites.geojson"
    empty_fc.write_text('{"type": "FeatureCollection", "features": []}')
    header_only = folder / "mining_sites.csv"
    header_only.write_text("site_id,name,status,lon,lat\n")
    return [empty_fc, header_only]


def test_an_empty_file_does_not_replace_a_layer(tmp_path: Path) -> None:
    ws = demo_copy(tmp_path)
    before = tree_digest(ws.parent)
    for src in _empty_inputs(tmp_path / "in"):
        code, _, err = run("--workspace", str(ws), "import", str(src), "--layer", "mining_sites")
        assert code == 2, (src.name, err)
        assert _refusal(err) == (f"mining_sites holds 150 rows; this file ({src.name}) has 0; 150 rows would go."
                                 f" Pass --replace-all to replace them.\nNothing was stored; workspace {ws} is"
                                 " unchanged.\n")
        assert tree_digest(ws.parent) == before, src.name  # not even a lock file


def test_a_much_smaller_layer_is_refused_by_the_command_line(tmp_path: Path) -> None:
    ws = demo_copy(tmp_path)
    src = tmp_path / "mining_sites.geojson"
    sites(3).to_file(src)
    before = tree_digest(ws.parent)
    code, _, err = run("--workspace", str(ws), "import", str(src))
    assert code == 2
    assert _refusal(err) == ("mining_sites holds 150 rows; this file (mining_sites.geojson) has 3; 147 rows"
                   f" would go. Pass --replace-all to replace them.\nNothing was stored; workspace {ws}"
                   " is unchanged.\n")
    assert tree_digest(ws.parent) == before


def _ten_sites(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path / "ws.gpkg")
    ws.write_layer("mining_sites", sites(10), source="ten.geojson")
    return ws


@pytest.mark.parametrize(("incoming", "refused"), [(0, True), (1, True), (4, True), (5, False), (10, False),
                                                   (12, False)])
def test_the_store_refuses_fewer_than_half_the_rows(tmp_path: Path, incoming: int, refused: bool) -> None:
    ws = _ten_sites(tmp_path)
    assert ws.replacement("mining_sites", incoming) == Replacement("mining_sites", 10, incoming)
    assert ws.replacement("mining_sites", incoming).needs_replace_all is refused
    before = tree_digest(tmp_path)
    new = sites(incoming)
    if refused:
        with pytest.raises(ReplaceRefused) as info:
            ws.write_layer("mining_sites", new, source="new.csv")
        assert info.value.replacements == [Replacement("mining_sites", 10, incoming)]
        assert str(info.value).splitlines()[0] == (
            f"mining_sites holds 10 rows; this file (new.csv) has {incoming}; {10 - incoming} rows would go."
            " Pass --replace-all to replace them.")
        assert tree_digest(tmp_path) == before
        ws.write_layer("mining_sites", new, source="new.csv", replace_all=True)
    else:
        ws.write_layer("mining_sites", new, source="new.csv")
    assert len(ws.read("mining_sites")) == incoming and ws.info("mining_sites").rows == incoming


def test_a_new_layer_or_an_append_needs_no_replace_all(tmp_path: Path) -> None:
    ws = _ten_sites(tmp_path)
    assert ws.replacement("deposits", 1) == Replacement("deposits", 0, 1)
    assert not Workspace(tmp_path / "new.gpkg").replacement("mining_sites", 0).needs_replace_all
    ws.write_layer("deposits", sites(1).rename(columns={"site_id": "deposit_id"}), source="d")
    more = sites(11).iloc[[10]]
    ws.write_layers([("mining_sites", more)], source="more", append=True)
    assert len(ws.read("mining_sites")) == 11


def test_one_shrinking_layer_stops_the_whole_change(tmp_path: Path) -> None:
    ws = _ten_sites(tmp_path)
    before = tree_digest(tmp_path)
    deposits = sites(3).rename(columns={"site_id": "deposit_id"})
    with pytest.raises(ReplaceRefused) as info:
        ws.write_layers([("deposits", deposits), ("mining_sites", sites(2))], source="both.gpkg")
    assert [r.layer for r in info.value.replacements] == ["mining_sites"]
    assert tree_digest(tmp_path) == before and not ws.has("deposits")


# ---------------------------------------------------------------- stray temporary copies
def _ours(ws: Path) -> list[Path]:
    return [ws.parent / f".{ws.name}.hgw-tmp-abc_1234.gpkg", ws.parent / f".{ws.name}.hgw-tmp-abc_1234.gpkg-journal",
            ws.parent / f".{ws.name}.hgw-tmp-zz99zz99.gpkg-wal",
            ws.parent / f".{ws.stem}-tmp-k9x2m4q1.gpkg", ws.parent / f".{ws.stem}-tmp-k9x2m4q1.gpkg-journal"]


def _not_ours(ws: Path) -> list[Path]:
    """Another workspace's copies, look-alikes, and the user's own files."""
    return [ws.parent / ".other.gpkg.hgw-tmp-abc_1234.gpkg", ws.parent / ".other-tmp-abc_1234.gpkg",
            ws.parent / f".{ws.name}.hgw-tmp-short.gpkg", ws.parent / f".{ws.name}.hgw-tmp-abc_1234.gpkg.bak",
            ws.parent / f".{ws.stem}-k9x2m4q1.gpkg", ws.parent / "notes.txt"]


def test_stray_temporary_copies_are_removed_on_the_next_start(tmp_path: Path) -> None:
    ws = demo_copy(tmp_path)
    for stray in _ours(ws) + _not_ours(ws):
        stray.write_text(f"informant_name,{SECRET}\n")
    kept = tree_digest(tmp_path)
    code, _, err = run("--workspace", str(ws), "layers")
    assert code == 0, err
    assert not [s for s in _ours(ws) if s.exists()]
    assert {k: v for k, v in tree_digest(tmp_path).items() if not k.endswith(".lock")} == {
        k: v for k, v in kept.items() if not any(k.endswith(s.name) for s in _ours(ws))}


def test_a_live_writers_copy_is_left_alone(tmp_path: Path) -> None:
    ws = demo_copy(tmp_path)
    for stray in _ours(ws):
        stray.write_text("in use")
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time, filelock
        lock = filelock.FileLock({str(ws) + '.lock'!r})
        lock.acquire()
        print("locked", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert Workspace(ws).removed_strays == [] and all(s.exists() for s in _ours(ws))
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert Workspace(ws).removed_strays == sorted(_ours(ws))  # the holder died: its copies go


_KILLED_WRITER = """
import sqlite3, sys, time
import geopandas as gpd
from layers.store import gpkg
from layers.store.workspace import Workspace
from tests.hostile_kit import SECRET, sites
real = gpkg.write_gdf
def write_and_hang(path, layer, gdf):
    real(path, layer, gdf)
    con = sqlite3.connect(path)  # an open write transaction: the copy's -journal exists too
    con.execute("BEGIN IMMEDIATE")
    con.execute("CREATE TABLE scratch (x)")
    print("written", flush=True)
    time.sleep(60)
gpkg.write_gdf = write_and_hang
Workspace(sys.argv[1]).write_layer("mining_sites", sites(200, informant_name=[SECRET] * 200), source="big")
"""


def test_a_sigkilled_writer_leaves_copies_that_the_next_command_removes(tmp_path: Path) -> None:
    ws = demo_copy(tmp_path)
    before = digest(ws)
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(ws)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "written"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    left = sorted(p.name for p in ws.parent.iterdir())
    assert len(left) == 4 and any(n.endswith(".gpkg-journal") for n in left), left  # the copy, its journal
    assert any(SECRET.encode() in p.read_bytes() for p in ws.parent.iterdir() if p.name.startswith("."))
    code, _, err = run("--workspace", str(ws), "layers")
    assert code == 0, err
    assert sorted(p.name for p in ws.parent.iterdir()) == ["workspace.gpkg", "workspace.gpkg.lock"]
    assert digest(ws) == before


def test_a_command_killed_at_any_moment_leaves_no_copy_behind(tmp_path: Path) -> None:
    ws = demo_copy(tmp_path)
    before = digest(ws)
    big = tmp_path / "mining_sites.geojson"
    sites(3000, informant_name=[SECRET] * 3000).to_file(big)
    proc = subprocess.Popen([sys.executable, "cli.py", "--workspace", str(ws), "import", str(big)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if any(p.name.startswith(".") for p in ws.parent.iterdir()):
            break
        time.sleep(0.01)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert run("--workspace", str(ws), "layers")[0] == 0
    assert sorted(p.name for p in ws.parent.iterdir()) in (["workspace.gpkg"], ["workspace.gpkg", "workspace.gpkg.lock"])
    assert digest(ws) == before or len(pyogrio.read_dataframe(ws, layer="mining_sites")) == 3000


# ---------------------------------------------------------------- refused or failed: nothing written
@pytest.mark.parametrize(("refusal", "error", "says"), [
    (lambda ws: ws.write_layer("mining_sites", sites(3).to_crs(32630), source="utm"), WorkspaceError,
     "must be in EPSG:4326"),
    (lambda ws: ws.write_layer("mining_sites", sites(3), source="few"), ReplaceRefused, "147 rows would go"),
    (lambda ws: ws.write_layers([("mining_sites", sites(3, site_id=[f"DEMO-S00{i}" for i in (1, 2, 3)]))],
                                source="dup", append=True), InputError,
     "3 ids are already stored"),
    (lambda ws: ws.write_layer("not_a_layer", sites(3), source="x"), KeyError, "unknown layer type"),
], ids=["crs", "shrink", "append-clash", "unknown-layer"])
def test_a_refused_write_changes_no_file_not_even_the_lock(
        tmp_path: Path, refusal: Callable[[Workspace], object], error: type[Exception], says: str) -> None:
    ws = demo_copy(tmp_path)
    before = tree_digest(tmp_path)
    with pytest.raises(error) as info:
        refusal(Workspace(ws))
    assert says in str(info.value)
    assert tree_digest(tmp_path) == before


def test_a_write_that_fails_midway_changes_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = _ten_sites(tmp_path)  # the lock file exists from this first write
    before = tree_digest(tmp_path)
    real = gpkg.write_gdf

    def write_then_fail(path: Path, layer: str, gdf: gpd.GeoDataFrame) -> None:
        real(path, layer, gdf)
        with sqlite3.connect(path) as con:  # leave a journal beside the copy, as a crash would
            con.execute("CREATE TABLE half (x)")
        Path(f"{path}-journal").write_bytes(b"partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gpkg, "write_gdf", write_then_fail)
    with pytest.raises(OSError, match="No space left"):
        ws.write_layer("deposits", sites(2).rename(columns={"site_id": "deposit_id"}), source="d")
    assert tree_digest(tmp_path) == before


def test_an_atomic_write_to_a_symlink_updates_its_target(tmp_path: Path) -> None:
    from layers.io.safefile import atomic_path

    target = tmp_path / "shared" / "violations.csv"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "latest.csv"
    link.symlink_to(target)
    with atomic_path(link) as tmp:
        tmp.write_text("new\n")
    assert link.is_symlink() and target.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["latest.csv", "shared", "violations.csv"]
