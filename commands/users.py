"""Accounts: users add, list, disable, set-role, passwd."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from commands.common import service
from geo.errors import InputError


def _password(stream: TextIO) -> str:
    """One line of ``stream`` (``--password-stdin``), without its line ending."""
    line = stream.readline()
    if not line.strip():
        raise InputError("--password-stdin: no password on standard input; expected one line, e.g."
                         " `printf '%s\\n' \"$PASSWORD\" | python cli.py users add ...`")
    return line.removesuffix("\n").removesuffix("\r")


def _areas(text: str | None) -> list[str] | None:
    return None if text is None else [a.strip() for a in text.split(",") if a.strip()]


def cmd_users(args: argparse.Namespace) -> int:
    """Add, list, disable accounts, change a role or a password (the store's own accounts)."""
    from services import auth

    if args.as_name and not args.identity.rights.manage_accounts:
        raise InputError(f"--as {args.as_name!r}: role {args.identity.role!r} may not manage accounts; an admin may")
    store = service(args).store
    action = args.users_command
    if action == "list":
        for acc in auth.accounts_for(store).all():
            state = "disabled" if acc.disabled else "active"
            print(f"{acc.name:<20} {acc.role:<8} {state:<8} {','.join(acc.areas) or '-':<20} {acc.created_at}")
        return 0
    if action == "add":
        acc = auth.add_account(store, args.name, args.role, _password(sys.stdin), _areas(args.areas) or ())
    elif action == "set-role":
        acc = auth.set_role(store, args.name, args.role, _areas(args.areas))
    elif action == "passwd":
        acc = auth.set_password(store, args.name, _password(sys.stdin))
    else:
        acc = auth.disable(store, args.name)
    print(f"{action}: account {acc.name} ({acc.role}{', areas ' + ','.join(acc.areas) if acc.areas else ''}"
          f"{', disabled' if acc.disabled else ''}) in {store.path}")
    if action in ("add", "set-role") and acc.areas:
        _warn_unknown_areas(store, acc.areas)
    return 0


def _warn_unknown_areas(store: object, areas: Sequence[str]) -> None:
    """A warning (on stderr) for each of a field account's areas that no row of the store names: such an
    account sees restricted values nowhere there (a misspelt area is otherwise silent)."""
    import difflib

    from services.areas import area_names

    known = area_names(store)  # type: ignore[arg-type]
    for area in areas:
        if known and area not in known:
            close = difflib.get_close_matches(area, known, n=1)
            print(f"warning: --areas {area!r}: no row of the store names this admin area (admin_area); the account"
                  " sees restricted values only in the rows of its areas. Known areas: " + ", ".join(known[:20])
                  + (" ..." if len(known) > 20 else "") + (f"; did you mean {close[0]!r}?" if close else ""),
                  file=sys.stderr)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("users", help="accounts that sign in to the dashboard (kept in the workspace)")
    users = p.add_subparsers(dest="users_command", required=True)
    roles = ["admin", "analyst", "field", "partner"]
    q = users.add_parser("add", help="add an account; its password is one line on standard input")
    q.add_argument("name")
    q.add_argument("--role", required=True, choices=roles)
    q.add_argument("--areas", metavar="A,B", help="admin areas of a field account")
    q.add_argument("--password-stdin", action="store_true", required=True, help="read the password from stdin")
    q = users.add_parser("list", help="list the accounts")
    q = users.add_parser("disable", help="stop an account from signing in")
    q.add_argument("name")
    q = users.add_parser("set-role", help="give an account another role")
    q.add_argument("name")
    q.add_argument("role", choices=roles)
    q.add_argument("--areas", metavar="A,B", help="admin areas of a field account")
    q = users.add_parser("passwd", help="set an account's password (one line on standard input)")
    q.add_argument("name")
    q.add_argument("--password-stdin", action="store_true", required=True, help="read the password from stdin")
    p.set_defaults(func=cmd_users)
