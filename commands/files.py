"""Commands on files and the stored layers: import, validate, layers, export, share."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from commands.common import print_problems, service, typed
from layers.catalogue import CATALOGUE
from layers.io.export import FORMATS as EXPORT_FORMATS
from layers.io.export import PROFILES
from layers.io.readers import Loaded
from layers.store.base import IdsStored, LayerInfo, Store
from services import arguments, audit, imports, outputs
from services.areas import stored_areas


def cmd_import(args: argparse.Namespace) -> int:
    """Validate a file and store it in the workspace; nothing changes if any layer has errors."""
    started = time.monotonic()
    progress = lambda m: print(f"[{time.monotonic() - started:6.1f} s] {m}", file=sys.stderr, flush=True)
    svc = service(args)
    rows = imports.chunk_rows(args.file, args.chunk_rows)
    if rows:
        filled: dict[str, int] = {}  # known once the chunks are read: the source is then asked for
        name, chunks = imports.load_chunks(args.file, args.layer, rows=rows, crs=args.crs, repair=args.repair,
                                           set_values=arguments.set_values(args.set), progress=progress,
                                           warn=print_problems, admin_areas=stored_areas(svc.store), filled=filled,
                                           source_layer=args.source_layer)
        progress(f"reading {args.file} {rows} records at a time")  # after a refusal of the file itself, not before
        held = _held(args, svc.store, [name])
        meta = _provenance(args, held) | {"source": lambda: str(_provenance(args, held, filled)["source"])}
        try:
            info = svc.add_layer_chunks(name, chunks, append=args.append, replace_all=args.replace_all, **meta)
        except IdsStored as exc:  # the chunks are gone: the file is read again up to the ids to show
            where = imports.chunked_rows(args.file, exc, rows=rows, crs=args.crs, repair=args.repair,
                                         set_values=arguments.set_values(args.set))
            raise imports.placed_clash(exc, args.file, where) from None
        progress(f"stored {info.rows} features in layer {info.layer} of {svc.store.path}")
        print(_recorded(info), file=sys.stderr)
        return 0
    loaded = imports.load_file(args.file, args.layer, source_layer=args.source_layer, crs=args.crs,
                               repair=args.repair, set_values=arguments.set_values(args.set),
                               progress=progress, warn=print_problems, admin_areas=stored_areas(svc.store))
    try:
        infos = svc.add_layers(loaded, append=args.append, replace_all=args.replace_all,
                               **_provenance(args, _held(args, svc.store, [item.layer for item in loaded]),
                                             _filled(loaded)))
    except IdsStored as exc:  # the store knows the ids; the rows read from the file say where each is
        raise imports.placed_clash(exc, args.file, imports.loaded_rows(loaded, exc)) from None
    for info in infos:
        progress(f"stored {info.rows} features in layer {info.layer} of {svc.store.path}")
        print(_recorded(info), file=sys.stderr)
    return 0


def _held(args: argparse.Namespace, store: Store, layers: list[str]) -> dict[str, LayerInfo | None]:
    """What ``store`` holds of each of ``layers`` that an ``--append`` adds to (None: nothing)."""
    return {lay: store.info(lay) if args.append and store.exists() and store.has(lay) else None for lay in layers}


def _provenance(args: argparse.Namespace, held: dict[str, LayerInfo | None],
                filled: dict[str, int] | None = None) -> dict[str, Any]:
    """Source, licence and expected error to record: the source says which values ``--set`` gave
    and, with ``filled``, how many rows each filled (``imports.set_source``); an ``--append`` to a
    layer already held (``held``, from ``_held``) keeps what it held (``imports.appended_provenance``),
    when every appended layer comes to the same record."""
    given: dict[str, Any] = {
        "source": imports.set_source(args.source or Path(args.file).name, arguments.set_values(args.set), filled),
        "licence": args.licence, "accuracy_m": args.accuracy_m, "accuracy_note": args.accuracy_note}
    if not args.append:
        return given
    merged = [imports.appended_provenance(info, **given) for info in held.values()]
    return merged[0] if all(m == merged[0] for m in merged) else given


def _recorded(info: LayerInfo) -> str:
    """The provenance the layer now carries, as every check and export will show it: after an
    --append it is both files', and a --set is named in its source."""
    error = f"±{info.accuracy_m:g} m" if info.accuracy_m is not None else "unknown (give --accuracy-m)"
    note = f" ({info.accuracy_note})" if info.accuracy_note else ""
    return f"  recorded: source {info.source}; licence {info.licence}; expected error {error}{note}"


def _filled(loaded: list[Loaded]) -> dict[str, int]:
    """Rows each ``--set`` field filled, over every layer read from the file."""
    out: dict[str, int] = {}
    for item in loaded:
        for key, n in item.filled.items():
            out[key] = out.get(key, 0) + n
    return out


def cmd_validate(args: argparse.Namespace) -> int:
    """Report every problem in a file and change nothing."""
    lines, problems = imports.validate_file(args.file, args.layer, source_layer=args.source_layer,
                                            crs=args.crs, repair=args.repair,
                                            set_values=arguments.set_values(args.set))
    for line in lines + imports.problem_lines(problems):
        print(line)
    return 1 if any(p.severity == "error" for p in problems) else 0


def cmd_layers(args: argparse.Namespace) -> int:
    """List the layers in the workspace with their provenance: those the acting identity may see
    (``--as`` a partner or field account: no wholly restricted layer, not even its name or count)."""
    from services.auth import may_see_layer

    ws = service(args).store
    listed = [i for i in ws.layers() if may_see_layer(args.identity, i.layer)]  # read (or refused) before a line
    wide = max([len("imported"), *(len(i.imported_at) for i in listed)])  # an ISO time with its offset: 25
    print(f"workspace {ws.path}")
    print(f"{'layer':<18} {'rows':>7}  {'error':>9}  {'imported':<{wide}} source / licence")
    for i in listed:
        err = f"±{i.accuracy_m:g} m" if i.accuracy_m is not None else "unknown"
        tag = " [SYNTHETIC]" if i.synthetic else ""
        print(f"{i.layer:<18} {i.rows:>7}  {err:>9}  {i.imported_at:<{wide}} {i.source} / {i.licence}{tag}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export a layer, or a filtered subset, under a profile."""
    from services.exports import export_layer  # the exporters and report tables: only this command needs them

    target = outputs.output_file(args.out, flag="--out", suffixes=EXPORT_FORMATS)
    store = service(args).store
    out, n = export_layer(store, args.layer, target, profile=args.profile, identity=args.identity,
                          filters=args.filter, bbox=args.bbox)
    audit.record_output(store, "export", args.layer, after={"profile": args.profile, "rows": n, "file": str(out),
                                                            "filters": args.filter, "bbox": args.bbox})
    print(f"wrote {n} {args.layer} features to {out} (profile {args.profile})")
    return 0


def cmd_share(args: argparse.Namespace) -> int:
    """Mark columns the catalogue does not declare as shareable (they then leave under partner
    and public), or unmark them with --undo; a person-like name is refused as restricted."""
    from services.exports import share_fields

    store = service(args).store
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


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="validate a file and store it in the workspace")
    _file_options(p)
    p.add_argument("--append", action="store_true", help="add to the layer instead of replacing it")
    p.add_argument("--replace-all", action="store_true",
                   help="replace a stored layer even when the file has fewer than half its rows")
    p.add_argument("--source", help="source to record (default: the file name)")
    p.add_argument("--licence", default="unknown", help="licence of the data, e.g. CC-BY-4.0")
    p.add_argument("--accuracy-m", help="expected positional error in metres (>= 0)",
                   type=typed(arguments.parse_metres, flag="--accuracy-m", positive=False,
                               what="a positional error", example="10"))
    p.add_argument("--accuracy-note", default="", help="how the accuracy was judged")
    p.add_argument("--chunk-rows", type=int, metavar="N",
                   help="read, validate and store a GeoParquet N records at a time (memory for N, not the file); "
                        f"0: whole. Default: chunks of {imports.CHUNK_ROWS:,} above {imports.AUTO_CHUNK_ABOVE:,} records")
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
