"""GeoPackage layer reads (GDAL, through pyogrio) while another program writes the workspace: a read
that meets a writer's commit waits for it and returns the committed rows, a read made while a write
is under way returns the rows from before it, a read never mixes the two, and a read that still
cannot get in gives a clear error (the API: 503 with ``Retry-After`` and a log line).

The writer runs in another process, as it does for real (an import from the command line, a case
update from the dashboard, while the API serves): a long reader there (QGIS, an export) holds
SQLite's SHARED lock, the write's COMMIT takes PENDING and waits for it, and PENDING lets no new
reader in. Before, GDAL's own SQLite gave up after its default busy timeout (5 s, met twice while
opening the file: "database is locked" after about 10 s), and its Arrow stream read a layer of more
than 65,536 rows in several SQLite reads, between which a writer could commit.

A read of ``Workspace.read`` first reads the layer table with Python's ``sqlite3``, then the layer
with GDAL. To make the GDAL part meet the held commit (and not the ``sqlite3`` part, which already
waited), the test holds the file for ``sqlite3`` in its own thread (``layers.store.libraries``):
the read then does its ``sqlite3`` part and waits to open the file with GDAL until the writer's
commit is held.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from api.app import KEY_RECHECK_S, create_app
from geo.errors import HgWatchError, WorkspaceError
from layers.store import arrowread, files, libraries
from layers.store.workspace import Workspace
from services import keys
from services.features import RECHECK_S
from services.hgwatch import HgWatch
from settings import Settings
from tests.api_kit import SECRET, fill
from tests.conftest import ROOT
from tests.lock_kit import pending, started

HOLD_S = 15.0  # how long the writer's commit is held: longer than the 10 s after which GDAL's read gave up before
LIBRARY_HOLD_S = 35.0  # how long a commit of this process is held: longer than the 30 s a GDAL read waited for it
BIG = 200_000  # sites of the layer read while a writer commits: several of GDAL's 65,536-row Arrow batches
OLD_NAMES = ["Alpha", "Beta <b>", "${HOME} Gamma"]  # the planted sites' names (tests.api_kit)
_RUN = "import sys; from tests.test_reads_under_writes import {0}; {0}(*sys.argv[1:])"


# ---------------------------------------------------------------------- the other process
def _say(word: str) -> None:
    print(word, flush=True)


def hold(path: str, name: str) -> None:
    """Run in another process: a long reader holds the file; a write renames every site ``name`` (or,
    when ``name`` is empty, counts a refused sign-in of ``ana``: bookkeeping, the change stamp stays).

    Says ``ready`` once the write's transaction has changed the rows (not committed: readers still get
    in); on a line from stdin the write commits, and it says ``held`` once that commit waits in
    PENDING for the long reader; on the next line the long reader lets go, the commit ends and it says
    ``done`` (or what failed)."""
    reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM mining_sites").fetchone()  # SHARED, held until COMMIT
    ready, go, failed = threading.Event(), threading.Event(), []

    def write() -> None:
        try:
            with Workspace(path).writing(data=bool(name)) as con:
                if name:
                    con.execute("UPDATE mining_sites SET name = ?", (name,))
                else:
                    con.execute("UPDATE hgw_accounts SET failures = failures + 1 WHERE name = 'ana'")
                ready.set()
                go.wait(300)
        except Exception as exc:  # said to the test, which fails on it
            failed.append(repr(exc))
            ready.set()
    writer = threading.Thread(target=write)
    writer.start()
    ready.wait(300)
    _say("ready")
    sys.stdin.readline()
    go.set()
    while writer.is_alive() and not pending(path):
        time.sleep(0.02)
    _say("held")
    sys.stdin.readline()
    reader.execute("COMMIT")
    reader.close()
    writer.join(300)
    _say(f"failed {failed}" if failed else "done")


def read_long(path: str) -> None:
    """Run in another process: a long reader (QGIS, an export) holds the file until a line on stdin;
    says ``reading`` once it holds it, ``done`` after."""
    reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM mining_sites").fetchone()  # SHARED, held until COMMIT
    _say("reading")
    sys.stdin.readline()
    reader.execute("COMMIT")
    reader.close()
    _say("done")


def flip(path: str, stop: str) -> None:
    """Run in another process: name the first and the last site (``B0``, ``B<BIG - 1>``) ``1``, then
    ``2``, ..., both in one commit each time, until file ``stop`` exists; says ``flipping`` after the
    first commit and the number of commits at the end."""
    ws, commits = Workspace(path), 0
    while not Path(stop).exists():
        commits += 1
        with ws.writing() as con:
            con.execute("UPDATE mining_sites SET name = ? WHERE site_id IN (?, ?)", (str(commits), "B0", f"B{BIG - 1}"))
        if commits == 1:
            _say("flipping")
    _say(str(commits))


class _Other:
    """One of the functions above, run in another process (``python -c``), talked to by lines."""

    def __init__(self, function: str, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _RUN.format(function), *args], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def said(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def expect(self, word: str) -> None:
        line = self.said()
        assert line == word, f"the other process said {line!r}, expected {word!r}"

    def tell(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(60)


@contextlib.contextmanager
def _other(function: str, *args: str) -> Iterator[_Other]:
    other = _Other(function, *args)
    try:
        yield other
    finally:
        other.close()


# ---------------------------------------------------------------------- this process
def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


@contextlib.contextmanager
def _gdal_paused(path: Path) -> Iterator[Callable[[], bool]]:
    """Hold ``path`` for Python's sqlite3 in this thread for the block: a read of the workspace in
    another thread does its sqlite3 part and then waits to open the file with GDAL until the block
    ends. Yields a test of whether some thread waits for GDAL."""
    token = libraries.acquire(path, libraries.SQLITE3)
    try:
        yield lambda: libraries._waiting.get((str(path), libraries.GDAL), 0) > 0
    finally:
        libraries.release(path, libraries.SQLITE3, token)


def _meeting_a_held_commit(ws: Workspace, name: str, work: Callable[[], object]) -> object:
    """What ``work()`` (a read of ``ws``) gives when its GDAL read starts while another process's write,
    renaming every site ``name``, waits in its commit; the commit is held ``HOLD_S`` seconds, then ends."""
    with _other("hold", str(ws.real), name) as writer:
        writer.expect("ready")
        with _gdal_paused(ws.real) as gdal_waits:
            thread, outcome = started(work)
            _wait_until(lambda: gdal_waits() or not thread.is_alive(), "the read never came to its GDAL part")
            assert thread.is_alive(), f"the read ended without opening the file with GDAL: {outcome}"
            writer.tell()
            writer.expect("held")  # the commit keeps new readers out from now on
        thread.join(HOLD_S)  # the read meets the held commit meanwhile
        writer.tell()
        writer.expect("done")
        thread.join(120)
    assert not thread.is_alive()
    return outcome[0]


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """A workspace with the planted layers (three sites) and accounts."""
    filled = Workspace(tmp_path / "ws.gpkg")
    fill(filled)
    return filled


def test_a_layer_read_that_meets_a_held_commit_waits_and_returns_the_committed_rows(ws: Workspace) -> None:
    got = _meeting_a_held_commit(ws, "renamed", lambda: ws.read("mining_sites"))
    assert isinstance(got, gpd.GeoDataFrame), got  # before: DataSourceError "database is locked" after 10 s
    assert sorted(got["site_id"]) == ["S1", "S2", "S3/odd id"]
    assert list(got["name"]) == ["renamed"] * 3


def test_a_read_made_while_a_write_is_under_way_returns_the_rows_from_before_it(ws: Workspace) -> None:
    with _other("hold", str(ws.real), "renamed") as writer:
        writer.expect("ready")  # the write has renamed every site in its transaction, not committed
        before = ws.read("mining_sites")
        writer.tell()
        writer.expect("held")
        writer.tell()
        writer.expect("done")
    assert list(before["name"]) == OLD_NAMES
    assert list(ws.read("mining_sites")["name"]) == ["renamed"] * 3


def test_a_read_waits_for_a_commit_of_this_process_held_longer_than_30_s(ws: Workspace) -> None:
    """A dashboard session's write (Python's sqlite3) and another session's layer read (GDAL) in one
    process: GDAL's SQLite cannot see the commit's locks, so the read waits for it in
    ``libraries``; it used to go on after 30 s while the commit still waited for a reader of
    another process, reading beside it (and its close dropped the commit's locks)."""
    ready, go, failed = threading.Event(), threading.Event(), []

    def write() -> None:
        try:
            with ws.writing() as con:
                con.execute("UPDATE mining_sites SET name = 'renamed'")
                ready.set()
                go.wait(120)
        except Exception as exc:  # asserted below
            failed.append(exc)
            ready.set()
    with _other("read_long", str(ws.real)) as reader:
        reader.expect("reading")
        writer = threading.Thread(target=write)
        writer.start()
        assert ready.wait(60) and not failed, failed
        reading, outcome = started(lambda: ws.read("mining_sites"))
        _wait_until(lambda: libraries._waiting.get((str(ws.real), libraries.GDAL), 0) > 0 or not reading.is_alive(),
                    "the read never came to its GDAL part")
        go.set()
        _wait_until(lambda: pending(str(ws.real)), "the commit never waited for the long reader")
        reading.join(LIBRARY_HOLD_S)  # the read waits meanwhile (before: it went on after 30 s)
        reader.tell()
        reader.expect("done")
        writer.join(120)
        reading.join(120)
    assert not failed, failed
    got = outcome[0]
    assert isinstance(got, gpd.GeoDataFrame), got
    assert list(got["name"]) == ["renamed"] * 3  # before: the names from before the commit


def _big(tmp_path: Path) -> Workspace:
    rng = np.random.default_rng(7)
    n = BIG
    sites = gpd.GeoDataFrame({"site_id": [f"B{i}" for i in range(n)], "name": ["a"] * n, "status": ["active"] * n},
                             geometry=shapely.points(rng.uniform(-3, -1, n), rng.uniform(5, 7, n)), crs=4326)
    big = Workspace(tmp_path / "big.gpkg")
    big.write_layers([("mining_sites", sites)], source="big.geojson", licence="CC-BY-4.0")
    return big


def test_a_read_of_a_large_layer_while_another_process_keeps_committing_never_mixes_two_states(
        tmp_path: Path) -> None:
    """Each commit renames the first and the last site together, so a read in which they differ saw
    two states (before: GDAL's Arrow stream read the layer in several SQLite reads of 65,536 rows, and
    the writer committed in between)."""
    big = _big(tmp_path)
    stop = tmp_path / "stop"
    pairs: list[tuple[str, str]] = []
    with _other("flip", str(big.real), str(stop)) as writer:
        writer.expect("flipping")
        for _ in range(6):
            frame = big.read("mining_sites", columns=["site_id", "name"]).set_index("site_id")["name"]
            pairs.append((frame["B0"], frame[f"B{BIG - 1}"]))
        stop.touch()
        commits = int(writer.said())
    assert commits > 1  # the writer committed while the layer was read
    assert all(first == last for first, last in pairs), pairs


@pytest.fixture
def impatient() -> Iterator[None]:
    """Readers give up after 1 s (``files.READ_WAIT_S``) during the test: the commit is held 15 s. The
    test's own pause of a read before its GDAL part (``libraries``) keeps its usual length."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(files, "READ_WAIT_S", 1.0)
        patch.setattr(libraries, "wait_s", lambda: 60.0, raising=False)
        yield
    arrowread.wait_for_writers()  # GDAL waits files.READ_WAIT_S again


@pytest.mark.usefixtures("impatient")
def test_a_read_that_cannot_get_in_gives_a_clear_error(ws: Workspace) -> None:
    got = _meeting_a_held_commit(ws, "renamed", lambda: ws.read("mining_sites"))
    assert isinstance(got, WorkspaceError), got
    assert str(ws.real) in str(got) and "'mining_sites'" in str(got) and "busy" in str(got), got
    assert list(ws.read("mining_sites")["name"]) == ["renamed"] * 3  # the write went through


@pytest.mark.usefixtures("impatient")
def test_a_layer_table_read_that_cannot_get_in_says_the_workspace_is_busy(ws: Workspace) -> None:
    """The ``sqlite3`` part of a read (the layer table, the key check) says so too, not "cannot be read
    as a GeoPackage: database is locked"."""
    with _other("hold", str(ws.real), "renamed") as writer:
        writer.expect("ready")
        writer.tell()
        writer.expect("held")
        with pytest.raises(WorkspaceError, match=r"is busy: a write kept it locked for more than 1 s") as refused:
            ws.layers()
        writer.tell()
        writer.expect("done")
    assert str(ws.real) in str(refused.value)


@pytest.mark.usefixtures("impatient")
def test_the_dashboard_shows_a_store_held_too_long_as_an_error_and_reads_it_again_next_time(ws: Workspace) -> None:
    """The dashboard's shared service keeps its answers (errors too) until the store's change stamp
    moves; a bookkeeping write (a refused sign-in) leaves the stamp, so a kept "busy" would stay."""
    svc = HgWatch.shared(Settings.from_env({}, workspace=ws.path), None)
    got = _meeting_a_held_commit(ws, "", svc.layers)
    assert isinstance(got, HgWatchError) and "busy" in str(got) and str(ws.real) in str(got), got
    assert [i.layer for i in svc.layers()] == ["mining_sites", "water_bodies", "tailings", "samples"]
    assert list(svc.frames()["mining_sites"]["name"]) == OLD_NAMES


# ---------------------------------------------------------------------- the partner API, in this process
async def _asgi_get(app: object, path: str, query: str, key: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body the ASGI ``app`` answers a GET of ``path?query`` with ``key``."""
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": [(b"host", b"127.0.0.1:8502"), (b"x-api-key", key.encode())],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8502)}
    await app(scope, receive, send)  # type: ignore[operator]
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {bytes(k).decode().lower(): bytes(v).decode() for k, v in start.get("headers", [])}  # type: ignore[attr-defined]
    body = b"".join(bytes(m.get("body", b"")) for m in sent if m["type"] == "http.response.body")  # type: ignore[arg-type]
    return int(str(start["status"])), headers, body


@contextlib.contextmanager
def _api(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """The API of ``ws`` in this process, whose next page reads the layers again: the data changed
    after it read them to start, and it looks for changes once a second."""
    for name in ("PYGEOAPI_CONFIG", "PYGEOAPI_OPENAPI"):  # create_app sets both: restored afterwards
        monkeypatch.setenv(name, "")
    gate = create_app(Settings.from_env({}, workspace=ws.path))
    with ws.writing() as con:
        con.execute("UPDATE samples SET hg = hg + 1")
    time.sleep(RECHECK_S + KEY_RECHECK_S + 0.2)
    try:
        yield gate
    finally:
        gate.close()


def test_an_api_page_that_meets_a_held_commit_waits_and_answers_the_committed_rows(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    key = keys.create(ws, "unep")
    with _api(ws, monkeypatch) as gate:
        status, _, body = _meeting_a_held_commit(  # type: ignore[misc]
            ws, "renamed", lambda: asyncio.run(_asgi_get(gate, "/collections/mining_sites/items", "limit=10", key)))
    assert status == 200, body  # before: 500 after 10 s, "database is locked"
    features = json.loads(body)["features"]
    assert sorted(f["id"] for f in features) == ["S1", "S2", "S3/odd id"]
    assert [f["properties"]["name"] for f in features] == ["renamed"] * 3
    assert SECRET.encode() not in body


@pytest.mark.usefixtures("impatient")
def test_an_api_page_that_cannot_read_the_store_gets_503_with_retry_after_and_a_log_line(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="hgwatch.api")
    key = keys.create(ws, "unep")
    with _api(ws, monkeypatch) as gate:
        status, headers, body = _meeting_a_held_commit(  # type: ignore[misc]
            ws, "renamed", lambda: asyncio.run(_asgi_get(gate, "/collections/mining_sites/items", "", key)))
    assert status == 503, body
    assert int(headers.get("retry-after", "0")) > 0
    assert b"try again later" in body and SECRET.encode() not in body and b"ws.gpkg" not in body
    logged = [r.getMessage() for r in caplog.records if r.name == "hgwatch.api" and "answered 503" in r.getMessage()]
    assert logged and "GET /collections/mining_sites/items" in logged[0] and "busy" in logged[0], logged
