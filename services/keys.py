"""API keys for the OGC API: make one for an account, revoke an account's keys, and tell who a key is.

A key is 32 random bytes from ``secrets`` (256 bits), written as ``hgw_`` + 43 URL-safe
characters. Only its SHA-256 is stored (``layers.store.keys``). A fast unsalted hash is right here,
unlike for passwords: a password is guessable, so it needs a slow salted hash (Argon2id) against
a dictionary attack; a 256-bit random key is not, and nobody can search 2**256 keys, however fast
the hash. A plain hash also lets a request's key be found with one indexed lookup.

A key acts as its account, with the account's role (``services.auth.Identity``): a partner's key
reads the ``partner`` profile, an analyst's or admin's every field, a field coordinator's what the
field role may see. A revoked key, a key of a disabled or deleted account, or an unknown key is
refused: ``verify`` returns None. Making and revoking keys is recorded in the audit trail
(``api key create``, ``api key revoke``: the account and how many keys, never a key or its hash).
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from geo.errors import InputError
from layers.store.accounts import accounts_for, now_iso
from layers.store.base import Store
from layers.store.keys import ApiKey, keys_for
from services import audit
from services.auth import Identity

PREFIX = "hgw_"
KEY_BYTES = 32  # 256 bits


def key_hash(key: str) -> str:
    """SHA-256 of ``key`` (UTF-8), 64 hex digits: what the store keeps."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create(store: Store, name: str) -> str:
    """Make a key for the enabled account ``name`` and return it; only its hash is stored.

    The key cannot be shown again. InputError when there is no such account or it is disabled.
    """
    account = accounts_for(store).get(name)
    if account is None or account.disabled:
        state = "is disabled" if account else "does not exist"
        raise InputError(f"account {name!r} {state} in workspace {store.path}; see `cli.py users list`")
    key = PREFIX + secrets.token_urlsafe(KEY_BYTES)
    keys = keys_for(store)
    before = sum(k.valid for k in keys.all() if k.account == name)
    keys.add(ApiKey(key_hash(key), name, now_iso()))
    audit.record(store, "api key create", name, before={"valid_keys": before}, after={"valid_keys": before + 1})
    return key


def revoke(store: Store, name: str) -> int:
    """Revoke every valid key of account ``name``; returns how many (0 is not an error). Recorded."""
    keys = keys_for(store)
    if accounts_for(store).get(name) is None and not any(k.account == name for k in keys.all()):
        raise InputError(f"account {name!r} does not exist in workspace {store.path}; see `cli.py users list`")
    count = keys.revoke(name, now_iso())
    audit.record(store, "api key revoke", name, before={"valid_keys": count}, after={"valid_keys": 0})
    return count


@dataclass(frozen=True)
class Listed:
    """One key as ``cli.py keys list`` shows it: what an operator needs, never the key or its hash.

    Attributes
    ----------
    account : the account it acts as.
    number : its place among the account's keys, by time made (1, 2, ...): which of them this is.
    role : the account's role ("" when the account no longer exists).
    created_at : when it was made, ISO 8601 UTC.
    state : ``valid``; ``revoked AT``; ``refused: account disabled`` or ``refused: no such account`` (a
        key not revoked that no request can use: ``verify`` refuses it).
    """

    account: str
    number: int
    role: str
    created_at: str
    state: str

    @property
    def usable(self) -> bool:
        """True when a request with this key is answered (the state is ``valid``)."""
        return self.state == "valid"


def listed(store: Store) -> list[Listed]:
    """Every key of ``store`` as an operator needs it (``Listed``), by account then time made. The hash is
    left out: it identifies the key to anyone holding the key, and to no one else it says anything useful."""
    accounts = accounts_for(store)
    out: list[Listed] = []
    numbers: dict[str, int] = {}
    for key in keys_for(store).all():
        account = accounts.get(key.account)
        numbers[key.account] = numbers.get(key.account, 0) + 1
        state = (f"revoked {key.revoked_at}" if not key.valid else "refused: no such account" if account is None
                 else "refused: account disabled" if account.disabled else "valid")
        out.append(Listed(key.account, numbers[key.account], account.role if account else "", key.created_at, state))
    return out


def verify(store: Store, key: str | None) -> Identity | None:
    """The identity ``key`` acts as: its account's, when the key is known, not revoked and the
    account exists and is enabled; None otherwise (no key, a wrong key, a revoked key, a disabled
    account)."""
    if not key or not key.startswith(PREFIX) or len(key) > 128:
        return None
    found = keys_for(store).find(key_hash(key))
    if found is None or not found.valid:
        return None
    account = accounts_for(store).get(found.account)
    if account is None or account.disabled:
        return None
    return Identity(account.name, account.role, account.areas)
