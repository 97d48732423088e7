"""Commands of the rule engine: check, diff."""
from __future__ import annotations

import argparse
from contextlib import nullcontext

from commands.common import print_problems, service
from geo.errors import InputError
from geo.words import counted, listed
from layers.io.readers import frozen_after_load
from layers.io.violations import FORMATS as VIOLATION_FORMATS
from layers.io.violations import write_violations
from services import arguments, chunked_check, imports, outputs
from services.checks import accuracy_lines, diff_lines, summary_lines


def cmd_check(args: argparse.Namespace) -> int:
    """Run the rules; print a summary per rule; exit 0 whether or not anything was flagged."""
    target = outputs.output_file(args.out, flag="--out", suffixes=VIOLATION_FORMATS) if args.out else None
    files = arguments.layer_files(args.layer)
    values = arguments.layer_values(args.set)
    _refuse_unread_values(values, {layer for layer, _ in files})
    svc = service(args, rules_path=args.rules)
    with frozen_after_load() if args.ends_process else nullcontext():
        try:
            outcome = svc.check(
                only=args.only or None, files=files, set_values=values,
                repair=args.repair, record=not args.no_record, chunk_rows=args.chunk_rows)
        except InputError as exc:
            raise _with_files_advice(exc, files) from None
    args.made = svc, outcome  # held by cli.main: a process that ends right after does not free them one by one
    print_problems(outcome.warnings)
    for layer, sources in outcome.sources.items():
        print(f"{layer}: {', '.join(sources)}")
    print("\n".join(summary_lines(outcome.evaluation)))
    print("\n".join(accuracy_lines(outcome.evaluation, svc.settings.rules, outcome.provenance)))
    if target:
        out = write_violations(outcome.evaluation.violations, target, provenance=outcome.provenance)
        print(f"wrote {counted(len(outcome.evaluation.violations), 'violation')} to {out}")
    if outcome.run_id is not None:
        print(f"recorded as run {outcome.run_id} in {svc.store.path}")
    return 0


def _with_files_advice(exc: InputError, files: list[tuple[str, str]]) -> InputError:
    """``exc`` with what to do when a check of files (--layer) lacks a layer a rule needs: with
    --layer every layer comes from a file, none from the workspace, which a user who gave only the
    sites' file does not expect ("rule HG-WATER-100 needs layer 'water_bodies', which was not given")."""
    lacking = sorted({p.file.removeprefix("layer ") for p in exc.problems if p.kind == "missing" and p.row is None
                      and p.file.startswith("layer ")})
    if not files or not lacking:
        return exc
    return InputError(
        f"{exc.message}: with --layer, every layer the rules read comes from a file, none from the workspace;"
        f" expected {' '.join(f'--layer {lay}=PATH' for lay in lacking)} too, or --only rules that read only"
        f" {listed(sorted({lay for lay, _ in files}), 'or')}", exc.problems)


def _refuse_unread_values(values: dict[str, dict[str, str]], given: set[str]) -> None:
    """Refuse ``--set LAYER.FIELD=VALUE`` for a layer no ``--layer`` file gives: it fills fields of
    files only, and the stored layer would be checked without it, the flag silently unused (a check
    of the workspace with --set mining_sites.uses_mercury=true flagged nothing, its note saying no
    site has the field)."""
    unread = [(layer, field, value) for layer, fields in values.items() if layer not in given
              for field, value in fields.items()]
    if unread:
        layer, field, value = unread[0]
        raise InputError(
            f"--set {layer}.{field}={value}: fills field '{field}' of a {layer} file given with --layer"
            f" {layer}=PATH, and no {layer} file is given: the stored {layer} would be checked without it; expected"
            f" --layer {layer}=PATH beside it, or the value stored with the layer (import FILE --set {field}={value})")


def cmd_diff(args: argparse.Namespace) -> int:
    """Compare the last two recorded runs: new, resolved and persisting violations."""
    print("\n".join(diff_lines(service(args).diff(), show_ids=not args.counts)))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
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
    p.add_argument("--chunk-rows", type=int, metavar="N",
                   help="read the rules' subject file N records at a time (GeoParquet, GeoJSON, GeoPackage), the"
                        " other layers whole; same result as a whole read. 0: whole. Default: chunks of"
                        f" {chunked_check.CHUNK_ROWS:,} for a GeoParquet of more than {imports.AUTO_CHUNK_ABOVE:,} records"
                        " when the rules allow it (one subject layer in one file, compared with other layers)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("diff", help="compare the last two rule runs: new, resolved, persisting")
    p.add_argument("--counts", action="store_true", help="counts only, no violation ids")
    p.set_defaults(func=cmd_diff)
