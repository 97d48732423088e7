"""The audit trail's commands: audit verify, audit list."""
from __future__ import annotations

import argparse
import sys

from commands.common import service, typed
from services import audit


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Check the audit trail's hash chain; exit 1 naming the first broken row."""
    store = service(args).store
    verdict = audit.verify(store)
    print(verdict.line(str(store.path)), file=sys.stdout if verdict.ok else sys.stderr)
    return 0 if verdict.ok else 1


def cmd_audit_list(args: argparse.Namespace) -> int:
    """Show the audit trail, oldest first."""
    rows = audit.trail(service(args).store, since=args.since, user=args.user)
    print("\n".join(audit.trail_lines(rows)))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="the audit trail: who changed what, when")
    audit_sub = p.add_subparsers(dest="audit_command", required=True)
    p = audit_sub.add_parser("verify", help="check the hash chain; exit 1 naming the first broken row")
    p.set_defaults(func=cmd_audit_verify)
    p = audit_sub.add_parser("list", help="show the trail, oldest first")
    p.add_argument("--since", metavar="DATE", type=typed(audit.parse_since, flag="--since"),
                   help="only rows from this UTC day on (YYYY-MM-DD)")
    p.add_argument("--user", metavar="NAME", help="only rows by NAME (e.g. cli:ana, local)")
    p.set_defaults(func=cmd_audit_list)
