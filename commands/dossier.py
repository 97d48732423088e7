"""``dossier VIOLATION_ID --out FILE.pdf|.html``: a case's dossier for an inspector's order or a court.

Who acts is as for ``cases``: the local analyst in a store with no accounts, else an analyst
recorded as ``cli:<OS user>`` or the account ``--as NAME`` names (a field account gets the
dossiers of its areas' cases; a partner none).
"""
from __future__ import annotations

import argparse

from commands.common import service


def cmd_dossier(args: argparse.Namespace) -> int:
    """Write the dossier of one case (PDF or HTML), after checking the output path."""
    from render.dossier.document import DOSSIER_SUFFIXES
    from services import auth, dossier, outputs

    target = outputs.output_file(args.out, flag="--out", suffixes=DOSSIER_SUFFIXES)
    svc = service(args)
    store = svc.store
    who = args.identity if args.as_name or auth.has_accounts(store) else auth.LOCAL
    path = dossier.write(store, who, svc.settings, args.violation_id, target)
    print(f"wrote the dossier of case {args.violation_id} to {path} (as {who.name})")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dossier", help="a case's dossier (PDF or HTML): site, rule and citation, distance,"
                                       " map, visits, photos with SHA-256, people downstream, history")
    p.add_argument("violation_id", help="the case (its violation id, see `cases list`)")
    p.add_argument("--out", required=True, help="FILE.pdf or FILE.html")
    p.set_defaults(func=cmd_dossier)
