"""Benchmark: how long a second session of the same view waits while a slow answer is made.

On a copy of the demo workspace, two analysts share their answers (``HgWatch.shared``). Ana asks
the overlays page's kriging surface of the water samples (a fine grid, several seconds); a moment
after she started, Ben, who just signed in, asks what his sidebar and map page ask first: the
filter options, the headline and the violations of a rule choice nobody asked yet. Printed: Ben's
wall seconds to his answers and Ana's to her surface, the median of ``--rounds`` child processes,
for this tree and, with ``--tree DIR``, another checkout (a before/after in one run). With one lock
per view (before), Ben waits for Ana's surface; with a lock per answer he does not.

A benchmark, not a test: it prints, never asserts. The load average is printed before and after.

Usage: ``python benchmarks/bench_answer_locks.py [--rounds 3] [--cell 20] [--tree DIR]``
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, threading, time
from services.auth import Identity
from services.hgwatch import HgWatch, Query
from services.view import Filters
from settings import Settings

settings = Settings.from_env({}, workspace=sys.argv[1])
cell = float(sys.argv[2])
ana, ben = HgWatch.shared(settings, Identity("ana", "analyst")), HgWatch.shared(settings, Identity("ben", "analyst"))
ana.frames()  # the layers are read, as after the first session's first rerun
rules = tuple(r.id for r in ana.rules().rules)
times = {}

def slow():
    t = time.perf_counter()
    ana.surface(Filters(), "water", "kriging", cell, 5000.0)
    times["ana's kriging surface"] = time.perf_counter() - t

worker = threading.Thread(target=slow)
worker.start()
time.sleep(0.2)  # Ana's surface is being made
t = time.perf_counter()
q = Query(rule_ids=rules[:2])
ben.choices("admin_area"), ben.date_range(), ben.headline(q), ben.violations(q)
times["ben's sidebar answers"] = time.perf_counter() - t
worker.join()
print(json.dumps(times))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3, help="child processes per tree (median)")
    p.add_argument("--cell", type=float, default=200.0, help="kriging cell in metres (smaller is slower)")
    p.add_argument("--tree", help="also time another HgWatch checkout (before/after)")
    a = p.parse_args()
    print(f"answer locks benchmark: load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
          f"{a.rounds} rounds, kriging cell {a.cell:g} m")
    trees = [("this tree", ROOT)] + ([("other tree", Path(a.tree).resolve())] if a.tree else [])
    with tempfile.TemporaryDirectory() as tmp:
        for name, tree in trees:
            got: dict[str, list[float]] = {}
            for i in range(a.rounds):
                ws = Path(tmp) / f"{name.split()[0]}{i}.gpkg"  # a fresh copy: no answers kept on disk
                shutil.copy(ROOT / "data" / "demo_workspace.gpkg", ws)
                res = subprocess.run([sys.executable, "-c", CHILD, str(ws), str(a.cell)], cwd=tree,
                                     env=dict(os.environ, PYTHONPATH=str(tree)), capture_output=True, text=True,
                                     check=False)
                if res.returncode != 0:
                    print(f"  {name} failed: {res.stderr.strip().splitlines()[-1:]}")
                    break
                for k, v in json.loads(res.stdout.strip().splitlines()[-1]).items():
                    got.setdefault(k, []).append(v)
            print(f"{name:<11} " + " | ".join(f"{k} {statistics.median(v):.2f} s (each: "
                                                  f"{', '.join(f'{x:.2f}' for x in v)})" for k, v in got.items()))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
