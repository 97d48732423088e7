"""The database user an agency gives HgWatch (walkthrough HA, session 12): the owner of its
database, with PostGIS installed there by a superuser. `db upgrade` also needs CREATEROLE (to make
the roles hgw_partner and hgw_field, or to join them); without it the upgrade said only
`must have admin option on role "hgw_partner"`. It now says what right is missing and how to
give it. Real PostGIS (tests/postgis.py)."""
from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from geo.errors import WorkspaceError
from layers.store.pgschema import forget_engine, schema_revision
from services import db
from tests.postgis import Server, url_of

ROLE, DATABASE = "ha_plain_owner", "ha_plain_db"


def _admin(server: Server, dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(host=server.host, port=server.port, user=server.user, dbname=dbname, autocommit=True)


@pytest.fixture
def owner_url(postgis_server: Server) -> Iterator[str]:
    """A database owned by a LOGIN role with no other right, without PostGIS."""
    with _admin(postgis_server) as con:
        con.execute(f"CREATE ROLE {ROLE} LOGIN")
        con.execute(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
    url = url_of(postgis_server.host, postgis_server.port, ROLE, DATABASE)
    yield url
    forget_engine(url)
    with _admin(postgis_server) as con:
        con.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        con.execute(f"DROP ROLE IF EXISTS {ROLE}")


@pytest.fixture
def plain_url(postgis_server: Server, owner_url: str) -> str:
    """``owner_url`` with PostGIS created by a superuser."""
    with _admin(postgis_server, DATABASE) as con:
        con.execute("CREATE EXTENSION postgis")
    return owner_url


def test_a_database_without_postgis_says_who_must_create_it(owner_url: str) -> None:
    with pytest.raises(WorkspaceError, match=r'permission denied to create extension "postgis"; a superuser must'
                                             r" create it in this database first: CREATE EXTENSION postgis"):
        db.upgrade(owner_url)
    assert schema_revision(owner_url) is None


def test_a_user_without_createrole_is_told_what_to_grant(postgis_server: Server, plain_url: str) -> None:
    with pytest.raises(WorkspaceError, match=rf"the schema upgrade failed and changed nothing: .*role.*;"
                                             rf" the database user needs CREATEROLE once: as a superuser,"
                                             rf" ALTER ROLE {ROLE} CREATEROLE"):
        db.upgrade(plain_url)
    assert schema_revision(plain_url) is None  # nothing changed
    with _admin(postgis_server) as con:
        con.execute(f"ALTER ROLE {ROLE} CREATEROLE")
    done = db.upgrade(plain_url)
    assert done.before is None and schema_revision(plain_url) == done.after
