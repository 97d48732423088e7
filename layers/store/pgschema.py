"""A PostGIS store's database: its URL, the process's connection pools and the schema revision.

``upgrade_schema(url)`` creates or updates the HgWatch schema with the Alembic migrations in
``layers/store/migrations`` (run here, in one transaction; nobody calls the ``alembic`` command).
URLs are ``postgresql://user:password@host:port/database`` (``?host=/socket/dir`` for a Unix
socket); the password never appears in a message.
"""
from __future__ import annotations

import ast
import contextlib
import getpass
import os
import threading
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, LiteralString

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from geo.errors import WorkspaceError
from layers.store import pgroles
from layers.store.open import is_database_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "hgw_schema_version"
WRITE_LOCK = 0x4867_5761_7463_68  # the transaction advisory lock every writer takes ("HgWatch")
_engines: dict[str, Engine] = {}
_direct: dict[tuple[str, int], psycopg.Connection[tuple[Any, ...]]] = {}  # (url, process id): ``fetch_direct``
_engines_lock = threading.Lock()


def _driver_url(url: str) -> sa.URL:
    if not is_database_url(url):
        raise WorkspaceError(f"database URL {url!r}: expected one starting with postgresql://")
    try:
        return sa.make_url(url).set(drivername="postgresql+psycopg")
    except sa.exc.ArgumentError as exc:
        raise WorkspaceError(f"database URL {url!r} cannot be read: {exc}") from None


def display_url(url: str) -> str:
    """``url`` as shown to a person: ``postgresql://``, the password replaced by ``***``."""
    return _driver_url(url).set(drivername="postgresql").render_as_string(hide_password=True)


def engine_for(url: str) -> Engine:
    """The process's engine for ``url``: one connection pool per database, made on first use."""
    key = _driver_url(url).render_as_string(hide_password=False)
    with _engines_lock:
        if key not in _engines:
            _engines[key] = sa.create_engine(key, pool_pre_ping=True, pool_size=5, max_overflow=10)
        return _engines[key]


def forget_engine(url: str) -> None:
    """Close and drop the pool of ``url`` (and its ``fetch_direct`` connection), e.g. before the database is dropped."""
    key = _driver_url(url).render_as_string(hide_password=False)
    with _engines_lock:
        engine = _engines.pop(key, None)
        direct = [_direct.pop(k) for k in [k for k in _direct if k[0] == key]]
    if engine is not None:
        engine.dispose()
    for con in direct:
        con.close()


def fetch_direct(url: str, sql: LiteralString) -> tuple[Any, ...] | None:
    """The first row of ``sql`` on this process's own autocommit connection to ``url`` (made on first
    use, made again once when it was lost): one round trip, without the pool's checkout ping and
    reset, for a one-row read made before every cached answer (the store's change stamp, about
    0.2 ms where a pooled connection took 1.5 ms). A database error is psycopg's; a database that
    cannot be reached is a ``WorkspaceError`` naming it (without the password)."""
    key = (_driver_url(url).render_as_string(hide_password=False), os.getpid())
    with _engines_lock:
        for attempt in (1, 2):
            con = _direct.get(key)
            try:
                if con is None or con.closed:
                    conninfo = _driver_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
                    con = _direct[key] = psycopg.connect(conninfo, autocommit=True)
                return con.execute(sql).fetchone()
            except psycopg.OperationalError as exc:
                if con is not None:
                    con.close()
                _direct.pop(key, None)
                if attempt == 2:
                    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    raise WorkspaceError(f"workspace {display_url(url)}: the database refused or failed: {reason}") from None
    return None


@contextlib.contextmanager
def connect(url: str, **options: object) -> Iterator[Connection]:
    """A pooled connection to ``url`` with SQLAlchemy execution ``options``; a database that
    cannot be reached, or refuses, is a ``WorkspaceError`` naming it (without the password)."""
    try:
        with engine_for(url).connect().execution_options(**options) as con:
            yield con
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise WorkspaceError(f"workspace {display_url(url)}: the database refused or failed: {reason}") from None


@cache
def head_revision() -> str:
    """The newest schema revision this HgWatch knows: the one no migration of ``versions/`` revises.

    Read from each migration's ``revision`` and ``down_revision`` assignments, without importing
    alembic or running the migrations (that took 0.34-0.59 s of every PostGIS command, which only
    compares the database's revision with this one); ``tests/test_pg_head_revision.py`` holds it
    equal to alembic's own answer."""
    named: dict[str, str | None] = {}
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        found = {target.id: node.value.value for node in ast.parse(path.read_text(encoding="utf-8")).body
                 if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                 for target in node.targets if isinstance(target, ast.Name)
                 and target.id in ("revision", "down_revision")}
        if "revision" in found:
            down = found.get("down_revision")
            named[str(found["revision"])] = None if down is None else str(down)
    heads = set(named) - set(named.values())
    if len(heads) != 1:  # a branch: two migrations revise the same one (alembic refuses it too)
        raise WorkspaceError(f"the schema migrations in {MIGRATIONS / 'versions'} have {len(heads)} heads"
                             f" ({', '.join(sorted(heads))}); expected one")
    return heads.pop()


def revision(con: Connection) -> str | None:
    """The schema revision of the database of ``con`` (None: no HgWatch schema)."""
    if con.execute(sa.text(f"SELECT to_regclass('{VERSION_TABLE}')")).scalar() is None:
        return None
    return con.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def schema_revision(url: str) -> str | None:
    """The schema revision of the database at ``url`` (None: no HgWatch schema)."""
    with connect(url) as con:
        return revision(con)


def upgrade_schema(url: str) -> tuple[str | None, str]:
    """Create or update the HgWatch schema at ``url`` to the newest revision in one transaction
    (PostGIS must be installable there), then (re)make the partner and field roles where the cluster
    lacks them (a ``pg_dump`` restored on a new server) and the partner views, grants and row policies
    (``layers.store.pgroles.refresh``; so running it again is harmless); concurrent upgrades and
    writers wait for each other. Returns the revisions before and after."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with connect(url) as con, con.begin():
        con.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK})
        before = revision(con)
        config.attributes["connection"] = con
        try:
            pgroles.drop_views(con)  # derived objects: a migration may change the columns they read
            command.upgrade(config, "head")
            pgroles.ensure_roles(con)  # a dump restored on another server has none (cluster objects)
            pgroles.refresh(con)
        except (sa.exc.DBAPIError, psycopg.Error) as exc:
            cause = exc.orig if isinstance(exc, sa.exc.DBAPIError) and exc.orig else exc
            reason = str(cause).strip().splitlines()[0]
            if any(s in reason for s in ("permission denied to create role", "must have admin option on role")):
                user = _driver_url(url).username or getpass.getuser()  # libpq's default: the OS user
                reason += (f"; the database user needs CREATEROLE once: as a superuser, ALTER ROLE {user} CREATEROLE"
                           f" (the roles {pgroles.PARTNER} and {pgroles.FIELD} are made or joined)")
            if 'permission denied to create extension "postgis"' in reason:
                reason += "; a superuser must create it in this database first: CREATE EXTENSION postgis"
            raise WorkspaceError(f"workspace {display_url(url)}: the schema upgrade failed and changed"
                                 f" nothing: {reason}") from None
    return before, head_revision()
