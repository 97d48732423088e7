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
(``api key create``, ``api key revoke``: the account, the key's number when one key is revoked, and how
many keys are valid, never a key or its hash).

A key is known to an operator by its account and its number (``listed``: ``unep #2``, the second key made
for ``unep``), which ``revoke`` takes to revoke that key alone. Numbers never change: keys are never
deleted, and they are ordered by the time made (to the microsecond since 2026-11-28; two older keys made in
the same second by their hashes, so the same on every listing).
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from geo.errors import InputError
from layers.store.accounts import accounts_for, now_iso
from layers.store.base import Store
from layers.store.keys import ApiKey, keys_for
from layers.store.workspace import Workspace
from services import audit
from services.auth import Identity
from settings import DEMO_WORKSPACE

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
    keys.add(ApiKey(key_hash(key), name, datetime.now(UTC).isoformat(timespec="microseconds")))  # (numbers: _numbered)
    audit.record(store, "api key create", name, before={"valid_keys": before}, after={"valid_keys": before + 1})
    return key


def revoke(store: Store, name: str, number: int | None = None) -> int:
    """Revoke every valid key of account ``name``, or with ``number`` only its key of that number (as
    ``listed`` numbers them: ``cli.py keys list``), leaving its other keys valid; returns how many were
    revoked (0 is not an error: revoked already). Recorded in the audit trail.

    Raises
    ------
    InputError
        No such account, or no key of that number (the message names the account's key numbers).
    """
    keys = keys_for(store)
    numbered = [(n, k) for n, k in _numbered(keys.all()) if k.account == name]
    if accounts_for(store).get(name) is None and not numbered:
        raise InputError(f"account {name!r} does not exist in workspace {store.path}; see `cli.py users list`")
    valid = sum(k.valid for _, k in numbered)
    if number is None:
        count = keys.revoke(name, now_iso())
        audit.record(store, "api key revoke", name, before={"valid_keys": count}, after={"valid_keys": 0})
        return count
    chosen = [k for n, k in numbered if n == number]
    if not chosen:
        have = f"its keys are #1 to #{len(numbered)}" if numbered else "it has no key"
        raise InputError(f"account {name!r} has no key #{number} in {store.path}: {have}; see `cli.py keys list`")
    count = keys.revoke_one(chosen[0].key_hash, now_iso())
    audit.record(store, "api key revoke", name, before={"key": f"#{number}", "valid_keys": valid},
                 after={"key": f"#{number}", "valid_keys": valid - count})
    return count


def _numbered(stored: list[ApiKey]) -> list[tuple[int, ApiKey]]:
    """``stored`` by account then time made (then hash: two keys made in the same second before times were
    kept to the microsecond), each with its number among its account's keys (1, 2, ...)."""
    numbers: dict[str, int] = {}
    out: list[tuple[int, ApiKey]] = []
    for key in sorted(stored, key=lambda k: (k.account, k.created_at, k.key_hash)):
        numbers[key.account] = numbers.get(key.account, 0) + 1
        out.append((numbers[key.account], key))
    return out


def shown_time(at: str) -> str:
    """An ISO 8601 time as ``keys list`` shows it: to the second (``2026-11-28T15:20:01+00:00``)."""
    return re.sub(r"\.\d+", "", at)


@dataclass(frozen=True)
class Listed:
    """One key as ``cli.py keys list`` shows it: what an operator needs, never the key or its hash.

    Attributes
    ----------
    account : the account it acts as.
    number : its place among the account's keys, by time made (1, 2, ...): which of them this is.
    role : the account's role ("" when the account no longer exists).
    created_at : when it was made, ISO 8601 UTC (to the microsecond since 2026-11-28).
    state : ``valid``; ``revoked AT``; ``refused: account disabled`` or ``refused: no such account`` (a
        key not revoked that no request can use: ``verify`` refuses it).
    last_used : when a request last used it, ISO 8601 UTC to the minute, as the API server recorded it (at
        most a few minutes late while it runs, ``api.uses``); "" never (or not since this was recorded).
    """

    account: str
    number: int
    role: str
    created_at: str
    state: str
    last_used: str = ""

    @property
    def usable(self) -> bool:
        """True when a request with this key is answered (the state is ``valid``)."""
        return self.state == "valid"


def listed(store: Store) -> list[Listed]:
    """Every key of ``store`` as an operator needs it (``Listed``), by account then time made. The hash is
    left out: it identifies the key to anyone holding the key, and to no one else it says anything useful."""
    accounts = accounts_for(store)
    out: list[Listed] = []
    for number, key in _numbered(keys_for(store).all()):
        account = accounts.get(key.account)
        state = (f"revoked {key.revoked_at}" if not key.valid else "refused: no such account" if account is None
                 else "refused: account disabled" if account.disabled else "valid")
        out.append(Listed(key.account, number, account.role if account else "", key.created_at, state,
                          key.last_used_at))
    return out


def record_uses(store: Store, uses: dict[str, str]) -> int:
    """Record when keys were last used, ``{key hash: ISO 8601 UTC}``, in one transaction (``api.uses`` calls
    it); returns how many keys changed. Nothing is written to the shipped demo workspace (as for the audit of
    outputs: each write would change the shipped file) or to a store not made yet."""
    if not uses or not store.exists() or isinstance(store, Workspace) and store.real == DEMO_WORKSPACE.resolve():
        return 0
    return keys_for(store).used(uses)


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
