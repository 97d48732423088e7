"""API keys for the OGC API: keys create, revoke, list."""
from __future__ import annotations

import argparse

from commands.common import service
from geo.errors import InputError


def cmd_keys(args: argparse.Namespace) -> int:
    """Make a key (printed once, alone on the last line), revoke an account's keys, list keys."""
    from services import keys

    if args.as_name and not args.identity.rights.manage_accounts:
        raise InputError(f"--as {args.as_name!r}: role {args.identity.role!r} may not manage API keys; an admin may")
    store = service(args).store
    if args.keys_command == "list":
        if not store.exists():  # (a misspelt --workspace listed no key, as if the store had none)
            raise InputError(f"{store.path} does not exist: no key is kept there; check --workspace or"
                             " --database-url ($HGWATCH_WORKSPACE, $HGWATCH_DATABASE_URL)")
        rows = keys.listed(store)
        if not rows:
            print(f"no API key in {store.path}; make one with: python cli.py keys create ACCOUNT")
            return 0
        width = max(len(f"{r.account} #{r.number}") for r in rows)
        print(f"{'account (key #)':<{max(width, 15)}}  {'role':<8}  {'made (UTC)':<25}  state")
        for r in rows:
            print(f"{f'{r.account} #{r.number}':<{max(width, 15)}}  {r.role or '-':<8}  {r.created_at:<25}  {r.state}")
        usable = sum(r.usable for r in rows)
        print(f"{len(rows)} key(s), {usable} valid, in {store.path}. A key is never shown again after it is made;"
              " `keys revoke ACCOUNT` revokes every key of an account.")
        return 0
    if args.keys_command == "revoke":
        count = keys.revoke(store, args.name)
        print(f"revoked {count} key(s) of account {args.name} in {store.path}")
        return 0
    made = keys.create(store, args.name)
    print(f"API key for account {args.name} in {store.path}. It is shown only this once; only its hash is kept.")
    print("Send it as the header 'X-API-Key: KEY' or 'Authorization: Bearer KEY'.")
    print(made)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("keys", help="API keys for the OGC API - Features service (kept in the workspace)")
    keys = p.add_subparsers(dest="keys_command", required=True)
    q = keys.add_parser("create", help="make a key for an account; printed once, alone on the last line")
    q.add_argument("name", metavar="ACCOUNT", help="an enabled account (python cli.py users list); the key acts as it,"
                   " with its role")
    q = keys.add_parser("revoke", help="revoke every key of an account")
    q.add_argument("name", metavar="ACCOUNT", help="the account whose keys are revoked")
    keys.add_parser("list", help="list the keys: account and key number, role, when made, and whether a request with"
                    " it is answered (valid, revoked, or refused: account disabled); never a key or its hash")
    p.set_defaults(func=cmd_keys)
