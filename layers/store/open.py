"""The one place that picks a store: a ``postgresql://`` URL opens PostGIS, anything else the
embedded GeoPackage workspace.

``open_store(workspace, database_url)``: the PostGIS store at ``database_url`` when one is given,
else the store ``workspace`` names (a GeoPackage path, or itself a ``postgresql://`` URL). The
command line's ``--database-url`` and ``$HGWATCH_DATABASE_URL`` reach it through
``settings.Settings.database_url``.
"""
from __future__ import annotations

import os

from geo.errors import WorkspaceError
from layers.store.base import Store
from layers.store.pgschema import is_database_url
from layers.store.postgis import PostgisStore
from layers.store.workspace import Workspace


def open_store(workspace: str | os.PathLike[str], database_url: str | None = None) -> Store:
    """The store of ``database_url`` if given, else of ``workspace`` (see the module docstring)."""
    if database_url:
        if not is_database_url(database_url):
            raise WorkspaceError(f"database URL {database_url!r}: expected one starting with postgresql://"
                                 " (the embedded workspace is a GeoPackage file: give it as --workspace)")
        return PostgisStore(database_url)
    if is_database_url(workspace):
        return PostgisStore(str(workspace))
    return Workspace(workspace)
