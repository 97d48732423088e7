"""API keys, stored beside the accounts they belong to: in the workspace GeoPackage or the PostGIS database.

One table, ``hgw_api_keys``: the SHA-256 (hex) of a key (never the key), the account it acts
for, when it was made, when it was revoked (NULL while it is valid) and when it was last used (NULL:
never; to the minute, written by the API server at most once per key every few minutes, ``api.uses``).
What a key may see is the account's role (``services.auth``); making and checking keys is ``services.keys``.

- GeoPackage: a plain SQLite table inside the workspace file, changed in one SQLite transaction
  on the file itself under the workspace's writer lock (``Workspace.writing``). Reading takes no
  lock. A workspace that does not exist yet holds no key. A workspace made before ``last_used_at``
  existed is read as it is (every key "never" used) and gains the column at its next keys write.
- PostGIS: the table of migrations ``v0005_api_keys`` and ``v0012_key_last_use``, changed in one transaction under the
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
LAST_USED = "last_used_at"  # the column a key's last use is kept in (v0012 on PostGIS; added on a GeoPackage)
_SQLITE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    key_hash TEXT PRIMARY KEY CHECK (length(key_hash) = 64), account TEXT NOT NULL,
    created_at TEXT NOT NULL, revoked_at TEXT, {LAST_USED} TEXT)
"""
USED_SQL = (f"UPDATE {TABLE} SET {LAST_USED} = :at WHERE key_hash = :h AND ({LAST_USED} IS NULL OR {LAST_USED} < :at)")


@dataclass(frozen=True)
class ApiKey:
    """One key as stored.

    Attributes
    ----------
    key_hash : SHA-256 of the key, 64 hex digits.
    account : the account it acts for.
    created_at : when it was made, ISO 8601 UTC.
    revoked_at : when it was revoked, ISO 8601 UTC ("" while valid).
    last_used_at : when a request last used it, ISO 8601 UTC to the minute ("" never, or not since
        ``last_used_at`` was kept).
    """

    key_hash: str
    account: str
    created_at: str
    revoked_at: str = ""
    last_used_at: str = ""

    @property
    def valid(self) -> bool:
        """True until the key is revoked."""
        return not self.revoked_at


def _key(row: Sequence[Any]) -> ApiKey:
    return ApiKey(str(row[0]), str(row[1]), str(row[2]), str(row[3] or ""), str(row[4] or "") if len(row) > 4 else "")


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

    def revoke_one(self, key_hash: str, at: str) -> int:
        """Revoke the key whose hash is ``key_hash`` at time ``at`` if it is valid; returns 1, or 0 (revoked
        already, or no such key)."""

    def used(self, uses: dict[str, str]) -> int:
        """Record each key's last use, ``{key hash: ISO 8601 UTC}``, in one transaction (a time earlier than
        the one kept changes nothing); returns how many keys changed."""


class GpkgKeys:
    """The keys table inside workspace GeoPackage ``ws``."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def _select(self, where: str, params: tuple[object, ...]) -> list[ApiKey]:
        return [_key(r) for r in self.ws.table_rows(TABLE, f"SELECT {_COLUMNS} FROM {TABLE} {where}", params)]

    def all(self) -> list[ApiKey]:
        """Every key (none when the workspace or the table does not exist), with its last use when the
        table has the column (a workspace made before it: none)."""
        have = {str(r[0]) for r in self.ws.table_rows(TABLE, f"SELECT name FROM pragma_table_info('{TABLE}')")}
        columns = f"{_COLUMNS}, {LAST_USED}" if LAST_USED in have else _COLUMNS
        rows = self.ws.table_rows(TABLE, f"SELECT {columns} FROM {TABLE} ORDER BY account, created_at, key_hash")
        return [_key(r) for r in rows]

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
            if LAST_USED not in {str(r[1]) for r in con.execute(f"PRAGMA table_info({TABLE})")}:
                con.execute(f"ALTER TABLE {TABLE} ADD COLUMN {LAST_USED} TEXT")  # a workspace made before it
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

    def revoke_one(self, key_hash: str, at: str) -> int:
        """Revoke the key whose hash is ``key_hash`` if it is valid, in one transaction."""
        with self._writing() as con:
            return con.execute(f"UPDATE {TABLE} SET revoked_at = ? WHERE key_hash = ? AND revoked_at IS NULL",
                               (at, key_hash)).rowcount

    def used(self, uses: dict[str, str]) -> int:
        """Record the keys' last uses in one transaction."""
        with self._writing() as con:
            return sum(con.execute(USED_SQL, {"h": h, "at": at}).rowcount for h, at in uses.items())


def keys_for(store: Store) -> Keys:
    """The keys of ``store``: its GeoPackage table or its PostGIS table."""
    pg = as_postgis(store)
    if pg is not None:
        from layers.store.pgkeys import PgKeys  # SQLAlchemy: only for a PostGIS store

        return PgKeys(pg)
    if isinstance(store, Workspace):
        return GpkgKeys(store)
    raise WorkspaceError(f"workspace {store.path}: this kind of store keeps no API keys")
