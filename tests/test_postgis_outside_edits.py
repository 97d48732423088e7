"""On PostGIS an edit made from outside the app (psql, a QGIS edit session: a plain SQL connection,
as the database owner or as another role given rights on a layer table) moves the store's change
stamp when it commits (migration v0009), so the dashboard's answers and the partner API's
collections serve the edited rows. It is still recorded in the audit trail as ``db:<user>``; an
outside ``TRUNCATE`` is recorded too. Bookkeeping tables (accounts, API keys, the trail) carry no
such trigger: an outside change of them leaves every cache. A store at v0008 is brought to v0009
by ``db upgrade`` and then behaves. Real PostGIS (``tests/postgis.py``), nothing mocked."""
from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import geopandas as gpd
import psycopg
import pytest
from alembic import command
from alembic.config import Config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb
from shapely.geometry import LineString, Point

import cli
from geo.errors import WorkspaceError
from layers.catalogue import CATALOGUE
from layers.store import pgroles
from layers.store.open import open_store
from layers.store.pgschema import MIGRATIONS, connect, head_revision
from layers.store.postgis import PostgisStore
from services import audit
from services.auth import Identity
from services.features import FeatureSource
from services.hgwatch import HgWatch, Query
from settings import Settings
from tests.api_kit import planted

WATER = gpd.GeoDataFrame({"water_id": ["R"], "name": ["River"], "kind": ["river"]},
                         geometry=[LineString([(0.0, 0.0), (0.3, 0.0)])], crs=4326)
# S-near lies 0.0005 degrees (55.7 m) from the river: within the 100 m of HG-WATER-100; S-far 5.6 km away
SITES = gpd.GeoDataFrame({"site_id": ["S-near", "S-far"], "name": ["a", "b"], "status": ["active", "active"],
                          "amalgamation": ["concentrate", "whole_ore"]},
                         geometry=[Point(0.05, 0.0005), Point(0.2, 0.05)], crs=4326)
# the tables whose outside edits are data: every layer type, provenance, share marks, runs, cases
DATA_TABLES = (*CATALOGUE, "hgw_layers", "hgw_shareable", "hgw_runs", "hgw_cases", "hgw_case_comments",
               "hgw_case_visits")
BOOKKEEPING = ("hgw_accounts", "hgw_api_keys", "hgw_audit")
SAMPLE = {"text": "x", "bigint": 1, "integer": 1, "smallint": 1, "double precision": 1.0, "boolean": True,
          "date": "2026-01-01", "bytea": b"", "jsonb": Jsonb({})}
CHECKED = {("hgw_accounts", "role"): "analyst", ("hgw_api_keys", "key_hash"): "a" * 64}  # limited by a CHECK
BOOKKEEPING_UPDATES = {"hgw_accounts": "UPDATE hgw_accounts SET failures = failures + 1, disabled = true",
                       "hgw_api_keys": "UPDATE hgw_api_keys SET revoked_at = '2026-01-02T00:00:00+00:00'",
                       "hgw_audit": "UPDATE hgw_audit SET who = 'someone else'"}


@pytest.fixture
def store(pg_url: str) -> PostgisStore:
    """A database holding the hand-made sites and river (written by the app: no audit row)."""
    made = open_store(pg_url)
    assert isinstance(made, PostgisStore)
    made.write_layers([("mining_sites", SITES), ("water_bodies", WATER)], source="hand-made test layers")
    return made


@contextlib.contextmanager
def outside(url: str) -> Iterator[psycopg.Connection[Any]]:
    """A plain SQL session committed at the end (psql, QGIS saving its edits)."""
    with psycopg.connect(url) as con:
        yield con


@contextlib.contextmanager
def editor_role(url: str, table: str, rights: str) -> Iterator[str]:
    """A login role (not the owner) given ``rights`` on ``table``: a GIS officer's QGIS account; its URL."""
    name = f"gis_{uuid.uuid4().hex[:8]}"  # roles are cluster-wide: one per test
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"CREATE ROLE {name} LOGIN")
        con.execute(f'GRANT {rights} ON "{table}" TO {name}')
    scheme, rest = url.split("//", 1)
    try:
        yield f"{scheme}//{name}@{rest.split('@', 1)[1]}"
    finally:
        with psycopg.connect(url, autocommit=True) as con:
            con.execute(f'REVOKE ALL ON "{table}" FROM {name}')
            con.execute(f"DROP ROLE {name}")


def _user(url: str) -> str:
    with psycopg.connect(url) as con:
        return str(con.execute("SELECT session_user").fetchone()[0])  # type: ignore[index]


def _trail(store: PostgisStore) -> list[tuple[str, str, str]]:
    return [(r.who, r.action, r.target) for r in audit.trail(store)]


def _one_row(con: psycopg.Connection[Any], table: str) -> None:
    """Insert one row into ``table``: every NOT NULL column without a default gets a sample of its type."""
    found = con.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'public'"
                        " AND table_name = %s AND is_nullable = 'NO' AND column_default IS NULL"
                        " AND is_identity = 'NO'", [table]).fetchall()
    if not found:
        con.execute(f'INSERT INTO "{table}" DEFAULT VALUES')
        return
    names = ", ".join(f'"{name}"' for name, _ in found)
    con.execute(f'INSERT INTO "{table}" ({names}) VALUES ({", ".join(["%s"] * len(found))})',
                [CHECKED.get((table, name), SAMPLE[kind]) for name, kind in found])


# ---------------------------------------------------------------- the stamp
EDITS = {
    "update": "UPDATE mining_sites SET name = 'a (verified)' WHERE site_id = 'S-near'",
    "insert": "INSERT INTO mining_sites (site_id, name, geom)"
              " VALUES ('S-new', 'c', ST_SetSRID(ST_MakePoint(0.1, 0.1), 4326))",
    "delete": "DELETE FROM mining_sites WHERE site_id = 'S-far'",
    "truncate": "TRUNCATE mining_sites",
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_outside_edit_of_a_site_moves_the_stamp_at_commit_and_is_recorded(store: PostgisStore, edit: str) -> None:
    before = store.change_stamp()
    with outside(store.url) as con:
        con.execute(EDITS[edit])
        assert store.change_stamp() == before  # not committed yet: readers still see the old rows
    assert store.change_stamp() == (before[0] + 1,)
    user = _user(store.url)
    assert _trail(store) == [(f"db:{user}", f"sql {edit}", "mining_sites")]
    assert audit.verify(store).ok
    with psycopg.connect(store.url) as con:
        assert con.execute("SELECT count(*) FROM hgw_outside_edits").fetchone() == (0,)  # nothing left pending


def test_an_outside_truncate_records_the_rows_it_emptied(store: PostgisStore) -> None:
    with outside(store.url) as con:
        con.execute("TRUNCATE mining_sites")
    (row,) = audit.trail(store)
    assert row.action == "sql truncate" and json.loads(row.after) is None
    assert sorted(r["site_id"] for r in json.loads(row.before)) == ["S-far", "S-near"]


def test_an_editor_who_is_not_the_owner_moves_the_stamp_and_gets_no_right_on_the_counter(store: PostgisStore) -> None:
    before = store.change_stamp()[0]
    with editor_role(store.url, "mining_sites", "SELECT, INSERT, UPDATE, DELETE, TRUNCATE") as editor_url:
        for step, sql in enumerate(EDITS.values(), start=1):
            with outside(editor_url) as con:
                con.execute(sql)
            assert store.change_stamp() == (before + step,)
        editor = editor_url.split("//", 1)[1].split("@", 1)[0]
        assert _trail(store) == [(f"db:{editor}", f"sql {e}", "mining_sites") for e in EDITS]
        for sql in ("UPDATE hgw_state SET generation = 0", "INSERT INTO hgw_outside_edits VALUES (1)",
                    "SELECT * FROM hgw_outside_edits", "DELETE FROM hgw_audit"):
            with outside(editor_url) as con, pytest.raises(psycopg.errors.InsufficientPrivilege):
                con.execute(sql)
    assert audit.verify(store).ok


def test_a_statement_that_changes_no_row_moves_nothing_and_records_nothing(store: PostgisStore) -> None:
    before = store.change_stamp()
    with outside(store.url) as con:
        con.execute("UPDATE mining_sites SET name = 'z' WHERE site_id = 'nobody'")
        con.execute("DELETE FROM mining_sites WHERE false")
        con.execute("TRUNCATE residential_areas")  # holds no row
    assert store.change_stamp() == before and _trail(store) == []


def test_one_transaction_moves_the_stamp_once_and_a_rolled_back_one_not_at_all(store: PostgisStore) -> None:
    start = store.change_stamp()[0]
    with outside(store.url) as con:  # a QGIS save: one statement per edited feature
        for i in range(5):
            con.execute("UPDATE mining_sites SET status = %s WHERE site_id = 'S-near'", [f"s{i}"])
        con.execute("UPDATE water_bodies SET name = 'Bonsa'")
    assert store.change_stamp() == (start + 1,)
    with outside(store.url) as con:
        con.execute("UPDATE mining_sites SET status = 'gone'")
        con.rollback()
    assert store.change_stamp() == (start + 1,)
    with outside(store.url) as con:  # an edit undone to a savepoint, then another one kept
        with contextlib.suppress(psycopg.errors.DivisionByZero), con.transaction():
            con.execute("UPDATE mining_sites SET status = 'undone'")
            con.execute("SELECT 1 / 0")
        con.execute("UPDATE water_bodies SET name = 'Ankobra'")
    assert store.change_stamp() == (start + 2,)
    assert [a for _, a, _ in _trail(store)] == ["sql update"] * 7  # 6 saved, then the one after the savepoint


def test_an_open_outside_transaction_does_not_hold_the_counter_against_the_app(store: PostgisStore) -> None:
    """The counter is raised at commit: while a QGIS session has edits open, the app's own data
    write (a rule run) goes through and moves the stamp; the edits move it again when saved."""
    start = store.change_stamp()[0]
    with outside(store.url) as con:
        con.execute("UPDATE mining_sites SET name = 'open' WHERE site_id = 'S-near'")
        done: list[int] = []
        app = threading.Thread(target=lambda: done.append(store.record_run(
            rules_hash="h", input_hashes={}, counts={}, violation_ids=[])))
        app.start()
        app.join(120)  # a guard against a hang, not a speed test: the write waits for nothing
        assert done, "the app's write waited for the open outside transaction"
        assert store.change_stamp() == (start + 1,)
    assert store.change_stamp() == (start + 2,)


STATEMENTS = {  # what an outside session may run; each changes rows or not, by the table's state
    "update site": "UPDATE mining_sites SET status = 'edited'",
    "insert site": "INSERT INTO mining_sites (site_id) VALUES ('S-x')",
    "delete site": "DELETE FROM mining_sites WHERE fid = (SELECT min(fid) FROM mining_sites)",
    "update none": "UPDATE water_bodies SET name = 'none' WHERE false",
    "truncate river": "TRUNCATE water_bodies",
    "insert river": "INSERT INTO water_bodies (water_id) VALUES ('W-x')",
}
TRANSACTIONS = st.lists(st.tuples(st.lists(st.sampled_from(list(STATEMENTS)), min_size=1, max_size=3), st.booleans()),
                        min_size=1, max_size=4)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(transactions=TRANSACTIONS)
def test_the_stamp_moves_once_per_committed_transaction_that_changed_a_row(
        store: PostgisStore, transactions: list[tuple[list[str], bool]]) -> None:
    """Any sequence of outside transactions (some rolled back): the stamp rises by exactly the
    number of committed ones whose statements changed at least one row."""
    start, expected = store.change_stamp()[0], 0
    for statements, commit in transactions:
        changed = False
        with outside(store.url) as con:
            for name in statements:
                held = con.execute("SELECT count(*) FROM water_bodies").fetchone()
                done = con.execute(STATEMENTS[name])
                changed |= done.rowcount > 0 or (name == "truncate river" and held != (0,))
            if not commit:
                con.rollback()
        expected += commit and changed
        assert store.change_stamp() == (start + expected,)


# ---------------------------------------------------------------- which tables count
def test_exactly_the_data_tables_have_the_outside_triggers(store: PostgisStore) -> None:
    with psycopg.connect(store.url) as con:
        found = con.execute(
            "SELECT c.relname, array_agg(t.tgname ORDER BY t.tgname) FROM pg_trigger t"
            " JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid"
            " WHERE p.proname = 'hgw_audit_outside' GROUP BY c.relname").fetchall()
    every = ["hgw_audit_delete", "hgw_audit_insert", "hgw_audit_truncate", "hgw_audit_update"]
    assert dict(found) == {table: every for table in DATA_TABLES}
    assert not set(BOOKKEEPING) & {table for table, _ in found}


@pytest.mark.parametrize("table", DATA_TABLES)
def test_an_outside_edit_of_any_data_table_moves_the_stamp(store: PostgisStore, table: str) -> None:
    start = store.change_stamp()[0]
    with outside(store.url) as con:
        _one_row(con, table)
    assert store.change_stamp() == (start + 1,)
    with outside(store.url) as con:
        con.execute(f'TRUNCATE "{table}"')
    assert store.change_stamp() == (start + 2,)
    assert [(a, t) for _, a, t in _trail(store)] == [("sql insert", table), ("sql truncate", table)]


@pytest.mark.parametrize("table", BOOKKEEPING)
def test_an_outside_edit_of_bookkeeping_leaves_the_stamp(store: PostgisStore, table: str) -> None:
    before = store.change_stamp()
    with outside(store.url) as con:
        _one_row(con, table)
    with outside(store.url) as con:
        con.execute(BOOKKEEPING_UPDATES[table])
    assert store.change_stamp() == before
    if table != "hgw_audit":
        with outside(store.url) as con:
            con.execute(f'DELETE FROM "{table}"')
        assert store.change_stamp() == before


# ---------------------------------------------------------------- what the faces serve
def test_the_dashboard_serves_the_outside_edit(store: PostgisStore) -> None:
    svc = HgWatch(Settings.from_env({}, database_url=store.url))
    q = Query(rule_ids=("HG-WATER-100",))
    first = svc.violations(q)[0]
    assert list(first["site_id"]) == ["S-near"]
    assert svc.violations(q)[0] is first  # kept while nothing changed
    with outside(store.url) as con:  # a GIS officer moves S-near 1.1 km from the river and renames S-far
        con.execute("UPDATE mining_sites SET geom = ST_SetSRID(ST_MakePoint(0.05, 0.01), 4326) WHERE site_id = 'S-near'")
        con.execute("UPDATE mining_sites SET name = 'b (verified)' WHERE site_id = 'S-far'")
    assert svc.violations(q)[0].empty
    assert svc.frames()["mining_sites"].set_index("site_id").loc["S-far", "name"] == "b (verified)"


def test_the_partner_api_serves_the_outside_edit(pg_url: str) -> None:
    store = open_store(pg_url)
    layers = planted()
    store.write_layers([("mining_sites", layers["mining_sites"]), ("water_bodies", layers["water_bodies"])],
                       source="planted.geojson", licence="CC-BY-4.0")
    source = FeatureSource(Settings.from_env({}, database_url=pg_url), recheck_s=0.0)
    partner = Identity("unep", "partner")
    first = source.collections(partner)
    assert first["mining_sites"].frame.set_index("site_id").loc["S1", "name"] == "Alpha"
    audit.record_outputs(store, [("unep", "api request", "/collections/mining_sites/items", {"rows": 3})])
    assert source.collections(partner) is first  # bookkeeping: the same collections
    with outside(pg_url) as con:
        con.execute("UPDATE mining_sites SET name = 'Alpha (verified)' WHERE site_id = 'S1'")
    assert [i.rows for i in store.layers()] == [3, 1]  # the layer table did not change
    again = source.collections(partner)
    assert again["mining_sites"].frame.set_index("site_id").loc["S1", "name"] == "Alpha (verified)"


# ---------------------------------------------------------------- a store made before v0009
def _migrate(url: str, to: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with connect(url) as con, con.begin():
        config.attributes["connection"] = con
        pgroles.drop_views(con)  # what upgrade_schema does first
        command.downgrade(config, to)


def test_a_store_at_v0008_is_upgraded_by_db_upgrade_and_then_follows_outside_edits(
        store: PostgisStore, capsys: pytest.CaptureFixture[str]) -> None:
    _migrate(store.url, "v0008_audit_definer")
    with pytest.raises(WorkspaceError, match=f"revision v0008_audit_definer; this HgWatch needs {head_revision()}"):
        store.layers()
    before = store.change_stamp()
    with outside(store.url) as con:  # v0008 as it was: recorded, but the stamp stays
        con.execute("UPDATE mining_sites SET name = 'at v0008' WHERE site_id = 'S-near'")
        definer = con.execute("SELECT prosecdef, proconfig FROM pg_proc WHERE proname = 'hgw_audit_outside'").fetchone()
        assert con.execute("SELECT to_regclass('hgw_outside_edits')").fetchone() == (None,)
    assert definer == (True, ["search_path=public, pg_temp"])
    assert store.change_stamp() == before and _trail(store)[-1][1:] == ("sql update", "mining_sites")
    capsys.readouterr()
    assert cli.main(["--database-url", store.url, "db", "upgrade"]) == 0
    assert f"from revision v0008_audit_definer to {head_revision()}" in capsys.readouterr().out
    moved = store.change_stamp()
    with outside(store.url) as con:
        con.execute("UPDATE mining_sites SET name = 'at v0009' WHERE site_id = 'S-near'")
    assert store.change_stamp() == (moved[0] + 1,)
    assert store.read("mining_sites").set_index("site_id").loc["S-near", "name"] == "at v0009"
    assert audit.verify(store).ok


def test_the_dashboard_after_the_upgrade_serves_an_edit_made_before_it(store: PostgisStore) -> None:
    """An edit made at v0008 did not move the stamp; the upgrade (an app write) does, so it is served."""
    svc = HgWatch(Settings.from_env({}, database_url=store.url))
    assert svc.frames()["mining_sites"].set_index("site_id").loc["S-far", "name"] == "b"
    _migrate(store.url, "v0008_audit_definer")
    with outside(store.url) as con:
        con.execute("UPDATE mining_sites SET name = 'b (at v0008)' WHERE site_id = 'S-far'")
    assert cli.main(["--database-url", store.url, "db", "upgrade"]) == 0
    assert svc.frames()["mining_sites"].set_index("site_id").loc["S-far", "name"] == "b (at v0008)"
