"""Cases from the command line: ``cases list``, ``assign``, ``set``, ``history``, ``counts``.

Who acts: in a store with no accounts, the local analyst (``local``); otherwise an analyst
recorded as ``cli:<OS user>``, or the account ``--as NAME`` names, whose role then applies (a
field account works the cases of its areas; a partner gets ``cases counts`` only).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from commands.common import service
from geo.errors import InputError

if TYPE_CHECKING:  # services.auth (argon2) loads when a cases command runs, not with every command's parser
    from layers.store.base import Store
    from services.auth import Identity

LIST_FORMATS = ("table", "csv")
NO_AREA = "(no area)"  # how `cases counts` names the cases of sites with no admin_area


def _identity(args: argparse.Namespace, store: Store) -> Identity:
    """``--as``'s account, else the local analyst in a store without accounts, else ``cli:<OS user>``."""
    from services import auth

    if args.as_name or auth.has_accounts(store):
        return args.identity
    return auth.LOCAL


def _photo(path: str) -> tuple[str, bytes]:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"--photo {path}: cannot be read ({exc.strerror or exc}); expected a photo file") from None
    from services.cases import check_photo

    try:
        check_photo(path, data)
    except InputError as refused:
        raise InputError(f"--photo {refused.message}") from None
    return p.name, data


def cmd_cases(args: argparse.Namespace) -> int:
    """List, assign, move cases, show a case's history or the counts by area and status."""
    from layers.io.csvfile import csv_text
    from services import audit, cases

    store = service(args).store
    who = _identity(args, store)
    action = args.cases_command
    with audit.acting_as(who.name):
        if action == "list":
            frame = cases.list_cases(store, who, status=args.status, area=args.area,
                                     assignee=args.assignee).loc[:, list(cases.LIST_COLUMNS)]
            if args.format == "csv":
                sys.stdout.write(csv_text(frame))
            else:
                shown = frame.astype(object).where(frame.notna(), "-")  # no assignee: '-', not an account 'None'
                print(shown.to_string(index=False) if len(frame) else "no cases")
            return 0
        if action == "counts":
            by = tuple(b.strip() for b in args.by.split(",") if b.strip())
            counts = cases.case_counts(store, who, by=by)
            if "admin_area" in counts.columns:  # a site with no admin area is counted under a name, not "None"
                counts["admin_area"] = counts["admin_area"].fillna(NO_AREA)
            print(counts.to_string(index=False) if len(counts) else "no cases")
            return 0
        if action == "history":
            rows = cases.history(store, who, args.violation_id)
            print("\n".join(audit.trail_lines(rows)))
            return 0
        if action == "assign":
            case = cases.assign(store, who, args.violation_id, args.to, due_date=args.due)
        else:
            photos = [_photo(p) for p in args.photo or []]
            case = cases.set_status(store, who, args.violation_id, args.status,
                                    reason=args.reason, note=args.note, photos=photos)
    print(f"case {case.violation_id}: {case.status}, assignee {case.assignee or '-'}"
          f"{', due ' + case.due_date if case.due_date else ''} (as {who.name})")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cases", help="cases: one per violation, from the flag to a verified outcome")
    actions = p.add_subparsers(dest="cases_command", required=True)
    q = actions.add_parser("list", help="the cases you may see, one row each")
    q.add_argument("--status", metavar="S", help="only cases in this status")
    q.add_argument("--area", metavar="A", help="only cases whose site is in this admin area")
    q.add_argument("--assignee", metavar="U", help="only cases assigned to this account")
    q.add_argument("--format", choices=LIST_FORMATS, default="table", help="table (default) or csv on stdout")
    q = actions.add_parser("assign", help="give a case to an account (new/triaged cases become 'assigned')")
    q.add_argument("violation_id")
    q.add_argument("--to", required=True, metavar="USER", help="the account that works the case")
    q.add_argument("--due", metavar="YYYY-MM-DD", help="due date")
    q = actions.add_parser("set", help="move a case to another status (config/cases.toml says which moves exist)")
    q.add_argument("violation_id")
    q.add_argument("--status", required=True, metavar="S", help="the new status")
    q.add_argument("--reason", metavar="R", help="why (false_positive and not_accessible need one)")
    q.add_argument("--note", metavar="N", help="a comment kept with the case")
    q.add_argument("--photo", metavar="FILE", action="append", help="an evidence photo (may be repeated)")
    q = actions.add_parser("history", help="a case's history, from the audit trail")
    q.add_argument("violation_id")
    q = actions.add_parser("counts", help="the number of cases by admin area and status (what a partner sees)")
    q.add_argument("--by", default="admin_area,status", metavar="A,B",
                   help="columns to count by: admin_area, status, rule_id, assignee, flagged")
    p.set_defaults(func=cmd_cases)
