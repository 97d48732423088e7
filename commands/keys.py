"""API keys for the OGC API: keys create, revoke (an account's keys, or one of them), list."""
from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING

from commands.common import service
from geo.errors import InputError
from geo.words import counted

if TYPE_CHECKING:
    from layers.store.base import Store

LABEL = re.compile(r"^(?P<account>.+?)\s*#(?P<number>\d{1,9})$")  # 'unep #2' or 'unep#2', as `keys list` shows a key


def cmd_keys(args: argparse.Namespace) -> int:
    """Make a key (printed once, alone on the last line), revoke keys, list keys."""
    from services import keys

    if args.as_name and not args.identity.rights.manage_accounts:
        raise InputError(f"--as {args.as_name!r}: role {args.identity.role!r} may not manage API keys; an admin may")
    store = service(args).store
    if args.keys_command == "list":
        return _list(store)
    if args.keys_command == "revoke":
        name, number = _which(args.name, args.number)
        count = keys.revoke(store, name, number)
        if number is None:
            print(f"revoked {counted(count, 'key')} of account {name} in {store.path}")
        elif count:
            print(f"revoked key {name} #{number} in {store.path}; the account's other keys are unchanged")
        else:
            print(f"key {name} #{number} was revoked already in {store.path}; nothing changed")
        return 0
    made = keys.create(store, args.name)
    print(f"API key for account {args.name} in {store.path}. It is shown only this once; only its hash is kept.")
    print("Send it as the header 'X-API-Key: KEY' or 'Authorization: Bearer KEY'.")
    print(made)
    return 0


def _which(given: str, number: int | None) -> tuple[str, int | None]:
    """The account and key number that ``keys revoke`` names: ``ACCOUNT``, ``ACCOUNT --number N``, or the
    label ``keys list`` shows (``'unep #2'``, ``unep#2``). An account name holds no '#' or space."""
    label = LABEL.match(given.strip())
    if label is None:
        return given, number
    said = int(label["number"])
    if number is not None and number != said:
        raise InputError(f"keys revoke {given!r} --number {number}: two different key numbers; give one")
    return label["account"], said


def _number(text: str) -> int:
    value = int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a key number as `keys list` shows it (1, 2, ...)")
    return value


def _list(store: Store) -> int:
    from services import keys

    if not store.exists():  # (a misspelt --workspace listed no key, as if the store had none)
        raise InputError(f"{store.path} does not exist: no key is kept there; check --workspace or"
                         " --database-url ($HGWATCH_WORKSPACE, $HGWATCH_DATABASE_URL)")
    rows = keys.listed(store)
    if not rows:
        print(f"no API key in {store.path}; make one with: python cli.py keys create ACCOUNT")
        return 0
    width = max(15, *(len(f"{r.account} #{r.number}") for r in rows))
    print(f"{'account (key #)':<{width}}  {'role':<8}  {'made (UTC)':<25}  {'last used (UTC)':<22}  state")
    for r in rows:
        print(f"{f'{r.account} #{r.number}':<{width}}  {r.role or '-':<8}  {keys.shown_time(r.created_at):<25}"
              f"  {r.last_used or 'never':<22}  {r.state}")
    usable = sum(r.usable for r in rows)
    print(f"{counted(len(rows), 'key')}, {usable:,} valid, in {store.path}. A key is never shown again after it is made;"
          " `keys revoke ACCOUNT` revokes every key of an account, `keys revoke 'ACCOUNT #N'` only that one."
          " A use is recorded by the API server at most a few minutes late.")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("keys", help="API keys for the OGC API - Features service (kept in the workspace)")
    keys = p.add_subparsers(dest="keys_command", required=True)
    q = keys.add_parser("create", help="make a key for an account; printed once, alone on the last line")
    q.add_argument("name", metavar="ACCOUNT", help="an enabled account (python cli.py users list); the key acts as it,"
                   " with its role")
    q = keys.add_parser("revoke", help="revoke every key of an account, or one key of it ('ACCOUNT #N' or --number N,"
                        " as keys list shows it), leaving its other keys valid")
    q.add_argument("name", metavar="ACCOUNT", help="the account whose keys are revoked, or one key as keys list shows"
                   " it: 'unep #2' (quoted) or unep#2")
    q.add_argument("--number", type=_number, metavar="N", help="revoke only the account's key #N (keys list)")
    keys.add_parser("list", help="list the keys: account and key number, role, when made, when last used (to the"
                    " minute, or never), and whether a request with it is answered (valid, revoked, or refused:"
                    " account disabled); never a key or its hash")
    p.set_defaults(func=cmd_keys)
