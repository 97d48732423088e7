"""Accounts, stored beside the data they guard: in the workspace GeoPackage or the PostGIS database.

One table, ``hgw_accounts``: the account's name, role, admin areas (a field coordinator's), its
Argon2 password hash (never a password), whether it is disabled, and the count and time of its
failed sign-ins since the last good one (for throttling, ``services.auth``). What a role may do
is not here: it is data in ``services.auth``.

- GeoPackage: a plain SQLite table inside the workspace file, changed in place in one SQLite
  transaction while holding the workspace's own writer lock (``Workspace.writing``), so that a
  layer write and an account change never lose each other's work.
  Reading takes no lock. A workspace that does not exist yet holds no account.
- PostGIS: the table of migration ``v0002_accounts``, changed in one transaction under the
  store's writer lock (``layers.store.pgaccounts``, loaded only for a PostGIS store).

``accounts_for(store)`` picks the one for a store.
Every change here is bookkeeping (``writing(data=False)`` on both back ends): the store's
``change_stamp``, and so the dashboard's cached answers, stay.
"""
from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from geo.errors import WorkspaceError
from layers.store import files
from layers.store.base import Store
from layers.store.open import as_postgis
from layers.store.workspace import Workspace

TABLE = "hgw_accounts"
_COLUMNS = "name, role, areas, password_hash, disabled, failures, last_failure, created_at"
_SQLITE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, areas TEXT NOT NULL DEFAULT '[]',
    password_hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0, last_failure REAL NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL)
"""


@dataclass(frozen=True)
class Account:
    """One account as stored.

    Attributes
    ----------
    name : the sign-in name.
    role : admin, analyst, field or partner (``services.auth.ROLES``).
    areas : the admin areas of a field coordinator (empty for other roles).
    password_hash : the Argon2 hash (PHC string) of the password.
    disabled : a disabled account cannot sign in.
    failures : failed sign-ins since the last good one.
    last_failure : time of the last failed sign-in, seconds since the epoch (0: none).
    created_at : when the account was added, ISO 8601 UTC.
    """

    name: str
    role: str
    areas: tuple[str, ...]
    password_hash: str
    disabled: bool = False
    failures: int = 0
    last_failure: float = 0.0
    created_at: str = ""


def _account(row: Sequence[Any]) -> Account:
    areas = row[2]
    parsed = json.loads(areas) if isinstance(areas, str) else areas
    return Account(str(row[0]), str(row[1]), tuple(str(a) for a in (parsed or [])), str(row[3]),
                   bool(row[4]), int(row[5] or 0), float(row[6] or 0.0), str(row[7]))


def _values(acc: Account) -> dict[str, object]:
    return {"name": acc.name, "role": acc.role, "areas": json.dumps(list(acc.areas)), "password_hash": acc.password_hash,
            "disabled": acc.disabled, "failures": acc.failures, "last_failure": acc.last_failure,
            "created_at": acc.created_at}


def now_iso() -> str:
    """The time now, ISO 8601 UTC to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


class Accounts(Protocol):
    """The accounts of one store."""

    def all(self) -> list[Account]:
        """Every account, by name."""

    def get(self, name: str) -> Account | None:
        """The account called ``name``, or None."""

    def add(self, account: Account) -> None:
        """Add ``account``; a name already taken is a ``WorkspaceError`` and changes nothing."""

    def put(self, account: Account) -> None:
        """Replace the stored account of the same name (it must exist)."""


class GpkgAccounts:
    """The accounts table inside workspace GeoPackage ``ws``."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def all(self) -> list[Account]:
        """Every account, by name (none when the workspace or the table does not exist)."""
        return [_account(r) for r in self.ws.table_rows(TABLE, f"SELECT {_COLUMNS} FROM {TABLE} ORDER BY name")]

    def get(self, name: str) -> Account | None:
        """The account called ``name``, or None."""
        return next((a for a in self.all() if a.name == name), None)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One SQLite transaction on the workspace file itself, under the workspace's writer lock."""
        files.refuse_unless_geopackage(self.ws.path, self.ws.real)
        if not self.ws.real.exists():
            raise WorkspaceError(f"workspace {self.ws.path} does not exist; accounts live in the workspace:"
                                 " import a layer first or run `make demo`")
        with self.ws.writing(data=False) as con:  # in-place, under the writer lock; bookkeeping: caches stay
            con.execute(_SQLITE_TABLE)
            yield con

    def add(self, account: Account) -> None:
        """Add ``account`` (refused, unchanged, when the name is taken)."""
        with self._writing() as con:
            if con.execute(f"SELECT 1 FROM {TABLE} WHERE name = ?", (account.name,)).fetchone():
                raise WorkspaceError(f"account {account.name!r} already exists in workspace {self.ws.path}")
            con.execute(f"INSERT INTO {TABLE} ({_COLUMNS}) VALUES (:name, :role, :areas, :password_hash,"
                        " :disabled, :failures, :last_failure, :created_at)", _values(account))

    def put(self, account: Account) -> None:
        """Replace the stored account of the same name."""
        with self._writing() as con:
            cur = con.execute(f"UPDATE {TABLE} SET role = :role, areas = :areas, password_hash = :password_hash,"
                              " disabled = :disabled, failures = :failures, last_failure = :last_failure"
                              " WHERE name = :name", _values(account))
            if cur.rowcount != 1:
                raise WorkspaceError(f"no account {account.name!r} in workspace {self.ws.path}")


def accounts_for(store: Store) -> Accounts:
    """The accounts of ``store``: its GeoPackage table or its PostGIS table."""
    pg = as_postgis(store)
    if pg is not None:
        from layers.store.pgaccounts import PgAccounts  # SQLAlchemy: only for a PostGIS store

        return PgAccounts(pg)
    if isinstance(store, Workspace):
        return GpkgAccounts(store)
    raise WorkspaceError(f"workspace {store.path}: this kind of store keeps no accounts")


def changed(account: Account, **changes: object) -> Account:
    """``account`` with ``changes`` (a dataclass replace, typed for callers)."""
    return replace(account, **changes)  # type: ignore[arg-type]
