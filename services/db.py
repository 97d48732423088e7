"""``python cli.py db upgrade``: create or update the PostGIS schema, and move a GeoPackage
workspace into it.

The schema is managed by Alembic migrations (``layers/store/migrations``), run here through
``layers.store.pgschema.upgrade_schema``; nobody runs the ``alembic`` command. With a GeoPackage
workspace to copy, every layer (rows, columns, provenance with its import time, shareable marks)
and every recorded rule run goes into the database in one transaction, so that ``check``,
``diff`` and the dashboard answer the same on either back end. The same transaction carries the
accounts (password hashes included), API keys, cases with their comments, visits, photos and
imported submission keys, and the audit trail verbatim (``layers.store.transfer``); the source
trail is verified first, and one audit row then records the move. A database already holding
data is refused, unchanged.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from geo.errors import InputError, WorkspaceError
from geo.words import counted
from layers.store import audit, files, gpkg, transfer
from layers.store.base import LayerInfo, Store
from layers.store.pgschema import display_url, is_database_url, upgrade_schema
from layers.store.postgis import PostgisStore
from layers.store.workspace import Workspace
from services import outputs


@dataclass(frozen=True)
class Upgrade:
    """What ``upgrade`` did: the revisions before (None: no schema) and after, and what was copied."""

    database: str
    before: str | None
    after: str
    copied_from: str | None = None
    layers: list[LayerInfo] = field(default_factory=list)
    runs: int = 0
    tables: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """One line per step, for the command line."""
        if self.before is None:
            out = [f"created the HgWatch schema (revision {self.after}) in {self.database}"]
        elif self.before == self.after:
            out = [f"the schema of {self.database} is already at revision {self.after}"]
        else:
            out = [f"upgraded the schema of {self.database} from revision {self.before} to {self.after}"]
        if self.copied_from is not None:
            out += [f"copied {i.layer}: {i.rows} rows ({i.source})" for i in self.layers]
            out.append("copied " + ", ".join(counted(n, transfer.KINDS[t]) for t, n in self.tables.items()))
            out.append(f"copied {counted(len(self.layers), 'layer')} and {counted(self.runs, 'recorded run')}"
                       f" from {self.copied_from}")
        return out


def upgrade(database_url: str | None, from_workspace: str | os.PathLike[str] | None = None,
            who: str = "local") -> Upgrade:
    """Bring the schema at ``database_url`` to the newest revision, then copy the GeoPackage
    ``from_workspace`` into it when given.

    Raises
    ------
    InputError
        No database URL, or one that is not ``postgresql://``.
    WorkspaceError
        The database cannot be reached, the upgrade failed (nothing changed), the workspace
        cannot be read, its audit trail is broken or a photo does not match its SHA-256, or the
        database already holds layers, runs, accounts, keys, cases or audit rows (nothing copied).
    """
    if not database_url:
        raise InputError("db upgrade needs a PostgreSQL database: give --database-url postgresql://USER@HOST/DB"
                         " or set HGWATCH_DATABASE_URL")
    if not is_database_url(database_url):
        raise InputError(f"--database-url {database_url!r}: expected a URL starting with postgresql://")
    if from_workspace is None:
        before, after = upgrade_schema(database_url)
        return Upgrade(display_url(database_url), before, after)
    if not Path(from_workspace).exists():
        raise InputError(f"--from-workspace {from_workspace}: no such file; give the GeoPackage workspace to move"
                         " (nothing was copied)")
    source = Workspace(from_workspace)
    source.layers()  # refuse an unreadable or missing workspace before touching the database
    with source.holding():  # its writers wait: the copy is one state of it (an app or a cron check may run)
        return _move(database_url, source, who)


def _move(database_url: str, source: Workspace, who: str) -> Upgrade:
    """``upgrade`` with a workspace to copy, whose writer lock the caller holds."""
    tables = transfer.read(source)  # verifies the audit chain and the photos first
    before, after = upgrade_schema(database_url)
    done = Upgrade(display_url(database_url), before, after)
    copied: dict[str, int] = {}
    where = str(source.path)

    def also(con: sa.Connection) -> None:  # the database is empty: ``copy_from`` refused it otherwise
        copied.update(transfer.copy_into(con, tables))
        audit.append_in(con, who=who, action="db upgrade", target=where,
                        after={"database": done.database, "copied": {**copied, "hgw_runs": n_runs(con)}})

    infos, runs = PostgisStore(database_url).copy_from(source, also)
    return Upgrade(done.database, before, after, where, infos, runs, copied)


def n_runs(con: sa.Connection) -> int:
    """Runs in the database at ``con``."""
    return int(con.execute(sa.text("SELECT count(*) FROM hgw_runs")).scalar_one())


@dataclass(frozen=True)
class Backup:
    """What ``backup`` wrote: the workspace, the copy, its size in bytes and its audit rows."""

    source: str
    out: str
    size: int
    audit_rows: int

    def lines(self) -> list[str]:
        """One line for the command line."""
        return [f"backed up {self.source} to {self.out}: {self.size} bytes, integrity checked,"
                f" audit trail of {counted(self.audit_rows, 'row')} whole"]


def backup(store: Store, out: str | os.PathLike[str]) -> Backup:
    """Copy the GeoPackage workspace ``store`` to ``out`` as one consistent snapshot, safe while
    the app and other commands write to it (SQLite's online backup, under a read lock; a plain
    ``cp`` of a file being written can copy half a commit: 7 of 474 copies taken while the trail
    was written were "malformed", walkthrough HA). The copy is checked (``PRAGMA
    integrity_check`` and its audit chain) before it replaces ``out``, atomically.

    Raises
    ------
    InputError
        ``store`` is a PostGIS database (back it up with ``pg_dump -Fc``), ``out`` is not a
        ``.gpkg`` a writer can create, or it names the workspace itself.
    WorkspaceError
        The workspace is missing or unreadable, or the copy failed its checks (``out`` unchanged).
    """
    if not isinstance(store, Workspace):
        raise InputError(f"db backup copies a GeoPackage workspace; {store.path} is a PostGIS database:"
                         " back it up with `pg_dump -Fc`, restore with `pg_restore`, then run `db upgrade`")
    target = outputs.output_file(out, flag="--out", suffixes=(".gpkg",))
    if not store.exists():
        raise WorkspaceError(f"workspace {store.path}: no such file; nothing to back up")
    files.refuse_unless_geopackage(store.path, store.real)
    if target.resolve() == store.real:
        raise InputError(f"--out {target}: is the workspace itself; name another file")
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    part = Path(name)
    try:
        try:
            with contextlib.closing(gpkg.read_only(store.real)) as src, \
                    contextlib.closing(sqlite3.connect(part)) as dst:
                src.backup(dst)  # one step: every page under one read lock, so one commit's state
                dst.execute("PRAGMA journal_mode = DELETE")  # a copy of a file QGIS holds in WAL: no -wal beside it
            with contextlib.closing(sqlite3.connect(f"{part.as_uri()}?mode=ro", uri=True)) as con:
                checked = [str(r[0]) for r in con.execute("PRAGMA integrity_check").fetchall()]
                has_trail = con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                        (audit.TABLE,)).fetchone() is not None
                trail = [audit.AuditRow(int(r[0]), *(str(v) for v in r[1:])) for r in con.execute(
                    f"SELECT {audit.COLUMNS} FROM {audit.TABLE} ORDER BY seq").fetchall()] if has_trail else []
        except sqlite3.DatabaseError as exc:
            raise files.unreadable(str(store.path), exc) from None
        if checked != ["ok"]:
            raise WorkspaceError(f"workspace {store.path}: the copy failed SQLite's integrity check ({checked[0]});"
                                 f" {target} was not written")
        broken = audit.first_break(trail)
        if broken is not None:
            raise WorkspaceError(f"workspace {store.path}: the audit trail is broken at {broken[1]};"
                                 f" {target} was not written (run `cli.py audit verify`)")
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
    return Backup(str(store.path), str(target), target.stat().st_size, len(trail))
