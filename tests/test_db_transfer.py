"""`db upgrade --from-workspace` on a real PostGIS server (tests/postgis.py) carries accounts, API
keys, cases with their comments, visits, photos and submission keys, and the audit trail verbatim,
in the same all-or-nothing transaction as the layers."""
from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cli
from geo.errors import InputError, WorkspaceError
from layers.store import audit as stored_audit
from layers.store import cases as stored_cases
from layers.store import transfer
from layers.store.pgschema import connect, schema_revision
from layers.store.postgis import PostgisStore
from layers.store.workspace import Workspace
from services import audit, auth, db, keys
from tests.conftest import ROOT

DEMO = ROOT / "data" / "demo_workspace.gpkg"
PHOTO = bytes(range(256)) * 40 + b"\x00\xff end"


def _workspace(tmp_path: Path) -> tuple[Workspace, dict[str, str]]:
    """The demo workspace plus two accounts, a live and a revoked key, and a comment, visit, photo
    and submission key on the first case."""
    path = tmp_path / "agency.gpkg"
    shutil.copyfile(DEMO, path)
    ws = Workspace(path)
    auth.add_account(ws, "ana", "analyst", "correct horse battery")
    auth.add_account(ws, "bo", "admin", "staple gun orchard")
    auth.disable(ws, "bo")
    live, gone = keys.create(ws, "ana"), keys.create(ws, "ana")
    audit.record(ws, "note", "x", before={"zz": 1, "a": {"bbb": 1.5, "c": "é\u0001"}}, after=[None, 2, "long key"])
    with stored_cases.writing(ws) as t:
        vid = "v-demo-1"
        t.put([stored_cases.Case(vid, "R1", "1", "mining_sites", "S1", "Site «one»", "North", "open", "ana", "2026-02-01",
                                 None, True, None, 812.25, 29.1, -6.5, b"\x01\x01\x00\x00\x00" + bytes(16), "fp",
                                 None, "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00", 1, 2)])
        t.add_comment(stored_cases.Comment(vid, "2026-01-02T03:04:05+00:00", "ana", "fence down; «ñ» ok"))
        visit = t.add_visit(stored_cases.Visit(vid, "2026-01-03T10:00:00+00:00", -6.5, 29.1, 4.0, 12.5, "seen", None, "ana",
                                               "uuid:1", "odk"))
        t.add_photo(stored_cases.Photo(vid, "p.jpg", hashlib.sha256(PHOTO).hexdigest(), PHOTO, None, -6.5, 29.1,
                                       "2026-01-03T10:01:00+00:00", "ana", visit))
        t.add_submission("uuid:1", vid, "odk", 3, "2026-01-03T10:02:00+00:00")
    return ws, {"live": live, "gone": gone, "vid": vid}


def _sqlite_rows(ws: Workspace, table: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(ws.real)) as con:
        return [tuple(r) for r in con.execute(f'SELECT * FROM "{table}" ORDER BY rowid')]


def _pg_rows(url: str, table: str) -> list[tuple[Any, ...]]:
    order = {"hgw_accounts": "name", "hgw_api_keys": "key_hash", "hgw_cases": "violation_id",
             "hgw_case_submissions": "key"}.get(table, "1")
    with connect(url) as con:
        return [tuple(r) for r in con.execute(sa.text(f'SELECT * FROM "{table}" ORDER BY {order}')).all()]


def _same(a: object, b: object) -> bool:
    if isinstance(b, bool):
        return a == int(b)
    if isinstance(b, (list, dict)):
        return isinstance(a, str) and json.loads(a) == b
    if isinstance(b, memoryview):
        return a == bytes(b)
    return a == b


def test_everything_moves_and_the_chain_continues(pg_bare_url: str, tmp_path: Path) -> None:
    ws, made = _workspace(tmp_path)
    trail = stored_audit.rows(ws)
    assert len(trail) == 6
    done = db.upgrade(pg_bare_url, ws.path, who="cli:mover")
    pg = PostgisStore(pg_bare_url)
    for table in transfer.TABLES[:-1]:
        source = _sqlite_rows(ws, table)
        order = {"hgw_accounts": 0, "hgw_api_keys": 0, "hgw_cases": 0, "hgw_case_submissions": 0}.get(table)
        if order is not None:
            source = sorted(source, key=lambda r: r[0])
        copied = _pg_rows(pg_bare_url, table)
        assert len(copied) == len(source) == done.tables[table], table
        for s, c in zip(source, copied, strict=True):
            assert all(_same(x, y) for x, y in zip(s, c, strict=True)), (table, s, c)
    assert len(_pg_rows(pg_bare_url, "hgw_case_photos")) == 1
    assert bytes(_pg_rows(pg_bare_url, "hgw_case_photos")[0][4]) == PHOTO
    # accounts sign in with the same password; the disabled one stays disabled; keys keep their state
    assert auth.authenticate(pg, "ana", "correct horse battery", now=0.0).name == "ana"
    with pytest.raises(InputError, match="the account is disabled"):
        auth.identity_of(pg, "bo")
    assert keys.verify(pg, made["live"]) is not None
    # the audit trail: verbatim, verified, one row for the move, and a later write chains on
    moved = stored_audit.rows(pg)
    assert [(r.seq, r.at, r.who, r.action, r.target, r.prev_hash, r.hash) for r in moved[:len(trail)]] \
        == [(r.seq, r.at, r.who, r.action, r.target, r.prev_hash, r.hash) for r in trail]
    assert [json.loads(r.after) for r in moved[:len(trail)]] == [json.loads(r.after) for r in trail]
    last = moved[len(trail)]
    assert (len(moved), last.who, last.action, last.target) == (len(trail) + 1, "cli:mover", "db upgrade", str(ws.path))
    assert json.loads(last.after)["copied"]["hgw_case_photos"] == 1
    assert audit.verify(pg).ok
    keys.revoke(pg, "ana")  # a later write, recorded by the app: chains on the copied head
    after = stored_audit.rows(pg)
    assert after[-1].prev_hash == last.hash and after[-1].seq == last.seq + 1 and audit.verify(pg).ok
    assert keys.verify(pg, made["live"]) is None
    assert not any(r.action.startswith("sql ") for r in after)  # the copy itself was not seen as an outside edit
    assert any(line.startswith("copied ") and "1 photo" in line and f"{len(trail)} audit rows" in line
               for line in done.lines())


def test_a_revoked_key_stays_revoked(pg_bare_url: str, tmp_path: Path) -> None:
    ws, made = _workspace(tmp_path)
    keys.revoke(ws, "ana")
    db.upgrade(pg_bare_url, ws.path)
    assert keys.verify(PostgisStore(pg_bare_url), made["live"]) is None
    assert keys.verify(PostgisStore(pg_bare_url), made["gone"]) is None


def test_a_tampered_audit_row_is_refused_before_anything_is_copied(pg_bare_url: str, tmp_path: Path) -> None:
    ws, _ = _workspace(tmp_path)
    with closing(sqlite3.connect(ws.real)) as con, con:
        con.execute("UPDATE hgw_audit SET who = 'mallory' WHERE seq = 2")
    with pytest.raises(WorkspaceError, match=r"audit trail is broken at row 2: its content does not match its hash"):
        db.upgrade(pg_bare_url, ws.path)
    assert schema_revision(pg_bare_url) is None  # the database was not touched


def test_a_photo_not_matching_its_sha256_is_refused(pg_bare_url: str, tmp_path: Path) -> None:
    ws, _ = _workspace(tmp_path)
    with closing(sqlite3.connect(ws.real)) as con, con:
        con.execute("UPDATE hgw_case_photos SET data = x'00'")
    with pytest.raises(WorkspaceError, match=r"table hgw_case_photos, row id 1, field data: the photo 'p.jpg'"):
        db.upgrade(pg_bare_url, ws.path)
    assert schema_revision(pg_bare_url) is None


def test_a_failure_midway_leaves_the_database_empty(pg_bare_url: str, tmp_path: Path) -> None:
    ws, _ = _workspace(tmp_path)
    with closing(sqlite3.connect(ws.real)) as con, con:
        con.execute("UPDATE hgw_accounts SET areas = 'not json' WHERE name = 'bo'")  # fails after the layers went in
    with pytest.raises(WorkspaceError, match=r"table hgw_accounts: the database refused a row"):
        db.upgrade(pg_bare_url, ws.path)
    with connect(pg_bare_url) as con:
        counts = {t: con.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one()
                  for t in (*transfer.TABLES, "hgw_layers", "hgw_runs", "mining_sites")}
    assert set(counts.values()) == {0}, counts


def test_a_database_holding_an_account_is_refused(pg_url: str, tmp_path: Path) -> None:
    ws, _ = _workspace(tmp_path)
    auth.add_account(PostgisStore(pg_url), "zed", "analyst", "long enough pass")
    with pytest.raises(WorkspaceError, match=r"already holds 1 account, .*nothing was copied"):
        db.upgrade(pg_url, ws.path)
    assert PostgisStore(pg_url).layers() == []


def test_a_copied_row_edited_on_postgis_still_breaks_the_chain(pg_bare_url: str, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    ws, _ = _workspace(tmp_path)
    assert cli.main(["--database-url", pg_bare_url, "db", "upgrade", "--from-workspace", str(ws.path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2] == ("copied 2 accounts, 2 API keys, 1 case, 1 comment, 1 visit, 1 photo,"
                       " 1 imported submission key, 6 audit rows")
    pg = PostgisStore(pg_bare_url)
    assert audit.verify(pg).ok
    with connect(pg_bare_url) as con, con.begin():
        con.execute(sa.text("ALTER TABLE hgw_audit DISABLE TRIGGER USER"))
        con.execute(sa.text("""UPDATE hgw_audit SET before = jsonb_set(before, '{zz}', '2') WHERE seq = 6"""))
    verdict = audit.verify(pg)
    assert (verdict.broken_seq, verdict.reason) == (6, "row 6: its content does not match its hash (the row was edited)")


TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=6)  # no NUL in PostgreSQL
JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**12, 10**12) | TEXT
                    | st.floats(allow_nan=False, allow_infinity=False, width=64).map(lambda f: f + 0.0),  # -0.0: see below
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                    max_leaves=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=JSON, other=JSON)
def test_a_gpkg_hashed_row_verifies_in_jsonb_rendering_and_no_other_value_does(pg_url: str, value: object,
                                                                            other: object) -> None:
    text = stored_audit.to_json(value)
    row = stored_audit.AuditRow(1, "2026-01-01T00:00:00+00:00", "ana", "a", "t", text, "null", stored_audit.GENESIS, "")
    row = stored_audit.AuditRow(**{**row.__dict__, "hash": stored_audit.row_hash(row.content())})
    with connect(pg_url) as con:
        rendered = str(con.execute(sa.text("SELECT CAST(:v AS jsonb)::text"), {"v": text}).scalar_one())
    as_read = stored_audit.AuditRow(**{**row.__dict__, "before": rendered})
    assert stored_audit.first_break([as_read]) is None
    if json.loads(stored_audit.to_json(other)) != json.loads(text):
        edited = stored_audit.AuditRow(**{**row.__dict__, "before": stored_audit.to_json(other)})
        assert stored_audit.first_break([edited]) is not None


def test_a_trail_jsonb_cannot_hold_verbatim_is_refused_whole(pg_bare_url: str, tmp_path: Path) -> None:
    """PostgreSQL's numeric has no negative zero: a row recording -0.0 would read back as 0.0 and no
    longer match its hash, so the copy is refused, naming the row, and nothing is left behind."""
    ws, _ = _workspace(tmp_path)
    audit.record(ws, "note", "y", after={"v": -0.0})
    with pytest.raises(WorkspaceError, match=r"copied into the database does not verify at row 7: its content"):
        db.upgrade(pg_bare_url, ws.path)
    with connect(pg_bare_url) as con:
        assert {con.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one()
                for t in (*transfer.TABLES, "hgw_layers", "mining_sites")} == {0}


def test_a_large_integer_edited_within_float_precision_still_breaks_the_chain() -> None:
    row = stored_audit.AuditRow(1, "2026-01-01T00:00:00+00:00", "ana", "a", "t", stored_audit.to_json({"n": 1e16}),
                                "null", stored_audit.GENESIS, "")
    row = stored_audit.AuditRow(**{**row.__dict__, "hash": stored_audit.row_hash(row.content())})
    as_jsonb = stored_audit.AuditRow(**{**row.__dict__, "before": '{"n": 10000000000000000}'})
    edited = stored_audit.AuditRow(**{**row.__dict__, "before": '{"n": 10000000000000001}'})
    assert stored_audit.first_break([as_jsonb]) is None
    assert stored_audit.first_break([edited]) == (0, "row 1: its content does not match its hash (the row was edited)")
