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


def listing(store: Store) -> list[ApiKey]:
    """Every key as stored (hashes, never keys), by account."""
    return keys_for(store).all()


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
