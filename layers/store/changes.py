"""The change stamp of a workspace GeoPackage: it moves when the data may have changed, whoever
changed it, and not when HgWatch only wrote bookkeeping (an audit row, an account, an API key).

SQLite keeps a "file change counter" in the database header (4 bytes, big-endian, at offset 24),
which every committed write transaction raises by one in rollback-journal mode (the workspace's
mode, ``layers.store.gpkg``), whoever writes: GDAL, QGIS, the ``sqlite3`` shell or HgWatch; a
transaction that changes nothing leaves it. A bookkeeping transaction (``Workspace.writing(data=False)``)
also adds one to ``hgw_bookkeeping.commits`` in the same transaction (``count_bookkeeping``). The
stamp is ``(st_dev, st_ino, counter - commits)``: bookkeeping leaves it, any other commit moves it
by one or more, and a file replaced under the same name (an ``os.replace``, a new file) has
another inode.

Reading it costs one ``open`` and a 100-byte read while the header counter has not moved
(the last stamp is kept per file in this process); when it moved, ``hgw_bookkeeping`` is read
and the header again, both inside one read transaction (a writer cannot commit while it holds
SQLite's shared lock), so the pair is consistent.

Where the counter cannot be trusted the stamp falls back to the file's size and modification
time (and those of its ``-wal`` file), which move on every write, bookkeeping included: a file in
WAL mode (SQLite leaves the header counter alone there; QGIS switches a file to WAL while it edits
it, and HgWatch's next write puts it back: ``layers.store.gpkg.leave_wal``) and a file that is not an
SQLite database at all. A bookkeeping transaction committed in WAL mode is not counted either (the
counter does not count it), so that the stamp, once the file is back in rollback mode, never equals
one it had before: each switch to or from WAL raises the counter. Not detected: a file copied over the
workspace IN PLACE (same inode, ``cp`` onto it) whose counter less its bookkeeping equals the
replaced file's.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from pathlib import Path

from layers.store import gpkg

TABLE = "hgw_bookkeeping"  # one row: how many committed transactions wrote bookkeeping only
_MAGIC = b"SQLite format 3\x00"
_COUNTER = slice(24, 28)  # the file change counter in the database header
_WAL = 2  # header bytes 18 and 19 (write and read format versions) in WAL mode
_SQLITE_TABLE = f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1), commits INTEGER NOT NULL)"
_seen: dict[Path, tuple[tuple[int, int, int], tuple[int, ...]]] = {}  # file -> (dev, ino, counter), its stamp
_seen_lock = threading.Lock()


def count_bookkeeping(con: sqlite3.Connection) -> None:
    """Count the open write transaction of ``con`` as bookkeeping (call it inside the transaction),
    unless the file is in WAL mode, where its commit does not raise the header counter."""
    if str(con.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        return
    con.execute(_SQLITE_TABLE)
    con.execute(f"INSERT INTO {TABLE} (id, commits) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET commits = commits + 1")


def _header(path: Path) -> tuple[os.stat_result, bytes]:
    with open(path, "rb") as fh:
        return os.fstat(fh.fileno()), fh.read(100)


def _counted(head: bytes) -> bool:
    """True when ``head`` is an SQLite header whose change counter counts every commit (not WAL)."""
    return len(head) == 100 and head.startswith(_MAGIC) and not (head[18] == _WAL or head[19] == _WAL)


def _fallback(path: Path, st: os.stat_result) -> tuple[int, ...]:
    """A stamp that moves on every write to ``path`` or its ``-wal`` file."""
    wal = path.with_name(path.name + "-wal")
    wst = wal.stat() if wal.exists() else None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
            -1 if wst is None else wst.st_size, -1 if wst is None else wst.st_mtime_ns)


def stamp(path: Path) -> tuple[int, ...]:
    """The change stamp of GeoPackage ``path`` (see the module docstring); ``(-1,)`` when there is no file."""
    try:
        st, head = _header(path)
    except FileNotFoundError:
        return (-1,)
    if not _counted(head):
        return _fallback(path, st)
    key = (st.st_dev, st.st_ino, int.from_bytes(head[_COUNTER], "big"))
    with _seen_lock:
        seen = _seen.get(path)
    if seen is not None and seen[0] == key:
        return seen[1]
    try:
        with contextlib.closing(gpkg.read_only(path)) as con:
            con.execute("BEGIN")
            has = con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)).fetchone()
            found = con.execute(f"SELECT commits FROM {TABLE}").fetchone() if has else None
            st, head = _header(path)  # under the shared lock taken above: no commit in between
            con.execute("COMMIT")
    except (sqlite3.DatabaseError, FileNotFoundError):
        return _fallback(path, st)
    if not _counted(head):
        return _fallback(path, st)
    key = (st.st_dev, st.st_ino, int.from_bytes(head[_COUNTER], "big"))
    result = (st.st_dev, st.st_ino, key[2] - (int(found[0]) if found else 0))
    with _seen_lock:
        _seen[path] = (key, result)
    return result
