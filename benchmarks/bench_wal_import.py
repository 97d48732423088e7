"""Benchmark: reading and validating a GeoPackage of N mining sites for ``cli.py import`` (what it
does before it stores: ``imports.chunk_rows`` then ``imports.load_file``), the file plain and the
same file left in WAL mode with an edit saved in its ``-wal`` (a QGIS that died mid-session: read
from a private copy, ``layers.io.containers``), by this checkout and by another one (``--tree``,
e.g. the session's before-tree: before/after in the same run).

Each figure is one fresh child process of that tree timing its own read (imports excluded), the
trees and files interleaved, the median of ``--rounds``; it also prints how many times the child
copied the file (``containers._copy_with_wal`` calls). The load average is printed before and after.
A benchmark, not a test: it prints, never asserts.

Usage: ``python benchmarks/bench_wal_import.py [--n 200000] [--rounds 3] [--tree /tmp/before10]``
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import sys, time
from layers.io import containers
from services import imports
made = []
real = containers._copy_with_wal
containers._copy_with_wal = lambda path, copy: (made.append(copy), real(path, copy))[1]
start = time.perf_counter()
imports.chunk_rows(sys.argv[1], None)
(item,) = imports.load_file(sys.argv[1], "mining_sites")
print(time.perf_counter() - start, len(made), len(item.gdf), item.gdf["name"].iloc[0])
"""
WAL_EDIT = """
import os, sqlite3, sys
from layers.store.gpkg import register_functions
con = sqlite3.connect(sys.argv[1], isolation_level=None)
register_functions(con)
con.execute("PRAGMA wal_autocheckpoint = 0")
con.execute("PRAGMA journal_mode = WAL")
con.execute("UPDATE mining_sites SET name = 'edited in the wal' WHERE fid = 1")
os._exit(0)  # as a QGIS that died: the -wal stays, not checkpointed
"""


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def write_sites(path: Path, n: int, seed: int = 13) -> None:
    """N mining sites at random points (fixed seed) with the fields an import checks."""
    import geopandas as gpd
    import numpy as np

    rng = np.random.default_rng(seed)
    frame = gpd.GeoDataFrame({
        "site_id": [f"S-{i}" for i in range(n)], "name": [f"site {i}" for i in range(n)],
        "status": rng.choice(["active", "inactive", "abandoned"], n), "uses_mercury": rng.random(n) < 0.5,
        "gold_kg_per_year": rng.random(n) * 10, "miners": rng.integers(1, 200, n),
    }, geometry=gpd.points_from_xy(rng.uniform(-3.0, -1.0, n), rng.uniform(5.0, 7.0, n)), crs=4326)
    frame.to_file(path, layer="mining_sites", driver="GPKG", engine="pyogrio")


def timed(tree: Path, path: Path) -> tuple[float, int, int, str]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], cwd=tree, check=True, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(tree)}).stdout.split(maxsplit=3)
    return float(out[0]), int(out[1]), int(out[2]), out[3].strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tree", type=Path, default=Path("/tmp/before10"))
    args = parser.parse_args()
    print(f"load average before: {_load()} ({os.cpu_count()} cores)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        plain, wal = Path(tmp) / "plain" / "sites.gpkg", Path(tmp) / "wal" / "sites.gpkg"
        plain.parent.mkdir()
        wal.parent.mkdir()
        write_sites(plain, args.n)
        write_sites(wal, args.n)
        subprocess.run([sys.executable, "-c", WAL_EDIT, str(wal)], cwd=ROOT, check=True)
        print(f"{args.n} sites; -wal {wal.with_name('sites.gpkg-wal').stat().st_size} bytes", flush=True)
        trees = {"after": ROOT, "before": args.tree.resolve()}
        found: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):
            for label, tree in trees.items():
                for kind, path in (("plain", plain), ("WAL", wal)):
                    seconds, copies, rows, first = timed(tree, path)
                    found.setdefault((label, kind), []).append(seconds)
                    print(f"  {label:<6} {kind:<5} {seconds:6.2f} s, {copies} cop{'y' if copies == 1 else 'ies'}, "
                          f"{rows} rows, first name {first!r}  (load {_load()})", flush=True)
        for (label, kind), times in found.items():
            print(f"{label:<6} {kind:<5} median {statistics.median(times):6.2f} s of {len(times)}")
    print(f"load average after: {_load()}")


if __name__ == "__main__":
    main()
