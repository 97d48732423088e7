"""Benchmark: what a recorded ``cli.py check --only HG-WATER-100`` reads and hashes on a national workspace.

The sites and water of ``bench_check.py`` (N sites, M segments) are imported into a GeoPackage workspace
and a PostGIS one (a throwaway server, as ``bench_check_store.py`` makes it). Then, in fresh child
processes, this tree and the ``--tree DIR`` checkout (before/after, in turn, twice each) time
``Store.read`` of both layers and ``services.checks.frame_hash`` of each frame read, in process. Every
child prints the hashes it got: they are the values a recorded run stores, so the two trees must
agree (printed as "same hashes"). The load average is printed before and after.
A benchmark, not a test: it prints, never asserts.

Usage: ``python benchmarks/bench_store_read.py [--n 1000000] [--m 100000] [--tree DIR] [--no-postgis]``
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from bench_check import write_inputs  # noqa: E402
from bench_store_write import bench_database, store_free_env  # noqa: E402

LAYERS = ("mining_sites", "water_bodies")
CHILD = """
import json, sys, time
from layers.store.open import open_store
from services.checks import frame_hash
store = open_store(sys.argv[1], sys.argv[2] or None)
out = {}
for layer in sys.argv[3:]:
    start = time.perf_counter()
    frame = store.read(layer)
    read = time.perf_counter() - start
    start = time.perf_counter()
    digest = frame_hash(frame)
    out[layer] = [read, time.perf_counter() - start, digest]
print(json.dumps(out))
"""


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--m", type=int, default=100_000)
    parser.add_argument("--tree", help="also time the reads of this other checkout, in turn with this tree's")
    parser.add_argument("--no-postgis", action="store_true")
    args = parser.parse_args()
    env = store_free_env()
    trees = [("this tree", ROOT)] + ([("other tree", Path(args.tree).resolve())] if args.tree else [])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sites, water = write_inputs(folder, args.n, args.m)
        print(f"Store.read + frame_hash of {args.n:,} sites and {args.m:,} water segments; load average {_load()} "
              f"({os.cpu_count()} cores)")
        print(f"{'':<34}{'sites read':>11}{'hash':>7}{'water read':>11}{'hash':>7}{'total s':>9}")

        def measure(kind: str, where: list[str], workspace: str, url: str) -> None:
            for path in (sites, water):
                subprocess.run([sys.executable, str(ROOT / "cli.py"), *where, "import", str(path)], cwd=folder,
                               env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            digests: dict[str, set[str]] = {layer: set() for layer in LAYERS}
            for _ in range(2):
                for label, tree in trees:
                    done = subprocess.run([sys.executable, "-c", CHILD, workspace, url, *LAYERS], cwd=folder, check=True,
                                          env=dict(env, PYTHONPATH=str(tree)), capture_output=True, text=True)
                    got = json.loads(done.stdout.strip().splitlines()[-1])
                    sr, sh, _ = got[LAYERS[0]]
                    wr, wh, _ = got[LAYERS[1]]
                    for layer in LAYERS:
                        digests[layer].add(got[layer][2])
                    print(f"{kind + ', ' + label:<34}{sr:>11.2f}{sh:>7.2f}{wr:>11.2f}{wh:>7.2f}{sr + sh + wr + wh:>9.2f}"
                          f"  (load {_load()})", flush=True)
            print(f"{kind}: same hashes in every run: {'yes' if all(len(d) == 1 for d in digests.values()) else 'NO'}")

        measure("GeoPackage", ["--workspace", str(folder / "ws.gpkg")], str(folder / "ws.gpkg"), "")
        if not args.no_postgis:
            from tests.postgis import running_server

            with running_server() as server:
                url = bench_database(server, durable_commits=False)
                measure("PostGIS", ["--database-url", url], str(folder / "unused.gpkg"), url)
        print(f"load average after the runs: {_load()}")


if __name__ == "__main__":
    main()
