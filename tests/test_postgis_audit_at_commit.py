"""On PostGIS the audit chain is linked when a transaction commits (migration v0010), so the chain's
lock is held only from the linking to the commit: an outside edit left open (psql, a QGIS edit
session) or an app change left open keeps no one else's audit row waiting, and two outside editors
whose edits cross each other's rows both commit. The chain stays as verifiable as before, tampering
shows, and each recorded statement holds its rows before and after as ``to_jsonb`` gives them.

"Waits" is observed, never timed: a step runs in a thread while another session watches
``pg_stat_activity`` until the step is done or some session of the database waits for a lock.
Real PostGIS (``tests/postgis.py``), nothing mocked."""
from __future__ import annotations

import contextlib
import functools
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import geopandas as gpd
import psycopg
import pytest
import sqlalchemy as sa
from shapely.geometry import Point

import cli
from layers.store.open import open_store
from layers.store.postgis import PostgisStore
from services import audit
from tests.test_postgis_outside_edits import _migrate, editor_role

# 40 hand-made sites on a 0.01-degree grid; S0..S39
SITES = gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(40)], "name": [f"site {i}" for i in range(40)],
                          "status": ["active", "inactive"] * 20, "miners": list(range(40))},
                         geometry=[Point(i % 8 * 0.01, i // 8 * 0.01) for i in range(40)], crs=4326)
GUARD_S = 120  # a guard against a hang once nothing should wait any more, not a speed test


@pytest.fixture
def store(pg_url: str) -> PostgisStore:
    """A database holding the hand-made sites (written by the app: no audit row)."""
    made = open_store(pg_url)
    assert isinstance(made, PostgisStore)
    made.write_layers([("mining_sites", SITES)], source="hand-made test sites")
    return made


@contextlib.contextmanager
def session(url: str, **options: Any) -> Iterator[psycopg.Connection[Any]]:
    """A plain SQL session (psql, QGIS), committed at the end unless rolled back."""
    with psycopg.connect(url, **options) as con:
        yield con


class Step:
    """``action`` run in a thread; ``result`` / ``error`` once it is done."""

    def __init__(self, action: Callable[[], object]) -> None:
        self.result: object = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(action,), daemon=True)
        self.thread.start()

    def _run(self, action: Callable[[], object]) -> None:
        try:
            self.result = action()
        except BaseException as exc:  # handed to the test, which asserts on it
            self.error = exc

    def finish(self) -> Step:
        self.thread.join(GUARD_S)
        assert not self.thread.is_alive(), "a step still waits after what it waited for ended"
        return self


def run_until_done_or_waiting(url: str, action: Callable[[], object], pid: int | None = None) -> tuple[bool, Step]:
    """Start ``action`` in a thread and watch until it is done (True) or a session of the database
    (the one of backend ``pid`` when given) waits for a lock (False)."""
    step = Step(action)
    with psycopg.connect(url, autocommit=True) as watch:
        while step.thread.is_alive():
            waiting = watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND (%s::int IS NULL OR pid = %s::int)", [pid, pid]).fetchone()
            if waiting != (0,):
                return False, step
            time.sleep(0.005)
    return True, step


def _trail(store: PostgisStore) -> list[tuple[str, str, str]]:
    return [(r.who, r.action, r.target) for r in audit.trail(store)]


def _pending(url: str) -> int:
    with psycopg.connect(url) as con:
        return int(con.execute("SELECT count(*) FROM hgw_audit_pending").fetchone()[0])  # type: ignore[index]


# ---------------------------------------------------------------- nothing waits for an open edit
def test_an_open_outside_edit_does_not_hold_up_a_sign_in_or_an_api_request(store: PostgisStore) -> None:
    with session(store.url) as qgis:
        qgis.execute("UPDATE mining_sites SET name = 'open' WHERE site_id = 'S1'")  # a QGIS edit, not saved yet
        done, step = run_until_done_or_waiting(store.url, lambda: (
            audit.record_session(store, "sign in", "ana", via="password"),
            audit.record_outputs(store, [("unep", "api request", "/collections/mining_sites/items", {"rows": 3})])))
        assert done, "the sign-in waited for the open outside transaction's audit lock"
        assert step.finish().error is None
        assert [a for _, a, _ in _trail(store)] == ["sign in", "api request"]  # the open edit is not in it yet
        user = qgis.info.user
    assert _trail(store)[2:] == [(f"db:{user}", "sql update", "mining_sites")]  # linked at commit, after
    assert audit.verify(store).ok and _pending(store.url) == 0


def test_an_open_app_change_does_not_hold_up_a_sign_in(store: PostgisStore) -> None:
    """A row the app writes inside a change (a case status, ``record_in``) is linked at its commit."""
    with store.writing() as con:
        audit.record_in(con, "case status", "V-1", before={"status": "open"}, after={"status": "confirmed"}, who="ana")
        done, step = run_until_done_or_waiting(store.url, lambda: audit.record_session(store, "sign in", "kofi",
                                                                                        via="password"))
        assert done, "the sign-in waited for the app's open change"
        assert step.finish().error is None
    assert [(w, a) for w, a, _ in _trail(store)] == [("kofi", "sign in"), ("ana", "case status")]
    assert json.loads(audit.trail(store)[1].after) == {"status": "confirmed"}
    assert audit.verify(store).ok


def test_two_outside_editors_crossing_each_others_rows_both_commit(store: PostgisStore) -> None:
    """A edits S1; B edits S2; A then edits S2 and waits for B's row; B saves; A saves. Before,
    B waited for the audit lock A held while holding S2, and PostgreSQL aborted one of them."""
    with editor_role(store.url, "mining_sites", "SELECT, UPDATE") as editor_url, \
            session(editor_url) as b, session(store.url) as a:  # a closes first
        a.execute("UPDATE mining_sites SET name = 'by A' WHERE site_id = 'S1'")
        _, b_edit = run_until_done_or_waiting(
            store.url, lambda: b.execute("UPDATE mining_sites SET name = 'by B' WHERE site_id = 'S2'"),
            b.info.backend_pid)
        a_waits, a_edit = run_until_done_or_waiting(
            store.url, lambda: a.execute("UPDATE mining_sites SET status = 'by A' WHERE site_id = 'S2'"),
            a.info.backend_pid)
        assert b_edit.finish().error is None
        assert not a_waits  # A waits for B's row, as any two editors of one row do
        b.commit()
        assert a_edit.finish().error is None
        a.commit()
        b_user = b.info.user
        with session(editor_url) as forger, pytest.raises(psycopg.errors.InsufficientPrivilege):
            forger.execute("INSERT INTO hgw_audit_pending (who, action, target) VALUES ('ana', 'sign in', 'ana')")
    rows = store.read("mining_sites").set_index("site_id")
    assert (rows.loc["S1", "name"], rows.loc["S2", "name"], rows.loc["S2", "status"]) == ("by A", "by B", "by A")
    who = f"db:{store.url.split('//', 1)[1].split('@', 1)[0]}"
    assert _trail(store) == [(f"db:{b_user}", "sql update", "mining_sites"),
                             (who, "sql update", "mining_sites"), (who, "sql update", "mining_sites")]
    assert audit.verify(store).ok


def test_an_outside_commit_and_an_app_change_committing_together_do_not_deadlock(store: PostgisStore) -> None:
    """The app raises the change counter at the end of its change and links its audit row at its
    commit; an outside commit does both in the same order (counter, then chain). Here the outside
    commit waits for the counter's row while the app commits: in the other order it would hold the
    chain's lock that the app's commit needs, and PostgreSQL would abort one of them."""
    with session(store.url) as qgis:
        with store.writing() as con:
            audit.record_in(con, "case status", "V-2", after={"status": "confirmed"}, who="ana")
            con.execute(sa.text("UPDATE hgw_state SET generation = generation + 1"))  # as the end of a change does
            done, saving = run_until_done_or_waiting(store.url, lambda: (
                qgis.execute("UPDATE mining_sites SET name = 'q' WHERE site_id = 'S6'"), qgis.commit()),
                qgis.info.backend_pid)
            assert not done  # the outside save waits for the app's change
        assert saving.finish().error is None
        user = qgis.info.user
    assert [(w, a) for w, a, _ in _trail(store)] == [("ana", "case status"), (f"db:{user}", "sql update")]
    assert audit.verify(store).ok and _pending(store.url) == 0


def test_rows_linked_at_commit_follow_the_commits_in_chain_order(store: PostgisStore) -> None:
    """Three transactions open at once commit in the order C, A, B: the trail has C's rows, then
    A's in the order its statements ran, then B's, whatever the order of the edits."""
    with session(store.url) as c, session(store.url) as b, session(store.url) as a:  # a, the first, closes first
        a.execute("UPDATE mining_sites SET name = 'a1' WHERE site_id = 'S1'")
        for con, edit in ((b, "DELETE FROM mining_sites WHERE site_id = 'S9'"),
                          (c, "INSERT INTO mining_sites (site_id) VALUES ('S-c')")):
            done, step = run_until_done_or_waiting(store.url, functools.partial(con.execute, edit), con.info.backend_pid)
            assert done, "an outside edit waited for another open outside transaction's audit lock"
            assert step.finish().error is None
        a.execute("DELETE FROM mining_sites WHERE site_id = 'S8'")
        for con in (c, a, b):
            con.commit()
    assert [a for _, a, _ in _trail(store)] == ["sql insert", "sql update", "sql delete", "sql delete"]
    trail = audit.trail(store)
    assert [r["site_id"] for r in json.loads(trail[2].before)] == ["S8"]
    assert [r["site_id"] for r in json.loads(trail[3].before)] == ["S9"]
    assert [r.seq for r in trail] == [1, 2, 3, 4] and audit.verify(store).ok


def test_a_rolled_back_edit_and_an_undone_savepoint_leave_nothing_pending(store: PostgisStore) -> None:
    with session(store.url) as con:
        con.execute("UPDATE mining_sites SET name = 'gone'")
        con.rollback()
        with contextlib.suppress(psycopg.errors.DivisionByZero), con.transaction():
            con.execute("DELETE FROM mining_sites WHERE site_id = 'S3'")
            con.execute("SELECT 1 / 0")
        con.execute("UPDATE mining_sites SET name = 'kept' WHERE site_id = 'S4'")
    assert [json.loads(r.after)[0]["site_id"] for r in audit.trail(store)] == ["S4"]
    assert _pending(store.url) == 0 and audit.verify(store).ok


def test_a_repeatable_read_editor_behind_the_trail_gets_a_serialization_error_to_retry(store: PostgisStore) -> None:
    """Its snapshot cannot see a sign-in committed after it began: linking its row would reuse a
    seq. It fails at commit with SQLSTATE 40001 (retry), not a duplicate key, and the retry lands."""
    with session(store.url) as con:
        con.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        con.execute("SELECT count(*) FROM mining_sites")  # its snapshot
        audit.record_session(store, "sign in", "ana", via="password")
        con.execute("UPDATE mining_sites SET name = 'rr' WHERE site_id = 'S5'")
        with pytest.raises(psycopg.errors.SerializationFailure, match="audit trail moved on"):
            con.commit()
        con.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        con.execute("UPDATE mining_sites SET name = 'rr' WHERE site_id = 'S5'")
    assert [a for _, a, _ in _trail(store)] == ["sign in", "sql update"]
    assert audit.verify(store).ok and _pending(store.url) == 0


# ---------------------------------------------------------------- what a bulk statement records
def _as_json(con: psycopg.Connection[Any], where: str) -> dict[int, Any]:
    return {r[0]: r[1] for r in con.execute(f"SELECT fid, to_jsonb(t) FROM mining_sites t WHERE {where}")}


def _by_fid(text: str) -> dict[int, Any]:
    rows = json.loads(text)
    by_fid = {r["fid"]: r for r in rows}
    assert len(by_fid) == len(rows)
    return by_fid


def test_bulk_update_delete_and_insert_record_every_row_before_and_after(store: PostgisStore) -> None:
    with session(store.url) as con:
        old = _as_json(con, "miners < 30")
        con.execute("UPDATE mining_sites SET status = 'abandoned', geom = ST_Translate(geom, 0.5, 0) WHERE miners < 30")
        new = _as_json(con, "miners < 30")
        gone = _as_json(con, "miners >= 35")
        con.execute("DELETE FROM mining_sites WHERE miners >= 35")
        con.execute("INSERT INTO mining_sites (site_id, name, miners, geom) SELECT 'N' || i, 'new', i,"
                    " ST_SetSRID(ST_MakePoint(i * 0.001, 1), 4326) FROM generate_series(1, 25) i")
        added = _as_json(con, "name = 'new'")
    update, delete, insert = audit.trail(store)
    assert (update.action, delete.action, insert.action) == ("sql update", "sql delete", "sql insert")
    assert len(old) == 30 and _by_fid(update.before) == old and _by_fid(update.after) == new
    assert len(gone) == 5 and _by_fid(delete.before) == gone and json.loads(delete.after) is None
    assert len(added) == 25 and json.loads(insert.before) is None and _by_fid(insert.after) == added
    assert new[1]["geom"] == {"type": "Point", "coordinates": [0.5, 0], "crs": {
        "type": "name", "properties": {"name": "EPSG:4326"}}}  # S0 moved by 0.5 degree
    assert audit.verify(store).ok


def test_tampering_with_a_row_linked_at_commit_shows(store: PostgisStore) -> None:
    with session(store.url) as con:
        con.execute("UPDATE mining_sites SET name = 'x' WHERE miners < 10")
        con.execute("DELETE FROM mining_sites WHERE site_id = 'S20'")
    audit.record_session(store, "sign in", "ana", via="password")
    assert audit.verify(store) == audit.Verdict(3)
    with session(store.url) as con:
        con.execute("UPDATE hgw_audit SET after = jsonb_set(after, '{0,name}', '\"y\"') WHERE seq = 1")
    verdict = audit.verify(store)
    assert (verdict.ok, verdict.broken_seq) == (False, 1)
    assert verdict.reason == "row 1: its content does not match its hash (the row was edited)"
    with session(store.url) as con:
        con.execute("DELETE FROM hgw_audit WHERE seq = 1")
    assert audit.verify(store).broken_seq == 2


# ---------------------------------------------------------------- a store at v0009
def test_a_store_at_v0009_chains_on_after_db_upgrade_and_the_downgrade_puts_v0009_back(
        store: PostgisStore) -> None:
    with session(store.url) as con:
        con.execute("UPDATE mining_sites SET name = 'at head' WHERE site_id = 'S1'")
    _migrate(store.url, "v0009_outside_generation")
    with session(store.url) as con:
        assert con.execute("SELECT to_regclass('hgw_audit_pending')").fetchone() == (None,)
        con.execute("UPDATE mining_sites SET name = 'at v0009' WHERE site_id = 'S2'")  # chained at once, as v0009 did
        assert con.execute("SELECT count(*) FROM hgw_audit").fetchone() == (2,)
    assert cli.main(["--database-url", store.url, "db", "upgrade"]) == 0
    with session(store.url) as con:
        con.execute("UPDATE mining_sites SET name = 'at head again' WHERE site_id = 'S3'")
        assert con.execute("SELECT count(*) FROM hgw_audit").fetchone() == (2,)  # pending until the commit
    assert [json.loads(r.after)[0]["name"] for r in audit.trail(store)] == ["at head", "at v0009", "at head again"]
    assert audit.verify(store).ok and _pending(store.url) == 0
