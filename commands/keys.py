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
        for key in keys.listing(store):
            state = f"revoked {key.revoked_at}" if key.revoked_at else "valid"
            print(f"{key.account:<20} {key.created_at:<26} {state:<34} sha256 {key.key_hash[:12]}...")
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
    q.add_argument("name")
    q = keys.add_parser("revoke", help="revoke every key of an account")
    q.add_argument("name")
    keys.add_parser("list", help="list the keys (account, when made, revoked or valid; never the key)")
    p.set_defaults(func=cmd_keys)
