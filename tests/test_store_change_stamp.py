"""The store's change stamp (``Store.change_stamp``) on both back ends: bookkeeping (audit rows
appended on their own, accounts, API keys) leaves it, so the dashboard's cached answers survive a
sign-in or a partner's API request; every change of the data moves it (a layer write, shareable
marks, a rule run, a case), on a GeoPackage also a change made by another program (GDAL, the
sqlite3 shell, a file copied over the workspace). The SQLite header counter the GeoPackage stamp
rests on is checked here too. Real stores, nothing mocked."""
from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import psycopg
import pyogrio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point

from layers.store import cases, gpkg
from layers.store.accounts import Account, accounts_for, changed
from layers.store.base import Store
from layers.store.keys import ApiKey, keys_for
from layers.store.open import open_store
from layers.store.pgschema import forget_engine
from layers.store.workspace import Workspace
from services import audit
from services.hgwatch import HgWatch, Query
from settings import Settings

WATER = gpd.GeoDataFrame({"water_id": ["R"], "name": ["River"], "kind": ["river"]},
                         geometry=[LineString([(0.0, 0.0), (0.3, 0.0)])], crs=4326)
# S-near lies 0.0005 degrees (55.7 m) from the river: within the 100 m of HG-WATER-100; S-far 5.6 km away
SITES = gpd.GeoDataFrame({
    "site_id": ["S-near", "S-far"], "name": ["a", "b"], "status": ["active", "active"],
    "amalgamation": ["concentrate", "whole_ore"],
}, geometry=[Point(0.05, 0.0005), Point(0.2, 0.05)], crs=4326)
NOW = "2026-01-01T00:00:00+00:00"


@pytest.fixture
def store(location: str) -> Store:
    """A store holding the hand-made sites and river, one account and one API key."""
    made = open_store(location)
    made.write_layers([("mining_sites", SITES), ("water_bodies", WATER)], source="hand-made test layers")
    accounts_for(made).add(Account("ana", "analyst", (), "argon2-hash-not-checked-here", created_at=NOW))
    keys_for(made).add(ApiKey("a" * 64, "ana", NOW))
    return made


def _case(violation_id: str) -> cases.Case:
    return cases.Case(violation_id, "HG-WATER-100", "1", "mining_sites", "S-near", "a", None, "open", None, None,
                      None, True, None, 55.7, 0.05, 0.0005, None, None, None, NOW, NOW, None, None)


def _put_case(store: Store) -> None:
    with cases.writing(store) as tables:
        tables.put([_case("V-1")])


BOOKKEEPING: dict[str, Callable[[Store], object]] = {
    "sign in": lambda s: audit.record_session(s, "sign in", "ana", via="password"),
    "refused sign in": lambda s: audit.record_session(s, "sign in refused", "ana", via="password", reason="bad"),
    "download": lambda s: audit.record_output(s, "download", "violations.csv", after={"rows": 1}),
    "api requests": lambda s: audit.record_outputs(s, [("key:ana", "api items", "mining_sites", {"n": 2}),
                                                       ("key:ana", "api items", "water_bodies", {"n": 1})]),
    "audit record": lambda s: audit.record(s, "account disable", "ana", before={"disabled": False}),
    "account add": lambda s: accounts_for(s).add(Account("bea", "partner", (), "h", created_at=NOW)),
    "failure counter": lambda s: accounts_for(s).put(changed(accounts_for(s).get("ana"), failures=1, last_failure=1.0)),
    "key add": lambda s: keys_for(s).add(ApiKey("b" * 64, "ana", NOW)),
    "key revoke": lambda s: keys_for(s).revoke("ana", NOW),
}
DATA: dict[str, Callable[[Store], object]] = {
    "layer replaced": lambda s: s.write_layer("mining_sites", SITES, source="again"),
    "layer appended": lambda s: s.write_layer("mining_sites", SITES.assign(site_id=["S-3", "S-4"]), source="more",
                                              append=True),
    "shareable marked": lambda s: s.mark_shareable("mining_sites", ["status"]),
    "rule run": lambda s: s.record_run(rules_hash="h", input_hashes={"mining_sites": "x"}, counts={"HG": 1},
                                       violation_ids=["V-1"]),
    "case written": _put_case,
}


@pytest.mark.parametrize("what", list(BOOKKEEPING))
def test_bookkeeping_leaves_the_stamp(store: Store, what: str) -> None:
    before = store.change_stamp()
    assert before != (-1,)
    BOOKKEEPING[what](store)
    assert store.change_stamp() == before
    audit.record_session(store, "log out", "ana", via="password")  # and after another (a count read again)
    assert store.change_stamp() == before


@pytest.mark.parametrize("what", list(DATA))
def test_a_change_of_the_data_moves_the_stamp(store: Store, what: str) -> None:
    audit.record_session(store, "sign in", "ana", via="password")  # bookkeeping counted before ...
    before = store.change_stamp()
    DATA[what](store)
    after = store.change_stamp()
    assert after != before
    audit.record_session(store, "log out", "ana", via="password")  # ... and after it: the data change stays seen
    assert store.change_stamp() == after


def test_no_store_yet_has_its_own_stamp(tmp_path: Path, pg_bare_url: str) -> None:
    assert Workspace(tmp_path / "none.gpkg").change_stamp() == (-1,)
    assert open_store(pg_bare_url).change_stamp() == (-1,)


# ---------------------------------------------------------------------- GeoPackage: other programs
def _counter(path: Path) -> int:
    """SQLite's file change counter: 4 bytes big-endian at offset 24 of the header."""
    with open(path, "rb") as fh:
        return int.from_bytes(fh.read(28)[24:28], "big")


def test_sqlite_s_header_counter_rises_once_per_commit_and_never_for_a_read(tmp_path: Path) -> None:
    path = tmp_path / "ws.gpkg"
    pyogrio.write_dataframe(SITES, path, layer="mining_sites", driver="GPKG")
    start = _counter(path)
    con = sqlite3.connect(path, isolation_level=None)
    gpkg.register_functions(con)  # the ST_* functions GDAL's R-tree triggers call (a GIS's SQLite has them)
    try:
        con.execute("UPDATE mining_sites SET name = 'x' WHERE site_id = 'S-far'")
        assert _counter(path) == start + 1
        con.execute("BEGIN IMMEDIATE")
        con.execute("CREATE TABLE t (x)")
        con.execute("INSERT INTO t VALUES (1)")
        con.execute("COMMIT")
        assert _counter(path) == start + 2  # one transaction, one step
        con.execute("BEGIN IMMEDIATE")
        con.execute("COMMIT")
        con.execute("UPDATE t SET x = 2 WHERE x = 99")  # nothing changed, nothing counted
        assert _counter(path) == start + 2
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO t VALUES (3)")
        con.execute("ROLLBACK")
        assert _counter(path) == start + 2
    finally:
        con.close()
    pyogrio.read_dataframe(path, layer="mining_sites")
    pyogrio.read_info(path, layer="mining_sites")
    assert _counter(path) == start + 2  # GDAL reading writes nothing
    pyogrio.write_dataframe(SITES.assign(site_id=["S-5", "S-6"]), path, layer="mining_sites", driver="GPKG", append=True)
    assert _counter(path) > start + 2  # GDAL's append is counted


@pytest.fixture
def gpkg_store(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path / "ws.gpkg")
    ws.write_layers([("mining_sites", SITES), ("water_bodies", WATER)], source="hand-made test layers")
    audit.record_session(ws, "sign in", "ana", via="password")
    return ws


def test_a_gdal_append_from_outside_moves_the_stamp(gpkg_store: Workspace) -> None:
    before = gpkg_store.change_stamp()
    pyogrio.write_dataframe(SITES.assign(site_id=["S-7", "S-8"]), gpkg_store.real, layer="mining_sites",
                            driver="GPKG", append=True)
    assert gpkg_store.change_stamp() != before
    assert len(gpkg_store.read("mining_sites")) == 4


def test_a_plain_sqlite_update_of_a_layer_row_moves_the_stamp(gpkg_store: Workspace) -> None:
    before = gpkg_store.change_stamp()
    with sqlite3.connect(gpkg_store.real) as con:
        gpkg.register_functions(con)
        con.execute("UPDATE mining_sites SET name = 'edited in the sqlite3 shell' WHERE site_id = 'S-far'")
    con.close()
    assert gpkg_store.change_stamp() != before


def test_a_file_copied_over_the_workspace_moves_the_stamp(gpkg_store: Workspace, tmp_path: Path) -> None:
    other = Workspace(tmp_path / "other.gpkg")  # the same layers written the same way: same counter, other data
    other.write_layers([("mining_sites", SITES.assign(name=["other", "data"])), ("water_bodies", WATER)],
                       source="hand-made test layers")
    audit.record_session(other, "sign in", "ana", via="password")
    before = gpkg_store.change_stamp()
    shutil.copyfile(other.real, tmp_path / "copy.gpkg")
    os.replace(tmp_path / "copy.gpkg", gpkg_store.real)
    assert gpkg_store.change_stamp() != before
    assert list(gpkg_store.read("mining_sites")["name"]) == ["other", "data"]


def test_a_file_in_wal_mode_moves_the_stamp_on_every_write(gpkg_store: Workspace) -> None:
    con = sqlite3.connect(gpkg_store.real, isolation_level=None)  # as QGIS may leave it while it edits
    gpkg.register_functions(con)
    try:
        con.execute("PRAGMA journal_mode = WAL")
        before = gpkg_store.change_stamp()
        con.execute("UPDATE mining_sites SET name = 'edited in WAL mode' WHERE site_id = 'S-far'")
        assert gpkg_store.change_stamp() != before
        con.execute("PRAGMA journal_mode = DELETE")
    finally:
        con.close()


def test_reading_the_stamp_writes_nothing(gpkg_store: Workspace) -> None:
    pyogrio.write_dataframe(SITES.assign(site_id=["S-9", "S-10"]), gpkg_store.real, layer="mining_sites",
                            driver="GPKG", append=True)
    data, mtime = gpkg_store.real.read_bytes(), gpkg_store.real.stat().st_mtime_ns
    for _ in range(3):
        gpkg_store.change_stamp()
    assert gpkg_store.real.read_bytes() == data and gpkg_store.real.stat().st_mtime_ns == mtime


# ---------------------------------------------------------------------- the dashboard's caches
def test_the_service_keeps_its_answers_through_bookkeeping_and_drops_them_on_an_import(
        store: Store, location: str, backend: str) -> None:
    settings = Settings.from_env({}, workspace=location) if backend == "geopackage" else \
        Settings.from_env({}, database_url=location)
    svc = HgWatch(settings)
    q = Query(rule_ids=("HG-WATER-100",))
    first = svc.violations(q)[0]
    assert list(first["site_id"]) == ["S-near"]
    audit.record_session(store, "sign in", "ana", via="password")  # a dashboard sign-in
    accounts_for(store).put(changed(accounts_for(store).get("ana"), failures=1, last_failure=1.0))  # a refused one
    audit.record_outputs(store, [("key:ana", "api items", "mining_sites", {"n": 2})])  # a partner's API request
    assert svc.violations(q)[0] is first
    assert HgWatch(settings).violations(q)[0] is not first  # another service: its own answers (the test is real)
    moved = SITES.assign(geometry=[Point(0.05, 0.01), SITES.geometry[1]])  # S-near now 1.1 km away
    store.write_layer("mining_sites", moved, source="moved")
    again = svc.violations(q)[0]
    assert again is not first and again.empty


# ---------------------------------------------------------------------- PostGIS: the stamp's own connection
def _backends(url: str) -> int:
    """Connections to the database of ``url`` other than the one asking."""
    with psycopg.connect(url, autocommit=True) as con:
        found = con.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                            " AND pid <> pg_backend_pid()").fetchone()
    assert found is not None
    return int(found[0])


def test_the_postgis_stamp_survives_a_lost_connection_and_forget_engine_closes_it(pg_url: str) -> None:
    store = open_store(pg_url)
    before = store.change_stamp()
    with psycopg.connect(pg_url, autocommit=True) as con:  # the server ends every other session (a restart)
        con.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid()")
    assert store.change_stamp() == before  # connected again
    store.write_layer("water_bodies", WATER, source="again")
    assert store.change_stamp() != before
    assert _backends(pg_url) >= 1
    forget_engine(pg_url)
    for _ in range(600):  # a closed session's server process leaves pg_stat_activity as it exits (under the
        # full suite at load 14 that took over 10 s once: the clean-clone run of 8c7ea5a; up to 60 s allowed)
        if _backends(pg_url) == 0:
            break
        time.sleep(0.1)
    assert _backends(pg_url) == 0


# ---------------------------------------------------------------------- any sequence of writes
_REPEATABLE = ["sign in", "refused sign in", "download", "api requests", "audit record", "failure counter", "key revoke"]


def _outside_update(ws: Workspace, step: int) -> None:
    with contextlib.closing(sqlite3.connect(ws.real)) as con, con:
        gpkg.register_functions(con)
        con.execute("UPDATE mining_sites SET name = ? WHERE site_id = 'S-far'", (f"edit {step}",))


_CHANGES: dict[str, Callable[[Workspace, int], object]] = {
    "rule run": lambda ws, _: DATA["rule run"](ws),
    "sqlite update": _outside_update,
    "gdal append": lambda ws, step: pyogrio.write_dataframe(
        SITES.assign(site_id=[f"G-{step}-a", f"G-{step}-b"]), ws.real, layer="mining_sites", driver="GPKG", append=True),
}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_REPEATABLE + list(_CHANGES)), min_size=1, max_size=6))
def test_in_any_sequence_of_writes_the_stamp_moves_exactly_at_the_data_changes(ops: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws.gpkg")
        ws.write_layers([("mining_sites", SITES), ("water_bodies", WATER)], source="hand-made test layers")
        accounts_for(ws).add(Account("ana", "analyst", (), "h", created_at=NOW))
        seen = [ws.change_stamp()]
        for step, op in enumerate(ops):
            if op in BOOKKEEPING:
                BOOKKEEPING[op](ws)
            else:
                _CHANGES[op](ws, step)
            now = ws.change_stamp()
            assert (now == seen[-1]) == (op in BOOKKEEPING), op
            assert op in BOOKKEEPING or now not in seen  # a data change never brings back an earlier stamp
            seen.append(now)
