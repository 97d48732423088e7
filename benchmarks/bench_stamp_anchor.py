"""Benchmark: the GeoPackage change stamp with its ctime anchor (``layers.store.changes``, session 10)
against the stamp it replaced (the header counter less the bookkeeping commits alone, loaded here
from git at ``--base``), on one copy of the demo workspace, in turn in one run:

- a stamp read while nothing moved (what the dashboard and the API pay before every cached answer);
- the first read after a bookkeeping write (a sign-in's audit row: ``hgw_bookkeeping`` read again).

Medians of rounds, both versions interleaved; the load average is printed before and after. A
benchmark, not a test: it prints, never asserts.

Usage: ``python benchmarks/bench_stamp_anchor.py [--calls 5000] [--rounds 5] [--base 0dcbb4a]``
"""
from __future__ import annotations

import argparse
import functools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from layers.store import changes  # noqa: E402
from layers.store.workspace import DEFAULT_PATH, Workspace  # noqa: E402
from services import audit  # noqa: E402


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _before(base: str) -> types.ModuleType:
    """``layers.store.changes`` as it was at commit ``base``."""
    text = subprocess.run(["git", "show", f"{base}:layers/store/changes.py"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout
    module = types.ModuleType("changes_before")
    exec(compile(text, "changes_before.py", "exec"), module.__dict__)  # our own file, from git
    return module


def per_call_us(step: Callable[[], object], calls: int, rounds: int) -> float:
    """Median over ``rounds`` of the mean time of one ``step()`` in ``calls`` calls, microseconds."""
    found = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            step()
        found.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--base", default="0dcbb4a")
    args = parser.parse_args()
    before = _before(args.base)
    print(f"load average before: {_load()} ({os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ws.gpkg"
        shutil.copyfile(DEFAULT_PATH, path)
        ws = Workspace(path)
        audit.record_session(ws, "sign in", "bench", via="password")
        versions = (("before", before.stamp), ("after", changes.stamp))
        for label, read in versions + versions:
            read(path)
            step = functools.partial(read, path)
            print(f"stamp read, nothing moved, {label:<6} {per_call_us(step, args.calls, args.rounds):7.1f}"
                  f" us per call  (load {_load()})", flush=True)
        for label, read in versions + versions:
            firsts = []
            for _ in range(20):
                audit.record_session(ws, "sign in", "bench", via="password")
                start = time.perf_counter()
                read(path)
                firsts.append((time.perf_counter() - start) * 1e6)
            print(f"first stamp read after a sign-in, {label:<6} {statistics.median(firsts):7.1f} us median of 20"
                  f"  (load {_load()})", flush=True)
    print(f"load average after: {_load()}")


if __name__ == "__main__":
    main()
