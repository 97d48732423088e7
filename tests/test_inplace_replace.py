"""A workspace GeoPackage replaced under HgWatch by another file with as many data commits: copied
over in place (``cp``, a restore, ``rsync --inplace``: the same inode, the same size, even the same
modification time with ``cp -p``), renamed over it (a new inode), or removed and written anew (an
inode the file system may give again). The dashboard's service, holding an answer made from the old
file, gives the new file's answer next; the change stamp moves. A ``touch`` or ``chmod`` after
bookkeeping (the last commit a sign-in) keeps the answers. Real files and services, nothing mocked.

The two files are written the same way (the same commits, data and bookkeeping, in the same order),
so SQLite's header counter less the bookkeeping commits is the same in both: that count alone,
which the stamp was, cannot tell them apart.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point

from layers.store import changes, gpkg
from layers.store.workspace import Workspace
from services import audit
from services.hgwatch import HgWatch, Query
from settings import Settings

WATER = gpd.GeoDataFrame({"water_id": ["R"], "name": ["River"], "kind": ["river"]},
                         geometry=[LineString([(0.0, 0.0), (0.3, 0.0)])], crs=4326)
# 0.0005 degrees of latitude at the equator is 55.3 m from the river (within HG-WATER-100's 100 m);
# 0.05 degrees is 5.5 km. The copy swaps which site lies beside the river.
NEAR, FAR = Point(0.05, 0.0005), Point(0.2, 0.05)
SITES = gpd.GeoDataFrame({"site_id": ["S-1", "S-2"], "name": ["a", "b"], "status": ["active", "active"],
                          "amalgamation": ["concentrate", "whole_ore"]}, geometry=[NEAR, FAR], crs=4326)
SWAPPED = SITES.assign(geometry=[FAR, NEAR])
Q = Query(rule_ids=("HG-WATER-100",))


def _sign_in(ws: Workspace) -> None:
    audit.record_session(ws, "sign in", "ana", via="password")


def _rule_run(ws: Workspace) -> None:
    ws.record_run(rules_hash="h", input_hashes={"mining_sites": "x"}, counts={"HG": 1}, violation_ids=[])


# what each file went through after its layers were written; the two files of a case have the same data commits
HISTORIES: dict[str, tuple[list[Callable[[Workspace], None]], list[Callable[[Workspace], None]]]] = {
    "both last wrote data": ([], []),
    "both last wrote bookkeeping": ([_sign_in], [_sign_in]),
    "the copy has one more bookkeeping commit": ([], [_sign_in]),
    "bookkeeping then data, data then bookkeeping": ([_sign_in, _rule_run], [_rule_run, _sign_in]),
}


def _data_commits(path: Path) -> int:
    """SQLite's header counter (4 bytes big-endian at offset 24) less the bookkeeping commits: what the stamp was."""
    with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as con:
        has = con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (changes.TABLE,)).fetchone()
        commits = con.execute(f"SELECT commits FROM {changes.TABLE}").fetchone() if has else None
    return int.from_bytes(path.read_bytes()[24:28], "big") - (int(commits[0]) if commits else 0)


def _overwrite(source: Path, target: Path) -> None:
    """``cp -p source target``: the target file itself rewritten, its modification time the source's."""
    shutil.copyfile(source, target)
    shutil.copystat(source, target)


def _overwrite_keeping_times(source: Path, target: Path) -> None:
    """The target rewritten in place, its modification time put back as it was: only its ctime shows it."""
    st = target.stat()
    shutil.copyfile(source, target)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))


def _rename_over(source: Path, target: Path) -> None:
    shutil.copyfile(source, target.with_name("incoming.gpkg"))
    os.replace(target.with_name("incoming.gpkg"), target)


def _remove_and_copy(source: Path, target: Path) -> None:
    target.unlink()
    shutil.copyfile(source, target)


REPLACEMENTS: dict[str, Callable[[Path, Path], None]] = {
    "cp -p in place": _overwrite, "in place, times put back": _overwrite_keeping_times,
    "renamed over": _rename_over, "removed and copied anew": _remove_and_copy,
}


def _twins(tmp_path: Path, history: str) -> tuple[Workspace, Workspace]:
    """The workspace (S-1 beside the river) and a file of as many data commits (S-2 beside it)."""
    made = []
    for name, sites, steps in zip(("ws", "other"), (SITES, SWAPPED), HISTORIES[history]):
        ws = Workspace(tmp_path / f"{name}.gpkg")
        ws.write_layers([("mining_sites", sites), ("water_bodies", WATER)], source="hand-made test layers")
        for step in steps:
            step(ws)
        made.append(ws)
    return made[0], made[1]


@pytest.mark.parametrize("how", list(REPLACEMENTS))
@pytest.mark.parametrize("history", list(HISTORIES))
def test_a_file_put_in_place_of_the_workspace_gives_its_own_answers(tmp_path: Path, history: str, how: str) -> None:
    ws, other = _twins(tmp_path, history)
    svc = HgWatch(Settings.from_env({}, workspace=ws.real))
    first = svc.violations(Q)[0]
    assert list(first["site_id"]) == ["S-1"]
    assert svc.violations(Q)[0] is first  # a warm cached answer
    before = ws.change_stamp()
    assert _data_commits(ws.real) == _data_commits(other.real)  # the count alone cannot tell them apart
    inode, size = ws.real.stat().st_ino, ws.real.stat().st_size
    REPLACEMENTS[how](other.real, ws.real)
    if how.startswith(("cp", "in place")):
        assert ws.real.stat().st_ino == inode  # the same file, rewritten
    if how == "in place, times put back" and history.startswith("both"):
        assert ws.real.stat().st_size == size  # the same layers, written the same way
    assert ws.change_stamp() != before
    assert list(svc.violations(Q)[0]["site_id"]) == ["S-2"]


def test_a_copy_in_place_is_seen_when_made_right_after_the_stamp_was_read(tmp_path: Path) -> None:
    ws, other = _twins(tmp_path, "both last wrote data")
    for round_ in range(20):  # read, copy at once, read: no clock tick between them to hide in
        source, expected = (other, "S-2") if round_ % 2 == 0 else (ws.real.with_name("back.gpkg"), "S-1")
        if round_ == 0:
            shutil.copyfile(ws.real, ws.real.with_name("back.gpkg"))
        before = changes.stamp(ws.real)
        shutil.copyfile(source.real if isinstance(source, Workspace) else source, ws.real)
        assert changes.stamp(ws.real) != before, round_
        assert list(ws.read("mining_sites").query("geometry.y < 0.001")["site_id"]) == [expected]


@pytest.mark.parametrize("touch", ["touch", "chmod", "touch, then a sign-in"])
def test_a_touch_after_bookkeeping_keeps_the_answers(tmp_path: Path, touch: str) -> None:
    ws, _ = _twins(tmp_path, "both last wrote bookkeeping")
    svc = HgWatch(Settings.from_env({}, workspace=ws.real))
    first = svc.violations(Q)[0]
    before = ws.change_stamp()
    if touch == "chmod":
        ws.real.chmod(0o640)
    else:
        os.utime(ws.real)
    if touch.endswith("sign-in"):
        _sign_in(ws)
    assert ws.change_stamp() == before
    assert svc.violations(Q)[0] is first


def test_bookkeeping_on_a_workspace_from_before_the_anchor_leaves_the_stamp(tmp_path: Path) -> None:
    ws, _ = _twins(tmp_path, "both last wrote bookkeeping")
    with ws.writing() as con:  # hgw_bookkeeping as the previous version made it: commits alone
        con.execute(f"DROP TABLE {changes.TABLE}")
        con.execute(f"CREATE TABLE {changes.TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1), commits INTEGER NOT NULL)")
        con.execute(f"INSERT INTO {changes.TABLE} VALUES (1, 7)")
    before = ws.change_stamp()
    _sign_in(ws)
    _sign_in(ws)
    assert ws.change_stamp() == before
    _rule_run(ws)
    assert ws.change_stamp() != before


# ---------------------------------------------------------------------- any sequence, two files
def _update(ws: Workspace, name: str) -> None:
    with contextlib.closing(sqlite3.connect(ws.real)) as con, con:
        gpkg.register_functions(con)
        con.execute("UPDATE mining_sites SET name = ? WHERE site_id = 'S-2'", (name,))


def _seen_data(ws: Workspace) -> tuple[object, ...]:
    frame = ws.read("mining_sites")
    return tuple(zip(frame["site_id"], frame["name"], frame.geometry.y)), len(ws.runs(limit=100))


_OPS = ["sign in here", "sign in there", "rename here", "rename there", "rule run here", "rule run there",
        "cp -p there here", "cp there here, times put back", "touch here"]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(_OPS), min_size=1, max_size=7), st.sampled_from(["a", "b"]))
def test_in_any_sequence_an_unmoved_stamp_means_unchanged_data(tmp_path_factory: pytest.TempPathFactory,
                                                               ops: list[str], name: str) -> None:
    here, there = _twins(tmp_path_factory.mktemp("twins"), "both last wrote data")
    stamp, data = here.change_stamp(), _seen_data(here)
    for step, op in enumerate(ops):
        ws = here if op.endswith("here") and not op.startswith("cp") else there
        if op.startswith("sign in"):
            _sign_in(ws)
        elif op.startswith("rename"):
            _update(ws, f"{name}{step % 2}")  # names of one length: the same size, maybe the same as before
        elif op.startswith("rule run"):
            _rule_run(ws)
        elif op.startswith("cp -p"):
            _overwrite(there.real, here.real)
        elif op.startswith("cp"):
            _overwrite_keeping_times(there.real, here.real)
        else:
            os.utime(here.real)
        now, seen = here.change_stamp(), _seen_data(here)
        if now == stamp:
            assert seen == data, (step, op)  # never a stale answer
        if op.startswith("sign in here"):
            assert now == stamp, (step, op)  # bookkeeping keeps the answers
        stamp, data = now, seen
