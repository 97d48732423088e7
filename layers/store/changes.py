"""The change stamp of a workspace GeoPackage: it moves when the data may have changed, whoever
changed it, and not when HgWatch only wrote bookkeeping (an audit row, an account, an API key).

SQLite keeps a "file change counter" in the database header (4 bytes, big-endian, at offset 24),
which every committed write transaction raises by one in rollback-journal mode (the workspace's
mode, ``layers.store.gpkg``), whoever writes: GDAL, QGIS, the ``sqlite3`` shell or HgWatch; a
transaction that changes nothing leaves it. A bookkeeping transaction (``Workspace.writing(data=False)``)
also adds one to ``hgw_bookkeeping.commits`` in the same transaction (``count_bookkeeping``), so
``counter - commits`` counts the data commits.

That count alone does not tell two files apart: a workspace copied over IN PLACE (``cp`` onto it, a
restore, ``rsync --inplace``: same inode, maybe the same size) by a copy that went its own way with
as many data commits has the same count. So the stamp also holds an anchor, the file's status-change
time (``st_ctime_ns``: every write to the file, a copy onto it included, sets it to the time of the
write, and no program can set it back, unlike the modification time ``cp -p`` or ``rsync -t`` restore)
taken when the data last changed:

- after a data commit (and after anything else this module cannot account for: a copy onto the
  file, a ``touch``, a ``chmod``), the file's own ctime now, with its inode;
- after a run of bookkeeping commits, the inode and ctime the file had just before the run's first
  one, kept by ``count_bookkeeping`` in ``hgw_bookkeeping`` (``base_ino``, ``base_ctime``, and
  ``upto``: the counter the run's last commit left; the run goes on while the counter it finds
  equals ``upto``), which is the anchor the stamp had before the run, so bookkeeping leaves the
  stamp. Another file copied over has another ctime or none of this file's runs.

The stamp is ``(st_dev, st_ino, digest)``, the digest a 53-bit BLAKE2b of the data-commit count and
the anchor (a whole number that stays exact as a float, as ``services.features`` compares it). A
file replaced under the same name (an ``os.replace``, a new file) has another inode or ctime; a file
overwritten in place has another ctime. A ``touch`` or ``chmod`` moves the stamp after a data commit
(it cannot be told from a copy without reading the whole file) and leaves it after bookkeeping (the
file still carries the run that proves it). The ctime is as fine as the file system keeps it: Linux
6.13 and later give a change right after a read of the time (the stamp's ``fstat``) a fine-grained
one; on older kernels a copy made within the same clock tick (a few ms) as the file's last commit
could share its ctime.

Reading it costs a ``stat``, an ``fstat`` and a 100-byte ``pread`` while none of the header
counter, inode, size, modification and change times has moved (the last stamp is kept per file in
this process); when one moved, ``hgw_bookkeeping`` is read and the header again, both inside one
read transaction (a writer cannot commit while it holds SQLite's shared lock), so they agree. The
header is read through a descriptor kept open per file while it is at its path (``files.header``):
closing one would drop every SQLite lock this process holds on the file.

Where the counter cannot be trusted the stamp falls back to the file's size and modification
time (and those of its ``-wal`` file), which move on every write, bookkeeping included: a file in
WAL mode (SQLite leaves the header counter alone there; QGIS switches a file to WAL while it edits
it, and HgWatch's next write puts it back: ``layers.store.gpkg.leave_wal``) and a file that is not an
SQLite database at all. A bookkeeping transaction committed in WAL mode is not counted either (the
counter does not count it), so that the stamp, once the file is back in rollback mode, never equals
one it had before: each switch to or from WAL raises the counter.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import threading
from pathlib import Path

from layers.store import files, gpkg

TABLE = "hgw_bookkeeping"  # one row: how many committed transactions wrote bookkeeping only, and the run's anchor
_RUN = ("upto", "base_ino", "base_ctime")  # the current run of bookkeeping commits (see the module docstring)
_SQLITE_TABLE = (f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1), commits INTEGER NOT NULL, "
                 + ", ".join(f"{c} INTEGER" for c in _RUN) + ")")
_Key = tuple[int, int, int, int, int, int]  # dev, inode, counter, size, mtime_ns, ctime_ns
_seen: dict[Path, tuple[_Key, tuple[int, ...]]] = {}  # file -> its key when last read, and its stamp
_seen_lock = threading.Lock()


def count_bookkeeping(con: sqlite3.Connection) -> None:
    """Count the open write transaction of ``con`` as bookkeeping (call it first inside a
    ``BEGIN IMMEDIATE`` transaction, before it writes), unless the file is in WAL mode, where its
    commit does not raise the header counter. Records the run of bookkeeping commits it belongs to:
    the counter its commit leaves, and the inode and ctime the file had before the run began."""
    if str(con.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        return
    con.execute(_SQLITE_TABLE)
    have = {str(r[1]) for r in con.execute(f"PRAGMA table_info({TABLE})")}
    for column in _RUN:
        if column not in have:  # a workspace from before the anchor: counted from now on
            con.execute(f"ALTER TABLE {TABLE} ADD COLUMN {column} INTEGER")
    main = next(Path(r[2]) for r in con.execute("PRAGMA database_list") if r[1] == "main")
    st, head = files.header(main)  # no other commit until ours: the transaction holds SQLite's RESERVED lock
    counter = gpkg.change_counter(head)
    row = con.execute(f"SELECT upto, base_ino, base_ctime FROM {TABLE}").fetchone()
    base = (row[1], row[2]) if row is not None and row[0] == counter and row[1] is not None \
        else (st.st_ino, st.st_ctime_ns)  # the run goes on, or starts on the file as it is now
    con.execute(f"INSERT INTO {TABLE} (id, commits, upto, base_ino, base_ctime) VALUES (1, 1, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET commits = commits + 1, upto = excluded.upto, "
                "base_ino = excluded.base_ino, base_ctime = excluded.base_ctime", (counter + 1, *base))


def _key(st: os.stat_result, head: bytes) -> _Key:
    """What moves on any write to the file: the counter, the inode, the size and both times."""
    return (st.st_dev, st.st_ino, gpkg.change_counter(head), st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _fallback(path: Path, st: os.stat_result) -> tuple[int, ...]:
    """A stamp that moves on every write to ``path`` or its ``-wal`` file."""
    wal = path.with_name(path.name + "-wal")
    wst = wal.stat() if wal.exists() else None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
            -1 if wst is None else wst.st_size, -1 if wst is None else wst.st_mtime_ns)


def _bookkeeping(con: sqlite3.Connection) -> tuple[int, int | None, int | None, int | None]:
    """(commits, upto, base_ino, base_ctime) of ``hgw_bookkeeping``; zeros and Nones without it."""
    has = con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)).fetchone()
    if not has:
        return 0, None, None, None
    cur = con.execute(f"SELECT * FROM {TABLE}")
    row = cur.fetchone()
    if row is None:
        return 0, None, None, None
    found = dict(zip((d[0] for d in cur.description), row))
    return int(found["commits"]), found.get("upto"), found.get("base_ino"), found.get("base_ctime")


def _digest(*numbers: int) -> int:
    """53 bits of BLAKE2b of ``numbers``: the same in every process, exact as a float."""
    return int.from_bytes(hashlib.blake2b(repr(numbers).encode(), digest_size=8).digest(), "big") >> 11


def stamp(path: Path) -> tuple[int, ...]:
    """The change stamp of GeoPackage ``path`` (see the module docstring); ``(-1,)`` when there is no file."""
    try:
        st, head = files.header(path)
    except FileNotFoundError:
        return (-1,)
    if not gpkg.counts_commits(head):
        return _fallback(path, st)
    with _seen_lock:
        seen = _seen.get(path)
    if seen is not None and seen[0] == _key(st, head):
        return seen[1]
    try:
        with contextlib.closing(gpkg.read_only(path)) as con:
            con.execute("BEGIN")
            commits, upto, base_ino, base_ctime = _bookkeeping(con)
            st, head = files.header(path)  # under the shared lock taken above: no commit in between
            con.execute("COMMIT")
    except (sqlite3.DatabaseError, FileNotFoundError):
        return _fallback(path, st)
    if not gpkg.counts_commits(head):
        return _fallback(path, st)
    key = _key(st, head)
    anchor = (base_ino, base_ctime) if upto == key[2] and base_ino is not None and base_ctime is not None \
        else (st.st_ino, st.st_ctime_ns)  # the last commit was bookkeeping: the run's anchor; else now
    result = (st.st_dev, st.st_ino, _digest(key[2] - commits, int(anchor[0]), int(anchor[1])))
    with _seen_lock:
        _seen[path] = (key, result)
    return result
