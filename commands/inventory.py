"""The inventory command: report (PDF or HTML, and its tables as CSV)."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from commands.common import service, typed
from geo.words import counted
from services import arguments, audit, outputs
from services.hgwatch import HgWatch

if TYPE_CHECKING:
    import pandas as pd


def cmd_report(args: argparse.Namespace) -> int:
    """Write the mercury inventory report (PDF or HTML) and, on request, every table as CSV."""
    from render.report.document import REPORT_SUFFIXES
    from render.report.document import summary_lines as inventory_lines

    target = outputs.output_file(args.out, flag="--out", suffixes=REPORT_SUFFIXES)
    folder = outputs.output_folder(args.csv, flag="--csv") if args.csv else None
    base = service(args, factors_path=args.factors)
    out, inv = HgWatch(base.settings, args.identity).report(  # read as --as may see it
        target, area=args.area, layer_paths=dict(arguments.layer_files(args.layer)),
        today=args.today)
    print("\n".join(inventory_lines(inv)))
    if pairs := resurvey_pairs(inv.tables["resurveys"]):
        print("\n".join(pairs))
    print(f"wrote the {inv.area} report to {out}")
    audit.record_output(service(args).store, "export", "report",
                        after={"area": inv.area, "file": str(out), "csv": str(folder) if folder else None})
    if folder:
        print(f"wrote {len(outputs.write_tables(inv, folder))} CSV tables to {folder}")
    return 0


SHOWN_PAIRS = 20  # possible re-surveys printed; the report and its --csv table hold them all


def resurvey_pairs(pairs: pd.DataFrame) -> list[str]:
    """The possible re-surveys as lines: later site and round, earlier site and round, names, areas and
    distance; the first ``SHOWN_PAIRS``, then how many more the report lists."""
    def text(value: object) -> str:
        return "" if value is None or (isinstance(value, float) and value != value) else str(value)

    lines = [f"  {text(r.site_id)} ({text(r.survey_round)}, {text(r.name) or 'no name'}, {text(r.admin_area) or 'no area'})"
             f" may be {text(r.resurvey_of)} ({text(r.earlier_round)}, {text(r.earlier_name) or 'no name'},"
             f" {text(r.earlier_admin_area) or 'no area'}): {float(str(r.distance_m)):,.1f} m apart"
             for r in pairs.head(SHOWN_PAIRS).itertuples(index=False)]
    if len(pairs) > SHOWN_PAIRS:
        lines.append(f"  ... and {counted(len(pairs) - SHOWN_PAIRS, 'more pair')} in the report's"
                     " 'Possible re-surveys' table")
    return lines


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="mercury inventory report for an area (PDF or HTML)")
    p.add_argument("--area", help="admin_area to report on (default: all sites)")
    p.add_argument("--out", required=True, help="FILE.pdf or FILE.html")
    p.add_argument("--layer", action="append", default=[], metavar="LAYER=PATH",
                   help="read mining_sites (or water_bodies) from PATH instead of the workspace")
    p.add_argument("--factors", help="factor file (default: config/inventory.toml)")
    p.add_argument("--csv", metavar="DIR", help="also write every table as CSV into DIR")
    p.add_argument("--today", help="judge target deadlines on this date (YYYY-MM-DD)",
                   type=typed(arguments.parse_day, flag="--today"))
    p.set_defaults(func=cmd_report)
