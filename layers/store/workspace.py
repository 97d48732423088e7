"""The workspace: one GeoPackage holding every layer plus metadata tables.

Besides the layers, ``hgw_layers`` holds each layer's source file, licence, import time, row
count, expected positional error (metres) and accuracy note; ``hgw_runs`` one row per rule run
(time, rule file hash, input layer hashes, counts, violations as JSON) so that runs can be compared.

The path is resolved once: a symlinked workspace is read and written through to its real file (the
link stays a link) and every path to one file shares one lock. An existing path that is not a
GeoPackage (a CSV, a PDF, a plain SQLite file, a folder) is refused for reading and writing, and
never changed (``layers.store.files``).

``hgw_shareable`` lists the columns an analyst marked shareable per layer (``layers.store.sharing``;
``LayerInfo.shareable``, ``Workspace.mark_shareable``).

Reading never writes and never locks: a GeoPackage without the ``hgw_*`` tables (made by QGIS,
say) reads as one with no runs, its layers listed with provenance "unknown", and stays
byte-identical.

Every change is ONE SQLite transaction inside the workspace file itself (``Workspace.writing``;
``layers.store.gpkg`` says why the rollback journal and not WAL), so a one-row change writes a few
pages, not a copy of the file. Features are written by GDAL into a staging GeoPackage beside the
workspace (``.<name>.hgw-tmp-XXXXXXXX.gpkg``) and moved in by that transaction, with their
provenance (``layers.store.staging``); a new workspace is built whole as a staging file and renamed
into place. A failed change rolls back and deletes its staging file; a killed writer's half-done
transaction is rolled back, and its staging file (it holds restricted fields too) deleted, by the
next ``Workspace`` opened on the file or the next read. An exclusive lock on a side file
(``filelock``; the kernel releases it when the writer dies) serialises writers; a writer waits at
most ``lock_timeout_s`` seconds, then gives up with a ``WorkspaceError``. Replacing a layer with
fewer than half its rows (or none) raises ``ReplaceRefused`` unless ``replace_all=True``;
``Workspace.replacement`` tells a caller beforehand. A refused change writes nothing, not even the
lock file. An append that rewrites a layer (``staging.stage_layers``) reads its stored rows before
the transaction; if another program (QGIS, GDAL, the ``sqlite3`` shell) committed since
(``gpkg.commit_mark``), the transaction rolls back and the rows are read again (``RESTAGES`` tries, then
a ``WorkspaceError``), so its edit is never written over; while another program holds the file in WAL
mode (a live edit session) such an append is refused.

``Workspace.change_stamp`` tells caches when the data may have changed (``layers.store.changes``):
SQLite's header change counter less the transactions that wrote bookkeeping only
(``writing(data=False)``: audit rows appended on their own, accounts, API keys).
"""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd

from geo.errors import StoreBusy, WorkspaceError
from layers.catalogue import CATALOGUE, is_restricted_name, spec_for
from layers.store import arrowread, changes, chunkwrite, files, gpkg, libraries, sharing, staging, visibility
from layers.store.gpkg import Replacement

META_TABLE = "hgw_layers"
RUNS_TABLE = "hgw_runs"
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "data" / "demo_workspace.gpkg"
LOCK_TIMEOUT_S = 60.0  # how long a writer waits for another writer to finish, seconds
UNRECORDED = "unknown"  # source and licence of a layer HgWatch did not import
RESTAGES = 3  # how often an append that rewrites a layer reads it again when another program edited it meanwhile


class _Moved(Exception):
    """Another program committed to the workspace after stored rows were read for a rewrite."""


@dataclass(frozen=True)
class LayerInfo:
    """Provenance of one layer in the workspace."""

    layer: str
    source: str
    licence: str
    imported_at: str
    rows: int
    accuracy_m: float | None
    accuracy_note: str
    synthetic: bool
    shareable: tuple[str, ...] = ()  # columns an analyst marked shareable (``cli.py share``)


_META_SQL = f"""
CREATE TABLE IF NOT EXISTS {META_TABLE} (
    layer TEXT PRIMARY KEY, source TEXT NOT NULL, licence TEXT NOT NULL,
    imported_at TEXT NOT NULL, rows INTEGER NOT NULL, accuracy_m REAL,
    accuracy_note TEXT NOT NULL DEFAULT '', synthetic INTEGER NOT NULL DEFAULT 0)
"""
_RUNS_SQL = f"""
CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT, ran_at TEXT NOT NULL, rules_hash TEXT NOT NULL,
    input_hashes TEXT NOT NULL, counts TEXT NOT NULL, violation_ids TEXT NOT NULL)
"""


class Workspace:
    """A GeoPackage workspace at ``path``. Reading never writes or locks; writing is atomic.

    Opening one rolls back a killed writer's half-done transaction and deletes the stray staging
    files it left (``layers.store.files``); ``removed_strays`` lists those files.

    Parameters
    ----------
    path : the GeoPackage file, or a symlink to it, or a path where one will be created.
    lock_timeout_s : how long a write waits for another writer's lock, in seconds.
    """

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_PATH, *,
                 lock_timeout_s: float = LOCK_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.real = files.real_path(path)
        self.lock_timeout_s = lock_timeout_s
        self.removed_strays = files.remove_strays(self.real, self.lock_path)
        if self.real.is_file():
            files.roll_back_dead_writer(self.real)

    @property
    def lock_path(self) -> Path:
        """The side file writers lock: ``<real workspace file>.lock``."""
        return files.lock_path(self.real)

    @property
    def _name(self) -> str:
        return files.describe(self.path, self.real)

    # ----------------------------------------------------------------- reading
    def exists(self) -> bool:
        """True when the workspace path exists (whether or not it is a GeoPackage)."""
        return self.real.exists()

    def _require(self) -> None:
        files.refuse_unless_geopackage(self.path, self.real)
        if not self.real.exists():
            raise WorkspaceError(f"workspace {self._name} does not exist; import a layer first or run `make demo`")

    @contextlib.contextmanager
    def _reading(self) -> Iterator[tuple[sqlite3.Connection, set[str]]]:
        """A read-only connection and the names of the tables it holds."""
        self._require()
        try:
            with contextlib.closing(gpkg.read_only(self.real)) as con:
                tables = {r[0] for r in con.execute(
                    "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
                yield con, tables
        except sqlite3.DatabaseError as exc:
            raise files.unreadable(self._name, exc) from None

    def table_rows(self, table: str, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """The rows ``sql`` selects from the workspace's own table ``table`` (accounts, keys, the audit
        trail), read-only and without a lock; none when the workspace or the table does not exist yet."""
        if not self.real.exists():
            return []
        files.refuse_unless_geopackage(self.path, self.real)
        try:
            with contextlib.closing(gpkg.read_only(self.real)) as con:
                if con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone() is None:
                    return []
                return con.execute(sql, tuple(params)).fetchall()
        except sqlite3.DatabaseError as exc:
            raise files.unreadable(str(self.path), exc) from None

    def layers(self) -> list[LayerInfo]:
        """Provenance of every layer the workspace holds, in catalogue order.

        A feature table named after a layer type but absent from ``hgw_layers`` (added by another
        tool) is listed with source and licence "unknown" and its row count.
        """
        with self._reading() as (con, tables):
            recorded: dict[str, LayerInfo] = {}
            if META_TABLE in tables:
                for r in con.execute(
                        f"SELECT layer, source, licence, imported_at, rows, accuracy_m,"
                        f" accuracy_note, synthetic FROM {META_TABLE}"):
                    recorded[r[0]] = LayerInfo(r[0], r[1], r[2], r[3], int(r[4]), r[5], r[6],
                                               bool(r[7]))
            changed = gpkg.feature_tables(con, tables)
            marks = sharing.read_marks(con, tables)
            infos = []
            for layer in CATALOGUE:
                if layer not in changed:
                    continue
                if layer in recorded:
                    infos.append(replace(recorded[layer], shareable=marks.get(layer, ())))
                    continue
                rows = con.execute(f'SELECT count(*) FROM "{layer}"').fetchone()[0]
                infos.append(LayerInfo(layer, UNRECORDED, UNRECORDED, changed[layer], int(rows),
                                       None, "not imported by HgWatch; no provenance recorded",
                                       False, marks.get(layer, ())))
        return infos

    def has(self, layer: str) -> bool:
        """True when the workspace holds layer type ``layer``."""
        return self.exists() and any(i.layer == layer for i in self.layers())

    def info(self, layer: str) -> LayerInfo:
        """Provenance of ``layer``; raises WorkspaceError when absent."""
        for info in self.layers():
            if info.layer == layer:
                return info
        raise WorkspaceError(f"workspace {self._name} holds no {layer!r} layer")

    def read(self, layer: str, columns: Collection[str] | None = None, *,
             shared_only: bool = False) -> gpd.GeoDataFrame:
        """The layer as a GeoDataFrame in EPSG:4326, with its declared dtypes.

        With ``columns`` only those attribute columns are read from the file (GDAL selects
        them; the others are never read), in stored order. With ``shared_only`` the rows about a
        person are left out by SQLite (``visibility.shared_rows_sqlite``, the read's attribute
        filter). GDAL's Arrow stream carries the rows (``layers.store.arrowread``: the frame
        pyogrio's feature-by-feature read gives)."""
        spec_for(layer)
        self.info(layer)
        where = visibility.shared_rows_sqlite(layer, self.columns(layer)) if shared_only else None
        with libraries.using(self.real, libraries.GDAL):  # one snapshot, waiting for a writer's commit
            gdf = arrowread.read_layer(self.real, layer, columns=None if columns is None else list(columns),
                                       where=where)
        from layers.io.coerce import coerce_types  # local: coerce imports pandas heavy bits

        return coerce_types(gdf, spec_for(layer))

    def read_field(self, layer: str, areas: Collection[str]) -> gpd.GeoDataFrame:
        """The layer as a field coordinator of admin ``areas`` may see it, selected by SQLite as
        ``PostgisStore.read_field`` is by PostgreSQL: the rows in ``areas``
        (``visibility.in_areas_sqlite``) with every column, the other rows not about a person
        (``visibility.outside_areas_sqlite``) with only the partner's columns
        (``visibility.partner_columns``; their other columns empty), in stored order
        (``arrowread.read_parts``). What it may not see is never read. The two reads are two
        snapshots: when the change stamp moved across them (another program committed), they are
        read again, at most ``RESTAGES`` times, then ``StoreBusy``. A wholly restricted layer is
        refused (``WorkspaceError``)."""
        spec = spec_for(layer)
        if visibility.wholly_restricted(layer):
            raise WorkspaceError(f"layer {layer!r} is restricted: a field coordinator does not see it")
        for _ in range(RESTAGES):
            before = self.change_stamp()
            stored = self.columns(layer)
            seen = visibility.partner_columns(layer, stored, self.info(layer).shareable)
            with libraries.using(self.real, libraries.GDAL):
                gdf = arrowread.read_parts(self.real, layer, [
                    (None, visibility.in_areas_sqlite(areas, stored)),
                    (seen, visibility.outside_areas_sqlite(layer, stored, areas))])
            if self.change_stamp() == before:
                from layers.io.coerce import coerce_types  # local: coerce imports pandas heavy bits

                return coerce_types(gdf, spec)
        raise StoreBusy(f"workspace {self._name}: another program kept changing it while layer {layer!r} was read"
                        f" ({RESTAGES} tries); nothing was changed. Try again in a minute")

    def columns(self, layer: str) -> list[str]:
        """The attribute columns of stored ``layer``, as stored (no geometry)."""
        self.info(layer)
        with libraries.using(self.real, libraries.GDAL):
            return arrowread.field_names(self.real, layer)

    def runs(self, limit: int = 2, *, with_ids: bool = True) -> list[dict[str, object]]:
        """The last ``limit`` rule runs, newest first, with counts and (``with_ids``) violation ids decoded."""
        if not self.exists():
            return []
        with self._reading() as (con, tables):
            if RUNS_TABLE not in tables:
                return []
            rows = con.execute(
                f"SELECT run_id, ran_at, rules_hash, input_hashes, counts{', violation_ids' if with_ids else ''}"
                f" FROM {RUNS_TABLE} ORDER BY run_id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            {"run_id": r[0], "ran_at": r[1], "rules_hash": r[2],
             "input_hashes": json.loads(r[3]), "counts": json.loads(r[4]),
             **({"violation_ids": json.loads(r[5])} if with_ids else {})}
            for r in rows
        ]

    def replacement(self, layer: str, incoming: int) -> Replacement:
        """What replacing ``layer`` with ``incoming`` rows would do; ask the user first when
        ``.needs_replace_all``. Reads only; a workspace not yet created holds 0 rows."""
        spec_for(layer)
        files.refuse_unless_geopackage(self.path, self.real)
        stored = gpkg.row_counts(self.real).get(layer, 0) if self.real.exists() else 0
        return Replacement(layer, stored, incoming)

    # ----------------------------------------------------------------- writing
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the writer lock (waiting at most ``lock_timeout_s``); strays of dead writers go."""
        files.refuse_unless_geopackage(self.path, self.real)  # before the lock: a refusal writes nothing
        self.real.parent.mkdir(parents=True, exist_ok=True)
        lock = files.try_lock(self.lock_path, self.lock_timeout_s)
        if lock is None:
            raise WorkspaceError(
                f"workspace {self._name} is locked by another writer; tried for "
                f"{self.lock_timeout_s:g} s. Wait for the other import or rule run to finish, "
                f"then try again")
        try:
            files.refuse_unless_geopackage(self.path, self.real)  # again: it may have changed meanwhile
            files.remove_files(files.strays(self.real))  # we hold the lock: any left is a dead writer's
            yield
        finally:
            lock.release()

    def holding(self) -> contextlib.AbstractContextManager[None]:
        """Hold the writer lock without writing (waiting at most ``lock_timeout_s``): while it is
        held, every other writer waits, so a reader sees one state of the workspace across many
        reads (``db upgrade --from-workspace``). Reads only inside it: a write would wait for itself.
        In a folder nobody may write in, no lock is taken: no writer could take it either."""
        if self.real.parent.is_dir() and not os.access(self.real.parent, os.W_OK):
            return contextlib.nullcontext()
        return self._locked()

    @contextlib.contextmanager
    def writing(self, *, data: bool = True) -> Iterator[sqlite3.Connection]:
        """One SQLite transaction on the workspace file itself, under the writer lock.

        Every change to an existing workspace goes through here (accounts, the audit trail and
        cases use it too): the connection is in ``BEGIN IMMEDIATE``; leaving the block commits,
        an exception rolls back. Its cost does not grow with the workspace: a lock, a connection,
        the pages the change touches and the commit's journal. With ``data=False`` the block
        writes bookkeeping only (audit rows, accounts, API keys: nothing a layer, a run or a case
        is read from), and ``change_stamp`` does not move for it (``layers.store.changes``).
        """
        self._require()
        with self._locked(), gpkg.transaction(self.real, busy_timeout_s=self.lock_timeout_s) as con:
            if not data:
                changes.count_bookkeeping(con)
            yield con

    def change_stamp(self) -> tuple[int, ...]:
        """A stamp that moves when the layers, runs, shareable marks or cases may have changed,
        whoever changed them (GDAL, QGIS, a file copied over the workspace), and not for
        bookkeeping (``writing(data=False)``); ``(-1,)`` while there is no file. Cheap: one small
        read of the file's header (``layers.store.changes``)."""
        return changes.stamp(self.real)

    @contextlib.contextmanager
    def _staging(self) -> Iterator[Path]:
        """A staging GeoPackage path beside the workspace (not yet created), deleted afterwards."""
        fd, name = tempfile.mkstemp(prefix=files.temp_prefix(self.real), suffix=files.TEMP_SUFFIX,
                                    dir=self.real.parent)
        os.close(fd)
        stage = Path(name)
        stage.unlink()  # GDAL creates it
        try:
            yield stage
        finally:
            files.remove_files([stage] + [stage.with_name(stage.name + s) for s in files.SIDE_SUFFIXES])

    def write_layer(self, layer: str, gdf: gpd.GeoDataFrame, **meta: object) -> LayerInfo:
        """Replace one layer; see ``write_layers`` for the keyword arguments."""
        return self.write_layers([(layer, gdf)], **meta)[0]  # type: ignore[arg-type]

    def write_layers(self, items: list[tuple[str, gpd.GeoDataFrame]], *, source: str, licence: str = UNRECORDED,
                     accuracy_m: float | None = None, accuracy_note: str = "", synthetic: bool = False,
                     append: bool = False, replace_all: bool = False) -> list[LayerInfo]:
        """Store layers (EPSG:4326) with their provenance in ONE atomic change.

        With ``append``, features are added to the stored layer; an id already stored is refused.
        Without it each layer is replaced; a replacement with fewer than half the stored rows (or
        none) raises ``ReplaceRefused`` unless ``replace_all``. Every refusal leaves every file
        as it was. An append that rewrites a layer keeps an edit another program commits while it
        runs: it reads the layer again (up to ``RESTAGES`` times), and is refused (``WorkspaceError``)
        when the edits go on or the file is held in WAL mode (see the module docstring).
        """
        for layer, gdf in items:
            spec_for(layer)
            if gdf.crs is None or gdf.crs.to_epsg() != 4326:
                raise WorkspaceError(f"layer {layer!r} must be in EPSG:4326 before it is stored")
        files.refuse_unless_geopackage(self.path, self.real)
        if self.real.exists():  # refuse before taking the lock; checked again under it
            with contextlib.closing(gpkg.read_only(self.real)) as con:
                gpkg.check_write(con, items, self._name, source, append=append, replace_all=replace_all)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._locked(), self._staging() as stage:
            if not self.real.exists():
                return self._create(stage, items, now, source, licence, accuracy_m, accuracy_note, synthetic)
            for _ in range(RESTAGES):
                staged = staging.stage_layers(self.real, stage, items, append=append)
                with contextlib.suppress(_Moved), \
                        gpkg.transaction(self.real, busy_timeout_s=self.lock_timeout_s) as con:
                    self._unchanged_since(staged)
                    con.execute(f"ATTACH DATABASE ? AS {staging.STAGE}", (str(stage),))
                    gpkg.check_write(con, items, self._name, source, append=append, replace_all=replace_all)
                    infos = []
                    for layer, _ in items:
                        (staging.append if layer in staged.in_place else staging.replace)(con, layer)
                        gpkg.id_index(con, layer)
                        infos.append(LayerInfo(layer, source, licence, now, gpkg.feature_count(con, layer),
                                               accuracy_m, accuracy_note, synthetic))
                    _record_layers(con, infos)
                    return infos
            raise WorkspaceError(
                f"workspace {self._name}: another program kept editing layer {', '.join(sorted(staged.rewritten))}"
                f" while HgWatch appended to it ({RESTAGES} tries); nothing was changed; try again")

    def _unchanged_since(self, staged: staging.Staged) -> None:
        """Inside the write transaction (no other program can commit now): raise ``_Moved`` when another
        program committed since the stored rows of ``staged.rewritten`` were read, so that the change
        rolls back and they are read again; refuse when the file is in WAL mode (a live edit session of
        another program), where a commit cannot be seen."""
        if not staged.rewritten:
            return  # rows appended in place are inserted by this transaction: nothing stored was read
        now = gpkg.commit_mark(self.real)
        if now is None:
            raise WorkspaceError(
                f"workspace {self._name}: another program holds the file in an edit session (WAL mode), so HgWatch"
                f" cannot tell whether it changes layer {', '.join(sorted(staged.rewritten))} while this append"
                " rewrites it; nothing was changed. Save and stop that edit session (QGIS: Toggle Editing), then"
                " try again")
        if now != staged.read_at:
            raise _Moved

    def write_layer_chunks(self, layer: str, chunks: Iterable[gpd.GeoDataFrame], *, source: str | Callable[[], str],
                           licence: str = UNRECORDED, accuracy_m: float | None = None, accuracy_note: str = "",
                           synthetic: bool = False, append: bool = False, replace_all: bool = False) -> LayerInfo:
        """Store one layer given as chunks of rows (a file larger than memory) in ONE atomic change,
        as ``write_layers`` would store the chunks concatenated; a ``source`` given as a function is
        asked once the last chunk has been read (``Store.write_layer_chunks``).

        Each chunk is written into the staging GeoPackage as it comes (``layers.store.chunkwrite``:
        one GDAL session), so memory holds one chunk.
        An exception raised by ``chunks`` (a validation error found in the last chunk), a refused
        replacement or an id already stored (``append``) leaves every file as it was. Appending
        rows whose columns differ from the stored layer's (``staging.appends_in_place`` says no)
        is refused: it would need the whole layer in memory.
        """
        spec_for(layer)
        files.refuse_unless_geopackage(self.path, self.real)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._locked(), self._staging() as stage:
            raised: list[BaseException] = []
            try:
                rows = chunkwrite.write_chunks(stage, layer, _lonlat(layer, chunks, raised))
            except RuntimeError:
                if raised:  # pyogrio's Arrow stream turns what the chunks raised into "Error while accessing batch"
                    raise raised[0] from None
                raise
            source = source if isinstance(source, str) else source()
            if not self.real.exists():
                return self._create(stage, [(layer, rows)], now, source, licence, accuracy_m, accuracy_note,
                                    synthetic)[0]
            with contextlib.closing(gpkg.read_only(self.real)) as con:
                stored = layer in gpkg.stored_layers(con)
            if append and stored and not staging.appends_in_place(self.real, stage, layer):
                raise WorkspaceError(f"{layer}: the file's columns differ from the stored layer's, so its rows "
                                     "cannot be appended chunk by chunk; append it whole (--chunk-rows 0)")
            with gpkg.transaction(self.real, busy_timeout_s=self.lock_timeout_s) as con:
                con.execute(f"ATTACH DATABASE ? AS {staging.STAGE}", (str(stage),))
                if append and stored:
                    _refuse_staged_clash(con, layer, workspace=self._name, source=source)
                elif not append and not replace_all:
                    wanted = Replacement(layer, gpkg.layer_rows(con).get(layer, 0), rows)
                    if wanted.needs_replace_all:
                        raise gpkg.ReplaceRefused(self._name, source, [wanted])
                (staging.append if append and stored else staging.replace)(con, layer)
                gpkg.id_index(con, layer)
                info = LayerInfo(layer, source, licence, now, gpkg.feature_count(con, layer), accuracy_m,
                                 accuracy_note, synthetic)
                _record_layers(con, [info])
            return info

    def _create(self, stage: Path, items: Sequence[tuple[str, gpd.GeoDataFrame | int]], now: str, source: str,
                licence: str, accuracy_m: float | None, accuracy_note: str, synthetic: bool) -> list[LayerInfo]:
        """A new workspace: built whole in ``stage``, then renamed into place. An item given as a
        row count is a layer already written into ``stage`` (``write_layer_chunks``)."""
        infos = [LayerInfo(layer, source, licence, now, gdf if isinstance(gdf, int) else len(gdf), accuracy_m,
                           accuracy_note, synthetic) for layer, gdf in items]
        for layer, gdf in items:
            if not isinstance(gdf, int):
                gpkg.write_gdf(stage, layer, gdf)
        with contextlib.closing(sqlite3.connect(stage)) as con, con:
            for layer, _ in items:
                gpkg.id_index(con, layer)
            _record_layers(con, infos)
        files.refuse_unless_geopackage(stage, stage)  # never put anything else in its place
        gpkg.sync_file(stage)
        os.chmod(stage, 0o644)
        os.replace(stage, self.real)
        gpkg.sync_folder(self.real.parent)
        return infos

    def mark_shareable(self, layer: str, fields: list[str], *, undo: bool = False) -> tuple[str, ...]:
        """Mark columns of ``layer`` shareable (``undo``: unmark them) in one atomic change;
        returns the layer's marks afterwards. A restricted (person-like) name is refused
        (``services.exports.share_fields`` checks the rest and explains)."""
        refused = [f for f in fields if is_restricted_name(f)]
        if refused and not undo:
            raise WorkspaceError(f"{layer}: {refused} are restricted and cannot be marked shareable")
        self.info(layer)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self.writing() as con:
            sharing.write_marks(con, layer, fields, undo=undo, now=now)
        return self.info(layer).shareable

    def record_run(self, *, rules_hash: str, input_hashes: dict[str, str], counts: dict[str, int],
                   violation_ids: list[str]) -> int:
        """Append one rule run to an existing workspace; returns its run id."""
        with self.writing() as con:
            con.execute(_META_SQL)
            con.execute(_RUNS_SQL)
            cur = con.execute(
                f"INSERT INTO {RUNS_TABLE} (ran_at, rules_hash, input_hashes, counts,"
                f" violation_ids) VALUES (?,?,?,?,?)",
                (datetime.now(UTC).isoformat(timespec="seconds"), rules_hash,
                 json.dumps(input_hashes, sort_keys=True), json.dumps(counts, sort_keys=True),
                 json.dumps(sorted(violation_ids))),
            )
            return int(cur.lastrowid or 0)


def _lonlat(layer: str, chunks: Iterable[gpd.GeoDataFrame], raised: list[BaseException]) -> Iterator[gpd.GeoDataFrame]:
    """``chunks``, refused at the first one not in EPSG:4326; what the chunks raise (a validation
    error found in the last chunk, a Ctrl-C) is also kept in ``raised``: GDAL's Arrow writer, which
    reads them, reports it only as a RuntimeError without it."""
    try:
        for gdf in chunks:
            if gdf.crs is None or gdf.crs.to_epsg() != 4326:
                raise WorkspaceError(f"layer {layer!r} must be in EPSG:4326 before it is stored")
            yield gdf
    except BaseException as exc:
        raised.append(exc)
        raise


def _refuse_staged_clash(con: sqlite3.Connection, layer: str, *, workspace: str, source: str) -> None:
    """``gpkg.refuse_clash`` for rows staged in the attached stage: ``IdsStored`` naming the ids that
    are already stored (the same message), found by SQL without the rows in memory."""
    id_field = spec_for(layer).id_field
    if id_field not in {c[0] for c in gpkg._columns(con, layer)}:
        return
    column, table = '"' + id_field.replace('"', '""') + '"', '"' + layer.replace('"', '""') + '"'
    clash = {str(r[0]) for r in con.execute(
        f"SELECT DISTINCT {column} FROM main.{table} WHERE {column} IN (SELECT {column} FROM {staging.STAGE}.{table})")}
    if clash:
        raise gpkg.IdsStored(workspace, gpkg.source_file(source), layer, id_field, sorted(clash))


def _record_layers(con: sqlite3.Connection, infos: list[LayerInfo]) -> None:
    """Write the provenance of ``infos`` into ``hgw_layers`` (and make sure ``hgw_runs`` exists)."""
    con.execute(_META_SQL)
    con.execute(_RUNS_SQL)
    con.executemany(
        f"INSERT OR REPLACE INTO main.{META_TABLE} VALUES (?,?,?,?,?,?,?,?)",
        [(i.layer, i.source, i.licence, i.imported_at, i.rows, i.accuracy_m, i.accuracy_note, int(i.synthetic))
         for i in infos])
