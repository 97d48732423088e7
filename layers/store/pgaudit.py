"""The audit trail of a PostGIS store (``layers.store.audit`` for both kinds): its rows are chained
by the database itself (migration ``v0003_audit``), under the chain's advisory lock, which is held
only from the chaining to the commit (migration ``v0010_audit_at_commit``):

- ``append`` / ``append_many`` insert into ``hgw_audit`` in a transaction of their own that
  commits at once;
- ``append_in`` (a row that goes with a change) and the triggers that record edits made from
  outside the app put the row into ``hgw_audit_pending``, and the database chains the
  transaction's pending rows, in the order written, when it commits. So a change or an outside
  edit left open keeps no one else's audit row waiting.

Loaded only for a PostGIS store, so a command on a GeoPackage never imports SQLAlchemy."""
from __future__ import annotations

import sqlalchemy as sa

from geo.errors import WorkspaceError
from layers.store.audit import TABLE, AuditRow
from layers.store.base import Store
from layers.store.pgschema import connect
from layers.store.postgis import PostgisStore

_VALUES = " (who, action, target, before, after) VALUES (:w, :a, :t, CAST(:b AS jsonb), CAST(:f AS jsonb))"
_INSERT = f"INSERT INTO {TABLE}{_VALUES}"
_PENDING = f"INSERT INTO {TABLE}_pending{_VALUES}"  # chained when the transaction commits (v0010)


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
    """Append one row inside the caller's open transaction ``con`` (holding the writers' lock); it is
    chained, and shows in ``rows``, when that transaction commits."""
    con.execute(sa.text(_PENDING), {"w": who, "a": action, "t": target, "b": before, "f": after})


def rows(store: Store) -> list[AuditRow]:
    """Every row of the trail, oldest first (none when the database has no HgWatch schema yet)."""
    with connect(_postgis(store).url) as con, con.begin():
        if con.execute(sa.text(f"SELECT to_regclass('{TABLE}')")).scalar() is None:
            return []
        found = con.execute(sa.text(
            f"SELECT seq, at, who, action, target, before::text, after::text, prev_hash, hash"
            f" FROM {TABLE} ORDER BY seq")).all()
    return [AuditRow(int(r[0]), *(str(v) for v in r[1:])) for r in found]
