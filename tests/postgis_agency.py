"""An agency's HgWatch on a real PostGIS, set up the way README "Running it for an agency" says: a
database with PostGIS, the demo moved in with ``cli.py db upgrade --from-workspace`` (from a copy),
a recorded rule run (one case per violation), an account of each role, and ``streamlit run app.py``
with ``$HGWATCH_DATABASE_URL`` on a loopback port. Used by tests/test_postgis_browser*.py.
"""
from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from layers.store.workspace import DEFAULT_PATH
from tests.browser_harness import ROOT, running_servers
from tests.browser_harness import Server as App
from tests.postgis import Server, url_of

PASSWORD = "correct horse"
NAMES = {"admin": "ada", "analyst": "ana", "field": "kofi", "partner": "pat"}


@dataclass(frozen=True)
class Agency:
    """The database URL, the dashboard (its base URL and log) and the field coordinator's one area."""

    db_url: str
    app: App
    area: str

    @property
    def app_url(self) -> str:
        """The dashboard's base URL."""
        return self.app.url


def cli(db_url: str, *argv: str, stdin: str | None = None) -> str:
    """``python cli.py --database-url DB_URL ARGV...``; its stdout (a failure raises with stderr)."""
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), "--database-url", db_url, *argv], cwd=ROOT,
                          input=stdin, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise AssertionError(f"cli.py {' '.join(argv)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return done.stdout


def new_database(server: Server, name: str) -> str:
    """A new database ``name`` with the PostGIS extension on ``server``; its URL."""
    with psycopg.connect(host=server.host, port=server.port, user=server.user, dbname="postgres",
                         autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(host=server.host, port=server.port, user=server.user, dbname=name, autocommit=True) as con:
        con.execute("CREATE EXTENSION postgis")
    return url_of(server.host, server.port, server.user, name)


def seed(db_url: str, prepare: Callable[[Path], None] | None = None, area: str | None = None) -> str:
    """Move a copy of the demo (changed first by ``prepare``) into the empty database, record a rule run and
    add one account per role; the field coordinator gets ``area`` (default: the one with the most cases),
    which is returned."""
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "demo.gpkg"
        shutil.copyfile(DEFAULT_PATH, copy)
        if prepare is not None:
            prepare(copy)
        cli(db_url, "db", "upgrade", "--from-workspace", str(copy))
    cli(db_url, "check")
    listed = cli(db_url, "cases", "counts")
    area = area or _busiest_area(db_url)
    for role, name in NAMES.items():
        extra = ["--areas", area] if role == "field" else []
        cli(db_url, "users", "add", name, "--role", role, *extra, "--password-stdin", stdin=PASSWORD + "\n")
    assert listed.strip(), "cases counts printed nothing after the recorded run"
    return area


def _busiest_area(db_url: str) -> str:
    from layers.store.open import open_store
    from services import auth, cases

    table = cases.list_cases(open_store(db_url), auth.LOCAL)
    return str(table["admin_area"].value_counts().index[0])


@contextlib.contextmanager
def agency(server: Server, name: str = "agency", *, env: dict[str, str] | None = None,
           prepare: Callable[[Path], None] | None = None, area: str | None = None) -> Iterator[Agency]:
    """A database ``name`` on ``server`` seeded by ``seed(prepare, area)`` and the dashboard on it (stopped
    afterwards); ``env`` adds to the dashboard's environment."""
    db_url = new_database(server, name)
    area = seed(db_url, prepare, area)
    with running_servers(1, env={"HGWATCH_DATABASE_URL": db_url, "HGWATCH_BASEMAP": "none", **(env or {})}) as (app,):
        yield Agency(db_url, app, area)
