"""API keys, stored beside the accounts they belong to: in the workspace GeoPackage or the PostGIS database.

One table, ``hgw_api_keys``: the SHA-256 (hex) of a key (never the key), the account it acts
for, when it was made and when it was revoked (NULL while it is valid). What a key may see is the
account's role (``services.auth``); making and checking keys is ``services.keys``.

- GeoPackage: a plain SQLite table inside the workspace file, changed in one SQLite transaction
  on the file itself under the workspace's writer lock (``Workspace.writing``). Reading takes no
  lock. A workspace that does not exist yet holds no key.
- PostGIS: the table of migration ``v0005_api_keys``, changed in one transaction under the
  store's writer lock (``layers.store.pgkeys``, loaded only for a PostGIS store).

``keys_for(store)`` picks the one for a store.
Every change here is bookkeeping (``writing(data=False)`` on both back ends): the store's
``change_stamp``, and so the dashboard's cached answers, stay.
"""
from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from geo.errors import WorkspaceError
from layers.store import files
from layers.store.base import Store
from layers.store.open import as_postgis
from layers.store.workspace import Workspace

TABLE = "hgw_api_keys"
_COLUMNS = "key_hash, account, created_at, revoked_at"
_SQLITE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    key_hash TEXT PRIMARY KEY CHECK (length(key_hash) = 64), account TEXT NOT NULL,
    created_at TEXT NOT NULL, revoked_at TEXT)
"""


@dataclass(frozen=True)
class ApiKey:
    """One key as stored.

    Attributes
    ----------
    key_hash : SHA-256 of the key, 64 hex digits.
    account : the account it acts for.
    created_at : when it was made, ISO 8601 UTC.
    revoked_at : when it was revoked, ISO 8601 UTC ("" while valid).
    """

    key_hash: str
    account: str
    created_at: str
    revoked_at: str = ""

    @property
    def valid(self) -> bool:
        """True until the key is revoked."""
        return not self.revoked_at


def _key(row: Sequence[Any]) -> ApiKey:
    return ApiKey(str(row[0]), str(row[1]), str(row[2]), str(row[3] or ""))


class Keys(Protocol):
    """The API keys of one store."""

    def all(self) -> list[ApiKey]:
        """Every key, by account then time made."""

    def find(self, key_hash: str) -> ApiKey | None:
        """The key whose hash is ``key_hash`` (revoked or not), or None."""

    def add(self, key: ApiKey) -> None:
        """Store ``key``."""

    def revoke(self, account: str, at: str) -> int:
        """Revoke every valid key of ``account`` at time ``at``; returns how many."""


class GpkgKeys:
    """The keys table inside workspace GeoPackage ``ws``."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def _select(self, where: str, params: tuple[object, ...]) -> list[ApiKey]:
        return [_key(r) for r in self.ws.table_rows(TABLE, f"SELECT {_COLUMNS} FROM {TABLE} {where}", params)]

    def all(self) -> list[ApiKey]:
        """Every key (none when the workspace or the table does not exist)."""
        return self._select("ORDER BY account, created_at", ())

    def find(self, key_hash: str) -> ApiKey | None:
        """The key whose hash is ``key_hash``, or None (one indexed lookup)."""
        found = self._select("WHERE key_hash = ?", (key_hash,))
        return found[0] if found else None

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        files.refuse_unless_geopackage(self.ws.path, self.ws.real)
        if not self.ws.real.exists():
            raise WorkspaceError(f"workspace {self.ws.path} does not exist; keys live in the workspace:"
                                 " import a layer first or run `make demo`")
        with self.ws.writing(data=False) as con:  # bookkeeping: the caches of the data stay
            con.execute(_SQLITE_TABLE)
            yield con

    def add(self, key: ApiKey) -> None:
        """Store ``key`` in one transaction."""
        with self._writing() as con:
            con.execute(f"INSERT INTO {TABLE} ({_COLUMNS}) VALUES (?, ?, ?, ?)",
                        (key.key_hash, key.account, key.created_at, key.revoked_at or None))

    def revoke(self, account: str, at: str) -> int:
        """Revoke every valid key of ``account`` in one transaction."""
        with self._writing() as con:
            return con.execute(f"UPDATE {TABLE} SET revoked_at = ? WHERE account = ? AND revoked_at IS NULL",
                               (at, account)).rowcount


def keys_for(store: Store) -> Keys:
    """The keys of ``store``: its GeoPackage table or its PostGIS table."""
    pg = as_postgis(store)
    if pg is not None:
        from layers.store.pgkeys import PgKeys  # SQLAlchemy: only for a PostGIS store

        return PgKeys(pg)
    if isinstance(store, Workspace):
        return GpkgKeys(store)
    raise WorkspaceError(f"workspace {store.path}: this kind of store keeps no API keys")
