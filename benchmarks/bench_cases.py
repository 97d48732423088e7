"""Benchmark: case changes on a workspace of N mining sites (default 10^6) holding C cases.

Builds N mining sites (``bench_store_write.sites``, a fixed seed) in a new GeoPackage workspace,
puts C cases (default 10^4) in it directly, then times, each ``--repeat`` times (median, min,
max, in ms):

- ``services.cases.set_status`` (one case moved between ``false_positive`` and ``triaged``,
  with a reason: the case row under the writer lock in one in-place transaction, then its audit row);
- ``services.cases.list_cases`` for an analyst (every case, with visit counts);
- ``services.cases.case_counts`` (by admin area and status, counted by SQLite);

and once each: ``services.cases.sync_run`` for a run flagging C sites (opening C cases), then for
the same run again (nothing changes), as ``cli.py check`` does after recording a run.

A benchmark, not a test: it prints, never asserts.

Usage: ``python benchmarks/bench_cases.py [--n 1000000] [--cases 10000] [--repeat 21]``
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import shapely  # noqa: E402

from benchmarks.bench_store_write import sites  # noqa: E402
from geo.rules import Evaluation, RuleSummary, violation_id  # noqa: E402
from layers.store import cases as stored  # noqa: E402
from layers.store.open import open_store  # noqa: E402
from services import cases  # noqa: E402
from services.auth import LOCAL  # noqa: E402


def timed(fn: Callable[[], object], repeat: int) -> str:
    """Median, min and max wall time of ``fn`` over ``repeat`` calls, ms."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return f"median {statistics.median(times):8.1f} ms  min {min(times):8.1f}  max {max(times):8.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ws.gpkg"
        store = open_store(str(path))
        t0 = time.perf_counter()
        store.write_layer("mining_sites", sites(args.n), source="bench")
        print(f"workspace of {args.n:,} sites written in {time.perf_counter() - t0:.1f} s "
              f"({path.stat().st_size / 1e6:,.0f} MB)")
        now = "2026-01-01T00:00:00+00:00"
        with stored.writing(store) as tables:
            tables.put(stored.Case(f"HG-WATER-100/{i:016x}", "HG-WATER-100", "2", "mining_sites", f"S{i}", "site",
                                   ("North", "South")[i % 2], "false_positive", None, None, "bench", True, None, 50.0,
                                   0.0, 0.0, shapely.Point(0, 0).wkb, "a|b|2", "a|b|2", now, now, 1, 1)
                       for i in range(args.cases))
        os.sync()  # the workspace just written is on disk: its writeback does not slow the commits timed
        vid = f"HG-WATER-100/{args.cases // 2:016x}"
        state = {"now": "false_positive"}

        def move() -> None:
            target = "triaged" if state["now"] == "false_positive" else "false_positive"
            cases.set_status(store, LOCAL, vid, target, reason="benchmark")
            state["now"] = target

        print(f"set_status (one case of {args.cases:,}):      {timed(move, args.repeat)}")
        print(f"list_cases ({args.cases:,} cases, analyst):   {timed(lambda: cases.list_cases(store, LOCAL), 5)}")
        print(f"case_counts (admin_area, status):     {timed(lambda: cases.case_counts(store, LOCAL), args.repeat)}")
        frames = {"mining_sites": store.read("mining_sites", columns=["site_id", "name", "admin_area"]),
                  "water_bodies": gpd.GeoDataFrame({"water_id": ["W1"]}, geometry=[shapely.LineString([(0, -1), (0, 1)])],
                                                   crs=4326)}
        flagged = frames["mining_sites"].iloc[:args.cases]
        ids = flagged["site_id"].astype(str).to_numpy()
        v = gpd.GeoDataFrame({"violation_id": [violation_id("HG-WATER-100", 2, "mining_sites", i) for i in ids],
                              "rule_id": "HG-WATER-100", "rule_version": "2", "subject_layer": "mining_sites",
                              "subject_id": ids, "distance_m": np.full(len(ids), 50.0), "nearest_layer": "water_bodies",
                              "nearest_id": "W1"}, geometry=flagged.geometry.to_numpy(), crs=4326)
        run = Evaluation(v, (RuleSummary("HG-WATER-100", "critical", "t", "mining_sites", args.n, len(v)),))
        for what in ("opens", "repeats"):
            t0 = time.perf_counter()
            report = cases.sync_run(store, run, frames, run_id=7)
            print(f"sync_run {what} ({len(report.opened):,} opened): {(time.perf_counter() - t0) * 1000:10.1f} ms")


if __name__ == "__main__":
    main()
