"""The two copies of SQLite in one process, kept apart on the workspace file.

Python's ``sqlite3`` (the system library) and GDAL (pyogrio's wheel links its own SQLite into
libgdal) both open the workspace GeoPackage. SQLite locks a file with POSIX advisory locks, which
belong to the process, not to the connection: two copies of SQLite in one process therefore do
not see each other's locks (a GDAL read can run in the middle of a ``sqlite3`` commit in another
thread), and when one copy closes the file the kernel drops the other copy's locks too (another
process may then commit while this one reads). SQLite's own "How To Corrupt An SQLite Database
File" names this (section 2.2). Since every write is made in place inside the file, the app,
which reads with GDAL in some threads while writing with ``sqlite3`` in others, must keep the two
apart.

``using(path, library)`` does that within the process: while threads use the file through one
library (``SQLITE3`` or ``GDAL``) any number of them may, and a thread asking for the other waits
until they are done. A thread never waits for itself (a ``sqlite3`` reader that also reads with
GDAL goes on), waiters for the other library are let in before new arrivals, and after
``wait_s()`` seconds a thread goes on regardless rather than risk a deadlock between two such
nested threads. That is as long as any reader waits for a writer (``files.READ_WAIT_S``): a
``sqlite3`` writer of this process holds the file while its commit waits (up to 60 s) for readers
of other processes, and a GDAL read that went on after 30 s, as it did, read beside a commit its
SQLite cannot see, and its close dropped that commit's locks.
"""
from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

SQLITE3 = "sqlite3"  # Python's sqlite3 module
GDAL = "gdal"  # GDAL's own SQLite, through pyogrio
_OTHER = {SQLITE3: GDAL, GDAL: SQLITE3}

_cond = threading.Condition()
_held: dict[tuple[str, str], dict[int, int]] = {}  # (file, library) -> thread id -> depth
_waiting: dict[tuple[str, str], int] = {}  # (file, library) -> threads waiting for it


def wait_s() -> float:
    """The longest a thread waits for the other library's users, seconds: ``files.READ_WAIT_S``."""
    from layers.store import files  # here, not above: files imports this module

    return files.READ_WAIT_S


def _blocked(key: str, library: str, me: int) -> bool:
    other = _OTHER[library]
    if any(t != me for t in _held.get((key, other), {})):
        return True
    mine = me in _held.get((key, library), {}) or me in _held.get((key, other), {})
    return not mine and _waiting.get((key, other), 0) > 0 and bool(_held.get((key, library)))


def acquire(path: Path, library: str) -> int:
    """Start using ``path`` through ``library`` (see the module docstring); returns the token to
    ``release`` with."""
    key, me = str(path), threading.get_ident()
    deadline = time.monotonic() + wait_s()
    with _cond:
        if _blocked(key, library, me):
            _waiting[(key, library)] = _waiting.get((key, library), 0) + 1
            try:
                while _blocked(key, library, me) and (left := deadline - time.monotonic()) > 0:
                    _cond.wait(left)
            finally:
                _waiting[(key, library)] -= 1
        users = _held.setdefault((key, library), {})
        users[me] = users.get(me, 0) + 1
    return me


def release(path: Path, library: str, token: int) -> None:
    """Stop using ``path`` through ``library`` (``token``: what ``acquire`` returned)."""
    key, me = str(path), token
    with _cond:
        users = _held.get((key, library), {})
        users[me] -= 1
        if not users[me]:
            del users[me]
        if not users:
            _held.pop((key, library), None)
        _cond.notify_all()


@contextlib.contextmanager
def using(path: Path, library: str) -> Iterator[None]:
    """Use ``path`` through ``library`` for the block."""
    token = acquire(path, library)
    try:
        yield
    finally:
        release(path, library, token)
