"""Benchmark: ``layers.io.validate.validate`` of N mining-site rows with planted errors.

The frame is what a reader hands over (text columns as text, as from a CSV or a form export):
``site_id``, ``name``, ``status``, ``uses_mercury`` ('yes'/'no'), ``gold_kg_per_year``,
``miners``, ``survey_date`` and point geometries in lon/lat. Into it go ``--errors`` planted
errors of ten kinds, the same number of each, in distinct rows (seed 13):

missing id, duplicate id, bad number, fractional whole number, bad yes/no, bad date, value not
allowed, negative count (range), swapped latitude/longitude, null geometry.

It times one in-process call (wall seconds, building the frame not timed), checks that every
planted error is reported (exactly ``--errors`` error problems) and prints the figures. It never
asserts on time. ``--profile`` prints the top cProfile lines.

Usage: ``python benchmarks/bench_validate.py [--n 1000000] [--errors 1000] [--profile]``
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections import Counter

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.catalogue import spec_for
from layers.io.validate import ROW, validate

KINDS = ("missing", "duplicate", "float", "int", "bool", "date", "allowed", "range", "swapped",
         "null_geometry")


def make_frame(n: int, errors: int, seed: int = 13) -> gpd.GeoDataFrame:
    """N clean rows, then ``errors`` planted errors spread evenly over the ten kinds."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("S", np.arange(n).astype(str)).astype(object)
    status = np.array(["active", "inactive", "abandoned", "Unknown"], dtype=object)[rng.integers(0, 4, n)]
    mercury = np.array(["yes", "no", "true", "0"], dtype=object)[rng.integers(0, 4, n)]
    gold = np.round(rng.uniform(0, 50, n), 3).astype(str).astype(object)
    miners = rng.integers(0, 500, n).astype(str).astype(object)
    dates = np.array(["2024-03-31", "2023-11-02", "2025-01-15"], dtype=object)[rng.integers(0, 3, n)]
    x, y = rng.uniform(-3, 1, n), rng.uniform(5, 11, n)
    geoms = shapely.points(x, y).astype(object)
    rows = rng.choice(n, size=errors, replace=False)
    for k, i in enumerate(rows):
        kind = KINDS[k % len(KINDS)]
        if kind == "missing":
            ids[i] = None
        elif kind == "duplicate":
            ids[i] = ids[(i + 1) % n] if ids[(i + 1) % n] is not None else ids[(i + 2) % n]
        elif kind == "float":
            gold[i] = "about 3"
        elif kind == "int":
            miners[i] = "3.5"
        elif kind == "bool":
            mercury[i] = "maybe"
        elif kind == "date":
            dates[i] = "31/03/2024x"
        elif kind == "allowed":
            status[i] = "activ"
        elif kind == "range":
            miners[i] = "-4"
        elif kind == "swapped":
            geoms[i] = shapely.Point(y[i], x[i] + 95)
        else:
            geoms[i] = None
    frame = pd.DataFrame({"site_id": ids, "name": "site", "status": status, "uses_mercury": mercury,
                          "gold_kg_per_year": gold, "miners": miners, "survey_date": dates,
                          ROW: np.arange(1, n + 1)})
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=4326)


def main() -> None:
    """Build the frame, time ``validate`` once and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--errors", type=int, default=1000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    gdf = make_frame(args.n, args.errors)
    spec = spec_for("mining_sites")
    profiler = cProfile.Profile() if args.profile else None
    start = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    _, problems = validate(gdf, spec, source="sites.csv")
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - start
    errors = [p for p in problems if p.severity == "error"]
    print(f"validate: {args.n:,} rows, {args.errors:,} planted errors, {seconds:.2f} s wall "
          f"({args.n / seconds:,.0f} rows/s); target < 3 s: ratio {seconds / 3:.2f}")
    print(f"errors reported: {len(errors):,} (every planted error: {len(errors) == args.errors}); "
          f"by kind {dict(sorted(Counter(p.kind for p in errors).items()))}")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
