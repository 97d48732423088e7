"""No read of the workspace file by this process takes SQLite's locks from under a write of this process.

SQLite locks the file with POSIX advisory locks, which belong to the process: closing ANY descriptor
of the file drops every lock the process holds on it (SQLite's "How To Corrupt An SQLite Database
File", 2.2). ``files.roll_back_dead_writer`` (run by ``gpkg.read_only`` and ``Workspace(path)``
whenever a ``-journal`` is there, which in rollback mode is exactly while a write is under way) and
``files.refuse_unless_geopackage`` (run by every read and write) opened the file, read its header and
closed it: a read in one thread (a dashboard session) during a write in another (an import, a case
update) let another process (the API, QGIS) write at once, or read the pages of a commit half
written. They now read the header through the descriptor ``files.header`` keeps open.

Each test holds a write of this process in one thread, makes the call in another, then asks another
process for what the write's lock must refuse it. Real files, real processes, nothing mocked.

Also here: a store another program keeps locked is "busy", not "cannot be read as a GeoPackage",
where cases and the move into PostGIS read it.
"""
from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point

from geo.errors import StoreBusy, WorkspaceError
from layers.store import accounts, audit, cases, files, gpkg, transfer
from layers.store.workspace import Workspace
from tests.lock_kit import started

SITES = gpd.GeoDataFrame({"site_id": ["S-1", "S-2", "S-3"], "name": ["a", "b", "c"], "status": ["active"] * 3},
                         geometry=[Point(0.0, 0.0), Point(1.0, 0.0), Point(0.0, 1.0)], crs=4326)
_PROBES = {  # what another program gets at once (no waiting) when it asks to write, or to read
    "write": """
con = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
con.execute("BEGIN IMMEDIATE")
con.execute("ROLLBACK")
print("began a write")""",
    "read": """
con = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=0)
print("read", sorted(r[0] for r in con.execute("SELECT name FROM mining_sites")))""",
}
_READ_LONG = """
import sqlite3, sys
con = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, isolation_level=None)
con.execute("BEGIN")
con.execute("SELECT count(*) FROM mining_sites").fetchone()
print("reading", flush=True)
sys.stdin.readline()
con.execute("COMMIT")
"""
_HOLD = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN EXCLUSIVE")
print("held", flush=True)
sys.stdin.readline()
con.execute("ROLLBACK")
"""


def another(what: str, path: Path) -> str:
    """What another program gets at once when it asks to ``write`` or ``read`` ``path``."""
    script = "import sqlite3, sys\ntry:" + _PROBES[what].replace("\n", "\n    ") + \
        "\nexcept sqlite3.OperationalError as exc:\n    print(exc)\n"
    return subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True,
                          check=True).stdout.strip()


@contextlib.contextmanager
def other_process(script: str, *args: str) -> Iterator[subprocess.Popen[str]]:
    """``script`` run in another process for the block, talked to by lines."""
    proc = subprocess.Popen([sys.executable, "-c", script, *args], cwd=Path(__file__).resolve().parent.parent,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(60)


def said(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    return proc.stdout.readline().strip()


def tell(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("\n")
    proc.stdin.flush()


def in_thread(work: Callable[[], object]) -> object:
    """What ``work()`` returned or raised, run in a thread of its own (as a dashboard session's read)."""
    thread, outcome = started(work)
    thread.join(120)
    assert not thread.is_alive()
    return outcome[0]


@contextlib.contextmanager
def writing_in_a_thread(ws: Workspace, *, change: bool, commit_waits: bool = False) -> Iterator[None]:
    """A write of this process (``Workspace.writing``) in a thread of its own, under way for the block:
    with ``change`` it has renamed every site ``new`` (SQLite's RESERVED lock, and a ``-journal``), else
    it has only begun (RESERVED, no journal yet). With ``commit_waits`` its commit is held in SQLite's
    PENDING lock by another process's reader during the block. It commits when the block ends."""
    ready, go, failed = threading.Event(), threading.Event(), []

    def write() -> None:
        try:
            with Workspace(ws.path, lock_timeout_s=120).writing() as con:
                if change:
                    con.execute("UPDATE mining_sites SET name = 'new'")
                ready.set()
                go.wait(120)
        except Exception as exc:  # the test fails on it
            failed.append(exc)
            ready.set()
    thread = threading.Thread(target=write)
    with contextlib.ExitStack() as stack:
        if commit_waits:
            reader = stack.enter_context(other_process(_READ_LONG, str(ws.real)))
            assert said(reader) == "reading"
        thread.start()
        try:
            assert ready.wait(120) and not failed, failed
            if commit_waits:
                go.set()  # the commit takes PENDING, then waits for the reader: no new reader gets in
                while another("read", ws.real) != "database is locked":
                    assert thread.is_alive(), failed
            yield
        finally:
            go.set()
            if commit_waits:
                with contextlib.suppress(OSError):
                    tell(reader)  # it lets go: the commit goes on
            thread.join(120)
    assert not thread.is_alive() and not failed, failed


def read_only_connection(ws: Workspace) -> None:
    """``gpkg.read_only`` opened and closed (a read that waits for nothing)."""
    gpkg.read_only(ws.real).close()


def read_only_query(ws: Workspace) -> list[str]:
    with contextlib.closing(gpkg.read_only(ws.real)) as con:
        return sorted(r[0] for r in con.execute("SELECT name FROM mining_sites"))


def case_read(ws: Workspace) -> int:
    with cases.reading(ws) as tables:
        return len(tables.all())


CALLS: dict[str, Callable[[Workspace], object]] = {
    "Workspace(path)": lambda ws: Workspace(ws.path),
    "gpkg.read_only": read_only_connection,
    "gpkg.read_only, read": read_only_query,
    "Workspace.layers": lambda ws: ws.layers(),
    "Workspace.replacement": lambda ws: ws.replacement("mining_sites", 3),
    "accounts": lambda ws: accounts.GpkgAccounts(ws).all(),
    "cases.reading": case_read,
    "files.refuse_unless_geopackage": lambda ws: files.refuse_unless_geopackage(ws.path, ws.real),
    "transfer.read": transfer.read,
}
WAIT_FOR_NOTHING = ("Workspace(path)", "gpkg.read_only")  # calls that return while a commit is held


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    made = Workspace(tmp_path / "ws.gpkg")
    made.write_layers([("mining_sites", SITES)], source="hand-made test layer")
    audit.append(made, who="ana", action="sign in", target="ana")  # an audit trail for transfer.read
    with cases.writing(made):  # the case tables, empty
        pass
    return made


def _after_the_commit(ws: Workspace, names: list[str]) -> None:
    """Everything reads ``names`` once the write has committed, and another program may write again."""
    assert sorted(ws.read("mining_sites")["name"]) == names
    assert read_only_query(ws) == names
    assert another("read", ws.real) == f"read {names}"
    assert another("write", ws.real) == "began a write"


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("pages", ["changed", "not yet changed"])
def test_a_read_in_another_thread_keeps_the_lock_of_a_write_under_way(ws: Workspace, call: str, pages: str) -> None:
    """Before: every call that read the header while the ``-journal`` was there (with pages changed),
    and ``refuse_unless_geopackage`` always, let another program begin a write at once."""
    journal = ws.real.with_name(ws.real.name + "-journal")
    with writing_in_a_thread(ws, change=pages == "changed"):
        assert journal.exists() == (pages == "changed")
        assert another("write", ws.real) == "database is locked"
        got = in_thread(lambda: CALLS[call](ws))
        assert not isinstance(got, Exception), got
        assert another("write", ws.real) == "database is locked"
    _after_the_commit(ws, ["new"] * 3 if pages == "changed" else ["a", "b", "c"])


@pytest.mark.parametrize("call", WAIT_FOR_NOTHING)
def test_a_read_in_another_thread_keeps_a_held_commit_s_lock(ws: Workspace, call: str) -> None:
    """A commit waiting in PENDING for another program's reader lets no new reader in (it is about to
    write its pages into the file); before, the call let one in at once."""
    with writing_in_a_thread(ws, change=True, commit_waits=True):
        got = in_thread(lambda: CALLS[call](ws))
        assert not isinstance(got, Exception), got
        assert another("read", ws.real) == "database is locked"
    _after_the_commit(ws, ["new"] * 3)


def test_the_header_s_descriptor_stays_open_while_its_file_is_there(ws: Workspace) -> None:
    """One descriptor per file, whoever reads the header (the change stamp, the GeoPackage check)."""
    files.refuse_unless_geopackage(ws.path, ws.real)
    ws.change_stamp()
    Workspace(ws.path).layers()
    fds = [fd for fd, name in _descriptors() if name == str(ws.real)]
    assert len(fds) == 1


def test_a_staging_file_renamed_onto_its_workspace_keeps_its_descriptor_as_the_workspace_s(tmp_path: Path) -> None:
    """A new workspace is built in a staging file, checked (its header read), then renamed into place.
    Its staging name is gone then: the next new header read must not close that descriptor as one of a
    file removed, as the file is the workspace now and this process may hold SQLite's locks on it."""
    first = Workspace(tmp_path / "first.gpkg")
    first.write_layers([("mining_sites", SITES)], source="hand-made test layer")
    shutil.copyfile(first.real, tmp_path / "copy.gpkg")  # a file no header read has met yet
    ws = Workspace(tmp_path / "new.gpkg")
    ws.write_layers([("mining_sites", SITES)], source="hand-made test layer")  # staged, checked, renamed
    with gpkg.transaction(ws.real) as con:  # a write that read no header first (as a GDAL read or a
        con.execute("UPDATE mining_sites SET name = 'new'")  # read_only connection need not)
        assert another("write", ws.real) == "database is locked"
        files.refuse_unless_geopackage(tmp_path / "copy.gpkg", tmp_path / "copy.gpkg")  # a new header read
        assert another("write", ws.real) == "database is locked"
    _after_the_commit(ws, ["new"] * 3)
    assert sum(name == str(ws.real) for _, name in _descriptors()) == 1


def _descriptors() -> list[tuple[str, str]]:
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            found.append((fd.name, str(fd.readlink())))
    return found


# ---------------------------------------------------------------------- busy is busy
@pytest.fixture
def impatient() -> Iterator[None]:
    """Readers give up after 0.5 s (``files.READ_WAIT_S``) during the test."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(files, "READ_WAIT_S", 0.5)
        yield


@pytest.mark.usefixtures("impatient")
def test_a_case_read_that_meets_another_program_s_lock_says_the_store_is_busy(ws: Workspace) -> None:
    with pytest.raises(WorkspaceError) as caught, cases.reading(ws) as tables, \
            other_process(_HOLD, str(ws.real)) as holder:  # between the block's BEGIN and its first read
        assert said(holder) == "held"
        tables.all()
    assert isinstance(caught.value, StoreBusy), caught.value
    assert "is busy" in str(caught.value) and str(ws.path) in str(caught.value)


@pytest.mark.usefixtures("impatient")
def test_a_move_into_postgis_that_meets_another_program_s_lock_says_the_store_is_busy(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lock is taken right after the audit trail is read, before the tables are (the last moment
    another program could take it: a hook on ``audit.rows`` marks it)."""
    stack = contextlib.ExitStack()
    rows = audit.rows

    def then_locked(store: Workspace) -> list[audit.AuditRow]:
        got = rows(store)
        holder = stack.enter_context(other_process(_HOLD, str(store.real)))
        assert said(holder) == "held"
        return got
    monkeypatch.setattr(audit, "rows", then_locked)
    with stack, pytest.raises(WorkspaceError) as caught:
        transfer.read(ws)
    assert isinstance(caught.value, StoreBusy), caught.value
    assert "is busy" in str(caught.value) and str(ws.path) in str(caught.value)
