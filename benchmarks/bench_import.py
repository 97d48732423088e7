"""Benchmark: ``cli.py import`` of N points from GeoParquet into a new workspace, whole process.

The file holds N mining sites (``site_id``, ``name``, ``status``, ``uses_mercury``,
``gold_kg_per_year``, ``miners``; random points in lon/lat from a fixed seed), written once into
a temporary folder. Then, each in a fresh child process:

- HgWatch: ``python cli.py --workspace new.gpkg import sites.parquet --layer mining_sites``;
- baseline: a child Python that runs ``geopandas.read_parquet`` and ``to_file(..., driver="GPKG",
  engine="pyogrio", use_arrow=True)``, the bare read plus write of the same file.

Figures are wall seconds from start to exit, CPU seconds (user + system: steadier than wall time
on a machine other jobs share) and the child's peak resident memory (``ru_maxrss``
from ``os.wait4``: the child alone; the file is written by another child, because a child's
``ru_maxrss`` starts at what its parent held when it was started). It prints both and the ratios HgWatch / baseline (targets:
time <= 1.3, memory <= 1.5). A benchmark, not a test: it prints, never asserts.

Usage: ``python benchmarks/bench_import.py [--n 1000000] [--profile] [--tree DIR] [--chunk-rows K]
[--skip-baseline]``. ``--profile`` runs the HgWatch child under cProfile and prints its top lines;
``--tree DIR`` also times the ``cli.py`` of another checkout (``git archive <commit> | tar -x -C DIR``:
before/after in the same run); ``--chunk-rows K`` passes ``--chunk-rows K`` to this checkout's import
(e.g. 1e7 points in chunks of 1e6: peak memory bounded by the chunk). The load average is printed
before the runs.
"""
from __future__ import annotations

import argparse
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ("import sys, geopandas as gpd; gpd.read_parquet(sys.argv[1]).to_file(sys.argv[2], "
            "driver='GPKG', engine='pyogrio', use_arrow=True)")


def write_sites(path: Path, n: int, seed: int = 13) -> None:
    """N clean mining sites as GeoParquet."""
    import geopandas as gpd
    import numpy as np
    import shapely

    rng = np.random.default_rng(seed)
    frame = {"site_id": np.char.add("S", np.arange(n).astype(str)).astype(object), "name": "site",
             "status": np.array(["active", "inactive", "abandoned", "unknown"], dtype=object)[rng.integers(0, 4, n)],
             "uses_mercury": rng.integers(0, 2, n).astype(bool),
             "gold_kg_per_year": np.round(rng.uniform(0, 50, n), 3), "miners": rng.integers(0, 500, n)}
    points = shapely.points(rng.uniform(-3, 1, n), rng.uniform(5, 11, n))
    gpd.GeoDataFrame(frame, geometry=points, crs=4326).to_parquet(path)


def run_child(cmd: list[str]) -> tuple[float, float, float, str]:
    """Run ``cmd``; wall seconds, CPU seconds (user + system), the child's peak RSS in MB and its
    stderr tail on failure."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        err.seek(0)
        tail = err.read().decode(errors="replace").strip().splitlines()[-3:]
    if os.waitstatus_to_exitcode(status) != 0:
        return float("nan"), float("nan"), float("nan"), " | ".join(tail)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0, ""


def main() -> None:
    """Write the file, run both children and print the figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--tree", help="also time the cli.py of this other HgWatch checkout (before/after)")
    parser.add_argument("--chunk-rows", type=int, help="pass --chunk-rows to this checkout's import")
    parser.add_argument("--skip-baseline", action="store_true", help="do not run the bare read+write baseline")
    parser.add_argument("--write", help=argparse.SUPPRESS)  # the child that writes the file
    args = parser.parse_args()
    if args.write:
        write_sites(Path(args.write), args.n)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sites = folder / "sites.parquet"
        # written by a child: a child's peak memory (ru_maxrss) counts what this process held when it
        # started it, so this process stays small (at 1e7 points writing the file takes 5 GB)
        subprocess.run([sys.executable, __file__, "--n", str(args.n), "--write", str(sites)], check=True)
        print(f"load average before the runs: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
              f"({os.cpu_count()} cores)")
        base_s = base_cpu = base_mb = float("nan")
        base_err = "skipped"
        if not args.skip_baseline:
            base_s, base_cpu, base_mb, base_err = run_child([sys.executable, "-c", BASELINE, str(sites),
                                                   str(folder / "base.gpkg")])
        prefix = [sys.executable] + (["-m", "cProfile", "-o", str(folder / "prof")] if args.profile else [])
        chunks = ["--chunk-rows", str(args.chunk_rows)] if args.chunk_rows is not None else []
        hgw_s, hgw_cpu, hgw_mb, hgw_err = run_child([*prefix, str(ROOT / "cli.py"), "--workspace", str(folder / "new.gpkg"),
                                            "import", str(sites), "--layer", "mining_sites", *chunks])
        rows = [("baseline read+write", base_s, base_cpu, base_mb, base_err),
                ("hgwatch import", hgw_s, hgw_cpu, hgw_mb, hgw_err)]
        if args.tree:
            tree = Path(args.tree).resolve()
            other = run_child([sys.executable, str(tree / "cli.py"), "--workspace", str(folder / "other.gpkg"),
                               "import", str(sites), "--layer", "mining_sites"])
            rows.append(("other tree import", *other))
        print(f"import of {args.n:,} points from GeoParquet into a new workspace, whole process"
              + (f", --chunk-rows {args.chunk_rows}" if chunks else ""))
        print(f"{'':<22}{'wall s':>8}{'CPU s':>8}{'peak MB':>9}")
        for name, wall, cpu, peak, err in rows:
            print(f"{name:<22}{wall:>8.2f}{cpu:>8.2f}{peak:>9.0f} {err}")
        print(f"ratio time {hgw_s / base_s:.2f} (target <= 1.3; CPU {hgw_cpu / base_cpu:.2f}), "
              f"memory {hgw_mb / base_mb:.2f} (target <= 1.5)")
        if args.tree:
            print(f"other tree / this tree: time {rows[2][1] / hgw_s:.2f}, CPU {rows[2][2] / hgw_cpu:.2f}, "
                  f"memory {rows[2][3] / hgw_mb:.2f}")
        print(f"load average after the runs: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if args.profile and not hgw_err:
            pstats.Stats(str(folder / "prof")).sort_stats("cumulative").print_stats(30)


if __name__ == "__main__":
    main()
