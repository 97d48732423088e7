"""Benchmark: how long a GeoPackage read waits for a lock another process holds, and what a read costs
with no lock, in this tree and (``--tree``) another one, in the same run.

Another process holds SQLite's EXCLUSIVE lock (``BEGIN EXCLUSIVE``: no reader gets in) on:

- ``workspace read, never gets in``: ``arrowread.read_layer`` of a workspace layer, with
  ``files.READ_WAIT_S`` set to ``--wait`` seconds: the time until it gives up;
- ``user file import, held``: ``services.imports.load_file`` of a user's GeoPackage: the time until it
  gives up, or ``> CAP`` when it had not after ``--cap`` seconds (it is then let go);

(the import first: before, the workspace's wait was set for the whole process at its first read)
and, with no lock, ``read, no lock``: ``arrowread.read_layer`` of ``--n`` sites, the median of 7.

Each tree runs in its own process (``python -c`` from that tree); the load average is printed before
and after. A benchmark, not a test: it prints, never asserts.

Usage: ``python benchmarks/bench_read_waits.py [--tree /tmp/before11] [--wait 3] [--cap 30] [--n 200000]``
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

JOB = r"""
import contextlib, statistics, subprocess, sys, tempfile, threading, time
from pathlib import Path
import geopandas as gpd, numpy as np, shapely
from layers.store import arrowread, files
from layers.store.workspace import Workspace
from services import imports

wait, cap, n = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
HOLD = ("import sqlite3, sys\ncon = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "con.execute('BEGIN EXCLUSIVE')\nprint('held', flush=True)\nsys.stdin.readline()\n")


@contextlib.contextmanager
def held(path):
    other = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
    assert other.stdout.readline().strip() == "held"
    try:
        yield
    finally:
        other.stdin.write("\n")
        other.stdin.flush()
        other.wait()


def sites(k):
    rng = np.random.default_rng(1)
    return gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(k)], "name": ["a"] * k, "status": ["active"] * k},
                            geometry=shapely.points(rng.uniform(-3, -1, k), rng.uniform(5, 7, k)), crs=4326)


def timed(work):
    start = time.monotonic()
    try:
        work()
        said = "read"
    except Exception as exc:
        said = type(exc).__name__
    return time.monotonic() - start, said


with tempfile.TemporaryDirectory() as folder:
    folder = Path(folder)
    ws = Workspace(folder / "ws.gpkg")
    ws.write_layers([("mining_sites", sites(n))], source="s.geojson", licence="CC-BY-4.0")
    took = [timed(lambda: arrowread.read_layer(ws.real, "mining_sites"))[0] for _ in range(7)]
    print(f"read, no lock ({n} sites): median {statistics.median(took):.3f} s (min {min(took):.3f})")
    user = folder / "user" / "mining_sites.gpkg"
    user.parent.mkdir()
    sites(3).to_file(user, layer="mining_sites")
    outcome = []
    with held(user):
        start = time.monotonic()
        thread = threading.Thread(target=lambda: outcome.append(timed(lambda: imports.load_file(user))))
        thread.start()
        thread.join(cap)
        late = thread.is_alive()
    thread.join()
    print(f"user file import, held: {'> %g s (let go then)' % cap if late else '%.2f s, %s' % outcome[0]}")
    small = Workspace(folder / "small.gpkg")
    small.write_layers([("mining_sites", sites(3))], source="s.geojson", licence="CC-BY-4.0")
    files.READ_WAIT_S = wait
    with held(small.real):
        took, said = timed(lambda: arrowread.read_layer(small.real, "mining_sites"))
    print(f"workspace read, never gets in (READ_WAIT_S {wait:g} s): {took:.2f} s, {said}")
"""


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, help="another checkout to compare with (e.g. /tmp/before11)")
    parser.add_argument("--wait", type=float, default=3.0)
    parser.add_argument("--cap", type=float, default=30.0)
    parser.add_argument("--n", type=int, default=200_000)
    args = parser.parse_args()
    print(f"load before: {_load()}")
    for tree in [ROOT, *([args.tree] if args.tree else [])]:
        print(f"== {tree}")
        done = subprocess.run([sys.executable, "-c", JOB, str(args.wait), str(args.cap), str(args.n)], cwd=tree,
                              capture_output=True, text=True, check=False)
        print(done.stdout.rstrip() or done.stderr[-2000:])
    print(f"load after: {_load()}")


if __name__ == "__main__":
    main()
