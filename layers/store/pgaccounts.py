"""The accounts table of a PostGIS store (``layers.store.accounts`` for both kinds; migration
``v0002_accounts``). Loaded only for a PostGIS store, so a command on a GeoPackage never imports
SQLAlchemy."""
from __future__ import annotations

import sqlalchemy as sa

from geo.errors import WorkspaceError
from layers.store.accounts import _COLUMNS, TABLE, Account, _account, _values
from layers.store.postgis import PostgisStore


class PgAccounts:
    """The accounts table of PostGIS store ``store`` (migration ``v0002_accounts``)."""

    def __init__(self, store: PostgisStore) -> None:
        self.store = store

    def all(self) -> list[Account]:
        """Every account, by name (none when the database has no HgWatch schema yet)."""
        if not self.store.exists():
            return []
        with self.store.reading() as con:
            return [_account(r) for r in con.execute(sa.text(f"SELECT {_COLUMNS} FROM {TABLE} ORDER BY name"))]

    def get(self, name: str) -> Account | None:
        """The account called ``name``, or None."""
        return next((a for a in self.all() if a.name == name), None)

    def add(self, account: Account) -> None:
        """Add ``account`` (refused, unchanged, when the name is taken)."""
        with self.store.writing(data=False) as con:  # bookkeeping: the caches of the data stay
            if con.execute(sa.text(f"SELECT 1 FROM {TABLE} WHERE name = :n"), {"n": account.name}).first():
                raise WorkspaceError(f"account {account.name!r} already exists in workspace {self.store.path}")
            con.execute(sa.text(f"INSERT INTO {TABLE} ({_COLUMNS}) VALUES (:name, :role, CAST(:areas AS jsonb),"
                                " :password_hash, :disabled, :failures, :last_failure, :created_at)"), _values(account))

    def put(self, account: Account) -> None:
        """Replace the stored account of the same name."""
        with self.store.writing(data=False) as con:  # bookkeeping: the caches of the data stay
            done = con.execute(sa.text(
                f"UPDATE {TABLE} SET role = :role, areas = CAST(:areas AS jsonb), password_hash = :password_hash,"
                " disabled = :disabled, failures = :failures, last_failure = :last_failure WHERE name = :name"),
                _values(account))
            if done.rowcount != 1:
                raise WorkspaceError(f"no account {account.name!r} in workspace {self.store.path}")
