"""Benchmark: a recorded ``cli.py check`` on a workspace of N sites and M water segments, on both back ends.

The data of ``bench_check.py`` (N mercury sites, M water segments across two UTM zones) is imported
into a new GeoPackage workspace and into a PostGIS workspace (a throwaway server started the way the
tests start theirs, switched to durable commits: ``bench_store_write.durable``). Then, each in a fresh
child process, ``python cli.py --workspace|--database-url W check --only HG-WATER-100`` runs twice:
the first run records itself and opens a case per violation, the second updates every case (the
re-run after an import). Wall seconds, CPU seconds and peak memory of each child are printed.

The named alternative, in the same run: the same check on the files themselves (``--layer``, nothing
read from a store or recorded), and with ``--tree DIR`` the ``cli.py`` of another checkout on the same
two workspaces (before/after: it runs after this tree's two runs, so both of its runs update the cases;
compare them with this tree's run 2).
A benchmark, not a test: it prints, never asserts.

Usage: ``python benchmarks/bench_check_store.py [--n 1000000] [--m 100000] [--tree DIR] [--no-postgis]``
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from bench_check import run_child, write_inputs  # noqa: E402
from bench_store_write import bench_database, store_free_env  # noqa: E402

RULE = "HG-WATER-100"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--m", type=int, default=100_000)
    parser.add_argument("--tree", help="also run the cli.py of this other checkout on the same workspaces")
    parser.add_argument("--no-postgis", action="store_true")
    args = parser.parse_args()
    env = store_free_env()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sites, water = write_inputs(folder, args.n, args.m)
        print(f"recorded check, {RULE}, {args.n:,} sites x {args.m:,} water segments; load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
        print(f"{'':<50}{'wall s':>8}{'CPU s':>8}{'peak MB':>9}")

        def timed(name: str, cmd: list[str], child_env: dict[str, str]) -> None:
            wall, cpu, peak, err = run_child(cmd, folder, child_env)
            print(f"{name:<50}{wall:>8.2f}{cpu:>8.2f}{peak:>9.0f} {err}", flush=True)

        timed("files, not recorded (the alternative)", [sys.executable, str(ROOT / "cli.py"), "check", "--layer",
              f"mining_sites={sites.name}", "--layer", f"water_bodies={water.name}", "--only", RULE, "--no-record"], env)

        def workspace(kind: str, where: list[str]) -> None:
            for path in (sites, water):
                subprocess.run([sys.executable, str(ROOT / "cli.py"), *where, "import", str(path)], cwd=folder,
                               env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            trees = [("this tree", ROOT)] + ([("other tree", Path(args.tree).resolve())] if args.tree else [])
            runs = iter(["run 1 (opens the cases)", "run 2 (updates them)", "run 3 (updates them)", "run 4 (updates them)"])
            for label, tree in trees:
                for run in (next(runs), next(runs)):
                    timed(f"{kind}, {label}, {run}", [sys.executable, str(tree / "cli.py"), *where, "check", "--only",
                                                      RULE], dict(env, PYTHONPATH=str(tree)))

        workspace("GeoPackage", ["--workspace", str(folder / "ws.gpkg")])
        if not args.no_postgis:
            from tests.postgis import running_server

            with running_server() as server:
                workspace("PostGIS", ["--database-url", bench_database(server, durable_commits=True)])
        print(f"load average after the runs: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
