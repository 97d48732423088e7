"""The partner API while the store is being written: a key is checked (and the page answered) while
a writer holds the store, a store that truly cannot be read gets 503 with ``Retry-After`` and a
logged reason, and the audit rows of requests wait for a long writer instead of being dropped.

The 503s of issue 13's session benchmark: on a GeoPackage a writer's COMMIT takes SQLite's PENDING
lock and waits (up to 60 s) for the readers already in, and PENDING lets no new reader in. The key
check read with Python's sqlite3 default busy timeout of 5 s, so while a long reader kept a writer
waiting for more than 5 s the check raised ``WorkspaceError: ... cannot be read as a GeoPackage:
database is locked`` and the API answered 503. On PostGIS a reader never waits for a writer (MVCC);
the same tests run there.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from api.app import KEY_RECHECK_S, AuditWriter, create_app
from layers.store.base import Store
from layers.store.open import open_store
from layers.store.pgschema import VERSION_TABLE
from layers.store.postgis import PostgisStore
from layers.store.workspace import Workspace
from services import audit, keys
from services.auth import Identity
from settings import Settings
from tests.api_kit import SECRET, fill, get, make_keys, serving
from tests.lock_kit import pending

HOLD_S = 7.0  # how long the writer is held: longer than the 5 s a reader waited before


@pytest.fixture
def location(location: str) -> str:
    """A filled store (planted layers, accounts unep, ana and gone): a GeoPackage or a fresh PostGIS database."""
    fill(open_store(location))
    return location


@contextlib.contextmanager
def _writer_held(location: str) -> Iterator[threading.Event]:
    """A write transaction of HgWatch's held open until the event yielded is set.

    GeoPackage: a long reader (QGIS, an export) holds SQLite's SHARED lock; a dashboard sign-in's audit
    row (``audit.record_session``) then commits: it takes PENDING and waits for that reader, so no new
    reader gets in. The block starts once PENDING is held; setting the event lets the long reader go,
    and the sign-in commits. PostGIS: a transaction under the writers' lock revokes ana's keys and
    stays open until the event is set."""
    release, failed = threading.Event(), []
    if location.startswith("postgresql"):
        def write() -> None:
            try:
                with PostgisStore(location).writing(data=False) as con:
                    con.execute(sa.text("UPDATE hgw_api_keys SET revoked_at = '2026-01-01T00:00:00+00:00'"
                                        " WHERE account = 'ana'"))
                    held.set()
                    release.wait(120)
            except Exception as exc:  # reported by the assertion below
                failed.append(exc)
                held.set()
        held = threading.Event()
        writer = threading.Thread(target=write)
        writer.start()
        assert held.wait(60) and not failed, failed
        try:
            yield release
        finally:
            release.set()
            writer.join(120)
        assert not failed, failed
        return
    reader = sqlite3.connect(f"file:{location}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM mining_sites").fetchone()  # SHARED, held until COMMIT

    def sign_in() -> None:
        try:
            audit.record_session(open_store(location), "sign in", "ana", via="password")
        except Exception as exc:  # reported by the assertion below
            failed.append(exc)
    writer = threading.Thread(target=sign_in)
    writer.start()
    deadline = time.monotonic() + 60
    while not pending(location):
        assert writer.is_alive() and time.monotonic() < deadline, f"the sign-in never waited in its commit: {failed}"
        time.sleep(0.05)
    try:
        yield release
    finally:
        reader.execute("COMMIT")
        reader.close()
        writer.join(120)
    assert not failed, failed


def _get_later(url: str, key: str) -> tuple[threading.Thread, list[tuple[int, dict[str, str], bytes]]]:
    answers: list[tuple[int, dict[str, str], bytes]] = []
    asking = threading.Thread(target=lambda: answers.append(get(url, key)))
    asking.start()
    return asking, answers


def test_a_key_is_checked_and_the_page_answered_while_a_writer_holds_the_store(location: str, tmp_path: Path) -> None:
    made = make_keys(location)
    page = "/collections/mining_sites/items?limit=10"
    with serving(location, tmp_path) as url:
        assert get(url + page, made.partner)[0] == 200  # the partner's collections are made before the hold
        time.sleep(KEY_RECHECK_S + 0.2)  # the key's kept answer is gone: the next request reads the store
        with _writer_held(location) as release:
            asking, answers = _get_later(url + page, made.partner)
            asking.join(HOLD_S)  # the request waits meanwhile (before: 503 after 5 s)
            release.set()
        asking.join(120)
        status, headers, body = answers[0]
        assert status == 200, body
        assert sorted(f["id"] for f in json.loads(body)["features"]) == ["S1", "S2", "S3/odd id"]
        assert SECRET.encode() not in body
        assert get(url + page, made.analyst)[0] == (401 if location.startswith("postgresql") else 200)
    if not location.startswith("postgresql"):
        assert [r.action for r in audit.trail(open_store(location)) if r.action == "sign in"] == ["sign in"]  # committed


def test_the_key_check_itself_waits_for_a_writer_held_up_by_a_long_reader(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws.gpkg")
    fill(ws)
    key = keys.create(ws, "unep")
    found: list[Identity | None] = []
    with _writer_held(str(ws.path)) as release:
        checking = threading.Thread(target=lambda: found.append(keys.verify(ws, key)))
        checking.start()
        checking.join(HOLD_S)
        release.set()
    checking.join(120)
    assert found == [Identity("unep", "partner", ())]


async def _asgi_get(app: object, path: str, key: str) -> int:
    """The status the ASGI ``app`` answers a GET of ``path`` with ``key``."""
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1:8502"), (b"x-api-key", key.encode())],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8502)}
    await app(scope, receive, send)  # type: ignore[operator]
    return next(int(str(m["status"])) for m in sent if m["type"] == "http.response.start")


def test_requests_with_one_key_share_one_check_while_a_writer_holds_the_store(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Six requests of a partner arriving while the store's readers wait: one key check, not six
    threads of the server's pool (which pygeoapi's handlers need too) waiting for the store."""
    ws = Workspace(tmp_path / "ws.gpkg")
    fill(ws)
    key = keys.create(ws, "unep")
    for name in ("PYGEOAPI_CONFIG", "PYGEOAPI_OPENAPI"):  # create_app sets both: restored afterwards
        monkeypatch.setenv(name, "")
    gate = create_app(Settings.from_env({}, workspace=ws.path))
    checked: list[str | None] = []
    verify = keys.verify

    def counted(store: Store, given: str | None) -> Identity | None:
        checked.append(given)
        return verify(store, given)
    monkeypatch.setattr(keys, "verify", counted)

    async def six() -> list[int]:
        return list(await asyncio.gather(*(_asgi_get(gate, "/collections", key) for _ in range(6))))
    statuses: list[list[int]] = []
    try:
        with _writer_held(str(ws.path)):
            asking = threading.Thread(target=lambda: statuses.append(asyncio.run(six())))
            asking.start()
            asking.join(2.0)  # all six arrive while the first check waits
        asking.join(120)
    finally:
        gate.close()
    assert statuses == [[200] * 6]
    assert checked == [key]


def _unreadable(location: str) -> str:
    """Make the store impossible to read, as HgWatch finds it; returns what the log must name."""
    if location.startswith("postgresql"):
        with psycopg.connect(location) as con:
            con.execute(f"UPDATE {VERSION_TABLE} SET version_num = 'v9999_from_elsewhere'")
        return "has schema revision v9999_from_elsewhere"
    replacement = Path(location).with_name("other.csv")
    replacement.write_text(f"site_id,informant_name\nS1,{SECRET}-csv\n")
    os.replace(replacement, location)  # another program put a CSV in its place
    return "is not a GeoPackage"


def test_a_store_that_cannot_be_read_gets_503_with_retry_after_and_the_reason_in_the_log(
        location: str, tmp_path: Path) -> None:
    made = make_keys(location)
    with serving(location, tmp_path) as url:
        assert get(url + "/collections", made.partner)[0] == 200
        reason = _unreadable(location)
        time.sleep(KEY_RECHECK_S + 0.2)
        status, headers, body = get(url + "/collections/mining_sites/items", made.partner)
        log = (tmp_path / f"api-{url.rsplit(':', 1)[1]}.log").read_text()
    assert status == 503
    assert json.loads(body) == {"code": "ServiceUnavailable",
                                "description": "the store cannot be read now; try again later"}
    assert int({k.lower(): v for k, v in headers.items()}.get("retry-after", "0")) > 0  # seconds
    assert SECRET.encode() not in body and b"ws.gpkg" not in body and b"postgresql" not in body
    failed = [line for line in log.splitlines() if "answered 503" in line]
    assert failed and reason in failed[0] and "GET /collections/mining_sites/items" in failed[0], log


def _store(location: str, lock_timeout_s: float) -> Store:
    if location.startswith("postgresql"):
        return PostgisStore(location, lock_timeout_s=lock_timeout_s)
    return Workspace(location, lock_timeout_s=lock_timeout_s)


def test_audit_rows_of_requests_wait_for_a_long_writer_and_none_is_lost(
        location: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="hgwatch.api")
    writer = AuditWriter(_store(location, lock_timeout_s=0.3))  # gives up on the writers' lock after 0.3 s
    held, release = threading.Event(), threading.Event()
    holding = threading.Thread(target=lambda: _hold_writers_lock(location, held, release))
    holding.start()
    try:
        assert held.wait(60)  # a long writer (an import) has the lock
        for n in range(3):
            writer.put(("unep", "api request", "mining_sites", {"path": f"/collections/mining_sites/items?n={n}"}))
        deadline = time.monotonic() + 60  # a GeoPackage's writer fails (the lock), PostGIS appends audit rows unlocked
        while not [r for r in caplog.records if r.name == "hgwatch.api"] and len(_requests(location)) < 3:
            assert time.monotonic() < deadline, "the audit writer never tried while the lock was held"
            time.sleep(0.05)
    finally:
        release.set()
        holding.join(120)
    writer.put(("unep", "api request", "samples", {"path": "/collections/samples/items"}))
    writer.close()
    assert _requests(location) == [f"/collections/mining_sites/items?n={n}" for n in range(3)] \
        + ["/collections/samples/items"]
    assert audit.verify(open_store(location)).ok


def _requests(location: str) -> list[str]:
    """The paths of the ``api request`` rows of the trail, in order."""
    return [json.loads(r.after)["path"] for r in audit.trail(open_store(location)) if r.action == "api request"]


def _hold_writers_lock(location: str, held: threading.Event, release: threading.Event) -> None:
    """Hold the store's writers' lock, as a long import does, until ``release`` is set."""
    with open_store(location).writing():
        held.set()
        release.wait(120)
