"""Everything of a GeoPackage workspace besides its layers and runs, copied into PostGIS by
``db upgrade --from-workspace``: accounts, API keys, the five case tables and the audit trail.

``read(ws)`` reads the source tables (verifying the audit chain and every photo's SHA-256 first,
so a damaged source is refused before anything is written); ``copy_into(con, tables)`` writes
them, row for row, inside the caller's open PostGIS transaction that holds the store's writer
lock (``PostgisStore.copy_from``), so that the outside-edit triggers stay silent and the whole move
commits together or not at all. Audit rows are copied verbatim (``seq``, ``at``, hashes): the
chain trigger is disabled for the copy inside the transaction and enabled again before it ends.
"""
from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from geo.errors import WorkspaceError
from layers.store import accounts, audit, cases, files, gpkg, keys
from layers.store.workspace import Workspace

TABLES = (accounts.TABLE, keys.TABLE, *cases.TABLES, audit.TABLE)  # the copy order
KINDS = {accounts.TABLE: "account", keys.TABLE: "API key", cases.CASES: "case",  # said with geo.words.counted
         cases.COMMENTS: "comment", cases.VISITS: "visit", cases.PHOTOS: "photo",
         cases.SUBMISSIONS: "imported submission key", audit.TABLE: "audit row"}
_IDENTITY = (cases.COMMENTS, cases.VISITS, cases.PHOTOS)  # tables whose id is a PostgreSQL identity


@dataclass(frozen=True)
class Tables:
    """The rows of each table read from a workspace: column names and rows, per table."""

    columns: dict[str, list[str]] = field(default_factory=dict)
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Rows per table, in copy order."""
        return {t: len(self.rows.get(t, [])) for t in TABLES}


def read(ws: Workspace) -> Tables:
    """The tables of ``ws`` to copy (absent ones are empty), after checking the audit chain and
    each photo's SHA-256.

    Raises
    ------
    WorkspaceError
        The file cannot be read, its audit chain is broken (naming the row) or a photo's bytes
        do not match its recorded SHA-256 (naming the photo); nothing was copied.
    """
    out = Tables()
    if not ws.real.exists():
        return out
    files.refuse_unless_geopackage(ws.path, ws.real)
    trail = audit.rows(ws)
    broken = audit.first_break(trail)
    if broken is not None:
        raise WorkspaceError(f"workspace {ws.path}: the audit trail is broken at {broken[1]};"
                             " nothing was copied (run `cli.py audit verify`)")
    try:
        with contextlib.closing(gpkg.read_only(ws.real)) as con:
            con.execute("BEGIN")  # one snapshot
            for table in TABLES:
                if con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                               (table,)).fetchone() is None:
                    continue
                cur = con.execute(f'SELECT * FROM "{table}" ORDER BY rowid')
                out.columns[table] = [d[0] for d in cur.description]
                out.rows[table] = [tuple(r) for r in cur.fetchall()]
    except sqlite3.DatabaseError as exc:
        raise files.unreadable(str(ws.path), exc) from None
    if cases.PHOTOS in out.rows:
        cols = out.columns[cases.PHOTOS]
        for row in out.rows[cases.PHOTOS]:
            photo = dict(zip(cols, row, strict=True))
            if hashlib.sha256(bytes(photo["data"])).hexdigest() != photo["sha256"]:
                raise WorkspaceError(
                    f"workspace {ws.path}: table {cases.PHOTOS}, row id {photo['id']}, field data: the photo"
                    f" {photo['name']!r} does not match its recorded SHA-256 {photo['sha256']}; nothing was copied")
    return out


def _types(con: sa.Connection, table: str) -> dict[str, str]:
    return {str(n): str(t) for n, t in con.execute(sa.text(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = :t"), {"t": table}).all()}


def held(con: sa.Connection) -> dict[str, int]:
    """Rows already in each of the tables at ``con`` (the copy goes into empty tables only)."""
    return {t: int(con.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one()) for t in TABLES}


def copy_into(con: sa.Connection, tables: Tables) -> dict[str, int]:
    """Insert ``tables`` into the PostGIS tables at ``con`` (an open transaction holding the writer
    lock), then check the copied audit chain and, through a photo's SHA-256, its bytes; returns
    the rows copied per table. Raises WorkspaceError (the caller's transaction then rolls back)."""
    for table in TABLES:
        rows = tables.rows.get(table, [])
        if not rows:
            continue
        cols = tables.columns[table]
        types = _types(con, table)
        values = []
        for name in cols:
            kind = types.get(name)
            if kind is None:
                raise WorkspaceError(f"table {table}: column {name!r} of the workspace has no place in the database")
            values.append(f"CAST(:{name} AS jsonb)" if kind == "jsonb" else f":{name}")
        sql = sa.text(f'INSERT INTO "{table}" ({", ".join(cols)}) VALUES ({", ".join(values)})')
        booleans = {n for n in cols if types[n] == "boolean"}
        params = [{n: (bool(v) if n in booleans and v is not None else v) for n, v in zip(cols, row, strict=True)}
                  for row in rows]
        try:
            if table == audit.TABLE:
                con.execute(sa.text(f"ALTER TABLE {audit.TABLE} DISABLE TRIGGER hgw_audit_chain"))
                con.execute(sql, params)
                con.execute(sa.text(f"ALTER TABLE {audit.TABLE} ENABLE TRIGGER hgw_audit_chain"))
            else:
                con.execute(sql, params)
        except sa.exc.DBAPIError as exc:
            reason = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
            raise WorkspaceError(f"table {table}: the database refused a row of the workspace ({reason});"
                                 " nothing was copied") from None
        if table in _IDENTITY:
            con.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
    _check(con, tables)
    return {t: len(tables.rows.get(t, [])) for t in TABLES}


def _check(con: sa.Connection, tables: Tables) -> None:
    """The copy as the database now holds it: the audit chain whole, every photo's bytes matching."""
    trail = [audit.AuditRow(int(r[0]), *(str(v) for v in r[1:])) for r in con.execute(sa.text(
        f"SELECT seq, at, who, action, target, before::text, after::text, prev_hash, hash"
        f" FROM {audit.TABLE} ORDER BY seq")).all()]
    broken = audit.first_break(trail)
    if broken is not None:
        raise WorkspaceError(f"the audit trail copied into the database does not verify at {broken[1]};"
                             " nothing was copied")
    for pid, name, sha, data in con.execute(sa.text(f"SELECT id, name, sha256, data FROM {cases.PHOTOS}")).all():
        if hashlib.sha256(bytes(data)).hexdigest() != sha:
            raise WorkspaceError(f"table {cases.PHOTOS}, row id {pid}: photo {name!r} changed in the copy;"
                                 " nothing was copied")
