"""The audit trail, stored beside the data: one ``hgw_audit`` table, its rows chained by hash.

Each row holds ``seq`` (1, 2, 3, ... with no gap), ``at`` (ISO 8601 UTC to the second), ``who``,
``action``, ``target``, ``before`` and ``after`` (JSON), ``prev_hash`` (the previous row's
``hash``; 64 zeros for the first) and ``hash``: the SHA-256 (hex) of ``row_text`` over all of
them. An edited row no longer matches its hash; a deleted row leaves a gap in ``seq`` and a
``prev_hash`` that matches nothing (``verify``). Deleting the newest rows is not detectable from
the table alone.

- GeoPackage: a plain SQLite table inside the workspace file, appended in one SQLite transaction
  on the file itself while holding the workspace's writer lock (``Workspace.writing``); call it
  after a layer write has committed (the lock is not re-entrant). Reading locks nothing. A row
  appended on its own is bookkeeping (``writing(data=False)``): the store's ``change_stamp``, and
  so the dashboard's cached answers, stay; one appended inside a change (``append_in``) goes with it.
- PostGIS: the table of migration ``v0003_audit``. The database itself fills ``seq``, ``at``,
  ``prev_hash`` and ``hash`` (a ``BEFORE INSERT`` trigger, serialised by an advisory lock), and
  statement triggers on the layer and metadata tables record edits made from outside the app
  (psql, QGIS) as ``who = "db:<database user>"``, ``action = "sql insert|update|delete"`` with
  the changed rows before and after. Writes made by the app hold the store's writer lock and are
  not recorded by the triggers: the app records them itself. Rows written inside a longer
  transaction (``append_in``, the triggers) are chained when it commits (``pgaudit``), so the lock
  is held only from the chaining to the commit.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from geo.errors import WorkspaceError
from layers.store import files
from layers.store.base import Store
from layers.store.workspace import Workspace

if TYPE_CHECKING:
    import sqlalchemy as sa

TABLE = "hgw_audit"
GENESIS = "0" * 64  # the prev_hash of the first row
SEP = "\x1f"  # between the fields hashed (the ASCII unit separator; PostgreSQL: E'\x1f')
COLUMNS = "seq, at, who, action, target, before, after, prev_hash, hash"  # of the table, in order
_SQLITE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, before TEXT NOT NULL, after TEXT NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL)
"""


@dataclass(frozen=True)
class AuditRow:
    """One row of the trail as stored; ``before`` and ``after`` are JSON text."""

    seq: int
    at: str
    who: str
    action: str
    target: str
    before: str
    after: str
    prev_hash: str
    hash: str

    def content(self) -> str:
        """The text whose SHA-256 is ``hash`` (see ``row_text``)."""
        return row_text(self.prev_hash, self.seq, self.at, self.who, self.action, self.target,
                        self.before, self.after)


def row_text(prev_hash: str, seq: int, at: str, who: str, action: str, target: str,
             before: str, after: str) -> str:
    """The fields of a row joined by ``SEP``; the PostGIS trigger builds the same text."""
    return SEP.join([prev_hash, str(seq), at, who, action, target, before, after])


def row_hash(text: str) -> str:
    """SHA-256 of ``text`` (UTF-8), hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def to_json(value: object) -> str:
    """``value`` as the JSON text stored (keys sorted; a date or other object as its text)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def now_iso() -> str:
    """The time now, ISO 8601 UTC to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


# ---------------------------------------------------------------------- GeoPackage
@contextlib.contextmanager
def _gpkg_writing(ws: Workspace) -> Iterator[sqlite3.Connection]:
    """One SQLite transaction on the workspace file itself, under the workspace's writer lock."""
    files.refuse_unless_geopackage(ws.path, ws.real)
    if not ws.real.exists():
        raise WorkspaceError(f"workspace {ws.path} does not exist; the audit trail lives in the workspace:"
                             " import a layer first or run `make demo`")
    with ws.writing(data=False) as con:  # in-place, under the writer lock; bookkeeping: caches stay
        yield con


def _gpkg_chain(con: sqlite3.Connection, who: str, action: str, target: str, before: str, after: str) -> AuditRow:
    """Append one chained row inside the open transaction ``con``."""
    last = con.execute(f"SELECT seq, hash FROM {TABLE} ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (int(last[0]) + 1, str(last[1])) if last else (1, GENESIS)
    at = now_iso()
    digest = row_hash(row_text(prev, seq, at, who, action, target, before, after))
    con.execute(f"INSERT INTO {TABLE} ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
                (seq, at, who, action, target, before, after, prev, digest))
    return AuditRow(seq, at, who, action, target, before, after, prev, digest)


def _gpkg_append(ws: Workspace, who: str, action: str, target: str, before: str, after: str) -> AuditRow:
    with _gpkg_writing(ws) as con:
        con.execute(_SQLITE_TABLE)
        return _gpkg_chain(con, who, action, target, before, after)


def _gpkg_rows(ws: Workspace) -> list[AuditRow]:
    rows = ws.table_rows(TABLE, f"SELECT {COLUMNS} FROM {TABLE} ORDER BY seq")
    return [AuditRow(int(r[0]), *(str(v) for v in r[1:])) for r in rows]


# ---------------------------------------------------------------------- either
def append(store: Store, *, who: str, action: str, target: str, before: object = None,
           after: object = None) -> AuditRow:
    """Append one row to the trail of ``store`` in its own transaction; returns it as stored.

    ``before`` and ``after`` are any JSON-able values (``None``: nothing). A GeoPackage that
    does not exist yet is a ``WorkspaceError``.
    """
    b, a = to_json(before), to_json(after)
    if isinstance(store, Workspace):
        return _gpkg_append(store, who, action, target, b, a)
    from layers.store import pgaudit  # the PostGIS side loads only for a PostGIS store

    return pgaudit.append(store, who, action, target, b, a)


def append_many(store: Store, entries: list[tuple[str, str, str, object, object]]) -> int:
    """Append ``entries`` (who, action, target, before, after), chained in order, in ONE transaction
    (for a writer of many small rows: the OGC API's one row per request); returns how many."""
    items = [(who, action, target, to_json(b), to_json(a)) for who, action, target, b, a in entries]
    if not items:
        return 0
    if isinstance(store, Workspace):
        with _gpkg_writing(store) as lite:
            lite.execute(_SQLITE_TABLE)
            for item in items:
                _gpkg_chain(lite, *item)
        return len(items)
    from layers.store import pgaudit

    return pgaudit.append_many(store, items)


def append_in(con: sqlite3.Connection | sa.Connection, *, who: str, action: str, target: str,
              before: object = None, after: object = None) -> None:
    """Append one row inside the caller's open write transaction ``con`` (a GeoPackage's
    ``Workspace.writing`` connection, or a PostGIS connection holding the writers' lock), so that a
    change and its audit row commit together, or neither does (the cases use it: one commit)."""
    b, a = to_json(before), to_json(after)
    if isinstance(con, sqlite3.Connection):
        con.execute(_SQLITE_TABLE)
        _gpkg_chain(con, who, action, target, b, a)
        return
    from layers.store import pgaudit

    pgaudit.append_in(con, who, action, target, b, a)


def rows(store: Store) -> list[AuditRow]:
    """Every row of the trail of ``store``, oldest first (none when it has no trail yet)."""
    if isinstance(store, Workspace):
        return _gpkg_rows(store)
    from layers.store import pgaudit

    return pgaudit.rows(store)


def first_break(trail: list[AuditRow]) -> tuple[int, str] | None:
    """The position (0-based) and reason of the first row that breaks the chain; None if whole."""
    prev, expected_seq = GENESIS, 1
    for i, row in enumerate(trail):
        if row.seq != expected_seq:
            gone = row.seq - expected_seq
            return i, (f"row {row.seq}: expected row {expected_seq} here; "
                       f"{f'row {expected_seq} was' if gone == 1 else f'rows {expected_seq}..{row.seq - 1} were'} deleted"
                       if row.seq > expected_seq else
                       f"row {row.seq}: expected row {expected_seq} here")
        if row.prev_hash != prev:
            return i, f"row {row.seq}: its prev_hash does not match the hash of the row before it"
        if row_hash(row.content()) != row.hash and all(row_hash(t) != row.hash for t in _as_written(row)):
            return i, f"row {row.seq}: its content does not match its hash (the row was edited)"
        prev, expected_seq = row.hash, row.seq + 1
    return None



def _as_written(row: AuditRow) -> list[str]:
    """``row.content()`` with ``before`` / ``after`` as the GeoPackage writes them (``to_json``): a
    row hashed in a GeoPackage and moved into PostGIS by ``db upgrade`` (``layers.store.transfer``)
    reads back in JSONB's own rendering of the same values (other key order; a whole float of 1e16
    or more as an integer), so it is checked against the texts it may have been hashed over."""
    out: list[str] = []
    for big in (int, _big_float):
        try:
            before, after = (to_json(json.loads(v, parse_int=big)) for v in (row.before, row.after))
        except ValueError:
            return out
        out.append(row_text(row.prev_hash, row.seq, row.at, row.who, row.action, row.target, before, after))
    return out


def _big_float(text: str) -> int | float:
    """An integer as JSONB writes it, read as the float Python would have written as ``1e+16`` when
    it is exactly that float's text expanded (any other integer, an edit included, stays itself)."""
    value = int(text)
    if abs(value) < 10**16:
        return value
    as_float = float(value)
    return as_float if int(Decimal(repr(as_float))) == value else value
