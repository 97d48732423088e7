"""HgWatch command line: wires arguments to the HgWatch service (``services.hgwatch``).

Run ``python cli.py --help``. Exit codes: 0 success, 1 the input has errors (validate),
2 refusal (bad arguments, unreadable file, a file with errors that was not imported).
User errors print their reasons on stderr, never a traceback. Every output path is checked
before anything is computed or recorded, and a refused command writes nothing.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from geo.errors import HgWatchError, InputError, Problem
from layers.catalogue import CATALOGUE, MEDIUM
from layers.io.export import FORMATS as EXPORT_FORMATS
from layers.io.export import PROFILES
from layers.io.violations import FORMATS as VIOLATION_FORMATS
from layers.io.violations import write_violations
from services import arguments, audit, imports, outputs
from services.checks import diff_lines, summary_lines
from services.contamination import surface_lines
from services.exports import export_layer, share_fields
from services.hgwatch import HgWatch


def _typed(parse: Callable[..., Any], **options: Any) -> Callable[[str], Any]:
    """An argparse ``type=`` from a ``services.arguments`` parser: its InputError becomes
    argparse's own refusal (exit 2, the usage line, the flag and the message)."""
    flag = f"{options.get('flag', '')} "

    def convert(text: str) -> Any:
        try:
            return parse(text, **options)
        except InputError as exc:  # argparse names the flag itself: "argument --cell-m: ..."
            raise argparse.ArgumentTypeError(exc.message.removeprefix(flag)) from None
    return convert


# Flags whose value may start with a minus sign ("--bbox -2.5,5,-1.5,6", "--accuracy-m -inf"):
# argparse would take such a value for an option, so it is glued on as "--bbox=-2.5,...".
SIGNED = ("--bbox", "--accuracy-m", "--cell-m", "--max-distance-m")


def _service(args: argparse.Namespace, **paths: str | None) -> HgWatch:
    """The service of ``--database-url`` or ``--workspace`` (else $HGWATCH_DATABASE_URL,
    $HGWATCH_WORKSPACE or the demo) and ``paths``."""
    return HgWatch.from_env(workspace=args.workspace, database_url=args.database_url, **paths)


def print_problems(problems: Sequence[Problem], stream: TextIO | None = None) -> None:
    """Print problems grouped by severity, then by kind, each on one line (stderr by default)."""
    for line in imports.problem_lines(problems):
        print(line, file=stream or sys.stderr)


# ---- files: import, validate, layers, export ----------------------------------------------
def cmd_import(args: argparse.Namespace) -> int:
    """Validate a file and store it in the workspace; nothing changes if any layer has errors."""
    started = time.monotonic()
    progress = lambda m: print(f"[{time.monotonic() - started:6.1f} s] {m}", file=sys.stderr, flush=True)
    loaded = imports.load_file(args.file, args.layer, source_layer=args.source_layer, crs=args.crs,
                               repair=args.repair, set_values=arguments.set_values(args.set),
                               progress=progress, warn=print_problems)
    svc = _service(args)
    infos = svc.add_layers(loaded, append=args.append, replace_all=args.replace_all,
                           source=args.source or Path(args.file).name, licence=args.licence,
                           accuracy_m=args.accuracy_m, accuracy_note=args.accuracy_note)
    for info in infos:
        progress(f"stored {info.rows} features in layer {info.layer} of {svc.store.path}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Report every problem in a file and change nothing."""
    lines, problems = imports.validate_file(args.file, args.layer, source_layer=args.source_layer,
                                            crs=args.crs, repair=args.repair,
                                            set_values=arguments.set_values(args.set))
    for line in lines + imports.problem_lines(problems):
        print(line)
    return 1 if any(p.severity == "error" for p in problems) else 0


def cmd_layers(args: argparse.Namespace) -> int:
    """List the layers in the workspace with their provenance."""
    ws = _service(args).store
    print(f"workspace {ws.path}")
    print(f"{'layer':<18} {'rows':>7}  {'error':>9}  {'imported':<20} source / licence")
    for i in ws.layers():
        err = f"±{i.accuracy_m:g} m" if i.accuracy_m is not None else "unknown"
        tag = " [SYNTHETIC]" if i.synthetic else ""
        print(f"{i.layer:<18} {i.rows:>7}  {err:>9}  {i.imported_at:<20} {i.source} / {i.licence}{tag}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export a layer, or a filtered subset, under a profile."""
    target = outputs.output_file(args.out, flag="--out", suffixes=EXPORT_FORMATS)
    store = _service(args).store
    out, n = export_layer(store, args.layer, target, profile=args.profile,
                          filters=args.filter, bbox=args.bbox)
    audit.record_output(store, "export", args.layer, after={"profile": args.profile, "rows": n, "file": str(out),
                                                            "filters": args.filter, "bbox": args.bbox})
    print(f"wrote {n} {args.layer} features to {out} (profile {args.profile})")
    return 0


def cmd_share(args: argparse.Namespace) -> int:
    """Mark columns the catalogue does not declare as shareable (they then leave under partner
    and public), or unmark them with --undo; a person-like name is refused as restricted."""
    store = _service(args).store
    before = store.info(args.layer).shareable
    marks = share_fields(store, args.layer, args.fields, undo=args.undo)
    audit.record(store, "share", args.layer, before={"shareable": list(before)}, after={"shareable": list(marks)})
    print(f"{args.layer}: columns marked shareable: {', '.join(marks) or 'none'} ({store.path})")
    return 0


def _file_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="GeoJSON, GeoPackage, zipped Shapefile, GeoParquet, KML, CSV or XLSX")
    p.add_argument("--layer", choices=sorted(CATALOGUE), help="layer type, when the file name does not say it")
    p.add_argument("--source-layer", help="layer inside a GeoPackage or KML to read")
    p.add_argument("--crs", help="CRS of a file that declares none, e.g. EPSG:32630 (never guessed)")
    p.add_argument("--repair", action="store_true", help="repair invalid geometries with make_valid")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="fill a field the file lacks, e.g. --set kind=river (repeatable)")


def _register_file_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="validate a file and store it in the workspace")
    _file_options(p)
    p.add_argument("--append", action="store_true", help="add to the layer instead of replacing it")
    p.add_argument("--replace-all", action="store_true",
                   help="replace a stored layer even when the file has fewer than half its rows")
    p.add_argument("--source", help="source to record (default: the file name)")
    p.add_argument("--licence", default="unknown", help="licence of the data, e.g. CC-BY-4.0")
    p.add_argument("--accuracy-m", help="expected positional error in metres (>= 0)",
                   type=_typed(arguments.parse_metres, flag="--accuracy-m", positive=False,
                               what="a positional error", example="10"))
    p.add_argument("--accuracy-note", default="", help="how the accuracy was judged")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("validate", help="report every problem in a file; change nothing")
    _file_options(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("layers", help="list what the workspace holds")
    p.set_defaults(func=cmd_layers)

    p = sub.add_parser("export", help="export a layer or a filtered subset")
    p.add_argument("layer", choices=sorted(CATALOGUE))
    p.add_argument("--out", required=True, help="FILE.geojson, .gpkg, .csv or .kml")
    p.add_argument("--profile", choices=PROFILES, default="partner",
                   help="internal: all fields; partner/public: no restricted fields")
    p.add_argument("--filter", action="append", default=[], metavar="FIELD=V1,V2",
                   help="keep features whose FIELD is one of the values (repeatable)")
    p.add_argument("--bbox", help="keep features intersecting W,S,E,N (degrees)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("share", help="let undeclared columns of a layer leave under partner/public")
    p.add_argument("layer", choices=sorted(CATALOGUE))
    p.add_argument("fields", nargs="+", metavar="FIELD", help="column of the stored layer")
    p.add_argument("--undo", action="store_true", help="remove the marks: the columns stay inside again")
    p.set_defaults(func=cmd_share)


# ---- rule engine: check, diff -------------------------------------------------------------
def cmd_check(args: argparse.Namespace) -> int:
    """Run the rules; print a summary per rule; exit 0 whether or not anything was flagged."""
    target = outputs.output_file(args.out, flag="--out", suffixes=VIOLATION_FORMATS) if args.out else None
    files = arguments.layer_files(args.layer)
    svc = _service(args, rules_path=args.rules)
    outcome = svc.check(
        only=args.only or None, files=files, set_values=arguments.layer_values(args.set),
        repair=args.repair, record=not args.no_record)
    print_problems(outcome.warnings)
    for layer, sources in outcome.sources.items():
        print(f"{layer}: {', '.join(sources)}")
    print("\n".join(summary_lines(outcome.evaluation)))
    if target:
        out = write_violations(outcome.evaluation.violations, target, provenance=outcome.provenance)
        print(f"wrote {len(outcome.evaluation.violations)} violation(s) to {out}")
    if outcome.run_id is not None:
        print(f"recorded as run {outcome.run_id} in {svc.store.path}")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    """Compare the last two recorded runs: new, resolved and persisting violations."""
    print("\n".join(diff_lines(_service(args).diff(), show_ids=not args.counts)))
    return 0


def _register_rule_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="run the rules on the workspace or on files")
    p.add_argument("--layer", action="append", default=[], metavar="LAYER=PATH",
                   help="read LAYER from PATH instead of the workspace (repeatable; several"
                        " files of one layer are combined); the run is then not recorded")
    p.add_argument("--set", action="append", default=[], metavar="LAYER.FIELD=VALUE",
                   help="fill a field the files lack, e.g. --set mining_sites.uses_mercury=true")
    p.add_argument("--repair", action="store_true",
                   help="repair invalid geometries in the files with make_valid")
    p.add_argument("--rules", help="rule file (TOML)")
    p.add_argument("--only", action="append", default=[], metavar="RULE_ID",
                   help="run only this rule (repeatable)")
    p.add_argument("--out", help="write the violations to FILE.geojson, .gpkg, .csv or .kml")
    p.add_argument("--no-record", action="store_true", help="do not record the run")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("diff", help="compare the last two rule runs: new, resolved, persisting")
    p.add_argument("--counts", action="store_true", help="counts only, no violation ids")
    p.set_defaults(func=cmd_diff)


# ---- overlays: surface --------------------------------------------------------------------
def cmd_surface(args: argparse.Namespace) -> int:
    """Interpolate one medium's samples and write a Cloud-Optimized GeoTIFF."""
    target = outputs.output_file(args.out, flag="--out", suffixes=(".tif", ".tiff"))
    files = arguments.layer_files(args.layer)
    if any(layer != "samples" for layer, _ in files) or len(files) > 1:
        raise InputError("--layer: surface reads one file, given as --layer samples=PATH")
    svc = _service(args, guidelines_path=args.guidelines, exposure_path=args.exposure)
    surface, out, warnings = svc.write_surface(
        target, medium=args.medium, samples_path=files[0][1] if files else None,
        method=args.method, cell_m=args.cell_m, max_distance_m=args.max_distance_m)
    print_problems(warnings)
    print("\n".join(surface_lines(surface, medium=args.medium)))
    print(f"wrote {out}")
    return 0


def _register_surface_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("surface", help="interpolate mercury samples of one medium to a COG")
    p.add_argument("--medium", required=True, choices=MEDIUM)
    p.add_argument("--out", required=True, help="FILE.tif (Cloud-Optimized GeoTIFF)")
    p.add_argument("--method", choices=("idw", "kriging"),
                   help="default from config/exposure.toml (idw)")
    p.add_argument("--cell-m", help="cell size in metres, > 0 (default 100)",
                   type=_typed(arguments.parse_metres, flag="--cell-m", what="a cell size"))
    p.add_argument("--max-distance-m",
                   help="no value further than this from a sample, metres, > 0 (default 5000)",
                   type=_typed(arguments.parse_metres, flag="--max-distance-m",
                               what="a distance from a sample", example="5000"))
    p.add_argument("--layer", action="append", default=[], metavar="samples=PATH",
                   help="read the samples from PATH instead of the workspace")
    p.add_argument("--guidelines", help="guideline file (default: config/guidelines.toml)")
    p.add_argument("--exposure", help="exposure settings (default: config/exposure.toml)")
    p.set_defaults(func=cmd_surface)


# ---- inventory: report --------------------------------------------------------------------
def cmd_report(args: argparse.Namespace) -> int:
    """Write the mercury inventory report (PDF or HTML) and, on request, every table as CSV."""
    from render.report.document import REPORT_SUFFIXES
    from render.report.document import summary_lines as inventory_lines

    target = outputs.output_file(args.out, flag="--out", suffixes=REPORT_SUFFIXES)
    folder = outputs.output_folder(args.csv, flag="--csv") if args.csv else None
    out, inv = _service(args, factors_path=args.factors).report(
        target, area=args.area, layer_paths=dict(arguments.layer_files(args.layer)),
        today=args.today)
    print("\n".join(inventory_lines(inv)))
    print(f"wrote the {inv.area} report to {out}")
    audit.record_output(_service(args).store, "export", "report",
                        after={"area": inv.area, "file": str(out), "csv": str(folder) if folder else None})
    if folder:
        print(f"wrote {len(outputs.write_tables(inv, folder))} CSV tables to {folder}")
    return 0


def _register_inventory_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="mercury inventory report for an area (PDF or HTML)")
    p.add_argument("--area", help="admin_area to report on (default: all sites)")
    p.add_argument("--out", required=True, help="FILE.pdf or FILE.html")
    p.add_argument("--layer", action="append", default=[], metavar="LAYER=PATH",
                   help="read mining_sites (or water_bodies) from PATH instead of the workspace")
    p.add_argument("--factors", help="factor file (default: config/inventory.toml)")
    p.add_argument("--csv", metavar="DIR", help="also write every table as CSV into DIR")
    p.add_argument("--today", help="judge target deadlines on this date (YYYY-MM-DD)",
                   type=_typed(arguments.parse_day, flag="--today"))
    p.set_defaults(func=cmd_report)


# ---- the PostGIS store: db upgrade ---------------------------------------------------------
def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Create or update the PostGIS schema; with --from-workspace, copy a GeoPackage workspace in."""
    from services import db
    from settings import Settings

    url = Settings.from_env(None, database_url=args.database_url).database_url
    print("\n".join(db.upgrade(url, args.from_workspace).lines()))
    return 0


def _register_db_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("db", help="the PostGIS store (--database-url): its schema")
    db_sub = p.add_subparsers(dest="db_command", required=True)
    p = db_sub.add_parser("upgrade", help="create or update the schema; optionally copy a workspace in")
    p.add_argument("--from-workspace", metavar="PATH",
                   help="copy this GeoPackage workspace (layers, provenance, runs) into the empty database")
    p.set_defaults(func=cmd_db_upgrade)


# ---- the audit trail: audit verify, audit list -----------------------------------------------
def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Check the audit trail's hash chain; exit 1 naming the first broken row."""
    store = _service(args).store
    verdict = audit.verify(store)
    print(verdict.line(str(store.path)), file=sys.stdout if verdict.ok else sys.stderr)
    return 0 if verdict.ok else 1


def cmd_audit_list(args: argparse.Namespace) -> int:
    """Show the audit trail, oldest first."""
    rows = audit.trail(_service(args).store, since=args.since, user=args.user)
    print("\n".join(audit.trail_lines(rows)))
    return 0


def _register_audit_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="the audit trail: who changed what, when")
    audit_sub = p.add_subparsers(dest="audit_command", required=True)
    p = audit_sub.add_parser("verify", help="check the hash chain; exit 1 naming the first broken row")
    p.set_defaults(func=cmd_audit_verify)
    p = audit_sub.add_parser("list", help="show the trail, oldest first")
    p.add_argument("--since", metavar="DATE", type=_typed(audit.parse_since, flag="--since"),
                   help="only rows from this UTC day on (YYYY-MM-DD)")
    p.add_argument("--user", metavar="NAME", help="only rows by NAME (e.g. cli:ana, local)")
    p.set_defaults(func=cmd_audit_list)


# Each capability adds its subcommands here: a function that adds its parsers to ``sub``.
COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _register_file_commands, _register_rule_commands, _register_surface_commands,
    _register_inventory_commands, _register_db_commands, _register_audit_commands]


# ---- accounts: users add/list/disable/set-role/passwd; --as NAME --------------------------------
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
    store = _service(args).store
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
    return 0


def _register_user_commands(sub: argparse._SubParsersAction) -> None:
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


COMMANDS.append(_register_user_commands)


def _identity(args: argparse.Namespace) -> Any:
    """Who the command acts as: ``--as NAME``'s account, else an analyst ``cli:<OS user>``; a role
    that may not import or use the chosen export profile is refused here (exit 2)."""
    from services import auth

    if not args.as_name:
        return auth.cli_identity()
    who = auth.identity_of(_service(args).store, args.as_name)
    if args.command in ("import", "share") and not who.rights.may_import:
        raise InputError(f"--as {args.as_name!r}: role {who.role!r} may not change the workspace ({args.command})")
    profile = getattr(args, "profile", None)
    if profile is not None and profile not in auth.profiles_for(who):
        raise InputError(f"--as {args.as_name!r}: role {who.role!r} may not export under profile {profile!r};"
                         f" expected one of {list(auth.profiles_for(who))}")
    return who


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="hgwatch", description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", help="workspace GeoPackage (default: $HGWATCH_WORKSPACE or the demo)")
    parser.add_argument("--database-url", metavar="URL",
                        help="PostGIS store instead of the GeoPackage, postgresql://USER:PASSWORD@HOST/DB"
                             " (default: $HGWATCH_DATABASE_URL)")
    parser.add_argument("--as", dest="as_name", metavar="NAME",
                        help="act as this account, with its role (default: an analyst, recorded as cli:<OS user>)")
    sub = parser.add_subparsers(dest="command", required=True)
    for register in COMMANDS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the subcommand; user errors become messages and exit code 2."""
    args = build_parser().parse_args(arguments.glue_signed(
        sys.argv[1:] if argv is None else argv, SIGNED))
    try:
        args.identity = _identity(args)
        with audit.acting_as(args.identity.name):  # who the audit trail names
            return int(args.func(args))
    except HgWatchError as exc:
        print(f"hgwatch: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the system refused a read or write the checks could not foresee
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"hgwatch: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hgwatch: interrupted; the workspace is unchanged", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
