"""The PostGIS store: the workspace in a PostgreSQL database, for a server shared by several desks.

It implements ``layers.store.base.Store`` exactly as the GeoPackage ``Workspace`` does. The
schema (``layers/store/migrations``, Alembic) has one table per layer type: ``fid`` for row order
(a replace keeps each stored id's fid and numbers other rows above every fid the layer had:
``layers.store.pgfids``), one typed column per catalogue field, ``extra`` (JSONB) for the file's other columns, ``geom``
(EPSG:4326, GiST-indexed); ``hgw_layers`` holds each layer's provenance and column layout,
``hgw_shareable`` the columns marked shareable, ``hgw_runs`` the rule runs and ``hgw_state`` a
counter bumped by every write transaction of data (for caches: ``change_stamp``), also by an
edit committed from outside the app (psql, QGIS: triggers, migration v0009), not by one of
bookkeeping (``writing(data=False)``: accounts, API keys; audit rows appended on their own).
``layers.store.pgframe`` turns frames into rows and back.
``upgrade_schema`` creates or updates it; a store refuses to read or write a database whose schema
is missing or at another revision, and says to run ``python cli.py db upgrade``.

Every write is one transaction: a refusal, an error or a killed writer (PostgreSQL rolls back a
transaction whose client is gone) leaves the previous state. Writers serialise on a transaction
advisory lock and wait at most ``lock_timeout_s`` seconds for it. Readers never wait: each read
sees one committed state (a read-only REPEATABLE READ transaction).

A partner's and a field coordinator's reads (``read_partner``, ``read_field``) run as the
PostgreSQL roles ``hgw_partner`` and ``hgw_field``, so that PostgreSQL itself keeps restricted
columns from them (views and row-level security, ``layers.store.pgroles``).

Connection pools are kept per URL for the life of the process (``layers.store.pgschema``).
"""
from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geo.errors import WorkspaceError
from geo.words import counted
from layers.catalogue import CATALOGUE, is_restricted_name, spec_for
from layers.store import pgfids, pgframe, pgroles, transfer
from layers.store.base import UNRECORDED, IdsStored, LayerInfo, Replacement, ReplaceRefused, Store, source_file
from layers.store.pgschema import WRITE_LOCK, connect, display_url, fetch_direct, head_revision, revision
from layers.store.visibility import partner_columns, shared_rows_postgres, wholly_restricted

LOCK_TIMEOUT_S = 60.0  # how long a writer waits for another writer to finish, seconds
_META_COLUMNS = 'layer, source, licence, imported_at, "rows", accuracy_m, accuracy_note, synthetic'


def copy_rows(con: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple[object, ...]]) -> None:
    """``COPY`` ``rows`` into ``table`` inside the open transaction of ``con``."""
    names = ", ".join(f'"{c}"' for c in columns)
    raw: Any = con.connection.driver_connection
    with raw.cursor() as cur, cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


def _fetch(con: Connection, sql: str, params: dict[str, object] | None = None) -> list[tuple[Any, ...]]:
    """The rows of ``sql`` (``%(name)s`` parameters) in the open transaction of ``con``, as psycopg's
    own tuples in its binary format: a layer read makes no SQLAlchemy Row per record. A database
    error is raised as SQLAlchemy raises it for a statement it runs (a refused grant: ``ProgrammingError``)."""
    import psycopg

    raw: Any = con.connection.driver_connection
    with raw.cursor(binary=True) as cur:
        try:
            cur.execute(sql, params)
        except psycopg.Error as exc:
            raise sa.exc.DBAPIError.instance(sql, params, exc, psycopg.Error) from exc
        return list(cur.fetchall())


def _in_layout(typed: Sequence[str], layout: Sequence[Sequence[str]]) -> list[str]:
    """The typed columns ``typed`` that the column layout ``layout`` holds: a read selects only those.
    A frame holds the layout's columns alone, and a layer's table has a typed column for every
    catalogue field (63 for the sites), most of them NULL for a file that gave a few: selecting them
    all sent, and made a Python None of, every one of those cells (200,000 sites of 2 columns:
    0.87 s to fetch instead of 0.30 s)."""
    held = {str(item[0]) for item in layout}
    return [c for c in typed if c in held]


class PostgisStore:
    """The workspace in the PostGIS database at ``url`` (``postgresql://user:pw@host/db``).

    Parameters
    ----------
    url : the database URL; the password never appears in ``path`` or in a message.
    lock_timeout_s : how long a write waits for another writer, in seconds.
    """

    def __init__(self, url: str, *, lock_timeout_s: float = LOCK_TIMEOUT_S) -> None:
        self.url = url
        self.path = display_url(url)
        self.lock_timeout_s = lock_timeout_s

    def _check_schema(self, con: Connection) -> None:
        found = revision(con)
        if found is None:
            raise WorkspaceError(f"workspace {self.path} has no HgWatch schema; create it with"
                                 " `python cli.py --database-url URL db upgrade`")
        if found != head_revision():
            raise WorkspaceError(f"workspace {self.path} has schema revision {found}; this HgWatch needs"
                                 f" {head_revision()}: run `python cli.py --database-url URL db upgrade`")

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A read-only transaction that sees one committed state; checks the schema first."""
        with connect(self.url, isolation_level="REPEATABLE READ", postgresql_readonly=True) as con, con.begin():
            self._check_schema(con)
            yield con

    @contextlib.contextmanager
    def _writing(self, *, data: bool = True) -> Iterator[Connection]:
        """One transaction holding the writers' lock; committed only if the block succeeds. It raises
        ``hgw_state.generation`` unless it writes bookkeeping only (``data=False``: accounts, keys)."""
        with connect(self.url) as con, con.begin():
            self._check_schema(con)
            con.execute(sa.text(f"SET LOCAL lock_timeout = '{int(self.lock_timeout_s * 1000)}ms'"))
            try:
                con.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK})
            except sa.exc.OperationalError as exc:
                if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
                    raise
                raise WorkspaceError(
                    f"workspace {self.path} is locked by another writer; tried for {self.lock_timeout_s:g} s."
                    " Wait for the other import or rule run to finish, then try again") from None
            con.execute(sa.text("SET LOCAL lock_timeout = 0"))
            yield con
            if data:
                con.execute(sa.text("UPDATE hgw_state SET generation = generation + 1"))

    def reading(self) -> contextlib.AbstractContextManager[Connection]:
        """A read-only transaction on the checked schema (for the accounts table)."""
        return self._reading()

    def writing(self, *, data: bool = True) -> contextlib.AbstractContextManager[Connection]:
        """One write transaction under the writers' lock (accounts, keys, cases); ``data=False``: it
        writes bookkeeping only (accounts, keys) and ``change_stamp`` does not move for it."""
        return self._writing(data=data)

    # ----------------------------------------------------------------- reading
    def exists(self) -> bool:
        """True when the database holds the HgWatch schema (a database it cannot reach is an error)."""
        with connect(self.url) as con:
            return revision(con) is not None

    def generation(self) -> int:
        """A counter that every data change increases, the app's or one committed from outside it
        (not bookkeeping: accounts, keys, audit rows appended on their own): a cache of what was
        read is stale when it moved; -1 without the schema. One statement on the process's own
        connection (``pgschema.fetch_direct``; the schema revision is not checked here: every
        read checks it)."""
        import psycopg

        try:
            found = fetch_direct(self.url, "SELECT generation FROM hgw_state")
        except psycopg.errors.UndefinedTable:  # no schema yet
            return -1
        return -1 if found is None else int(found[0])

    def change_stamp(self) -> tuple[int, ...]:
        """``(generation(),)``: moves when the layers, runs, shareable marks or cases may have
        changed, not for bookkeeping; ``(-1,)`` without the schema."""
        return (self.generation(),)

    @staticmethod
    def _infos(con: Connection) -> dict[str, LayerInfo]:
        marks: dict[str, list[str]] = {}
        for layer, field in con.execute(sa.text("SELECT layer, field FROM hgw_shareable ORDER BY layer, field")):
            marks.setdefault(layer, []).append(field)
        rows = con.execute(sa.text(f"SELECT {_META_COLUMNS} FROM hgw_layers")).all()
        return {r[0]: LayerInfo(r[0], r[1], r[2], r[3], int(r[4]), r[5], r[6], bool(r[7]),
                                tuple(marks.get(r[0], ()))) for r in rows if r[0] in CATALOGUE}

    def layers(self) -> list[LayerInfo]:
        """Provenance of every layer the database holds, in catalogue order."""
        with self._reading() as con:
            held = self._infos(con)
        return [held[layer] for layer in CATALOGUE if layer in held]

    def has(self, layer: str) -> bool:
        """True when the database holds layer type ``layer``."""
        return self.exists() and any(i.layer == layer for i in self.layers())

    def info(self, layer: str) -> LayerInfo:
        """Provenance of ``layer``; raises WorkspaceError when absent."""
        for info in self.layers():
            if info.layer == layer:
                return info
        raise WorkspaceError(f"workspace {self.path} holds no {layer!r} layer")

    @staticmethod
    def _typed(con: Connection, layer: str) -> list[str]:
        """The catalogue fields of ``layer`` that have a typed column in its table, in catalogue order."""
        present = set(con.execute(sa.text(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = :t"), {"t": layer}).scalars())
        return [f for f in spec_for(layer).field_names if f in present]

    def read(self, layer: str, columns: Collection[str] | None = None, *,
             shared_only: bool = False) -> gpd.GeoDataFrame:
        """The layer as a GeoDataFrame in EPSG:4326, with its declared dtypes, in stored order.

        With ``columns`` only those attribute columns are selected from the database (a typed
        column not named is never read; of ``extra`` only the named keys), so a column a reader
        may not see never leaves PostgreSQL; with ``shared_only`` no row about a person does
        (``visibility.shared_rows_postgres``, the partner views' condition).
        """
        spec = spec_for(layer)
        with self._reading() as con:
            found = con.execute(sa.text("SELECT columns FROM hgw_layers WHERE layer = :l"), {"l": layer}).all()
            if not found:
                raise WorkspaceError(f"workspace {self.path} holds no {layer!r} layer")
            layout = found[0][0]
            typed = self._typed(con, layer)
            shared = shared_rows_postgres(layer, typed, f'"{layer}"') if shared_only else None
            if columns is not None:
                wanted = set(columns)
                layout = [item for item in layout if item[0] in wanted]
            typed = _in_layout(typed, layout)
            keys = [str(item[0]) for item in layout if item[0] not in typed]
            # of ``extra`` only the keys wanted; none at all when every column has its own (no JSON to send
            # and parse per row), and NULL for a row without any (psycopg parses the others)
            extra = "NULL" if not keys else "NULLIF(extra, '{}'::jsonb)" if columns is None else \
                "(SELECT jsonb_object_agg(key, value) FROM jsonb_each(extra) WHERE key = ANY(%(keys)s))"
            names = "".join(f'"{c}", ' for c in typed)
            where = f" WHERE {shared}" if shared else ""
            rows = _fetch(con, f'SELECT {names}{extra}, ST_AsBinary(geom) FROM "{layer}"{where} ORDER BY fid',
                          {"keys": keys})
        return pgframe.frame(rows, layout, typed, spec)

    def _layout(self, con: Connection, layer: str) -> list[list[str]]:
        found = con.execute(sa.text("SELECT columns FROM hgw_layers WHERE layer = :l"), {"l": layer}).all()
        if not found:
            raise WorkspaceError(f"workspace {self.path} holds no {layer!r} layer")
        return [list(item) for item in found[0][0]]

    def read_partner(self, layer: str) -> gpd.GeoDataFrame:
        """The layer as a partner may see it, read by PostgreSQL role ``hgw_partner`` from view
        ``partner.<layer>`` (``layers.store.pgroles``): the columns, order and dtypes the
        GeoPackage read of ``visibility.partner_columns`` gives. A wholly restricted layer is
        refused (``WorkspaceError``): it has no partner view."""
        spec = spec_for(layer)
        if wholly_restricted(layer):
            raise WorkspaceError(f"layer {layer!r} is restricted: a partner does not see it")
        with self._reading() as con:
            layout = self._layout(con, layer)
            seen = set(partner_columns(layer, [n for n, _ in layout], pgroles.marks(con).get(layer, ())))
            layout = [item for item in layout if item[0] in seen]
            typed = [c for c in self._typed(con, layer) if c in seen]
            pgroles.as_partner(con)
            names = "".join(f'p."{c}", ' for c in typed)
            extra = "NULLIF(p.extra, '{}'::jsonb)" if any(item[0] not in typed for item in layout) else "NULL"
            rows = _fetch(con, f'SELECT {names}{extra}, ST_AsBinary(p.geom) FROM "{pgroles.SCHEMA}"."{layer}" p'
                               " ORDER BY p.fid")
        return pgframe.frame(rows, layout, typed, spec)

    def read_field(self, layer: str, areas: Collection[str]) -> gpd.GeoDataFrame:
        """The layer as a field coordinator of admin ``areas`` may see it, read by PostgreSQL role
        ``hgw_field``: every row from the partner view, the other columns from the table, whose
        row-level security shows ``hgw_field`` only the rows of ``areas`` (elsewhere those columns
        come back empty); a row about a person, which the partner view leaves out, comes from the
        table alone, so only in ``areas``. A wholly restricted layer is refused (``WorkspaceError``):
        ``hgw_field`` has no grant on it."""
        spec = spec_for(layer)
        if wholly_restricted(layer):
            raise WorkspaceError(f"layer {layer!r} is restricted: a field coordinator does not see it")
        with self._reading() as con:
            layout = self._layout(con, layer)
            typed = _in_layout(self._typed(con, layer), layout)
            schema = pgroles.base_schema(con)
            seen = set(partner_columns(layer, [n for n, _ in layout], pgroles.marks(con).get(layer, ())))
            pgroles.as_field(con, areas)
            names = "".join(f'CASE WHEN p.fid IS NULL THEN b."{c}" ELSE p."{c}" END, ' if c in seen else f'b."{c}", '
                            for c in typed)
            rows = _fetch(con, f"SELECT {names}NULLIF(CASE WHEN b.fid IS NULL THEN p.extra ELSE b.extra END, '{{}}'::jsonb),"
                               " ST_AsBinary(CASE WHEN p.fid IS NULL THEN b.geom ELSE p.geom END)"
                               f' FROM "{pgroles.SCHEMA}"."{layer}" p'
                               f' FULL JOIN "{schema}"."{layer}" b ON b.fid = p.fid ORDER BY coalesce(p.fid, b.fid)')
        return pgframe.frame(rows, layout, typed, spec)

    def columns(self, layer: str) -> list[str]:
        """The attribute columns of stored ``layer``, as stored (no geometry)."""
        spec_for(layer)
        with self._reading() as con:
            found = con.execute(sa.text("SELECT columns FROM hgw_layers WHERE layer = :l"), {"l": layer}).all()
        if not found:
            raise WorkspaceError(f"workspace {self.path} holds no {layer!r} layer")
        return [str(name) for name, _ in found[0][0]]

    def runs(self, limit: int = 2, *, with_ids: bool = True) -> list[dict[str, object]]:
        """The last ``limit`` rule runs, newest first, with counts and (``with_ids``) violation ids decoded."""
        if not self.exists():
            return []
        with self._reading() as con:
            rows = con.execute(sa.text(
                f"SELECT run_id, ran_at, rules_hash, input_hashes, counts{', violation_ids' if with_ids else ''}"
                " FROM hgw_runs ORDER BY run_id DESC LIMIT :n"), {"n": limit}).all()
        return [{"run_id": int(r[0]), "ran_at": r[1], "rules_hash": r[2],
                 "input_hashes": dict(sorted(r[3].items())), "counts": dict(sorted(r[4].items())),
                 **({"violation_ids": list(r[5])} if with_ids else {})} for r in rows]

    def replacement(self, layer: str, incoming: int) -> Replacement:
        """What replacing ``layer`` with ``incoming`` rows would do. Reads only."""
        spec_for(layer)
        if not self.exists():
            return Replacement(layer, 0, incoming)
        with self._reading() as con:
            return Replacement(layer, self._stored(con, [layer]).get(layer, 0), incoming)

    @staticmethod
    def _stored(con: Connection, layers: Sequence[str] | None = None) -> dict[str, int]:
        """Rows of each layer held (counted, so that rows added from outside count too): of
        ``layers`` only when given (a write counts what it writes, not the whole database)."""
        held = con.execute(sa.text("SELECT layer FROM hgw_layers")).scalars().all()
        return {layer: int(con.execute(sa.text(f'SELECT count(*) FROM "{layer}"')).scalar_one())
                for layer in held if layer in CATALOGUE and (layers is None or layer in layers)}

    # ----------------------------------------------------------------- writing
    def write_layer(self, layer: str, gdf: gpd.GeoDataFrame, **meta: object) -> LayerInfo:
        """Replace one layer; see ``write_layers`` for the keyword arguments."""
        return self.write_layers([(layer, gdf)], **meta)[0]  # type: ignore[arg-type]

    def write_layers(self, items: list[tuple[str, gpd.GeoDataFrame]], *, source: str, licence: str = UNRECORDED,
                     accuracy_m: float | None = None, accuracy_note: str = "", synthetic: bool = False,
                     append: bool = False, replace_all: bool = False) -> list[LayerInfo]:
        """Store layers (EPSG:4326) with their provenance in ONE transaction.

        With ``append``, features are added to the stored layer; an id already stored is refused.
        Without it each layer is replaced; a replacement with fewer than half the stored rows (or
        none) raises ``ReplaceRefused`` unless ``replace_all``. A refusal changes nothing.
        """
        for layer, gdf in items:
            spec_for(layer)
            if gdf.crs is None or gdf.crs.to_epsg() != 4326:
                raise WorkspaceError(f"layer {layer!r} must be in EPSG:4326 before it is stored")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._writing() as con:
            stored = self._stored(con, [layer for layer, _ in items])
            if append:
                for layer, gdf in items:
                    if layer in stored:
                        self._refuse_clash(con, layer, gdf, source)
            elif not replace_all:
                shrinking = [r for r in (Replacement(layer, stored.get(layer, 0), len(gdf)) for layer, gdf in items)
                             if r.needs_replace_all]
                if shrinking:
                    raise ReplaceRefused(self.path, source, shrinking)
            infos = []
            for layer, gdf in items:
                added = append and layer in stored
                rows = self._put(con, layer, gdf, append=added) + (stored[layer] if added else 0)
                info = LayerInfo(layer, source, licence, now, rows, accuracy_m, accuracy_note, synthetic)
                self._record_info(con, info)
                infos.append(info)
        return infos

    def write_layer_chunks(self, layer: str, chunks: Iterable[gpd.GeoDataFrame], *, source: str | Callable[[], str],
                           licence: str = UNRECORDED, accuracy_m: float | None = None, accuracy_note: str = "",
                           synthetic: bool = False, append: bool = False, replace_all: bool = False) -> LayerInfo:
        """Store one layer given as chunks of rows (a file larger than memory) in ONE transaction, as
        ``write_layers`` stores the chunks concatenated; memory holds one chunk. A ``source`` given as
        a function is asked once the last chunk has been read (``Store.write_layer_chunks``).

        Each chunk is copied into the layer's table as it comes. The rows already stored are checked
        only when every chunk has been read, as ``write_layers`` checks them before writing, so the
        refusals and their order are a whole write's: an exception raised by ``chunks`` (a validation
        error found in the last chunk), then ids already stored (``append``: every one of them, in
        one message), then a replacement that drops most rows. A refusal, an error or a chunk whose
        columns differ from the first chunk's (a whole write could store them differently) rolls
        the transaction back: the previous state stays.
        """
        spec = spec_for(layer)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._writing() as con:
            stored = self._stored(con, [layer])
            added = append and layer in stored
            typed = self._typed(con, layer)
            last_fid = con.execute(sa.text(f'SELECT coalesce(max(fid), 0) FROM "{layer}"')).scalar_one()
            pgfids.start(con, layer, keep=not added)
            if not added:
                con.execute(sa.text(f'DELETE FROM "{layer}"'))
            layout: list[list[str]] | None = None
            rows, clash = 0, set()
            for gdf in chunks:
                if gdf.crs is None or gdf.crs.to_epsg() != 4326:
                    raise WorkspaceError(f"layer {layer!r} must be in EPSG:4326 before it is stored")
                if added:
                    clash |= set(self._stored_ids(con, layer, gdf, up_to_fid=last_fid))
                prepared = pgframe.prepare(gdf, spec, typed)
                if layout is None:
                    layout = prepared.columns
                elif prepared.columns != layout:
                    raise WorkspaceError(f"{layer}: the columns of a chunk ({prepared.columns}) differ from the first "
                                         f"chunk's ({layout}); import the file whole (--chunk-rows 0)")
                copy_rows(con, layer, *pgfids.with_fids(prepared, pgfids.assign(con, layer, prepared, keep=not added)))
                rows += len(prepared.rows)
            if layout is None:
                raise WorkspaceError(f"{layer}: the file holds no records to store")
            source = source if isinstance(source, str) else source()
            if clash:
                raise self._clash_error(layer, sorted(clash), source)
            wanted = Replacement(layer, stored.get(layer, 0), rows)
            if not append and not replace_all and wanted.needs_replace_all:
                raise ReplaceRefused(self.path, source, [wanted])
            self._record_columns(con, layer, layout, append=added)
            info = LayerInfo(layer, source, licence, now, rows + (stored[layer] if added else 0), accuracy_m,
                             accuracy_note, synthetic)
            self._record_info(con, info)
        return info

    def _put(self, con: Connection, layer: str, gdf: gpd.GeoDataFrame, *, append: bool) -> int:
        """Write ``gdf`` into ``layer``'s table (after the stored rows when ``append``); the rows
        written (the caller adds the rows it counted before an append: no second count)."""
        prepared = pgframe.prepare(gdf, spec_for(layer), self._typed(con, layer))
        pgfids.start(con, layer, keep=not append)
        if not append:
            con.execute(sa.text(f'DELETE FROM "{layer}"'))
        copy_rows(con, layer, *pgfids.with_fids(prepared, pgfids.assign(con, layer, prepared, keep=not append)))
        self._record_columns(con, layer, prepared.columns, append=append)
        return len(prepared.rows)

    @staticmethod
    def _record_columns(con: Connection, layer: str, columns: list[list[str]], *, append: bool) -> None:
        """Keep the layer's column layout in ``hgw_layers`` (merged with the stored one after an append)."""
        if append:
            old = con.execute(sa.text("SELECT columns FROM hgw_layers WHERE layer = :l"), {"l": layer}).scalar_one()
            columns = pgframe.merged(old, columns)
        con.execute(sa.text(
            "INSERT INTO hgw_layers (layer, source, licence, imported_at, \"rows\", columns)"
            " VALUES (:l, '', '', '', 0, CAST(:c AS jsonb)) ON CONFLICT (layer) DO UPDATE SET columns = EXCLUDED.columns"),
            {"l": layer, "c": json.dumps(columns)})

    @staticmethod
    def _record_info(con: Connection, info: LayerInfo) -> None:
        con.execute(sa.text(
            "UPDATE hgw_layers SET source = :s, licence = :li, imported_at = :t, \"rows\" = :n,"
            " accuracy_m = :a, accuracy_note = :note, synthetic = :syn WHERE layer = :l"),
            {"l": info.layer, "s": info.source, "li": info.licence, "t": info.imported_at, "n": info.rows,
             "a": info.accuracy_m, "note": info.accuracy_note, "syn": info.synthetic})

    def _refuse_clash(self, con: Connection, layer: str, gdf: gpd.GeoDataFrame, source: str) -> None:
        """``IdsStored`` when an id of ``gdf`` (from ``source``) is already stored in ``layer`` (the
        GeoPackage's message)."""
        clash = self._stored_ids(con, layer, gdf)
        if clash:
            raise self._clash_error(layer, clash, source)

    @staticmethod
    def _stored_ids(con: Connection, layer: str, gdf: gpd.GeoDataFrame, *, up_to_fid: int | None = None) -> list[str]:
        """The ids of ``gdf`` that ``layer`` already stores (in rows up to ``up_to_fid`` when given), sorted."""
        id_field = spec_for(layer).id_field
        new = sorted({str(v) for v in gdf[id_field].dropna()}) if id_field in gdf.columns else []
        params: dict[str, object] = {"ids": new}
        if up_to_fid is not None:
            params["fid"] = up_to_fid
        before = "" if up_to_fid is None else " AND fid <= :fid"
        return list(con.execute(sa.text(
            f'SELECT DISTINCT "{id_field}" FROM "{layer}" WHERE "{id_field}" = ANY(:ids){before} ORDER BY 1'),
            params).scalars().all())

    def _clash_error(self, layer: str, clash: list[str], source: str) -> IdsStored:
        return IdsStored(self.path, source_file(source), layer, spec_for(layer).id_field, clash)

    def mark_shareable(self, layer: str, fields: list[str], *, undo: bool = False) -> tuple[str, ...]:
        """Mark columns of ``layer`` shareable (``undo``: unmark them) in one transaction; returns
        the layer's marks afterwards. A restricted (person-like) name is refused."""
        refused = [f for f in fields if is_restricted_name(f)]
        if refused and not undo:
            raise WorkspaceError(f"{layer}: {refused} are restricted and cannot be marked shareable")
        self.info(layer)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._writing() as con:
            for field in fields:
                con.execute(sa.text("DELETE FROM hgw_shareable WHERE layer = :l AND field = :f"),
                            {"l": layer, "f": field})
                if not undo:
                    con.execute(sa.text("INSERT INTO hgw_shareable VALUES (:l, :f, :t)"),
                                {"l": layer, "f": field, "t": now})
            pgroles.refresh(con, [layer], tables=False)  # the partner view lets out exactly the marked columns
        return self.info(layer).shareable

    def record_run(self, *, rules_hash: str, input_hashes: dict[str, str], counts: dict[str, int],
                   violation_ids: list[str]) -> int:
        """Append one rule run; returns its run id."""
        with self._writing() as con:
            return int(con.execute(sa.text(
                "INSERT INTO hgw_runs (ran_at, rules_hash, input_hashes, counts, violation_ids)"
                " VALUES (:t, :h, CAST(:i AS jsonb), CAST(:c AS jsonb), CAST(:v AS jsonb)) RETURNING run_id"),
                {"t": datetime.now(UTC).isoformat(timespec="seconds"), "h": rules_hash,
                 "i": json.dumps(input_hashes), "c": json.dumps(counts),
                 "v": json.dumps(sorted(violation_ids))}).scalar_one())

    # ----------------------------------------------------------------- copying a workspace in
    def _refuse_unless_empty(self, con: Connection, other: Store) -> None:
        """WorkspaceError naming what the database holds, kind by kind (layers with their rows, runs,
        accounts, keys, cases and their comments, visits and photos, submission keys, audit rows),
        when it holds anything a copy of ``other`` would mix with: the operator then knows what to clear."""
        layers = self._stored(con)
        counts = {"run": int(con.execute(sa.text("SELECT count(*) FROM hgw_runs")).scalar_one())}
        counts |= {transfer.KINDS[t]: n for t, n in transfer.held(con).items()}
        rows = ", ".join(f"{k}: {counted(n, 'row')}" for k, n in sorted(layers.items()))
        held = [f"{counted(len(layers), 'layer')} ({rows})"] if layers else []
        held += [counted(n, kind) for kind, n in counts.items() if n]
        if held:
            raise WorkspaceError(
                f"workspace {self.path} already holds {', '.join(held)}; a move needs a database of its own"
                " (createdb a new one and give its URL, or empty this one of all of these first):"
                f" copy {other.path} into an empty database, nothing was copied")

    def copy_from(self, other: Store, also: Callable[[sa.Connection], object] | None = None) -> tuple[list[LayerInfo], int]:
        """Copy every layer (with its provenance, import time included) and every run of the store
        ``other`` into this empty database, in one transaction; returns the layers and the number
        of runs copied. A database that already holds anything (``_refuse_unless_empty``) is refused, unchanged."""
        infos = other.layers() if other.exists() else []
        frames = {i.layer: other.read(i.layer) for i in infos}
        runs = list(reversed(other.runs(limit=2**62))) if infos else []
        with self._writing() as con:
            self._refuse_unless_empty(con, other)
            for info in infos:
                rows = self._put(con, info.layer, frames[info.layer], append=False)
                self._record_info(con, LayerInfo(**{**info.__dict__, "rows": rows}))
                for field in info.shareable:
                    con.execute(sa.text("INSERT INTO hgw_shareable VALUES (:l, :f, :t)"),
                                {"l": info.layer, "f": field, "t": info.imported_at})
            for run in runs:
                con.execute(sa.text(
                    "INSERT INTO hgw_runs (run_id, ran_at, rules_hash, input_hashes, counts, violation_ids)"
                    " VALUES (:r, :t, :h, CAST(:i AS jsonb), CAST(:c AS jsonb), CAST(:v AS jsonb))"),
                    {"r": run["run_id"], "t": run["ran_at"], "h": run["rules_hash"],
                     "i": json.dumps(run["input_hashes"]), "c": json.dumps(run["counts"]),
                     "v": json.dumps(run["violation_ids"])})
            pgroles.refresh(con)
            if runs:
                con.execute(sa.text("SELECT setval(pg_get_serial_sequence('hgw_runs', 'run_id'),"
                                    " (SELECT max(run_id) FROM hgw_runs))"))
            if also is not None:  # more tables copied in the same transaction (layers.store.transfer)
                also(con)
        return [LayerInfo(**{**i.__dict__, "rows": len(frames[i.layer])}) for i in infos], len(runs)

