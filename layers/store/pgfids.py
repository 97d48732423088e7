"""The feature ids (``fid``) a write gives the rows of a PostGIS layer table.

QGIS (and any client of the table) edits a row by the fid it read when it opened the layer. So a
replacing write keeps the fid of every row whose id (the catalogue's id field) was already stored,
and every other row (a new id, a changed one, a row without id, a second row with one id, every
appended row) gets a new fid from the table's identity sequence, which only moves up: above every
fid the layer ever had, so a site's retired fid never reaches another site a stale QGIS could then
overwrite. ``start`` runs before the write touches the table; ``assign`` then numbers each batch
of rows, in order (a whole write is one batch, a chunked import one per chunk).
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from layers.catalogue import spec_for
from layers.store.pgframe import Prepared

_KEPT = "hgw_kept"  # temporary table of a replace: stored id -> its fid, until a row takes it


def _rows(con: Connection, sql: str, params: dict[str, object]) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` through psycopg's own cursor (binary, no SQLAlchemy row per record)."""
    raw: Any = con.connection.driver_connection
    with raw.cursor(binary=True) as cur:
        cur.execute(sql, params)
        return list(cur.fetchall())


def _sequence(con: Connection, layer: str) -> str:
    return str(con.execute(sa.text("SELECT pg_get_serial_sequence(:t, 'fid')"), {"t": f'"{layer}"'}).scalar_one())


def start(con: Connection, layer: str, *, keep: bool) -> None:
    """Before writing ``layer``: raise its fid sequence to the largest fid stored (a row added from
    outside with its own fid), and with ``keep`` (a replace, before its rows are deleted) remember
    each stored id's fid (the lowest, if an id is stored twice) for ``assign``."""
    con.execute(sa.text(
        f'SELECT setval(CAST(:s AS regclass), m) FROM (SELECT max(fid) AS m FROM "{layer}") x'
        " WHERE m IS NOT NULL AND m >= coalesce(pg_sequence_last_value(CAST(:s AS regclass)), 0)"),
        {"s": _sequence(con, layer)})
    con.execute(sa.text(f"DROP TABLE IF EXISTS pg_temp.{_KEPT}"))
    if keep:
        id_field = spec_for(layer).id_field
        con.execute(sa.text(f'CREATE TEMP TABLE {_KEPT} ON COMMIT DROP AS SELECT CAST("{id_field}" AS text) AS id,'
                            f' min(fid) AS fid FROM "{layer}" WHERE "{id_field}" IS NOT NULL GROUP BY 1'))
        con.execute(sa.text(f"ALTER TABLE {_KEPT} ADD PRIMARY KEY (id)"))


def assign(con: Connection, layer: str, prepared: Prepared, *, keep: bool) -> list[int]:
    """The fid of each row of ``prepared``: with ``keep`` (``start`` remembered the stored ids) a
    row whose id was stored takes its fid (the first such row only), every other row a new fid
    from the sequence, in row order."""
    fids: list[int | None] = [None] * len(prepared.rows)
    id_field = spec_for(layer).id_field
    if keep and id_field in prepared.table_columns:
        at = prepared.table_columns.index(id_field)
        ids = [None if row[at] is None else str(row[at]) for row in prepared.rows]
        found = dict(_rows(con, f"DELETE FROM {_KEPT} WHERE id = ANY(%(ids)s) RETURNING id, fid",
                           {"ids": sorted({i for i in ids if i is not None})}))
        for k, i in enumerate(ids):
            if i is not None and i in found:
                fids[k] = found.pop(i)
    fresh = [k for k, f in enumerate(fids) if f is None]
    if fresh:
        new = sorted(int(r[0]) for r in _rows(con, "SELECT nextval(CAST(%(s)s AS regclass)) FROM generate_series(1, %(n)s)",
                                              {"s": _sequence(con, layer), "n": len(fresh)}))
        for k, fid in zip(fresh, new):
            fids[k] = fid
    return [int(f) for f in fids if f is not None]


def with_fids(prepared: Prepared, fids: list[int]) -> tuple[list[str], list[tuple[object, ...]]]:
    """The columns and rows to ``COPY``: ``fid`` first, then the prepared ones."""
    return ["fid", *prepared.table_columns], [(fid, *row) for fid, row in zip(fids, prepared.rows)]
