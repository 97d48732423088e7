"""Bringing field results back: ``submissions import FILE [--no-all-or-nothing]``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from commands.common import print_problems, service, typed
from geo.errors import Problem
from geo.words import counted
from services import arguments


def cmd_import(args: argparse.Namespace) -> int:
    """Read an ODK Central or KoBoToolbox export and apply each submission to its case.

    Exit 0 when every row was applied (or was already imported); 2 when a row has a problem and
    nothing was applied (all-or-nothing, the default); 1 when, with ``--no-all-or-nothing``, the
    good rows were applied and the rows with problems were not.
    """
    from layers.io.submissions import read_submissions
    from services.cases import apply_submissions

    submissions, problems = read_submissions(Path(args.file))
    errors = [p for p in problems if p.severity == "error"]
    all_or_nothing = not args.no_all_or_nothing
    store = service(args).store
    if errors and all_or_nothing:  # the good rows' problems too (unknown case, refused move): one pass, not two
        planned = apply_submissions(store, args.identity, submissions, max_visit_distance_m=args.max_visit_distance_m,
                                    dry_run=True)
        problems = _by_row(problems + list(planned.problems))
        errors = [p for p in problems if p.severity == "error"]
        print_problems(problems)
        print(f"{args.file}: {counted(len(errors), 'problem')}; nothing applied (all or nothing: fix the rows, "
              "or give --no-all-or-nothing to apply the good ones)", file=sys.stderr)
        return 2
    report = apply_submissions(store, args.identity, submissions, all_or_nothing=all_or_nothing,
                               max_visit_distance_m=args.max_visit_distance_m)
    problems = _by_row(problems + list(report.problems))
    print(f"applied {len(report.applied)}: {', '.join(report.named(report.applied_keys)) or '-'}")
    print(f"duplicates {len(report.skipped_duplicates)} (already imported, unchanged): "
          f"{', '.join(report.named(report.skipped_duplicates)) or '-'}")
    print(f"far visits {len(report.far_visits)} (flagged, kept):")
    for far in report.far_visits:
        print(f"  {far}")
    errors = [p for p in problems if p.severity == "error"]
    print(f"problems {len(errors)}")
    print_problems(problems)
    if errors:
        return 2 if all_or_nothing else 1
    return 0


def _by_row(problems: list[Problem]) -> list[Problem]:
    """The problems in the file's row order (those of the file as a whole first)."""
    return sorted(problems, key=lambda p: p.row or 0)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("submissions", help="field submissions from ODK Central or KoBoToolbox")
    actions = p.add_subparsers(dest="submissions_command", required=True)
    q = actions.add_parser("import", help="apply an export (ODK Central .csv/.zip with media, KoBoToolbox .csv/.xlsx) "
                                          "to the cases")
    q.add_argument("file", help="the export as downloaded from the server")
    q.add_argument("--no-all-or-nothing", action="store_true",
                   help="apply the good rows even when others have problems (default: one bad row applies nothing)")
    q.add_argument("--max-visit-distance-m", metavar="M",
                   type=typed(arguments.parse_metres, flag="--max-visit-distance-m", what="a visit distance"),
                   help="flag visits farther than M metres from their site (default: the setting, 500 m)")
    q.set_defaults(func=cmd_import)
