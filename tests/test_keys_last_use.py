"""When each API key was last used (``cli.py keys list``), recorded by the API server without a store write per
request, on a GeoPackage and on PostGIS (brief HA of 2026-11-28: an operator could not tell a dead key from
a live one before revoking it).

The real server is asked with a partner's key; ``keys list`` then shows that key used this minute and every
other key "never" (a refused key is no use). Written at most once per key per ``api.uses.EVERY_S`` (here:
counted as the GeoPackage's write transactions, its header's change counter). A write that fails (a trigger
refusing it) leaves the partner's answers as they were and is logged. A workspace made before the column
existed lists its keys as never used, and gains the column at the next keys write. On PostGIS the partner's
database role can neither read nor write the column.
"""
from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from api.uses import KeyUses, minute
from layers.store.open import open_store
from services import keys
from tests.api_kit import SECRET, fill, get, make_keys, new_key, open_location, run_cli, serving


def _listed(location: str) -> dict[str, tuple[str, str]]:
    """``keys list`` as {'account #n': (last used, state)}."""
    code, out, err = run_cli(location, "keys", "list")
    assert code == 0 and err == "", err
    lines = out.splitlines()
    assert lines[0].split() == ["account", "(key", "#)", "role", "made", "(UTC)", "last", "used", "(UTC)", "state"]
    rows = [line.split(None, 5) for line in lines[1:-1]]
    return {f"{r[0]} {r[1]}": (r[4], r[5]) for r in rows}


def _eventually(check: Callable[[], bool], what: str, within_s: float = 60.0) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within_s:g} s: {what}")
        time.sleep(0.3)


def test_keys_list_shows_the_minute_a_key_was_last_used_and_never_for_the_others(location: str,
                                                                                  tmp_path: Path) -> None:
    fill(open_location(location))
    made = make_keys(location)  # unep #1 revoked, unep #2 valid, ana #1 valid, gone #1 of a disabled account
    assert {v[0] for v in _listed(location).values()} == {"never"}
    with serving(location, tmp_path) as url:
        before = minute(time.time())
        for path in ("/collections", "/collections/mining_sites/items", "/collections/mining_sites/items/S1"):
            status, _, body = get(url + path, made.partner)
            assert status == 200 and SECRET.encode() not in body
        for refused in (made.revoked, made.disabled):
            assert get(url + "/collections", refused)[0] == 401
        _eventually(lambda: _listed(location)["unep #2"][0] != "never", "the first use is written")
        after = minute(time.time())
        used = _listed(location)
        assert before <= used["unep #2"][0] <= after and used["unep #2"][1] == "valid"
    assert _listed(location) == used  # (kept after the server stopped)
    assert used["unep #1"][0] == used["ana #1"][0] == used["gone #1"][0] == "never"
    assert used["unep #1"][1].startswith("revoked") and used["gone #1"][1] == "refused: account disabled"
    if location.startswith("postgresql"):  # the partner's database role neither reads nor writes the column
        for sql in ("SELECT last_used_at FROM hgw_api_keys", "UPDATE hgw_api_keys SET last_used_at = NULL"):
            with psycopg.connect(location, autocommit=True) as con:
                con.execute("SET ROLE hgw_partner")
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    con.execute(sql)


def _writes(path: Path) -> int:
    """The SQLite file change counter of ``path`` (header bytes 24-27): one more per write transaction."""
    return int.from_bytes(path.read_bytes()[24:28], "big")


def test_a_key_is_written_at_its_first_use_then_at_most_once_per_interval_never_per_request(tmp_path: Path) -> None:
    where = tmp_path / "ws.gpkg"
    fill(open_location(str(where)))
    one, two = new_key(str(where), "unep"), new_key(str(where), "ana")
    store = open_store(where)
    start, before, stamp = _writes(where), minute(time.time()), store.change_stamp()
    uses = KeyUses(store, every_s=3600.0, check_s=3600.0)
    try:
        for _ in range(500):
            uses.used(one)
            uses.used(two)
        _eventually(lambda: all(k.last_used for k in keys.listed(store)), "both first uses written")
        for _ in range(500):
            uses.used(one)
    finally:
        uses.close()
    assert 1 <= _writes(where) - start <= 3  # the first uses (one or two transactions) and the one at close
    assert all(before <= k.last_used <= minute(time.time()) for k in keys.listed(store))
    assert store.change_stamp() == stamp  # bookkeeping: the dashboard's cached answers stay


def test_a_failed_write_of_a_last_use_fails_no_request_and_is_logged(tmp_path: Path) -> None:
    location = str(tmp_path / "ws.gpkg")
    fill(open_location(location))
    made = make_keys(location)
    with contextlib.closing(sqlite3.connect(location)) as con:  # an outside trigger refuses every keys update
        con.execute("CREATE TRIGGER no_key_updates BEFORE UPDATE ON hgw_api_keys"
                    " BEGIN SELECT RAISE(ABORT, 'key updates refused here'); END")
        con.commit()
    with serving(location, tmp_path) as url:
        log = next(tmp_path.glob("api-*.log"))
        for _ in range(3):
            status, _, body = get(url + "/collections/mining_sites/items", made.partner)
            assert status == 200 and b"Alpha" in body
        _eventually(lambda: "was not recorded" in log.read_text(), "the failed write is logged")
        assert get(url + "/collections/mining_sites/items/S1", made.partner)[0] == 200
    said = log.read_text()
    assert "key updates refused here" in said and made.partner not in said
    assert keys.key_hash(made.partner) not in said
    assert {v[0] for v in _listed(location).values()} == {"never"}


def test_a_workspace_made_before_the_column_lists_keys_never_used_then_records_uses(tmp_path: Path) -> None:
    location = str(tmp_path / "old.gpkg")
    fill(open_location(location))
    made = make_keys(location)
    with contextlib.closing(sqlite3.connect(location)) as con:  # the table as HgWatch made it before 2026-11-28
        con.execute("ALTER TABLE hgw_api_keys DROP COLUMN last_used_at")
        con.commit()
        assert "last_used_at" not in {r[1] for r in con.execute("PRAGMA table_info(hgw_api_keys)")}
    store = open_store(location)
    assert {v[0] for v in _listed(location).values()} == {"never"}
    assert keys.verify(store, made.partner) is not None and keys.verify(store, made.revoked) is None
    before = minute(time.time())
    uses = KeyUses(store)
    uses.used(made.partner)
    uses.close()
    assert before <= _listed(location)["unep #2"][0] <= minute(time.time())
    assert _listed(location)["ana #1"][0] == "never"
    assert new_key(location, "ana").startswith(keys.PREFIX)
    assert _listed(location)["ana #2"][0] == "never"


def test_db_upgrade_from_v0011_keeps_the_keys_and_records_their_uses(pg_bare_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from layers.store.pgschema import MIGRATIONS, connect, head_revision, upgrade_schema

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with connect(pg_bare_url) as con, con.begin():
        config.attributes["connection"] = con
        command.upgrade(config, "v0011_personal_rows")
    key = keys.PREFIX + "A" * 43
    with psycopg.connect(pg_bare_url) as owner:  # a key an older HgWatch made
        owner.execute("INSERT INTO hgw_api_keys (key_hash, account, created_at) VALUES (%s, 'unep', %s)",
                      (keys.key_hash(key), "2026-11-27T10:00:00+00:00"))
    assert upgrade_schema(pg_bare_url) == ("v0011_personal_rows", head_revision())
    store = open_store(pg_bare_url)
    assert [(k.account, k.number, k.last_used) for k in keys.listed(store)] == [("unep", 1, "")]
    assert keys.record_uses(store, {keys.key_hash(key): "2026-11-28T15:20+00:00"}) == 1
    assert keys.record_uses(store, {keys.key_hash(key): "2026-11-28T15:19+00:00"}) == 0  # an earlier use: kept
    assert [k.last_used for k in keys.listed(store)] == ["2026-11-28T15:20+00:00"]


def test_a_failed_write_of_a_last_use_on_postgis_fails_no_request_loses_no_use_and_is_logged(
        pg_url: str, tmp_path: Path) -> None:
    """The PostGIS path of the test above (``layers.store.pgkeys.PgKeys.used``): the database refuses the
    write (an outside trigger, as the store's owner made it); the requests are answered, the failure is
    logged without the key or its hash (SQLAlchemy's message listed the statement's parameters: the
    hash), the use is kept in memory, and once the database takes writes again it is written with the
    next one (another key's first use wakes the writer): nothing lost."""
    fill(open_location(pg_url))
    made = make_keys(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as owner:
        owner.execute("CREATE FUNCTION no_key_updates() RETURNS trigger LANGUAGE plpgsql AS"
                      " $$ BEGIN RAISE EXCEPTION 'key updates refused here'; END $$")
        owner.execute("CREATE TRIGGER no_key_updates BEFORE UPDATE ON hgw_api_keys"
                      " FOR EACH ROW EXECUTE FUNCTION no_key_updates()")
    before = minute(time.time())
    with serving(pg_url, tmp_path) as url:
        log = next(tmp_path.glob("api-*.log"))
        for _ in range(3):
            status, _, body = get(url + "/collections/mining_sites/items", made.partner)
            assert status == 200 and b"Alpha" in body
        _eventually(lambda: "was not recorded" in log.read_text(), "the failed write is logged")
        assert get(url + "/collections/mining_sites/items/S1", made.partner)[0] == 200
        assert {v[0] for v in _listed(pg_url).values()} == {"never"}  # the refused write changed nothing
        said = log.read_text()
        assert "key updates refused here" in said and "Traceback" not in said
        assert made.partner not in said and keys.key_hash(made.partner) not in said
        with psycopg.connect(pg_url, autocommit=True) as owner:
            owner.execute("DROP TRIGGER no_key_updates ON hgw_api_keys")
        assert get(url + "/collections", made.analyst)[0] == 200
        _eventually(lambda: _listed(pg_url)["unep #2"][0] != "never", "the kept use is written")
        used = _listed(pg_url)
    assert before <= used["unep #2"][0] <= minute(time.time())
    assert before <= used["ana #1"][0] <= minute(time.time())
    assert used["unep #1"][0] == "never"


def test_a_use_kept_after_a_failed_write_is_written_when_the_server_is_stopped(tmp_path: Path) -> None:
    """uvicorn raises the SIGTERM it caught again once it has served, so the process used to end before
    ``python -m api``'s ``finally`` wrote what was still kept: here a use whose write was refused, the
    refusal then lifted, and the server stopped (SIGTERM) before its next try 30 s later."""
    location = str(tmp_path / "ws.gpkg")
    fill(open_location(location))
    made = make_keys(location)
    with contextlib.closing(sqlite3.connect(location)) as con:
        con.execute("CREATE TRIGGER no_key_updates BEFORE UPDATE ON hgw_api_keys"
                    " BEGIN SELECT RAISE(ABORT, 'key updates refused here'); END")
        con.commit()
    before = minute(time.time())
    with serving(location, tmp_path) as url:
        log = next(tmp_path.glob("api-*.log"))
        assert get(url + "/collections/mining_sites/items", made.partner)[0] == 200
        _eventually(lambda: "was not recorded" in log.read_text(), "the failed write is logged")
        with contextlib.closing(sqlite3.connect(location)) as con:
            con.execute("DROP TRIGGER no_key_updates")
            con.commit()
    assert "the last use of 1 API key was not recorded" in log.read_text()
    used = _listed(location)["unep #2"]
    assert used[0] != "never" and before <= used[0] <= minute(time.time()), used
