"""A real PostgreSQL + PostGIS server for the tests: started once per test process, stopped at the end.

``postgis_server`` (session) makes a throwaway cluster with ``initdb`` in a temporary directory and
starts it with ``pg_ctl``, listening on a Unix socket in that directory only (no TCP port, so two
runs or two xdist workers never clash). ``initdb`` and ``pg_ctl`` refuse to run as root, and
``make test`` runs as root in CI, so as root they run as the ``postgres`` user
(``runuser -u postgres -- ...``) in a directory handed to that user.

pytest-postgresql's no-process fixtures then do the rest: ``postgis_ready_proc`` makes a template
database with ``CREATE EXTENSION postgis`` and the HgWatch schema at the newest migration,
``postgis_bare_proc`` one with PostGIS only (for ``db upgrade`` from nothing); ``postgis_ready``
and ``postgis_bare`` give each test a fresh database cloned from its template, dropped after it.
``pg_url`` / ``pg_bare_url`` are the ``postgresql://`` URLs of those databases.

With the server binaries or PostGIS missing, every test that asks for them FAILS, naming the
Debian package to install; nothing is skipped. Nothing is mocked. A test process killed before it
could stop its server leaves an ``owner`` file naming its pid; the next run stops that server.
"""
from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from pytest_postgresql import factories

PG_BIN = Path(os.environ.get("HGWATCH_PG_BIN", "/usr/lib/postgresql/15/bin"))
POSTGIS_CONTROL = Path("/usr/share/postgresql/15/extension/postgis.control")
PACKAGE = "postgresql-15-postgis-3"
PORT = 5432  # only names the socket file: the server listens on no TCP port
PREFIX = "hgw-pg-"  # the temporary folders of the test servers


@dataclass(frozen=True)
class Server:
    """Where a running test server listens; the attributes pytest-postgresql's ``depends_on`` reads."""

    host: str  # the socket directory
    port: int = PORT
    user: str = "postgres"
    password: str | None = None
    options: str = ""
    maintenance_dbname: str = "postgres"
    template_dbname: str | None = None


def missing() -> str | None:
    """Why no test server can start here (a message naming the package), or None."""
    if not (PG_BIN / "initdb").is_file() or not (PG_BIN / "pg_ctl").is_file():
        return (f"PostgreSQL server binaries not found in {PG_BIN}; install Debian's {PACKAGE}"
                f" (`make test-deps` does: apt-get install {PACKAGE})")
    if not POSTGIS_CONTROL.is_file():
        return (f"PostGIS is not installed ({POSTGIS_CONTROL} missing); install Debian's {PACKAGE}"
                f" (`make test-deps` does: apt-get install {PACKAGE})")
    return None


def _as_server_user(argv: list[str]) -> list[str]:
    """``argv`` run as the ``postgres`` user when we are root (initdb refuses root)."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(_as_server_user(argv), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        pytest.fail(f"{what} failed (exit {done.returncode}): {done.stderr.strip() or done.stdout.strip()}",
                    pytrace=False)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_stale() -> None:
    """Stop and delete the servers of earlier test processes that died without stopping them."""
    for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            owner = int((folder / "owner").read_text())
        except (OSError, ValueError):
            continue
        if _alive(owner):
            continue
        subprocess.run(_as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate",
                                        "-w", "stop"]), capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def running_server() -> Iterator[Server]:
    """Create, start and finally stop and delete a throwaway cluster (see the module docstring)."""
    reason = missing()
    if reason:
        pytest.fail(reason, pytrace=False)
    stop_stale()
    folder = Path(tempfile.mkdtemp(prefix=PREFIX))
    (folder / "owner").write_text(str(os.getpid()))  # so that a later run can stop it if we die
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    data = folder / "data"
    options = (f"-c listen_addresses='' -c unix_socket_directories='{folder}' -c port={PORT}"
               " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
    try:
        _run([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
              "--locale=C", "--no-sync", "--no-instructions"], "initdb")
        _run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-o", options,
              "-w", "-t", "60", "start"], "pg_ctl start")
        try:
            yield Server(host=str(folder))
        finally:
            subprocess.run(_as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                                            "stop"]), capture_output=True, timeout=120)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgis_server() -> Iterator[Server]:
    """One throwaway PostgreSQL server for this test process (each xdist worker has its own)."""
    with running_server() as server:
        yield server


def _load_postgis(host: str, port: int, user: str, dbname: str, password: str | None, **_: object) -> None:
    with psycopg.connect(host=host, port=port, user=user, dbname=dbname, password=password,
                         autocommit=True) as con:
        con.execute("CREATE EXTENSION IF NOT EXISTS postgis")


def _load_schema(host: str, port: int, user: str, dbname: str, password: str | None, **_: object) -> None:
    from layers.store.pgschema import forget_engine, upgrade_schema

    _load_postgis(host, port, user, dbname, password)
    url = url_of(host, port, user, dbname)
    upgrade_schema(url)
    forget_engine(url)  # no connection may stay open on a template


def url_of(host: str, port: int, user: str, dbname: str) -> str:
    """The ``postgresql://`` URL of database ``dbname`` on the server at socket folder ``host``."""
    return f"postgresql://{quote(user)}@/{quote(dbname)}?host={quote(host)}&port={port}"


postgis_ready_proc = factories.postgresql_noproc(depends_on="postgis_server", dbname="hgw",
                                                 load=[_load_schema])
postgis_bare_proc = factories.postgresql_noproc(depends_on="postgis_server", dbname="hgwbare",
                                                load=[_load_postgis])
postgis_ready = factories.postgresql("postgis_ready_proc")
postgis_bare = factories.postgresql("postgis_bare_proc")


def _url(con: psycopg.Connection) -> str:
    info = con.info
    return url_of(info.host, info.port, info.user, info.dbname)


@pytest.fixture
def pg_url(postgis_ready: psycopg.Connection) -> Iterator[str]:
    """A fresh database with PostGIS and the HgWatch schema, as a ``postgresql://`` URL."""
    url = _url(postgis_ready)
    yield url
    from layers.store.pgschema import forget_engine

    forget_engine(url)


@pytest.fixture
def pg_bare_url(postgis_bare: psycopg.Connection) -> Iterator[str]:
    """A fresh database with PostGIS only (no HgWatch schema), as a ``postgresql://`` URL."""
    url = _url(postgis_bare)
    yield url
    from layers.store.pgschema import forget_engine

    forget_engine(url)
