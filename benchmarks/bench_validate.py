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

``--chunked N`` instead writes N rows (with the same share of planted errors) as GeoParquet,
1e6 rows at a time, and validates the file in a child process with ``layers.io.chunked`` in
chunks of ``--chunk-rows``; it prints the child's wall seconds and peak resident memory
(``ru_maxrss``), which is what bounds the size of file a machine can take.

Usage: ``python benchmarks/bench_validate.py [--n 1000000] [--errors 1000] [--profile]
[--chunked 10000000 --chunk-rows 1000000]``
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

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


CHILD = ("import sys; from pathlib import Path; from layers.catalogue import spec_for; "
         "from layers.io.chunked import read_chunks, validate_chunks; p = Path(sys.argv[1]); "
         "n, problems = validate_chunks(read_chunks(p, int(sys.argv[2])), spec_for('mining_sites'), source=p.name); "
         "print(n, sum(q.severity == 'error' for q in problems))")


def chunked(n: int, errors: int, chunk_rows: int) -> None:
    """Write ``n`` rows as GeoParquet a million at a time; validate it in chunks in a child."""
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sites.parquet"
        writer = None
        step = 1_000_000
        for k, start in enumerate(range(0, n, step)):
            part = make_frame(min(step, n - start), errors * min(step, n - start) // n, seed=13 + k)
            part["site_id"] = part["site_id"].map(lambda s, k=k: None if s is None else f"{s}-{k}")
            table = part.drop(columns=[ROW]).to_arrow(geometry_encoding="WKB")
            import pyarrow as pa
            table = pa.table(table)
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table, row_group_size=100_000)
        assert writer is not None
        writer.close()
        print(f"wrote {n:,} rows, {path.stat().st_size / 1e6:,.0f} MB GeoParquet")
        start_t = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(chunk_rows)], stdout=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        out = proc.stdout.read().decode().strip() if proc.stdout else ""
        print(f"chunked validate: {n:,} rows in chunks of {chunk_rows:,}: {time.perf_counter() - start_t:.1f} s wall, "
              f"peak {usage.ru_maxrss / 1024:,.0f} MB (exit {os.waitstatus_to_exitcode(status)}; rows, errors: {out})")


def main() -> None:
    """Build the frame, time ``validate`` once and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--errors", type=int, default=1000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--chunked", type=int, default=0)
    parser.add_argument("--chunk-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.chunked:
        chunked(args.chunked, args.errors * args.chunked // args.n, args.chunk_rows)
        return
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
