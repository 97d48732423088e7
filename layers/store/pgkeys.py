"""The API keys table of a PostGIS store (``layers.store.keys`` for both kinds; migrations
``v0005_api_keys`` and ``v0012_key_last_use``). Loaded only for a PostGIS store, so a command on a GeoPackage never imports
SQLAlchemy."""
from __future__ import annotations

import sqlalchemy as sa

from geo.errors import WorkspaceError
from layers.store.keys import _COLUMNS, LAST_USED, TABLE, USED_SQL, ApiKey, _key
from layers.store.postgis import PostgisStore


class PgKeys:
    """The keys table of PostGIS store ``store`` (migration ``v0005_api_keys``)."""

    def __init__(self, store: PostgisStore) -> None:
        self.store = store

    def all(self) -> list[ApiKey]:
        """Every key (none when the database has no HgWatch schema yet)."""
        if not self.store.exists():
            return []
        with self.store.reading() as con:
            return [_key(r) for r in con.execute(sa.text(
                f"SELECT {_COLUMNS}, {LAST_USED} FROM {TABLE} ORDER BY account, created_at, key_hash"))]

    def find(self, key_hash: str) -> ApiKey | None:
        """The key whose hash is ``key_hash``, or None."""
        with self.store.reading() as con:
            row = con.execute(sa.text(f"SELECT {_COLUMNS} FROM {TABLE} WHERE key_hash = :h"), {"h": key_hash}).first()
        return _key(row) if row else None

    def add(self, key: ApiKey) -> None:
        """Store ``key`` in one transaction."""
        with self.store.writing(data=False) as con:  # bookkeeping: the caches of the data stay
            con.execute(sa.text(f"INSERT INTO {TABLE} ({_COLUMNS}) VALUES (:h, :a, :c, NULL)"),
                        {"h": key.key_hash, "a": key.account, "c": key.created_at})

    def revoke(self, account: str, at: str) -> int:
        """Revoke every valid key of ``account`` in one transaction."""
        with self.store.writing(data=False) as con:  # bookkeeping: the caches of the data stay
            return con.execute(sa.text(f"UPDATE {TABLE} SET revoked_at = :at WHERE account = :a AND revoked_at IS NULL"),
                               {"at": at, "a": account}).rowcount

    def revoke_one(self, key_hash: str, at: str) -> int:
        """Revoke the key whose hash is ``key_hash`` if it is valid, in one transaction."""
        with self.store.writing(data=False) as con:  # bookkeeping: the caches of the data stay
            return con.execute(sa.text(f"UPDATE {TABLE} SET revoked_at = :at WHERE key_hash = :h AND revoked_at IS NULL"),
                               {"at": at, "h": key_hash}).rowcount

    def used(self, uses: dict[str, str]) -> int:
        """Record the keys' last uses in one transaction, as the store's own database user (the one that
        writes the API's audit rows); ``hgw_partner`` and ``hgw_field`` get no right on this table.

        A refused write is a ``WorkspaceError`` with the database's reason only: SQLAlchemy's own
        message lists the statement's parameters, the keys' hashes, which the API's log must not name
        (``api.uses``)."""
        try:
            with self.store.writing(data=False) as con:  # bookkeeping: the caches of the data stay
                return sum(con.execute(sa.text(USED_SQL), {"h": h, "at": at}).rowcount for h, at in uses.items())
        except sa.exc.DBAPIError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None and str(exc.orig).strip() \
                else type(exc.orig or exc).__name__
            raise WorkspaceError(f"workspace {self.store.path}: the database refused to record the keys' last"
                                 f" uses: {reason}") from None
