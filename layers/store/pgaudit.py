"""The audit trail of a PostGIS store (``layers.store.audit`` for both kinds): its rows are chained
by the database itself (migration ``v0003_audit``). Loaded only for a PostGIS store, so a command
on a GeoPackage never imports SQLAlchemy."""
from __future__ import annotations

import sqlalchemy as sa

from geo.errors import WorkspaceError
from layers.store.audit import TABLE, AuditRow
from layers.store.base import Store
from layers.store.pgschema import connect
from layers.store.postgis import PostgisStore

_INSERT = (f"INSERT INTO {TABLE} (who, action, target, before, after)"
           " VALUES (:w, :a, :t, CAST(:b AS jsonb), CAST(:f AS jsonb))")


def _postgis(store: Store) -> PostgisStore:
    if not isinstance(store, PostgisStore):
        raise WorkspaceError(f"store {store.path} keeps no audit trail")
    return store


def append(store: Store, who: str, action: str, target: str, before: str, after: str) -> AuditRow:
    """Append one row (``before`` / ``after`` JSON text) in its own transaction; returns it as stored."""
    with connect(_postgis(store).url) as con, con.begin():
        found = con.execute(sa.text(
            _INSERT + " RETURNING seq, at, who, action, target, before::text, after::text, prev_hash, hash"),
            {"w": who, "a": action, "t": target, "b": before, "f": after}).one()
    return AuditRow(int(found[0]), *(str(v) for v in found[1:]))


def append_many(store: Store, items: list[tuple[str, str, str, str, str]]) -> int:
    """Append ``items`` (who, action, target, before, after as JSON text) in ONE transaction."""
    with connect(_postgis(store).url) as con, con.begin():
        con.execute(sa.text(_INSERT), [{"w": w, "a": a, "t": t, "b": b, "f": f} for w, a, t, b, f in items])
    return len(items)


def append_in(con: sa.Connection, who: str, action: str, target: str, before: str, after: str) -> None:
    """Append one row inside the caller's open transaction ``con`` (holding the writers' lock)."""
    con.execute(sa.text(_INSERT), {"w": who, "a": action, "t": target, "b": before, "f": after})


def rows(store: Store) -> list[AuditRow]:
    """Every row of the trail, oldest first (none when the database has no HgWatch schema yet)."""
    with connect(_postgis(store).url) as con, con.begin():
        if con.execute(sa.text(f"SELECT to_regclass('{TABLE}')")).scalar() is None:
            return []
        found = con.execute(sa.text(
            f"SELECT seq, at, who, action, target, before::text, after::text, prev_hash, hash"
            f" FROM {TABLE} ORDER BY seq")).all()
    return [AuditRow(int(r[0]), *(str(v) for v in r[1:])) for r in found]
