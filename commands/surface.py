"""The overlay command: surface (interpolated mercury samples as a Cloud-Optimized GeoTIFF)."""
from __future__ import annotations

import argparse

from commands.common import print_problems, service, typed
from geo.errors import InputError
from layers.catalogue import MEDIUM
from services import arguments, outputs


def cmd_surface(args: argparse.Namespace) -> int:
    """Interpolate one medium's samples and write a Cloud-Optimized GeoTIFF."""
    from services.contamination import surface_lines  # scipy and rasterio: loaded by this command only (issue 13)

    target = outputs.output_file(args.out, flag="--out", suffixes=(".tif", ".tiff"))
    files = arguments.layer_files(args.layer)
    if any(layer != "samples" for layer, _ in files) or len(files) > 1:
        raise InputError("--layer: surface reads one file, given as --layer samples=PATH")
    svc = service(args, guidelines_path=args.guidelines, exposure_path=args.exposure)
    surface, out, warnings = svc.write_surface(
        target, medium=args.medium, samples_path=files[0][1] if files else None,
        method=args.method, cell_m=args.cell_m, max_distance_m=args.max_distance_m)
    print_problems(warnings)
    print("\n".join(surface_lines(surface, medium=args.medium)))
    print(f"wrote {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("surface", help="interpolate mercury samples of one medium to a COG")
    p.add_argument("--medium", required=True, choices=MEDIUM)
    p.add_argument("--out", required=True, help="FILE.tif (Cloud-Optimized GeoTIFF)")
    p.add_argument("--method", choices=("idw", "kriging"),
                   help="default from config/exposure.toml (idw)")
    p.add_argument("--cell-m", help="cell size in metres, > 0 (default 100)",
                   type=typed(arguments.parse_metres, flag="--cell-m", what="a cell size"))
    p.add_argument("--max-distance-m",
                   help="no value further than this from a sample, metres, > 0 (default 5000)",
                   type=typed(arguments.parse_metres, flag="--max-distance-m",
                               what="a distance from a sample", example="5000"))
    p.add_argument("--layer", action="append", default=[], metavar="samples=PATH",
                   help="read the samples from PATH instead of the workspace")
    p.add_argument("--guidelines", help="guideline file (default: config/guidelines.toml)")
    p.add_argument("--exposure", help="exposure settings (default: config/exposure.toml)")
    p.set_defaults(func=cmd_surface)
