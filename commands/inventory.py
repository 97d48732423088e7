"""The inventory command: report (PDF or HTML, and its tables as CSV)."""
from __future__ import annotations

import argparse

from commands.common import service, typed
from services import arguments, audit, outputs
from services.hgwatch import HgWatch


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
    print(f"wrote the {inv.area} report to {out}")
    audit.record_output(service(args).store, "export", "report",
                        after={"area": inv.area, "file": str(out), "csv": str(folder) if folder else None})
    if folder:
        print(f"wrote {len(outputs.write_tables(inv, folder))} CSV tables to {folder}")
    return 0


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
