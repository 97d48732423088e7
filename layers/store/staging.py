"""Moving layers GDAL wrote into a staging GeoPackage into the workspace, inside the workspace's
own SQLite transaction.

GDAL (pyogrio) writes features, but its transactions cannot be joined from Python's ``sqlite3``.
So ``Workspace.write_layers`` lets GDAL write each new layer (or the rows to append) into a
staging GeoPackage beside the workspace, attaches it as ``stage`` to the workspace's write
connection, and moves it in with SQL in one transaction together with the provenance:

- ``replace``: the stored table, its R-tree and its rows in ``gpkg_contents``,
  ``gpkg_geometry_columns``, ``gpkg_ogr_contents``, ``gpkg_extensions`` and
  ``gpkg_data_columns`` are dropped, and GDAL's own table, R-tree (rows copied as GDAL computed
  them), indexes, triggers and metadata rows are copied from the stage, so that GDAL reads back
  what it wrote (types, values, CRS, extent). Only the fids change: a row whose id (the
  catalogue's id field) was stored keeps its stored fid, any other row gets a new one above the
  highest the layer ever had (its AUTOINCREMENT counter is kept), so that a QGIS session opened
  before the replace still edits the site it showed; rows read back in fid order. GDAL could
  write given fids (a column named ``fid``), but they depend on the stored rows, which only this
  transaction reads consistently (a QGIS edit may come between staging and it), so they are
  mapped here, in SQL, for the table and its R-tree alike;
- ``append``: the staged rows are inserted after the stored ones, with fids from the table's
  AUTOINCREMENT counter (above every fid it ever had, as a replace numbers new rows; GDAL's triggers
  keep the R-tree and the feature count; ``gpkg.register_functions`` gives them their ST_* functions), new columns
  are added, and the layer's extent grows to cover them. ``appends_in_place`` says when that reads
  back the same as rewriting the whole layer; otherwise the caller stages the whole layer and
  replaces it.
"""
from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd

from layers.catalogue import spec_for
from layers.store import gpkg

STAGE = "stage"  # the schema name the staging GeoPackage is attached as
# declared column types whose values read back the same whether a row lacks the column as NULL
# (in place) or as a missing value in a pandas concat (a rewrite): text, reals and dates
_NULLABLE_AS_IS = ("TEXT", "REAL", "DOUBLE", "FLOAT", "DATE", "DATETIME")
_FIDS = "hgw_fids"  # the temporary table of a replace: staged fid -> fid stored
_META = ("gpkg_contents", "gpkg_geometry_columns", "gpkg_ogr_contents", "gpkg_extensions", "gpkg_data_columns")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _master(con: sqlite3.Connection, schema: str, where: str, *args: object) -> list[tuple[str, str, str]]:
    return [(str(r[0]), str(r[1]), str(r[2])) for r in con.execute(
        f"SELECT type, name, sql FROM {schema}.sqlite_master WHERE sql IS NOT NULL AND {where}", args)]


def _geometry_column(con: sqlite3.Connection, schema: str, layer: str) -> tuple[object, ...] | None:
    if "gpkg_geometry_columns" not in gpkg.table_names(con, schema):
        return None
    row = con.execute(f"SELECT column_name, geometry_type_name, srs_id, z, m FROM {schema}.gpkg_geometry_columns"
                      " WHERE lower(table_name) = lower(?)", (layer,)).fetchone()
    return tuple(row) if row else None


def _rtree(con: sqlite3.Connection, schema: str, layer: str) -> str | None:
    """The name of ``layer``'s R-tree table in ``schema``, when it has one."""
    geom = _geometry_column(con, schema, layer)
    name = f"rtree_{layer}_{geom[0]}" if geom else None
    return name if name and name in gpkg.table_names(con, schema) else None


def _nullable(declared: str) -> bool:
    return declared.split("(")[0].strip() in _NULLABLE_AS_IS


@dataclass(frozen=True)
class Staged:
    """What ``stage_layers`` staged: the layers to append in place, the layers staged whole with their
    stored rows, and the workspace's ``gpkg.commit_mark`` while those rows were read (None when it
    moved during the reads or the file was in WAL mode: the rows read cannot be vouched for)."""

    in_place: set[str]
    rewritten: set[str]
    read_at: int | None


def stage_layers(workspace: Path, stage: Path, items: Sequence[tuple[str, gpd.GeoDataFrame]], *,
                 append: bool) -> Staged:
    """Write each layer into ``stage`` through GDAL: the rows to append where they can be
    inserted in place (``appends_in_place``), else the whole new layer (with ``append``, the
    stored rows followed by the new ones, as a rewrite always did).

    The stored rows are read outside the workspace's write transaction (GDAL cannot join it), so
    another program may commit before the transaction replaces the layer: the caller compares
    ``Staged.read_at`` with ``gpkg.commit_mark`` inside the transaction and stages again when it moved."""
    in_place, rewritten = set(), set()
    read_at = gpkg.commit_mark(workspace)
    with contextlib.closing(gpkg.read_only(workspace)) as con:
        stored = gpkg.stored_layers(con) if append else set()
    for layer, gdf in items:
        gpkg.write_gdf(stage, layer, gdf)
        if layer not in stored:
            continue
        if appends_in_place(workspace, stage, layer):
            in_place.add(layer)
        else:
            rewritten.add(layer)
            gpkg.write_gdf(stage, layer, gpkg.appended(workspace, layer, gdf))
    return Staged(in_place, rewritten, read_at if read_at == gpkg.commit_mark(workspace) else None)


def appends_in_place(workspace: Path, stage: Path, layer: str) -> bool:
    """True when inserting the rows staged as ``layer`` into the stored ``layer`` reads back the
    same as rewriting the layer with them appended: same key, geometry column, CRS and geometry
    type, the same declared type for every shared column, and only text, real or date columns
    missing on either side (those read back as missing values either way)."""
    with contextlib.closing(gpkg.read_only(workspace)) as con:
        con.execute("ATTACH DATABASE ? AS stage", (f"{stage.as_uri()}?mode=ro",))
        old = {c[0]: c for c in gpkg._columns(con, layer)}
        new = {c[0]: c for c in gpkg._columns(con, layer, STAGE)}
        if not old or not new or _geometry_column(con, "main", layer) != _geometry_column(con, STAGE, layer):
            return False
        if [c for c in old.values() if c[2]] != [c for c in new.values() if c[2]]:
            return False
        if "gpkg_data_columns" in gpkg.table_names(con, STAGE) and con.execute(
                "SELECT 1 FROM stage.gpkg_data_columns WHERE lower(table_name) = lower(?)", (layer,)).fetchone():
            return False
        shared = old.keys() & new.keys()
        return (all(old[c][1] == new[c][1] for c in shared)
                and all(_nullable(old[c][1]) for c in old.keys() - shared)
                and all(_nullable(new[c][1]) for c in new.keys() - shared))


def replace(con: sqlite3.Connection, layer: str) -> None:
    """Replace (or create) ``layer`` in the workspace by the one staged (see the module docstring)."""
    main_tables = gpkg.table_names(con)
    highest = _map_fids(con, layer, layer in main_tables)
    old_rtree = _rtree(con, "main", layer)
    if layer in main_tables:
        con.execute(f"DROP TABLE main.{_q(layer)}")  # its triggers and indexes go with it
    if old_rtree:
        con.execute(f"DROP TABLE main.{_q(old_rtree)}")
    for meta in _META:
        if meta in main_tables:
            con.execute(f"DELETE FROM main.{meta} WHERE lower(table_name) = lower(?)", (layer,))
    [(_, _, create)] = _master(con, STAGE, "type = 'table' AND name = ?", layer)
    con.execute(create)
    columns = gpkg._columns(con, layer, STAGE)
    same = con.execute(f"SELECT 1 FROM temp.{_FIDS} WHERE staged <> fid LIMIT 1").fetchone() is None
    names = ", ".join(_q(c[0]) for c in columns)
    picked = ", ".join("m.fid" if c[2] else f"s.{_q(c[0])}" for c in columns)
    con.execute(f"INSERT INTO main.{_q(layer)} SELECT * FROM stage.{_q(layer)}" if same else
                f"INSERT INTO main.{_q(layer)} ({names}) SELECT {picked} FROM stage.{_q(layer)} s"
                f" JOIN temp.{_FIDS} m ON m.staged = s.{_q(_pk(columns))} ORDER BY m.fid")
    new_rtree = _rtree(con, STAGE, layer)
    if new_rtree:
        [(_, _, create)] = _master(con, STAGE, "type = 'table' AND name = ?", new_rtree)
        con.execute(create)
        con.execute(f"INSERT INTO main.{_q(new_rtree)} SELECT * FROM stage.{_q(new_rtree)}" if same else
                    f"INSERT INTO main.{_q(new_rtree)} SELECT m.fid, r.minx, r.maxx, r.miny, r.maxy"
                    f" FROM stage.{_q(new_rtree)} r CROSS JOIN temp.{_FIDS} m ON m.staged = r.id")
    for _, _, sql in _master(con, STAGE, "type IN ('index', 'trigger') AND tbl_name = ?", layer):
        con.execute(sql)
    _copy_meta(con, layer)
    if highest:  # AUTOINCREMENT remembers the highest fid ever given; the dropped table's is kept
        con.execute("INSERT INTO main.sqlite_sequence (name, seq) SELECT ?, 0 WHERE NOT EXISTS"
                    " (SELECT 1 FROM main.sqlite_sequence WHERE name = ?)", (layer, layer))
        con.execute("UPDATE main.sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", (highest, layer))
    con.execute(f"DROP TABLE temp.{_FIDS}")


def _pk(columns: Sequence[tuple[str, str, int]]) -> str:
    return next(c[0] for c in columns if c[2])


def _map_fids(con: sqlite3.Connection, layer: str, stored: bool) -> int:
    """Fill ``temp.hgw_fids`` (staged fid -> fid to store) for replacing ``layer`` by the staged
    one: a staged row whose id (the catalogue's id field) is stored keeps the stored row's fid
    (the first staged row with that id, the stored row with the lowest fid); every other row gets
    a new fid above the highest the stored layer ever had, in staged order. Returns that highest
    fid (0 for a layer not stored): the stored table's AUTOINCREMENT counter or its largest fid."""
    con.execute(f"DROP TABLE IF EXISTS temp.{_FIDS}")
    con.execute(f"CREATE TEMP TABLE {_FIDS} (staged INTEGER PRIMARY KEY, fid INTEGER NOT NULL UNIQUE)")
    staged = gpkg._columns(con, layer, STAGE)
    spk, table = _q(_pk(staged)), _q(layer)
    old = gpkg._columns(con, layer) if stored else []
    highest = 0
    if old:
        opk = _q(_pk(old))
        seq = con.execute("SELECT seq FROM main.sqlite_sequence WHERE name = ?", (layer,)).fetchone() \
            if "sqlite_sequence" in gpkg.table_names(con) else None
        top = con.execute(f"SELECT max({opk}) FROM main.{table}").fetchone()[0]
        highest = max(int(seq[0]) if seq and seq[0] is not None else 0, int(top or 0))
        id_field = spec_for(layer).id_field
        if id_field in {c[0] for c in old} and id_field in {c[0] for c in staged}:
            key = _q(id_field)
            con.execute(  # in staged order: a second staged row with the id breaks UNIQUE (fid) and is left out
                f"INSERT OR IGNORE INTO temp.{_FIDS} (staged, fid) SELECT s.{spk}, k.fid FROM stage.{table} s"
                f" JOIN (SELECT {key} AS id, min({opk}) AS fid FROM main.{table} WHERE {key} IS NOT NULL GROUP BY {key}) k"
                f" ON k.id = s.{key} ORDER BY s.{spk}")
    con.execute(f"INSERT INTO temp.{_FIDS} (staged, fid) SELECT {spk}, ? + row_number() OVER (ORDER BY {spk})"
                f" FROM stage.{table} WHERE {spk} NOT IN (SELECT staged FROM temp.{_FIDS})", (highest,))
    return highest


def _copy_meta(con: sqlite3.Connection, layer: str) -> None:
    main_tables, stage_tables = gpkg.table_names(con), gpkg.table_names(con, STAGE)
    srs = [r[0] for r in con.execute("SELECT srs_id FROM stage.gpkg_contents WHERE lower(table_name) = lower(?)",
                                     (layer,))]
    con.executemany("INSERT OR IGNORE INTO main.gpkg_spatial_ref_sys SELECT * FROM stage.gpkg_spatial_ref_sys"
                    " WHERE srs_id = ?", [(s,) for s in srs])
    for meta in _META:
        if meta not in stage_tables:
            continue
        if meta not in main_tables:
            [(_, _, create)] = _master(con, STAGE, "type = 'table' AND name = ?", meta)
            con.execute(create)
        con.execute(f"INSERT INTO main.{meta} SELECT * FROM stage.{meta} WHERE lower(table_name) = lower(?)",
                    (layer,))


def append(con: sqlite3.Connection, layer: str) -> None:
    """Insert the rows staged as ``layer`` after the stored ones (``appends_in_place`` said so)."""
    old = [c[0] for c in gpkg._columns(con, layer)]
    new = [c for c in gpkg._columns(con, layer, STAGE) if not c[2]]
    for name, declared, _ in new:
        if name not in old:
            con.execute(f"ALTER TABLE main.{_q(layer)} ADD COLUMN {_q(name)} {declared}")
    names = ", ".join(_q(c[0]) for c in new)
    con.execute(f"INSERT INTO main.{_q(layer)} ({names}) SELECT {names} FROM stage.{_q(layer)} ORDER BY rowid")
    staged = con.execute("SELECT last_change, min_x, min_y, max_x, max_y FROM stage.gpkg_contents"
                         " WHERE lower(table_name) = lower(?)", (layer,)).fetchone()
    if staged is None:
        return
    con.execute(
        "UPDATE main.gpkg_contents SET last_change = ?,"
        " min_x = CASE WHEN min_x IS NULL OR ? < min_x THEN coalesce(?, min_x) ELSE min_x END,"
        " min_y = CASE WHEN min_y IS NULL OR ? < min_y THEN coalesce(?, min_y) ELSE min_y END,"
        " max_x = CASE WHEN max_x IS NULL OR ? > max_x THEN coalesce(?, max_x) ELSE max_x END,"
        " max_y = CASE WHEN max_y IS NULL OR ? > max_y THEN coalesce(?, max_y) ELSE max_y END"
        " WHERE lower(table_name) = lower(?)",
        (staged[0], staged[1], staged[1], staged[2], staged[2], staged[3], staged[3], staged[4], staged[4], layer))
