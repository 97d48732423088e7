"""The workspace as a file: where it really is, whether it is a GeoPackage, and its stray staging files.

Three guards keep a workspace command from destroying data while exiting 0:

- ``real_path`` resolves a symlinked workspace once, so that a write goes through to the real
  file (the link stays a link) and every path to one file shares one lock;
- ``refuse_unless_geopackage`` refuses any existing path that is not a GeoPackage (a CSV, a PDF,
  a plain SQLite database, a folder), for reading or writing, before anything is opened for
  writing, so that such a file is never replaced and no ``hgw_*`` table is written into it;
- ``remove_strays`` deletes the staging files a killed writer left beside the workspace (they
  hold every field, restricted ones included; earlier versions left whole temporary copies under
  the same names), matching the store's own naming only and only while no live writer holds the
  workspace's lock.

``roll_back_dead_writer`` undoes the half-done transaction of a writer killed inside the
workspace file (SQLite's hot journal), so that read-only readers can read it again.

``header`` is the one way Python code here reads the workspace file's own bytes (its SQLite
header): through a descriptor kept open per file, never an ``open``/``close``. POSIX advisory
locks, which SQLite takes on the file, belong to the process: closing ANY descriptor of the file
drops every lock the process holds on it (SQLite's "How To Corrupt An SQLite Database File", 2.2),
among them those of a write another thread has under way, and another program could then read its
half-written pages or write at once.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import sqlite3
import stat
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from geo.errors import StoreBusy, WorkspaceError
from layers.store import libraries

if TYPE_CHECKING:
    import filelock

SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database file
GPKG_TABLES = ("gpkg_contents", "gpkg_spatial_ref_sys")  # required by the GeoPackage standard
GPKG_APPLICATION_IDS = (b"GPKG", b"GP10", b"GP11")  # the header's application_id (bytes 68-71): 1.2+, 1.0, 1.1
TEMP_MARK = ".hgw-tmp-"  # staging file of workspace W: ".<W's name>.hgw-tmp-XXXXXXXX.gpkg"
TEMP_SUFFIX = ".gpkg"
SIDE_SUFFIXES = ("-journal", "-wal", "-shm")  # files SQLite keeps beside a database it writes
READ_WAIT_S = 90.0  # how long a reader waits for a writer's commit, seconds: longer than a writer keeps readers out
# (it waits up to gpkg.BUSY_TIMEOUT_S, 60 s, for readers already in while holding SQLite's PENDING lock,
# which lets no new reader in, then writes its pages); Python's sqlite3 default of 5 s gave up first, and
# GDAL's (5 s, twice; a GDAL read now waits this long in all, open included: arrowread, layers.io.gdalwait)
# and this process's own GDAL-after-sqlite3 wait (libraries)
_RANDOM = r"[a-z0-9_]{8}"  # what tempfile.mkstemp puts between prefix and suffix
_HEADER_BYTES = 100  # the SQLite database header
_open: dict[Path, tuple[int, int, int]] = {}  # file -> (descriptor kept open, its device, inode): see header
_open_lock = threading.Lock()
_EXPECTED = ("Give the path of a GeoPackage (.gpkg) made by HgWatch or a GIS, or a path that does not"
             " exist yet to start a new workspace; HgWatch neither reads nor replaces this file")


def real_path(path: str | os.PathLike[str]) -> Path:
    """``path`` with every symlink resolved (an absolute path); WorkspaceError on a link loop."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop on Python < 3.13
        raise WorkspaceError(f"workspace {path} cannot be resolved to a file: {exc}") from None


def describe(given: Path, real: Path) -> str:
    """How messages name the workspace: as given, plus the real file when a link leads there."""
    return str(given) if Path(os.path.abspath(given)) == real else f"{given} (which leads to {real})"


def refuse_unless_geopackage(given: Path, real: Path) -> None:
    """Raise WorkspaceError unless ``real`` is absent or a GeoPackage; opens nothing for writing.

    A GeoPackage is an SQLite database holding the tables ``gpkg_contents`` and
    ``gpkg_spatial_ref_sys``. The file is read (its first 16 bytes, then read-only through SQLite),
    never changed.
    """
    name = describe(given, real)
    if real.is_dir():
        raise WorkspaceError(f"workspace {name} is a folder, not a GeoPackage file; give the path of"
                             f" a .gpkg file, e.g. {given / 'workspace.gpkg'}")
    if not real.exists():
        return
    if not real.is_file():
        raise WorkspaceError(f"workspace {name} is not a regular file, so not a GeoPackage. {_EXPECTED}")
    try:
        head = header(real)[1][:len(SQLITE_HEADER)]
    except OSError as exc:
        raise WorkspaceError(f"workspace {name} cannot be read: {exc.strerror}") from None
    if not head:
        raise WorkspaceError(f"workspace {name} is an empty file, not a GeoPackage. {_EXPECTED}")
    if head != SQLITE_HEADER:
        raise WorkspaceError(f"workspace {name} is not a GeoPackage (it is not an SQLite database)."
                             f" {_EXPECTED}")
    roll_back_dead_writer(real)
    try:
        with libraries.using(real, libraries.SQLITE3), \
                contextlib.closing(sqlite3.connect(f"{real.as_uri()}?mode=ro", uri=True, timeout=READ_WAIT_S)) as con:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise unreadable(name, exc) from None
    missing = [t for t in GPKG_TABLES if t not in tables]
    if missing:
        raise WorkspaceError(f"workspace {name} is an SQLite database but not a GeoPackage (it has no"
                             f" {' or '.join(missing)} table). {_EXPECTED}")


def unreadable(name: str, exc: sqlite3.DatabaseError) -> WorkspaceError:
    """The error to raise when SQLite refused a read of workspace ``name``: ``StoreBusy`` when a
    writer kept it locked for longer than ``READ_WAIT_S``, else "cannot be read as a GeoPackage"."""
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc)):
        return StoreBusy(f"workspace {name} is busy: a write kept it locked for more than {READ_WAIT_S:g} s, so it"
                         f" could not be read; nothing was changed. Try again in a minute")
    return WorkspaceError(f"workspace {name} cannot be read as a GeoPackage: {exc}")


def lock_path(real: Path) -> Path:
    """The side file writers of workspace ``real`` lock: ``<real workspace file>.lock``."""
    return real.with_name(real.name + ".lock")


def roll_back_dead_writer(real: Path) -> bool:
    """Roll back what a writer killed inside workspace ``real``'s transaction left; True if it ran.

    Such a writer leaves ``<real>-journal`` (a hot journal) and maybe a half-changed file, which
    SQLite can read only once a connection able to write has rolled it back. That is done here
    when the journal is there and no live writer holds the lock (a live writer's journal is not
    hot, and is left alone). Does nothing, and creates nothing, when there is no journal or the
    file is not a GeoPackage by its header (a user's own SQLite database is never changed).
    """
    if not real.with_name(real.name + "-journal").exists():
        return False
    try:
        head = header(real)[1]  # never open/close: this process's own writer may be in its transaction
    except OSError:
        return False
    if head[:16] != SQLITE_HEADER or head[68:72] not in GPKG_APPLICATION_IDS:
        return False
    lock = _lock_now(lock_path(real))
    if lock is None:  # a live writer, or a folder we may not write in
        return False
    journal = real.with_name(real.name + "-journal")
    try:
        with libraries.using(real, libraries.SQLITE3), contextlib.suppress(sqlite3.DatabaseError), \
                contextlib.closing(sqlite3.connect(real, timeout=0, isolation_level=None)) as con:
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()  # SQLite rolls a hot journal back here
            # a journal the writer died before syncing is not hot (the file was never touched) but
            # stays; with the reserved lock no other writer can be using it, so it goes
            con.execute("BEGIN IMMEDIATE")
            with contextlib.suppress(OSError):
                journal.unlink()
            con.execute("ROLLBACK")
    finally:
        lock.release()
    return True


def header(path: Path) -> tuple[os.stat_result, bytes]:
    """The status and the first 100 bytes (fewer in a shorter file) of regular file ``path``, read
    through a descriptor this process keeps open while the file is at ``path``: closing one would
    drop every SQLite lock this process holds on the file (see the module docstring), those of a
    write under way in another thread included. FileNotFoundError when there is no file, another
    OSError when it cannot be read or is not a regular file (nothing is kept open for it then).

    A descriptor is closed when its file is no longer at its path (removed, or replaced by another
    file), at the next call that opens a new one: this process's locks on such a file go with it,
    and nobody finds it by that name. A staging file renamed onto its workspace (``temp_prefix``)
    is the workspace now: its descriptor is kept, as the workspace's."""
    st = os.stat(path)
    with _open_lock:
        held = _open.get(path)
        if held is None or held[1:] != (st.st_dev, st.st_ino):
            _let_go_of_moved()
            held = _open.get(path)
        if held is None or held[1:] != (st.st_dev, st.st_ino):
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
            now = os.fstat(fd)
            if not stat.S_ISREG(now.st_mode):  # a folder or a pipe: SQLite holds no lock on it
                os.close(fd)
                raise OSError(errno.EINVAL, "not a regular file", str(path))
            held = _open[path] = (fd, now.st_dev, now.st_ino)
        return os.fstat(held[0]), os.pread(held[0], _HEADER_BYTES, 0)


def _let_go_of_moved() -> None:
    """Close the kept descriptors of files no longer at their path (call with ``_open_lock`` held),
    except that of a staging file now at its workspace's path, which is kept for that path."""
    gone = {}
    for path, held in list(_open.items()):
        if _identity(path) != held[1:]:
            gone[path] = _open.pop(path)
    for path, (fd, dev, ino) in gone.items():
        workspace = _workspace_of_stage(path)
        if workspace is not None and workspace not in _open and _identity(workspace) == (dev, ino):
            _open[workspace] = (fd, dev, ino)
        else:
            os.close(fd)


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path``; None when there is none."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _workspace_of_stage(path: Path) -> Path | None:
    """The workspace whose staging file ``path`` is, by its name (``temp_prefix``); None for any other file."""
    found = re.fullmatch(r"\.(.+)" + re.escape(TEMP_MARK) + _RANDOM + re.escape(TEMP_SUFFIX), path.name)
    return None if found is None else path.with_name(found.group(1))


def temp_prefix(real: Path) -> str:
    """The start of the name of every staging file of workspace ``real``."""
    return f".{real.name}{TEMP_MARK}"


def _stray_name(real: Path) -> re.Pattern[str]:
    """Names of staging files of ``real`` and their SQLite side files, and nothing else.

    Besides today's ``.<name>.hgw-tmp-XXXXXXXX.gpkg`` this matches the copies of earlier versions,
    ``.<stem>-tmp-XXXXXXXX.gpkg``, for a workspace whose name ends in ``.gpkg``.
    """
    names = [re.escape(temp_prefix(real)) + _RANDOM + re.escape(TEMP_SUFFIX)]
    if real.suffix == TEMP_SUFFIX:
        names.append(re.escape(f".{real.stem}-tmp-") + _RANDOM + re.escape(TEMP_SUFFIX))
    sides = "|".join(re.escape(s) for s in SIDE_SUFFIXES)
    return re.compile(rf"(?:{'|'.join(names)})(?:{sides})?")


def strays(real: Path) -> list[Path]:
    """Staging files of workspace ``real`` (and their side files) in its folder, by name."""
    pattern = _stray_name(real)
    try:
        with os.scandir(real.parent) as entries:
            return sorted(real.parent / e.name for e in entries
                          if pattern.fullmatch(e.name) and not e.is_dir(follow_symlinks=False))
    except OSError:  # no folder yet, or one we may not list: nothing of ours to remove
        return []


def remove_files(paths: list[Path]) -> list[Path]:
    """Delete ``paths``, skipping any already gone or not removable; returns those deleted."""
    removed = []
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
    return removed


def try_lock(path: Path, timeout_s: float) -> filelock.BaseFileLock | None:
    """The writer lock file ``path``, acquired within ``timeout_s`` seconds, or None when a live
    writer holds it that long. filelock loads here, with a command's first lock: a command that
    writes nothing (``check --no-record``, ``--help``) does not load it (issue 13: ~20 ms of the
    start-up)."""
    import filelock

    lock = filelock.FileLock(path, timeout=timeout_s)
    try:
        lock.acquire()
    except filelock.Timeout:
        return None
    return lock


def _lock_now(path: Path) -> filelock.BaseFileLock | None:
    """The writer lock file ``path`` if it is free at once, else None: a live writer holds it, or
    it cannot be created (a folder we may not write in)."""
    try:
        return try_lock(path, 0)
    except OSError:
        return None


def remove_strays(real: Path, lock_path: Path) -> list[Path]:
    """Delete the stray staging files of workspace ``real``; returns the paths deleted.

    Does nothing (and creates no lock file) when there are none. Otherwise it takes the
    workspace's writer lock without waiting: while a live writer holds it, its file is in use and
    stays; the kernel releases a dead writer's lock, so a killed writer's files go.
    """
    if not strays(real):
        return []
    lock = _lock_now(lock_path)
    if lock is None:  # a live writer, or a folder we may not write in
        return []
    try:
        return remove_files(strays(real))
    finally:
        lock.release()
