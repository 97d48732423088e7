"""PostgreSQL itself enforces what partners and field coordinators may read from a PostGIS store.

- ``hgw_partner`` (NOLOGIN, migration ``v0004_partner_views``) may use schema ``partner`` and
  select its views, and nothing else: no grant on the layer tables, ``hgw_accounts``,
  ``hgw_audit`` or any other ``hgw_*`` table (``REVOKE ALL ... FROM PUBLIC`` on each at every
  refresh, so no grant to PUBLIC can reach it). ``partner.<layer>`` holds ``fid``, the typed columns the partner
  profile lets out (``layers.store.visibility.partner_columns``), ``extra`` cut to the keys it
  lets out (catalogue fields kept in JSONB, columns marked shareable; never a person-like name)
  and ``geom``, of the rows not about a person (``visibility.shared_rows_postgres``: no hair
  sample). A layer the catalogue marks wholly restricted has no partner view.
- ``hgw_field`` may select the same views and the layer tables (not a wholly restricted one:
  issue 15, only analysts and admins see those), whose row-level security
  policy ``hgw_field_areas`` lets it see only the rows whose ``admin_area`` is one of the areas
  in the transaction's setting ``hgwatch.areas`` (a JSON array, set LOCAL by the store's read).
  A field read takes every row from the partner view and the other columns from the table: rows
  outside the areas come back with those columns empty, by PostgreSQL's doing.
- Every other role keeps what it had (``hgw_others``: a permissive policy for anyone but
  ``hgw_field``), so the owner and outside editors (psql, QGIS) see every row.

The views are made from the live catalogue and the shareable marks, so ``refresh`` runs after
every schema upgrade (``pgschema.upgrade_schema``, which drops them first with ``drop_views`` so
that a migration may change the columns they read), after a change of marks and after a copy,
inside that transaction. The store's reads switch role with ``SET LOCAL ROLE`` (the database
user is made a member of both roles by the migration, and again by ``ensure_roles`` at every
upgrade: roles belong to the cluster, so a ``pg_dump`` restored on a new server has none, and
``db upgrade`` then makes them again).
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import Connection

from layers.catalogue import CATALOGUE, spec_for
from layers.store.visibility import AREA_FIELD, partner_columns, shared_rows_postgres, wholly_restricted

PARTNER = "hgw_partner"  # the database role a partner's reads run as
FIELD = "hgw_field"  # the database role a field coordinator's reads run as
SCHEMA = "partner"  # the schema of the partner views
AREAS_SETTING = "hgwatch.areas"  # the transaction setting holding a field coordinator's areas (JSON array)
POLICY = "hgw_field_areas"
OTHERS_POLICY = "hgw_others"
_AREAS = (f"(SELECT jsonb_array_elements_text(coalesce(nullif(current_setting('{AREAS_SETTING}', true), ''),"
          " '[]')::jsonb))")


def _run(con: Connection, composed: sql.Composable) -> None:
    """Execute ``composed`` (identifiers and literals quoted by psycopg) in the open transaction of ``con``."""
    raw: Any = con.connection.driver_connection
    raw.execute(composed)


def base_schema(con: Connection) -> str:
    """The schema of the layer tables (the connection's current schema)."""
    return str(con.execute(sa.text("SELECT current_schema()")).scalar_one())


def table_columns(con: Connection, schema: str, table: str) -> list[str]:
    """The columns of ``schema.table`` in table order (none: no such table)."""
    return [str(c) for c in con.execute(sa.text(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = :s AND table_name = :t"
        " ORDER BY ordinal_position"), {"s": schema, "t": table}).scalars()]


def marks(con: Connection) -> dict[str, list[str]]:
    """The columns marked shareable, per layer."""
    out: dict[str, list[str]] = {}
    for layer, field in con.execute(sa.text("SELECT layer, field FROM hgw_shareable ORDER BY layer, field")):
        out.setdefault(str(layer), []).append(str(field))
    return out


def view_columns(layer: str, present: Sequence[str], shareable: Iterable[str]) -> tuple[list[str], list[str]]:
    """What ``partner.<layer>`` holds: the typed columns (of the table's ``present`` columns) and
    the ``extra`` keys the partner profile lets out."""
    spec = spec_for(layer)
    typed = [f for f in spec.field_names if f in present]
    shareable = list(shareable)
    kept = partner_columns(layer, [*typed, *[f for f in spec.field_names if f not in typed], *shareable], shareable)
    return [c for c in kept if c in typed], sorted({c for c in kept if c not in typed})


def _view(schema: str, layer: str, typed: Sequence[str], keys: Sequence[str], present: Sequence[str]) -> sql.Composed:
    extra = sql.SQL("coalesce((SELECT jsonb_object_agg(e.key, e.value) FROM jsonb_each(t.extra) e"
                    " WHERE e.key = ANY({keys}::text[])), '{{}}'::jsonb) AS extra").format(
        keys=sql.Literal(list(keys)))
    columns = sql.SQL(", ").join([sql.SQL("t.fid"), *[sql.SQL("t.{}").format(sql.Identifier(c)) for c in typed],
                                  extra, sql.SQL("t.geom")])
    shared = shared_rows_postgres(layer, present, "t")  # no row about a person (a catalogue constant)
    return sql.SQL("CREATE VIEW {view} WITH (security_barrier = true) AS SELECT {columns} FROM {table} t{where}").format(
        view=sql.Identifier(SCHEMA, layer), columns=columns, table=sql.Identifier(schema, layer),
        where=sql.SQL(f" WHERE {shared}" if shared else ""))


def _area_test(present: Sequence[str]) -> sql.Composable:
    """The row policy's test: the row's admin area is one of the transaction's areas."""
    if AREA_FIELD in present:
        return sql.SQL(f"{{}} IN {_AREAS}").format(sql.Identifier(AREA_FIELD))
    return sql.SQL(f"jsonb_typeof(extra -> {{f}}) = 'string' AND extra ->> {{f}} IN {_AREAS}").format(
        f=sql.Literal(AREA_FIELD))


def ensure_roles(con: Connection) -> None:
    """Make ``hgw_partner`` and ``hgw_field`` (NOLOGIN) where the cluster lacks them, make the
    connection's user a member of both and give both USAGE on schema ``partner``, inside the
    open transaction of ``con``: what migration ``v0004_partner_views`` did once, done again at
    every upgrade for a database restored from ``pg_dump`` on another server (the dump holds no
    role, so its grants to them were refused). Creating a role needs CREATEROLE."""
    for role in (PARTNER, FIELD):
        _run(con, sql.SQL("""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {name}) THEN
        CREATE ROLE {role} NOLOGIN;
    END IF;
    IF NOT pg_has_role(current_user, {name}, 'MEMBER') THEN
        GRANT {role} TO CURRENT_USER;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- made meanwhile by an upgrade of another database of the cluster
END
$$""").format(name=sql.Literal(role), role=sql.Identifier(role)))
        _run(con, sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(SCHEMA), sql.Identifier(role)))


def drop_views(con: Connection) -> None:
    """Drop every partner view (they are derived: ``refresh`` remakes them), so that a migration
    may change or drop a column one of them reads; ``upgrade_schema`` calls it first."""
    for view in con.execute(sa.text("SELECT table_name FROM information_schema.views WHERE table_schema = :s"),
                            {"s": SCHEMA}).scalars().all():
        _run(con, sql.SQL("DROP VIEW {}").format(sql.Identifier(SCHEMA, view)))


def refresh(con: Connection, layers: Iterable[str] | None = None, *, tables: bool = True) -> None:
    """(Re)make the partner views of ``layers`` (default: every layer type of the catalogue)
    from the live catalogue and shareable marks, and with ``tables`` the grants and row policies
    of their tables, inside the open transaction of ``con`` (the owner's); drops the partner
    views of layers no longer shareable."""
    schema = base_schema(con)
    shared = marks(con)
    for layer in CATALOGUE if layers is None else layers:
        table = sql.Identifier(schema, layer)
        view = sql.Identifier(SCHEMA, layer)
        _run(con, sql.SQL("DROP VIEW IF EXISTS {}").format(view))
        present = table_columns(con, schema, layer)
        if not present:
            continue
        if tables:
            _secure(con, table, present, closed=wholly_restricted(layer))
        if wholly_restricted(layer):
            continue
        typed, keys = view_columns(layer, present, shared.get(layer, ()))
        _run(con, _view(schema, layer, typed, keys, present))
        _run(con, sql.SQL("GRANT SELECT ON {} TO {}, {}").format(view, sql.Identifier(PARTNER), sql.Identifier(FIELD)))
    if layers is None:
        for stale in con.execute(sa.text("SELECT table_name FROM information_schema.views WHERE table_schema = :s"),
                                 {"s": SCHEMA}).scalars().all():
            if stale not in CATALOGUE:
                _run(con, sql.SQL("DROP VIEW {}").format(sql.Identifier(SCHEMA, stale)))
        for name in con.execute(sa.text(r"SELECT tablename FROM pg_tables WHERE schemaname = :s"
                                        r" AND tablename LIKE 'hgw\_%'"), {"s": schema}).scalars().all():
            _run(con, sql.SQL("REVOKE ALL ON {} FROM PUBLIC").format(sql.Identifier(schema, name)))


def _secure(con: Connection, table: sql.Identifier, present: Sequence[str], *, closed: bool) -> None:
    """No rights on layer ``table`` for PUBLIC; SELECT for ``hgw_field`` under its row policy,
    unless the layer is ``closed`` (wholly restricted: no right for ``hgw_field`` either)."""
    _run(con, sql.SQL("REVOKE ALL ON {} FROM PUBLIC, {}").format(table, sql.Identifier(FIELD)))
    if not closed:
        _run(con, sql.SQL("GRANT SELECT ON {} TO {}").format(table, sql.Identifier(FIELD)))
    _run(con, sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(table))
    for name in (POLICY, OTHERS_POLICY):
        _run(con, sql.SQL("DROP POLICY IF EXISTS {} ON {}").format(sql.Identifier(name), table))
    _run(con, sql.SQL("CREATE POLICY {} ON {} FOR SELECT TO {} USING ({})").format(
        sql.Identifier(POLICY), table, sql.Identifier(FIELD), _area_test(present)))
    _run(con, sql.SQL("CREATE POLICY {} ON {} USING (current_user <> {}) WITH CHECK (true)").format(
        sql.Identifier(OTHERS_POLICY), table, sql.Literal(FIELD)))


def as_partner(con: Connection) -> None:
    """Run the rest of the open transaction of ``con`` as ``hgw_partner``."""
    con.execute(sa.text(f"SET LOCAL ROLE {PARTNER}"))


def as_field(con: Connection, areas: Iterable[str]) -> None:
    """Run the rest of the open transaction of ``con`` as ``hgw_field`` limited to ``areas``."""
    con.execute(sa.text(f"SET LOCAL ROLE {FIELD}"))
    con.execute(sa.text("SELECT set_config(:k, :v, true)"), {"k": AREAS_SETTING, "v": json.dumps(list(areas))})
