"""Columns an analyst marked shareable: the ``hgw_shareable`` table of the workspace.

The partner and public profiles export only a layer's declared non-restricted fields
(``layers.io.export.apply_profile``). A column the catalogue does not declare stays inside
until an analyst marks it shareable for its layer (``cli.py share LAYER FIELD``); ``--undo``
removes the mark. A mark names a column of one layer; it stays when the layer is imported
again, and applies to a column of that name in the new data. A person-like name
(``layers.catalogue.is_restricted_name``) can never be marked.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable

TABLE = "hgw_shareable"
SQL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    layer TEXT NOT NULL, field TEXT NOT NULL, marked_at TEXT NOT NULL,
    PRIMARY KEY (layer, field))
"""


def read_marks(con: sqlite3.Connection, tables: set[str]) -> dict[str, tuple[str, ...]]:
    """Layer -> its columns marked shareable, sorted; {} for a workspace without the table."""
    if TABLE not in tables:
        return {}
    marks: dict[str, list[str]] = {}
    for layer, field in con.execute(f"SELECT layer, field FROM {TABLE} ORDER BY layer, field"):
        marks.setdefault(str(layer), []).append(str(field))
    return {layer: tuple(fields) for layer, fields in marks.items()}


def write_marks(con: sqlite3.Connection, layer: str, fields: Iterable[str], *, undo: bool,
                now: str) -> None:
    """Mark ``fields`` of ``layer`` shareable (``undo``: remove their marks), in ``con``'s
    transaction; ``now`` is the ISO time recorded with a mark."""
    con.execute(SQL)
    if undo:
        con.executemany(f"DELETE FROM {TABLE} WHERE layer = ? AND field = ?", [(layer, f) for f in fields])
    else:
        con.executemany(f"INSERT OR REPLACE INTO {TABLE} VALUES (?, ?, ?)", [(layer, f, now) for f in fields])
