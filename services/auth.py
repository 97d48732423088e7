"""Who is asking, and what they may see and do: identities, the role table, sign-in, accounts.

The role table ``ROLES`` is data: what each role sees (every field; restricted fields only in its
admin areas; the partner profile only) and may do (manage accounts, import, see the audit
trail, the export profiles offered). ``read_layer`` is the one read of a layer for an identity,
on either back end: for a partner the columns ``allowed_columns`` gives (the partner export
profile, ``layers.store.visibility``), so restricted columns are never read at all; on PostGIS
PostgreSQL itself enforces it (role ``hgw_partner`` reads view ``partner.<layer>``; a field
coordinator's role ``hgw_field`` sees its areas' rows through row-level security).

Account changes (add, role, password, disable) are recorded in the audit trail
(``services.audit``) with the role, areas and disabled flag before and after, never a password or
its hash. Failed sign-ins are not recorded row by row: the account row counts them (throttling).

Passwords are hashed with Argon2id (``argon2-cffi``); only the hash is stored
(``layers.store.accounts``). Failed sign-ins are throttled: after ``FREE_FAILURES`` failures in a
row an account (or an unknown name, counted in this process) must wait ``throttle_s`` seconds,
doubling per failure up to ``MAX_WAIT_S``, before a password is even checked.
"""
from __future__ import annotations

import functools
import getpass
import re
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd

from geo.errors import HgWatchError, InputError, WorkspaceError
from geo.words import one_of
from layers.io.export import PROFILES
from layers.store.accounts import Account, accounts_for, changed, now_iso
from layers.store.base import Store
from layers.store.open import as_postgis
from layers.store.visibility import outside_areas, partner_columns, wholly_restricted
from services import audit

if TYPE_CHECKING:
    import argon2

FREE_FAILURES = 3  # failed sign-ins in a row before the next one must wait
MAX_WAIT_S = 300.0  # the longest wait between tries, seconds
MIN_PASSWORD = 8  # characters
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_unknown: dict[str, tuple[int, float]] = {}
_unknown_lock = threading.Lock()


@dataclass(frozen=True)
class Rights:
    """What one role sees and may do.

    Attributes
    ----------
    restricted : which restricted fields it sees: "all", "areas" (only in the account's admin
        areas) or "none" (read under the partner profile).
    profiles : the export profiles offered to it.
    manage_accounts, may_import, see_audit, edit_settings : what it may do.
    record_runs : record a rule run of the whole store (it reads every area and opens cases in
        each): the roles that see the whole store.
    """

    restricted: str
    profiles: tuple[str, ...]
    manage_accounts: bool
    may_import: bool
    see_audit: bool
    edit_settings: bool
    record_runs: bool


ROLES: dict[str, Rights] = {
    "admin": Rights("all", PROFILES, True, True, True, True, True),
    "analyst": Rights("all", PROFILES, False, True, True, True, True),
    "field": Rights("areas", PROFILES, False, True, False, False, False),
    "partner": Rights("none", ("partner", "public"), False, False, False, False, False),
}


class SignInError(HgWatchError):
    """A sign-in refused: wrong name or password, a disabled account, or too many tries."""


@dataclass(frozen=True)
class Identity:
    """Who is asking: an account's name, its role, and a field coordinator's admin areas;
    ``provider``: signed in through the identity provider, whose claims (not a local account)
    gave the role (not compared: the same person and rights either way)."""

    name: str
    role: str
    areas: tuple[str, ...] = ()
    provider: bool = field(default=False, compare=False, repr=False)

    @property
    def rights(self) -> Rights:
        """What the role sees and may do (``ROLES``)."""
        return ROLES[self.role]


def cli_identity() -> Identity:
    """The command line without ``--as``: an analyst recorded as ``cli:<OS user>``."""
    return Identity(f"cli:{getpass.getuser()}", "analyst")


LOCAL = Identity("local", "analyst")  # the embedded first run, before any account exists


def profiles_for(identity: Identity) -> tuple[str, ...]:
    """The export profiles ``identity`` may use, most open first."""
    return identity.rights.profiles


def allowed_columns(identity: Identity, layer: str, stored: Collection[str],
                    shareable: Collection[str] = ()) -> list[str] | None:
    """The attribute columns of ``layer`` that ``identity`` may read, or None for all of them.

    A role that sees no restricted field reads exactly what the ``partner`` export profile lets
    out (``layers.store.visibility.partner_columns``: declared non-restricted fields, plus
    columns marked ``shareable``, never a person-like name), out of the ``stored`` columns.
    """
    if identity.rights.restricted != "none":
        return None
    return partner_columns(layer, stored, shareable)


def may_see_layer(identity: Identity, layer: str) -> bool:
    """False when ``identity`` may not see layer type ``layer`` at all: a layer the catalogue marks
    wholly restricted, for every role that does not see all restricted data (partner, field:
    issue 15, only analyst and admin see it)."""
    return identity.rights.restricted == "all" or not wholly_restricted(layer)


def read_layer(store: Store, layer: str, identity: Identity) -> gpd.GeoDataFrame:
    """Stored ``layer`` as ``identity`` may see it, on either back end: the one read a service
    that serves a role (a page, a download, the OGC API) calls.

    - ``all`` (admin, analyst): the whole layer.
    - ``none`` (partner): only the columns ``allowed_columns`` gives, and no row about a person
      (``layers.store.visibility.shared_rows``: a hair sample). On PostGIS, PostgreSQL enforces
      it: the read runs as role ``hgw_partner`` on view ``partner.<layer>``
      (``PostgisStore.read_partner``); on a GeoPackage the store reads only those columns and
      SQLite skips those rows.
    - ``areas`` (field): every column in the rows of the account's admin areas; elsewhere the
      columns a partner may not see are empty, and a row about a person is not there at all
      (``Store.read_field``): on PostGIS by row-level security as role ``hgw_field``, on a
      GeoPackage by SQLite's filters (two reads: the account's areas with every column, the other
      shared rows with the partner's columns), so the other areas' restricted values and hair
      samples are never read for it. Those columns come back as ``object`` with None on both back ends.

    A layer ``may_see_layer`` denies (a wholly restricted one, below analyst) is refused with
    ``WorkspaceError``; on PostGIS neither database role has any grant on it.
    """
    sees = identity.rights.restricted
    if sees == "all":
        return store.read(layer)
    if not may_see_layer(identity, layer):
        raise WorkspaceError(f"layer {layer!r} is restricted: role {identity.role!r} does not see it")
    shareable = store.info(layer).shareable
    if sees == "areas":  # the store's engine selects it: SQLite's filters, PostgreSQL's row-level security
        gdf = store.read_field(layer, identity.areas)
    elif (pg := as_postgis(store)) is not None:  # PostgreSQL's roles enforce it
        gdf = pg.read_partner(layer)
    else:
        gdf = store.read(layer, columns=allowed_columns(identity, layer, store.columns(layer), shareable),
                         shared_only=True)
    if sees == "areas":
        for name in outside_areas(layer, _attributes(gdf), shareable):
            gdf[name] = gdf[name].astype(object).where(gdf[name].notna(), None)
    return gdf


def _attributes(gdf: gpd.GeoDataFrame) -> list[str]:
    return [str(c) for c in gdf.columns if c != gdf.geometry.name]


# ---------------------------------------------------------------- sign-in
def throttle_s(failures: int) -> float:
    """How long to wait after ``failures`` failed sign-ins in a row, seconds."""
    return 0.0 if failures < FREE_FAILURES else min(2.0 ** (failures - FREE_FAILURES + 1), MAX_WAIT_S)


def _wait_left(failures: int, last: float, now: float) -> float:
    return max(0.0, last + throttle_s(failures) - now)


@functools.cache
def _hasher() -> argon2.PasswordHasher:
    """Argon2id's hasher, made with the first password hashed or checked: argon2 loads then, not
    with every command (issue 13: a check signs no one in)."""
    import argon2

    return argon2.PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Checked for unknown names: the same time either way. Made on the first sign-in, for any name
    (issue 13: the hash takes ~0.15 s that commands signing no one in should not pay at start-up)."""
    return _hasher().hash("not a password of anyone")


def authenticate(store: Store, name: str, password: str, *, now: float | None = None) -> Identity:
    """The identity of account ``name`` when ``password`` is its password; else ``SignInError``
    (one message for an unknown name and a wrong password). Failures are counted and throttled."""
    now = time.time() if now is None else now
    dummy = _dummy_hash()  # before the name is looked up, so that a first sign-in costs the same for any name
    accounts = accounts_for(store)
    account = accounts.get(name)
    if account is None:
        with _unknown_lock:
            failures, last = _unknown.get(name, (0, 0.0))
            wait = _wait_left(failures, last, now)
            if not wait:
                _unknown[name] = (failures + 1, now)
        if wait:
            raise SignInError(f"too many failed sign-ins; try again in {wait:.0f} s")
        _verify(dummy, password)
        raise SignInError("wrong username or password")
    wait = _wait_left(account.failures, account.last_failure, now)
    if wait:
        raise SignInError(f"too many failed sign-ins; try again in {wait:.0f} s")
    if not _verify(account.password_hash, password):
        accounts.put(changed(account, failures=account.failures + 1, last_failure=now))
        raise SignInError("wrong username or password")
    if account.disabled:
        raise SignInError(f"account {name!r} is disabled; ask an administrator")
    if account.failures:
        accounts.put(changed(account, failures=0, last_failure=0.0))
    return Identity(account.name, account.role, account.areas)


def _verify(hashed: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def current_identity(store: Store, identity: Identity, *, via_provider: bool | None = None) -> Identity | None:
    """``identity``, a signed-in session's, as the store's accounts have it now (asked on every
    rerun of a dashboard session, as the API asks again for a key every second): None when the
    account no longer exists or is disabled, else its role and areas of now (a demoted or
    narrowed account reads as such from the next rerun). A session the identity provider signed
    in (``via_provider``, by default ``identity.provider``) keeps the role its claims gave, and
    ends when a local account of that name is disabled."""
    account = accounts_for(store).get(identity.name)
    if identity.provider if via_provider is None else via_provider:
        return None if account is not None and account.disabled else identity
    if account is None or account.disabled:
        return None
    return Identity(account.name, account.role, account.areas)


def refuse_if_changed(store: Store, identity: Identity) -> None:
    """``SignInError`` when the local account of ``identity``'s name is disabled now, or (for a
    password sign-in) has another role or other areas: asked by what a dashboard session does off
    its page's run (a download button's callable runs on a thread of its own with what the page
    that drew it held, so the page's sign-in check is not asked before it). No local account of
    that name (a provider's sign-in, the local single-user mode) changes nothing."""
    account = accounts_for(store).get(identity.name)
    if account is None:
        return
    if account.disabled:
        raise SignInError(f"account {identity.name!r} is disabled: nothing is exported; sign in again")
    if not identity.provider and (account.role, tuple(account.areas)) != (identity.role, tuple(identity.areas)):
        raise SignInError(f"account {identity.name!r} is now {account.role!r}"
                          + (f" in {', '.join(account.areas)}" if account.areas else "")
                          + ": nothing is exported; open the page again")


def identity_of(store: Store, name: str) -> Identity:
    """The identity of the enabled account ``name`` (``--as NAME``); InputError otherwise."""
    account = accounts_for(store).get(name)
    if account is None or account.disabled:
        state = "is disabled" if account else "does not exist"
        raise InputError(f"--as {name!r}: the account {state} in workspace {store.path}; see `cli.py users list`")
    return Identity(account.name, account.role, account.areas)


def has_accounts(store: Store) -> bool:
    """True once the store holds any account (sign-in is then required everywhere)."""
    return bool(accounts_for(store).all()) if store.exists() else False


# ---------------------------------------------------------------- managing accounts
def _check_role(role: str, areas: Collection[str]) -> None:
    if role not in ROLES:
        raise InputError(f"role {role!r} is not known; expected {one_of(ROLES)}")
    if areas and role != "field":
        raise InputError(f"--areas {','.join(areas)!r}: only a field account has admin areas, not {role!r}")
    if role == "field" and not areas:
        raise InputError("a field account needs its admin areas: --areas A,B")


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"the password has {len(password)} characters; expected at least {MIN_PASSWORD}")
    return _hasher().hash(password)


def _existing(store: Store, name: str) -> Account:
    account = accounts_for(store).get(name)
    if account is None:
        raise InputError(f"account {name!r} does not exist in workspace {store.path}; see `cli.py users list`")
    return account


def _state(account: Account) -> dict[str, object]:
    """What the audit trail records of an account: never its password or hash."""
    return {"role": account.role, "areas": list(account.areas), "disabled": account.disabled}


def add_account(store: Store, name: str, role: str, password: str, areas: Collection[str] = ()) -> Account:
    """Add account ``name`` with ``role``; InputError for a bad name, role, areas or password.
    Recorded in the audit trail (``account add``)."""
    if not _NAME.match(name):
        raise InputError(f"account name {name!r}: expected 1-64 letters, digits, '.', '_', '@' or '-',"
                         " starting with a letter or digit")
    _check_role(role, areas)
    account = Account(name, role, tuple(areas), _check_password(password), created_at=now_iso())
    accounts_for(store).add(account)
    audit.record(store, "account add", name, before=None, after=_state(account))
    return account


def set_role(store: Store, name: str, role: str, areas: Collection[str] | None = None) -> Account:
    """Give account ``name`` another role (and, for a field account, its areas); recorded
    (``account role``)."""
    before = _existing(store, name)
    kept = before.areas if areas is None and role == "field" else tuple(areas or ())
    _check_role(role, kept)
    account = changed(before, role=role, areas=kept)
    accounts_for(store).put(account)
    audit.record(store, "account role", name, before=_state(before), after=_state(account))
    return account


def set_password(store: Store, name: str, password: str) -> Account:
    """Give account ``name`` a new password; its failed sign-ins are forgotten. Recorded
    (``account password``: the state before and after, never a password or hash)."""
    before = _existing(store, name)
    account = changed(before, password_hash=_check_password(password), failures=0, last_failure=0.0)
    accounts_for(store).put(account)
    audit.record(store, "account password", name, before=_state(before), after=_state(account))
    return account


def disable(store: Store, name: str) -> Account:
    """Disable account ``name``: it can no longer sign in (it stays listed). Recorded
    (``account disable``)."""
    before = _existing(store, name)
    account = changed(before, disabled=True)
    accounts_for(store).put(account)
    audit.record(store, "account disable", name, before=_state(before), after=_state(account))
    return account
