"""Benchmark: how long a dashboard or API layer read waits behind another process's commit of N rows.

A GeoPackage workspace holds N sites. A writer in another process renames every site in one
transaction (``Workspace.writing``: the rows change in memory, readers still get in) and then, on
a signal, commits. This process times, in turn (3 rounds each, medians):

- ``read``: ``Workspace.read("mining_sites")`` with no writer;
- ``commit``: the writer's COMMIT alone (what it writes: N changed rows and their journal);
- ``read at commit``: the same read started the moment the writer is told to commit; its extra time
  over ``read`` is the wait (a commit takes SQLite's PENDING lock, so a read that starts after it
  waits for it; one that got in first holds the commit up instead; which one comes first varies).

The load average is printed before and after. A benchmark, not a test: it prints, never asserts.

Usage: ``python benchmarks/bench_reads_under_writes.py [--n 200000 1000000]``
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from layers.store.workspace import Workspace  # noqa: E402

WRITER = """
import sys, time
from layers.store.workspace import Workspace
ws = Workspace(sys.argv[1])
for name in sys.argv[2:]:
    with ws.writing() as con:
        con.execute("UPDATE mining_sites SET name = ?", (name,))
        print("ready", flush=True)
        sys.stdin.readline()
        start = time.perf_counter()
    print(f"{time.perf_counter() - start:.3f}", flush=True)
"""
ROUNDS = 3


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _workspace(folder: Path, n: int) -> Workspace:
    rng = np.random.default_rng(1)
    sites = gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(n)], "name": ["a"] * n, "status": ["active"] * n},
                             geometry=shapely.points(rng.uniform(-3, -1, n), rng.uniform(5, 7, n)), crs=4326)
    ws = Workspace(folder / f"ws{n}.gpkg")
    ws.write_layers([("mining_sites", sites)], source="bench.geojson", licence="CC-BY-4.0")
    return ws


def _read(ws: Workspace) -> float:
    start = time.perf_counter()
    ws.read("mining_sites")
    return time.perf_counter() - start


def measure(ws: Workspace) -> tuple[float, float, float]:
    """Medians (s) of a read alone, a commit alone and a read started with the commit."""
    alone = [_read(ws) for _ in range(ROUNDS)]
    names = [f"r{i}" for i in range(2 * ROUNDS)]
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(ws.real), *names], cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert writer.stdin is not None and writer.stdout is not None
    commits, with_commit = [], []
    try:
        for i in range(2 * ROUNDS):
            assert writer.stdout.readline().strip() == "ready"
            writer.stdin.write("\n")
            writer.stdin.flush()
            if i % 2:  # a read started with the commit
                with_commit.append(_read(ws))
            commits.append(float(writer.stdout.readline()))
    finally:
        writer.kill()
        writer.wait()
    return statistics.median(alone), statistics.median(commits[0::2]), statistics.median(with_commit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[200_000, 1_000_000])
    args = parser.parse_args()
    print(f"Workspace.read of N sites behind another process's commit of all N; load average {_load()}"
          f" ({os.cpu_count()} cores); medians of {ROUNDS}")
    print(f"{'sites':>10}{'read s':>9}{'commit s':>10}{'read at commit s':>18}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.n:
            ws = _workspace(Path(tmp), n)
            read, commit, both = measure(ws)
            print(f"{n:>10,}{read:>9.2f}{commit:>10.2f}{both:>18.2f}", flush=True)
    print(f"load average after: {_load()}")


if __name__ == "__main__":
    main()
