"""HgWatch command line: wires arguments to the functions in ``layers`` and ``geo``.

Run ``python cli.py --help``. Exit codes: 0 success, 1 the input has errors (validate),
2 refusal (bad arguments, unreadable file, a file with errors that was not imported).
User errors print their reasons on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from geo.errors import HgWatchError, InputError, Problem
from layers.catalogue import CATALOGUE, spec_for
from layers.io import export as exporter
from layers.io.readers import load_layer, source_layers
from layers.store.workspace import DEFAULT_PATH, Workspace
from services.filters import apply_filters, parse_bbox, parse_filters


def _workspace(args: argparse.Namespace) -> Workspace:
    return Workspace(args.workspace)


def _progress(message: str, started: float) -> None:
    print(f"[{time.monotonic() - started:6.1f} s] {message}", file=sys.stderr, flush=True)


def print_problems(problems: Sequence[Problem], stream: TextIO | None = None) -> None:
    """Print problems grouped by severity, then by kind, each on one line (stderr by default)."""
    stream = stream or sys.stderr
    for severity in ("error", "warning", "info"):
        group = [p for p in problems if p.severity == severity]
        if not group:
            continue
        print(f"{len(group)} {severity}(s):", file=stream)
        for p in sorted(group, key=lambda p: (p.kind, p.row or 0)):
            print(f"  {p}", file=stream)


def _set_values(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InputError(f"--set {pair!r}: expected FIELD=VALUE, e.g. --set kind=river")
        out[key.strip()] = value.strip()
    return out


def _targets(args: argparse.Namespace) -> list[tuple[str | None, str | None]]:
    """(layer type, source layer) pairs to import from one file."""
    path = Path(args.file)
    if args.source_layer or path.suffix.lower() != ".gpkg":
        return [(args.layer, args.source_layer)]
    inside = source_layers(path)
    known = [name for name in inside if name in CATALOGUE]
    if args.layer:
        return [(args.layer, args.layer if args.layer in inside else None)]
    if known:
        return [(name, name) for name in known]
    return [(None, None)]


def cmd_import(args: argparse.Namespace) -> int:
    """Validate a file and store it in the workspace; nothing changes if any layer has errors."""
    started = time.monotonic()
    loaded = []
    for layer, source_layer in _targets(args):
        _progress(f"reading {args.file}" + (f" layer {source_layer}" if source_layer else ""), started)
        item = load_layer(args.file, layer, source_layer=source_layer, crs=args.crs,
                          repair=args.repair, set_values=_set_values(args.set))
        _progress(f"validated {len(item.gdf)} {item.layer} features", started)
        print_problems(item.warnings)
        loaded.append(item)
    ws = _workspace(args)
    infos = ws.write_layers(
        [(item.layer, item.gdf) for item in loaded], append=args.append,
        source=args.source or Path(args.file).name, licence=args.licence,
        accuracy_m=args.accuracy_m, accuracy_note=args.accuracy_note)
    for info in infos:
        _progress(f"stored {info.rows} features in layer {info.layer} of {ws.path}", started)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Report every problem in a file and change nothing."""
    problems: list[Problem] = []
    for layer, source_layer in _targets(args):
        try:
            item = load_layer(args.file, layer, source_layer=source_layer, crs=args.crs,
                              repair=args.repair, set_values=_set_values(args.set))
            problems += item.warnings
            print(f"{args.file}: {len(item.gdf)} {item.layer} features are valid")
        except InputError as exc:
            problems += exc.problems or [Problem(args.file, None, None, None, exc.message)]
    print_problems(problems, sys.stdout)
    return 1 if any(p.severity == "error" for p in problems) else 0


def cmd_layers(args: argparse.Namespace) -> int:
    """List the layers in the workspace with their provenance."""
    ws = _workspace(args)
    infos = ws.layers()
    print(f"workspace {ws.path}")
    print(f"{'layer':<18} {'rows':>7}  {'error':>9}  {'imported':<20} source / licence")
    for i in infos:
        err = f"±{i.accuracy_m:g} m" if i.accuracy_m is not None else "unknown"
        tag = " [SYNTHETIC]" if i.synthetic else ""
        print(f"{i.layer:<18} {i.rows:>7}  {err:>9}  {i.imported_at:<20} {i.source} / {i.licence}{tag}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export a layer, or a filtered subset, under a profile."""
    ws = _workspace(args)
    gdf = ws.read(args.layer)
    gdf = apply_filters(gdf, parse_filters(args.filter, spec_for(args.layer)),
                        bbox=parse_bbox(args.bbox) if args.bbox else None)
    info = ws.info(args.layer)
    out = exporter.write(gdf, args.out, spec=spec_for(args.layer), profile=args.profile,
                         provenance=[exporter.Provenance(info.layer, info.source, info.licence,
                                                         info.synthetic)])
    print(f"wrote {len(gdf)} {args.layer} features to {out} (profile {args.profile})")
    return 0


def _file_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="GeoJSON, GeoPackage, zipped Shapefile, GeoParquet, KML, CSV or XLSX")
    p.add_argument("--layer", choices=sorted(CATALOGUE), help="layer type, when the file name does not say it")
    p.add_argument("--source-layer", help="layer inside a GeoPackage or KML to read")
    p.add_argument("--crs", help="CRS of a file that declares none, e.g. EPSG:32630 (never guessed)")
    p.add_argument("--repair", action="store_true", help="repair invalid geometries with make_valid")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="fill a field the file lacks, e.g. --set kind=river (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="hgwatch", description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", default=os.environ.get("HGWATCH_WORKSPACE", str(DEFAULT_PATH)),
                        help="workspace GeoPackage (default: $HGWATCH_WORKSPACE or the demo)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("import", help="validate a file and store it in the workspace")
    _file_options(p)
    p.add_argument("--append", action="store_true", help="add to the layer instead of replacing it")
    p.add_argument("--source", help="source to record (default: the file name)")
    p.add_argument("--licence", default="unknown", help="licence of the data, e.g. CC-BY-4.0")
    p.add_argument("--accuracy-m", type=float, help="expected positional error in metres")
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
    p.add_argument("--profile", choices=exporter.PROFILES, default="partner",
                   help="internal: all fields; partner/public: no restricted fields")
    p.add_argument("--filter", action="append", default=[], metavar="FIELD=V1,V2",
                   help="keep features whose FIELD is one of the values (repeatable)")
    p.add_argument("--bbox", help="keep features intersecting W,S,E,N (degrees)")
    p.set_defaults(func=cmd_export)

    for register in EXTRA_COMMANDS:
        register(sub)
    return parser


# Subcommands from other capabilities register here: each is a function that adds its
# parser to ``sub`` and sets ``func``. Keep one line per capability.
EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = []

# ---- rule engine (check, diff) ----------------------------------------------------------
def _layer_files(values: list[str]) -> list[tuple[str, str]]:
    """``LAYER=PATH`` arguments as (layer type, path) pairs."""
    out = []
    for value in values:
        layer, sep, path = value.partition("=")
        if not sep or layer not in CATALOGUE or not path:
            raise InputError(f"--layer {value!r}: expected LAYER=PATH with LAYER one of "
                             f"{sorted(CATALOGUE)}, e.g. --layer water_bodies=rivers.geojson")
        out.append((layer, path))
    return out


def _layer_values(values: list[str]) -> dict[str, dict[str, str]]:
    """``LAYER.FIELD=VALUE`` arguments as {layer: {field: value}}."""
    out: dict[str, dict[str, str]] = {}
    for value in values:
        key, sep, val = value.partition("=")
        layer, dot, name = key.partition(".")
        if not sep or not dot or layer not in CATALOGUE or not name:
            raise InputError(f"--set {value!r}: expected LAYER.FIELD=VALUE with LAYER one of "
                             f"{sorted(CATALOGUE)}, e.g. --set mining_sites.uses_mercury=true")
        out.setdefault(layer, {})[name.strip()] = val.strip()
    return out


def cmd_check(args: argparse.Namespace) -> int:
    """Run the rules; print a summary per rule; exit 0 whether or not anything was flagged."""
    from layers.io.violations import write_violations
    from services.checks import check, summary_lines

    files = _layer_files(args.layer)
    outcome = check(rules_path=args.rules, only=args.only or None,
                    workspace=None if files else _workspace(args), files=files,
                    set_values=_layer_values(args.set), repair=args.repair,
                    record=not args.no_record)
    print_problems(outcome.warnings)
    for layer, sources in outcome.sources.items():
        print(f"{layer}: {', '.join(sources)}")
    print("\n".join(summary_lines(outcome.evaluation)))
    if args.out:
        out = write_violations(outcome.evaluation.violations, args.out)
        print(f"wrote {len(outcome.evaluation.violations)} violation(s) to {out}")
    if outcome.run_id is not None:
        print(f"recorded as run {outcome.run_id} in {args.workspace}")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    """Compare the last two recorded runs: new, resolved and persisting violations."""
    from services.checks import diff_last_runs, diff_lines

    print("\n".join(diff_lines(diff_last_runs(_workspace(args)), show_ids=not args.counts)))
    return 0


def _register_rule_commands(sub: argparse._SubParsersAction) -> None:
    from settings.rules import DEFAULT_RULES

    p = sub.add_parser("check", help="run the rules on the workspace or on files")
    p.add_argument("--layer", action="append", default=[], metavar="LAYER=PATH",
                   help="read LAYER from PATH instead of the workspace (repeatable; several"
                        " files of one layer are combined); the run is then not recorded")
    p.add_argument("--set", action="append", default=[], metavar="LAYER.FIELD=VALUE",
                   help="fill a field the files lack, e.g. --set mining_sites.uses_mercury=true")
    p.add_argument("--repair", action="store_true",
                   help="repair invalid geometries in the files with make_valid")
    p.add_argument("--rules", default=str(DEFAULT_RULES), help="rule file (TOML)")
    p.add_argument("--only", action="append", default=[], metavar="RULE_ID",
                   help="run only this rule (repeatable)")
    p.add_argument("--out", help="write the violations to FILE.geojson, .gpkg or .csv")
    p.add_argument("--no-record", action="store_true", help="do not record the run")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("diff", help="compare the last two rule runs: new, resolved, persisting")
    p.add_argument("--counts", action="store_true", help="counts only, no violation ids")
    p.set_defaults(func=cmd_diff)


EXTRA_COMMANDS.append(_register_rule_commands)
# ---- end rule engine ---------------------------------------------------------------------

# ---- overlays (surface) ------------------------------------------------------------------
def cmd_surface(args: argparse.Namespace) -> int:
    """Interpolate one medium's samples and write a Cloud-Optimized GeoTIFF."""
    from services.contamination import classed_samples, medium_surface, write_surface
    from settings.exposure import load_exposure
    from settings.guidelines import load_guidelines

    files = _layer_files(args.layer)
    if any(layer != "samples" for layer, _ in files) or len(files) > 1:
        raise InputError("--layer: surface reads one file, given as --layer samples=PATH")
    if files:
        item = load_layer(files[0][1], "samples")
        print_problems(item.warnings, stream=sys.stderr)
        samples, source = item.gdf, item.source
    else:
        samples, source = _workspace(args).read("samples"), f"{args.workspace} (samples)"
    guidelines, settings = load_guidelines(args.guidelines) if args.guidelines else load_guidelines()
    exposure = load_exposure(args.exposure) if args.exposure else load_exposure()
    classed = classed_samples(samples, guidelines, settings, source=source)
    surface = medium_surface(classed, medium=args.medium, exposure=exposure, method=args.method,
                             cell_m=args.cell_m, max_distance_m=args.max_distance_m,
                             source=source)
    out = write_surface(surface, args.out, medium=args.medium, guidelines=guidelines)
    cv = surface.cross_validation
    painted = int((surface.values == surface.values).sum())
    print(f"{surface.method} surface of {surface.n_samples} {args.medium} sample position(s): "
          f"{surface.grid.width} x {surface.grid.height} cells of {surface.grid.cell_m:g} m, "
          f"{painted} within {surface.max_distance_m:g} m of a sample")
    print(f"leave-one-out error ({cv.n} samples): RMSE {cv.rmse:.4g} {surface.unit}, "
          f"MAE {cv.mae:.4g} {surface.unit}"
          + ("" if cv.rmse_log is None else f", RMSE of ln(Hg) {cv.rmse_log:.4g}"))
    for note in surface.notes:
        print(f"  {note}")
    print(f"wrote {out}")
    return 0


def _register_surface_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("surface", help="interpolate mercury samples of one medium to a COG")
    p.add_argument("--medium", required=True,
                   choices=("water", "sediment", "soil", "fish", "hair", "air"))
    p.add_argument("--out", required=True, help="FILE.tif (Cloud-Optimized GeoTIFF)")
    p.add_argument("--method", choices=("idw", "kriging"),
                   help="default from config/exposure.toml (idw)")
    p.add_argument("--cell-m", type=float, help="cell size in metres (default 100)")
    p.add_argument("--max-distance-m", type=float,
                   help="no value further than this from a sample, metres (default 5000)")
    p.add_argument("--layer", action="append", default=[], metavar="samples=PATH",
                   help="read the samples from PATH instead of the workspace")
    p.add_argument("--guidelines", help="guideline file (default: config/guidelines.toml)")
    p.add_argument("--exposure", help="exposure settings (default: config/exposure.toml)")
    p.set_defaults(func=cmd_surface)


EXTRA_COMMANDS.append(_register_surface_commands)
# ---- end overlays -------------------------------------------------------------------------

# ---- inventory (report) ------------------------------------------------------------------
def cmd_report(args: argparse.Namespace) -> int:
    """Write the mercury inventory report (PDF or HTML) and, on request, every table as CSV."""
    from datetime import date

    from render.report.document import make_report, summary_lines
    from render.report.tables import write_csvs

    today = date.fromisoformat(args.today) if args.today else None
    out, inv = make_report(args.out, area=args.area, workspace=_workspace(args),
                           layer_paths=dict(_layer_files(args.layer)),
                           factors_path=args.factors, today=today)
    print("\n".join(summary_lines(inv)))
    print(f"wrote the {inv.area} report to {out}")
    if args.csv:
        paths = write_csvs(inv, args.csv)
        print(f"wrote {len(paths)} CSV tables to {args.csv}")
    return 0


def _register_inventory_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="mercury inventory report for an area (PDF or HTML)")
    p.add_argument("--area", help="admin_area to report on (default: all sites)")
    p.add_argument("--out", required=True, help="FILE.pdf or FILE.html")
    p.add_argument("--layer", action="append", default=[], metavar="LAYER=PATH",
                   help="read mining_sites (or water_bodies) from PATH instead of the workspace")
    p.add_argument("--factors", help="factor file (default: config/inventory.toml)")
    p.add_argument("--csv", metavar="DIR", help="also write every table as CSV into DIR")
    p.add_argument("--today", help="judge target deadlines on this date (YYYY-MM-DD)")
    p.set_defaults(func=cmd_report)


EXTRA_COMMANDS.append(_register_inventory_commands)
# ---- end inventory ------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the subcommand; user errors become messages and exit code 2."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except HgWatchError as exc:
        print(f"hgwatch: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("hgwatch: interrupted; the workspace is unchanged", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
