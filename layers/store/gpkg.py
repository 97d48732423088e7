"""Inside the workspace GeoPackage: connections, the write transaction, row counts, the check that
keeps a replacement from silently dropping most of a layer, and layer writes through GDAL.

Readers open the file read-only (``read_only``). Writers change it in place in ONE SQLite
transaction (``transaction``): SQLite's rollback journal (``<file>-journal``, the SQLite and GDAL
default) makes the change all or nothing, and a writer killed mid-transaction leaves a hot journal
that the next connection able to write rolls back (``files.roll_back_dead_writer``). The rollback
journal, not WAL, keeps the workspace one self-contained file: it can be copied or e-mailed at any
time, read from read-only media and by ``mode=ro`` readers without ``-wal``/``-shm`` side files,
and its header stays the one GDAL and QGIS write. QGIS switches the file to WAL while one of its
layers is in an edit session, and a QGIS that dies mid-session leaves it there: every write puts
it back first (``leave_wal``: SQLite checkpoints the ``-wal``'s pages into the file before it
switches, so nothing the ``-wal`` holds is lost); while another program holds the file (a live
QGIS session) SQLite refuses at once, the write goes on in WAL, and QGIS switches back when it saves.

A write connection knows the SQL functions the GeoPackage R-tree triggers GDAL creates call
(``ST_IsEmpty``, ``ST_MinX``, ``ST_MaxX``, ``ST_MinY``, ``ST_MaxY``), computed from the GeoPackage
binary header (its envelope, or the WKB after it), so that a row inserted or updated with plain
SQLite keeps the spatial index right.
"""
from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely

from geo.errors import InputError, Problem, WorkspaceError
from geo.words import agree, counted
from layers.catalogue import CATALOGUE, spec_for
from layers.store import arrowread, files, libraries

_ENVELOPE_DOUBLES = {0: 0, 1: 4, 2: 6, 3: 6, 4: 8}  # GeoPackage binary header: envelope indicator -> doubles
_IDS_PER_QUERY = 500  # ids looked up per SQL statement when checking an append for clashes
BUSY_TIMEOUT_S = 60.0  # how long a write waits for readers of the file to let go, seconds
_WAL = 2  # header bytes 18 and 19 (write and read format versions) of a file in WAL mode


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


@dataclass(frozen=True)
class Replacement:
    """What replacing a stored layer with ``incoming`` features would do.

    Attributes
    ----------
    layer : the layer type.
    stored : rows the workspace holds now (0 when it holds no such layer).
    incoming : rows the new file brings.
    """

    layer: str
    stored: int
    incoming: int

    @property
    def lost(self) -> int:
        """How many rows fewer the layer would hold afterwards."""
        return max(self.stored - self.incoming, 0)

    @property
    def needs_replace_all(self) -> bool:
        """True when the new rows are fewer than half the stored ones (or none): ask first."""
        return 2 * self.incoming < self.stored

    def message(self, source: str) -> str:
        """One line for a user: how many rows the layer holds, the file brings, and would go."""
        return (f"{self.layer} holds {_rows(self.stored)}; this file ({source}) has {self.incoming};"
                f" {_rows(self.lost)} would go. Pass --replace-all to replace them.")


class ReplaceRefused(WorkspaceError):
    """A replacement would drop more than half a layer's rows and ``replace_all`` was not given."""

    def __init__(self, workspace: str, source: str, replacements: Sequence[Replacement]) -> None:
        self.replacements = list(replacements)
        lines = [r.message(source) for r in self.replacements]
        super().__init__("\n".join(lines + [f"Nothing was stored; workspace {workspace} is unchanged."]))


class IdsStored(InputError):
    """An append refused because the layer already holds some of its ids: every such id (``ids``),
    so that a face that still has the file's rows can name the row of each (``services.imports``).

    ``source``: the file (its recorded source); ``workspace``: the store's name. The message says
    what to do; each problem names the file, the id field and the id, and what was expected.
    """

    def __init__(self, workspace: str, source: str, layer: str, id_field: str, ids: Sequence[str], *,
                 problems: Sequence[Problem] | None = None, advice: str | None = None) -> None:
        self.workspace, self.source, self.layer, self.id_field = workspace, source, layer, id_field
        self.ids = sorted(ids)
        shown = list(problems) if problems is not None else [
            Problem(source, None, id_field, v, f"a {id_field} that {layer} does not already hold", kind="duplicate")
            for v in self.ids[:SHOWN_IDS]]
        more = len(self.ids) - len(shown)
        advice = advice or (f"A {id_field} must be unique in its layer: give these rows ids of their own, "
                            "or import without --append to replace the layer")
        super().__init__(
            f"{source}: cannot append to {layer}: {counted(len(self.ids), 'id')} {agree(len(self.ids), 'is', 'are')}"
            f" already stored; nothing was imported (layer {layer} of {workspace} already holds"
            f" {agree(len(self.ids), 'this', 'these')} {id_field} {agree(len(self.ids), 'value', 'values')}). {advice}"
            + (f"\n  ({more} more not listed)" if more > 0 else ""), shown)

    def __str__(self) -> str:  # the count of ids not listed goes after the listed ones
        head, _, more = self.message.partition("\n")
        return "\n".join([head] + [f"  {p}" for p in self.problems] + ([more] if more else []))


SHOWN_IDS = 50  # ids an IdsStored lists


def source_file(source: str) -> str:
    """The file name in a recorded ``source`` (which may end with what ``--set`` gave, in brackets)."""
    return source.split(" [", 1)[0] or source


# ---------------------------------------------------------------------- connections
class _Held(sqlite3.Connection):
    """A connection that stops holding its file for Python's sqlite3 (``libraries``) when closed."""

    held: tuple[Path, int] | None = None

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.held is not None:
                libraries.release(self.held[0], libraries.SQLITE3, self.held[1])
                self.held = None


def read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection to GeoPackage ``path`` (a dead writer's half-done change is rolled
    back first, or SQLite could not read it read-only). It waits up to ``files.READ_WAIT_S`` for a
    writer's commit. Until it is closed, GDAL waits to open the file in this process
    (``layers.store.libraries``): close it (``contextlib.closing``)."""
    files.roll_back_dead_writer(path)
    token = libraries.acquire(path, libraries.SQLITE3)
    try:
        con = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, factory=_Held, timeout=files.READ_WAIT_S)
    except BaseException:
        libraries.release(path, libraries.SQLITE3, token)
        raise
    con.held = (path, token)
    return con


def _header_envelope(blob: bytes) -> tuple[bool, tuple[float, float, float, float] | None, int]:
    """(empty flag, (minx, maxx, miny, maxy) or None, offset of the WKB) of GeoPackage binary ``blob``."""
    if len(blob) < 8 or blob[:2] != b"GP":
        raise ValueError("not a GeoPackage geometry blob")
    flags = blob[3]
    order = "<" if flags & 1 else ">"
    doubles = _ENVELOPE_DOUBLES.get((flags >> 1) & 7)
    if doubles is None:
        raise ValueError("invalid envelope indicator in a GeoPackage geometry blob")
    env = struct.unpack_from(f"{order}{doubles}d", blob, 8) if doubles else ()
    return bool(flags & 0x10), (env[0], env[1], env[2], env[3]) if env else None, 8 + 8 * doubles


@functools.lru_cache(maxsize=64)
def _bounds(blob: bytes) -> tuple[float, float, float, float] | None:
    """(minx, maxx, miny, maxy) of GeoPackage binary ``blob``; None when empty."""
    empty, env, start = _header_envelope(blob)
    if empty:
        return None
    if env is not None:
        return env
    geom = shapely.from_wkb(blob[start:])
    if geom.is_empty:
        return None
    minx, miny, maxx, maxy = geom.bounds
    return minx, maxx, miny, maxy


def _is_empty(blob: bytes | None) -> int | None:
    return None if blob is None else int(_bounds(bytes(blob)) is None)


def _coordinate(index: int) -> Callable[[bytes | None], float | None]:
    def value(blob: bytes | None) -> float | None:
        found = None if blob is None else _bounds(bytes(blob))
        return None if found is None else found[index]
    return value


def register_functions(con: sqlite3.Connection) -> None:
    """Give ``con`` the ST_* functions GDAL's R-tree triggers call."""
    con.create_function("ST_IsEmpty", 1, _is_empty, deterministic=True)
    for i, name in enumerate(("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY")):
        con.create_function(name, 1, _coordinate(i), deterministic=True)


@contextlib.contextmanager
def transaction(path: Path, *, busy_timeout_s: float = BUSY_TIMEOUT_S) -> Iterator[sqlite3.Connection]:
    """One SQLite transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``) on GeoPackage ``path`` itself.

    The caller holds the workspace's writer lock. Any exception rolls everything back. Dirty
    pages are kept in memory until the commit (``cache_spill = OFF``), so that readers are
    kept out only while the commit writes, not for the whole transaction. To begin and to
    commit it waits up to ``busy_timeout_s`` seconds for readers (another process reading a
    large layer) to let go, then gives up with a ``WorkspaceError`` and changes nothing. A file
    left in WAL is put back in rollback mode first where it can be (``leave_wal``).
    """
    with libraries.using(path, libraries.SQLITE3), \
            contextlib.closing(sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)) as con:
        register_functions(con)
        con.execute("PRAGMA cache_spill = OFF")
        leave_wal(con)
        _busy(con, "BEGIN IMMEDIATE", path, busy_timeout_s)
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        _busy(con, "COMMIT", path, busy_timeout_s)  # on failure closing the connection rolls back


def leave_wal(con: sqlite3.Connection) -> bool:
    """Put the database of ``con`` (no transaction open) back in rollback-journal mode if it is in
    WAL; True when it is in rollback mode afterwards.

    SQLite checkpoints every committed page of the ``-wal`` into the file, then deletes the
    ``-wal`` and ``-shm``. It can only while no other connection has the file open (it needs the
    exclusive lock): otherwise it says "database is locked" at once (it does not wait for the busy
    timeout), the file stays in WAL with its ``-wal`` whole, and False is returned.
    """
    if str(con.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        return True
    try:
        return str(con.execute("PRAGMA journal_mode = DELETE").fetchone()[0]).lower() == "delete"
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
        return False


def _busy(con: sqlite3.Connection, statement: str, path: Path, timeout_s: float) -> None:
    try:
        con.execute(statement)
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
        raise WorkspaceError(f"workspace {path} is busy: other programs kept it open for reading or writing for"
                             f" {timeout_s:g} s; nothing was changed. Try again when they have finished") from None


def sync_file(path: Path) -> None:
    """Flush ``path`` to disk: a staging file, before it is renamed into place. Never the workspace
    itself: closing this descriptor drops every SQLite lock this process holds on the file (read its
    bytes with ``files.header``)."""
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (fsync of the directory), where the system allows."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ---------------------------------------------------------------------- reading
def table_names(con: sqlite3.Connection, schema: str = "main") -> set[str]:
    """Tables and views of ``schema`` on ``con``."""
    return {str(r[0]) for r in con.execute(f"SELECT name FROM {schema}.sqlite_master WHERE type IN ('table', 'view')")}


def feature_tables(con: sqlite3.Connection, tables: set[str], schema: str = "main") -> dict[str, str]:
    """Feature tables listed in ``gpkg_contents`` and present, with their last change time."""
    if "gpkg_contents" not in tables:
        return {}
    return {str(r[0]): str(r[1] or "") for r in con.execute(
        f"SELECT table_name, last_change FROM {schema}.gpkg_contents WHERE data_type = 'features'")
        if str(r[0]) in tables}


def count_rows(con: sqlite3.Connection, layer: str) -> int:
    """Rows of table ``layer`` in the main database of ``con``."""
    return int(con.execute(f'SELECT count(*) FROM main."{layer}"').fetchone()[0])


def feature_count(con: sqlite3.Connection, layer: str) -> int:
    """Rows of ``layer`` in the main database of ``con``: GDAL's ``gpkg_ogr_contents`` count (kept by
    its triggers, so reading it does not grow with the layer) where there is one, else a count."""
    if "gpkg_ogr_contents" in table_names(con):
        found = con.execute("SELECT feature_count FROM main.gpkg_ogr_contents WHERE lower(table_name) = lower(?)",
                            (layer,)).fetchone()
        if found is not None and found[0] is not None:
            return int(found[0])
    return count_rows(con, layer)


def layer_rows(con: sqlite3.Connection) -> dict[str, int]:
    """Rows of each layer type stored in the main database of ``con``."""
    return {layer: count_rows(con, layer) for layer in feature_tables(con, table_names(con)) if layer in CATALOGUE}


def row_counts(path: Path) -> dict[str, int]:
    """Rows of each layer type stored in GeoPackage ``path``, read-only."""
    try:
        with contextlib.closing(read_only(path)) as con:
            return layer_rows(con)
    except sqlite3.DatabaseError as exc:
        raise files.unreadable(str(path), exc) from None


def stored_layers(con: sqlite3.Connection) -> set[str]:
    """Feature tables of the main database of ``con``."""
    return set(feature_tables(con, table_names(con)))


# ---------------------------------------------------------------------- checks
def check_write(con: sqlite3.Connection, items: Sequence[tuple[str, gpd.GeoDataFrame]], workspace: str, source: str,
                *, append: bool, replace_all: bool) -> None:
    """Refuse, reading the GeoPackage of ``con``, what ``Workspace.write_layers`` must not do.

    With ``append``: an id already stored (InputError). Without it and without ``replace_all``:
    a replacement with fewer than half the stored rows (``ReplaceRefused``, naming ``workspace``
    and the ``source`` file).
    """
    if append:
        stored = stored_layers(con)
        for layer, gdf in items:
            if layer in stored:
                refuse_clash(con, layer, gdf, spec_for(layer).id_field, workspace=workspace, source=source)
    elif not replace_all:
        counts = layer_rows(con)
        shrinking = [r for r in (Replacement(layer, counts.get(layer, 0), len(gdf)) for layer, gdf in items)
                     if r.needs_replace_all]
        if shrinking:
            raise ReplaceRefused(workspace, source, shrinking)


def _columns(con: sqlite3.Connection, layer: str, schema: str = "main") -> list[tuple[str, str, int]]:
    """(name, declared type, pk) of each column of ``schema.layer``."""
    return [(str(r[1]), str(r[2]).upper(), int(r[5])) for r in con.execute(f'PRAGMA {schema}.table_info("{layer}")')]


def refuse_clash(con: sqlite3.Connection, layer: str, new: gpd.GeoDataFrame, id_field: str, *,
                 workspace: str, source: str) -> None:
    """``IdsStored`` when an id of ``new`` (from file ``source``) is already stored in ``layer`` of
    ``workspace`` (looked up by the id index ``id_index`` keeps, so the cost does not grow with the layer)."""
    if id_field not in {c[0] for c in _columns(con, layer)}:
        return
    wanted = sorted(set(new[id_field].astype(str)))
    clash: set[str] = set()
    for start in range(0, len(wanted), _IDS_PER_QUERY):
        chunk = wanted[start:start + _IDS_PER_QUERY]
        marks = ",".join("?" * len(chunk))
        found = con.execute(f'SELECT "{id_field}" FROM main."{layer}" WHERE "{id_field}" IN ({marks})', chunk)
        clash.update(str(r[0]) for r in found)
    clash &= set(wanted)
    if clash:
        raise IdsStored(workspace, source_file(source), layer, id_field, sorted(clash))


def id_index(con: sqlite3.Connection, layer: str) -> None:
    """Index ``layer``'s id field (``hgw_<layer>_<id field>``) unless it is indexed already."""
    id_field = spec_for(layer).id_field
    if id_field in {c[0] for c in _columns(con, layer)}:
        con.execute(f'CREATE INDEX IF NOT EXISTS main."hgw_{layer}_{id_field}" ON "{layer}" ("{id_field}")')


# ---------------------------------------------------------------------- writing through GDAL
def counts_commits(head: bytes) -> bool:
    """True when ``head`` (a file's first 100 bytes, ``files.header``) is an SQLite database header whose
    file change counter counts every commit: not in WAL mode (header bytes 18 and 19 are 2 there, and
    commits leave the counter)."""
    return len(head) == 100 and head.startswith(files.SQLITE_HEADER) and not (head[18] == _WAL or head[19] == _WAL)


def change_counter(head: bytes) -> int:
    """The file change counter of SQLite database header ``head`` (bytes 24-27, big-endian)."""
    return int.from_bytes(head[24:28], "big")


def commit_mark(path: Path) -> int | None:
    """The file change counter of GeoPackage ``path``'s header, which every commit to the file raises by
    one, whoever commits (GDAL, QGIS, the ``sqlite3`` shell, HgWatch); None while the file is in WAL mode,
    where commits leave it (``layers.store.changes`` says more). Read without opening the file for SQLite
    (``files.header``). Equal marks taken before and after something mean nobody committed in between."""
    head = files.header(path)[1]
    return change_counter(head) if counts_commits(head) else None


def appended(path: Path, layer: str, new: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Stored features of ``layer`` in GeoPackage ``path`` followed by ``new``. The stored ones are
    read as one snapshot (``arrowread.read_layer``): a commit of another program while they are read
    is in all of them or in none."""
    with libraries.using(path, libraries.GDAL):
        old = arrowread.read_layer(path, layer)
    return gpd.GeoDataFrame(pd.concat([old, new.to_crs(old.crs)], ignore_index=True), crs=old.crs)


def write_gdf(path: Path, layer: str, gdf: gpd.GeoDataFrame, *, append: bool = False) -> None:
    """Write ``gdf`` as table ``layer`` of GeoPackage ``path``, replacing any previous table
    (``append``: adding its rows to the table a previous call wrote, a chunked import).

    The geometry type is left generic so that a layer may mix points and polygons, and every geometry
    is stored as the file gave it: pyogrio would otherwise turn every Polygon of a layer that also
    holds a MultiPolygon (104,460 of the 104,640 national footprints) into a one-part MultiPolygon,
    so that a whole import stored other geometries than a chunked one or PostGIS. GDAL gets the
    rows as Arrow (about twice as fast as feature by feature) unless a text column holds values
    Arrow would store with another type (dates, bytes): the slow path writes those as text.
    """
    options = {} if append else {"layer_options": {"OVERWRITE": "YES"}}
    pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG", geometry_type="Unknown", append=append,
                            promote_to_multi=False, use_arrow=_arrow_writes_as_text(gdf), **options)


def _arrow_writes_as_text(gdf: gpd.GeoDataFrame) -> bool:
    """True when every object column of ``gdf`` holds only text (or nothing): the Arrow write then
    declares and stores exactly what the feature-by-feature write does."""
    for name in gdf.columns:
        column = gdf[name]
        if name == gdf.geometry.name or column.dtype != object:
            continue
        try:
            kind = pa.infer_type(column.to_numpy(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return False
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind)):
            return False
    return True
