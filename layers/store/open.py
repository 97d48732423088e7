"""The one place that picks a store: a ``postgresql://`` URL opens PostGIS, anything else the
embedded GeoPackage workspace.

``open_store(workspace, database_url)``: the PostGIS store at ``database_url`` when one is given,
else the store ``workspace`` names (a GeoPackage path, or itself a ``postgresql://`` URL). The
command line's ``--database-url`` and ``$HGWATCH_DATABASE_URL`` reach it through
``settings.Settings.database_url``. The PostGIS modules (SQLAlchemy, psycopg) load only when a
URL is given: a command on a GeoPackage never imports them.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from geo.errors import WorkspaceError
from layers.store.base import Store
from layers.store.workspace import Workspace

if TYPE_CHECKING:
    from layers.store.postgis import PostgisStore

SCHEMES = ("postgresql", "postgresql+psycopg")


def is_database_url(location: object) -> bool:
    """True for a ``postgresql://`` (or ``postgresql+psycopg://``) URL."""
    return isinstance(location, str) and location.split("://", 1)[0] in SCHEMES


def open_store(workspace: str | os.PathLike[str], database_url: str | None = None) -> Store:
    """The store of ``database_url`` if given, else of ``workspace`` (see the module docstring)."""
    if database_url or is_database_url(workspace):
        from layers.store.postgis import PostgisStore
    if database_url:
        if not is_database_url(database_url):
            raise WorkspaceError(f"database URL {database_url!r}: expected one starting with postgresql://"
                                 " (the embedded workspace is a GeoPackage file: give it as --workspace)")
        return PostgisStore(database_url)
    if is_database_url(workspace):
        return PostgisStore(str(workspace))
    return Workspace(workspace)


def as_postgis(store: Store) -> PostgisStore | None:
    """``store`` when it is a PostGIS store, else None (a GeoPackage workspace). Code that serves
    both back ends tests with it, so that the PostGIS modules load only when there is one."""
    if isinstance(store, Workspace):
        return None
    from layers.store.postgis import PostgisStore

    return store if isinstance(store, PostgisStore) else None
