"""Benchmark: does the geodesic kernel, run on a side thread on the raw coordinates while the main
thread imports and validates, shorten ``check``'s wall at 1e6 sites x 1e5 water segments? (issue 13)

A prototype of the lever, not the check itself: each run is a fresh child process that does what
``cli.py check`` does up to the rule's answer, in one of two ways:

- ``after`` (today's order): the two GeoParquet files read ahead while the modules load
  (``layers.io.prefetch``), the layers read and validated (``services.checks._from_files``), then
  ``nearest_within`` on the validated frames' geometries (100 m, ``--threads`` workers);
- ``beside``: the same, plus a side thread started with the read-ahead, which waits for the tables,
  makes the sites' points from their WKB (``layers.io.geoparquet._points``) and the water lines
  (``shapely.from_wkb``), and runs ``nearest_within`` (``--side-threads`` workers) while the main
  thread imports and validates; the main thread then only waits for it. ``--switch S`` sets Python's
  switch interval (``sys.setswitchinterval``) in the ``beside`` child: a thread that releases the lock
  often (numpy, pyproj) waits up to the interval (5 ms by default) to get it back from a thread
  running Python code (the imports, the validator's pandas), which can slow it more than the lock it
  shares.
- ``shared``: ``beside``, and the reader takes the side thread's points of the sites' table (the same
  buffer) instead of making them again (``geoparquet._points`` wrapped in the child): the points are
  made once, on the side thread; ``--switch`` variants are of this mode.

Each child prints its stage marks (wall and CPU seconds of the whole process, all its threads), the
wall and process CPU from its start to the answer, and whether the
side answer equals, row for row and bit for bit, the answer on the validated frames (computed in the
``beside`` child too, after the timings, when ``--verify`` is given). The parent runs the modes round
by round (``after``, then each ``beside`` variant, then again), so they meet the same stretches of a
shared machine's load, and prints the median wall, CPU (``os.wait4``: user + system) and stages.
It prints, never asserts. On a machine where other jobs hold the cores, the wall says nothing about
an overlap (it needs a free core): compare it on a quiet machine.

Usage: ``python benchmarks/bench_check_early.py [--n 1000000] [--m 100000] [--data DIR] [--repeat 3]
[--threads 2] [--side-threads 1] [--switch 0.005 0.0005] [--verify]``. ``--data DIR`` reuses (or
writes, the first time) ``sites.parquet`` and ``water.parquet`` there (``bench_check.write_inputs``).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD_JOB = r"""
import gc, json, os, sys, threading, time
mode, sites, water, threads, side_threads, switch, verify = sys.argv[1:8]
if switch != "-":
    sys.setswitchinterval(float(switch))
gc.disable()  # as cli.py run as a program
marks, t, c = {}, time.perf_counter(), time.process_time()
t0 = t
def mark(name):
    global t, c
    marks[name] = (time.perf_counter() - t, time.process_time() - c)
    t, c = time.perf_counter(), time.process_time()
from layers.io import prefetch
prefetch.start([sites, water])
side = {}
made = threading.Event()  # the side thread's points are ready (or will never be)
def early():
    try:
        for thread in list(prefetch._THREADS):
            thread.join()
        tables = [prefetch._TABLES.get(prefetch._key(p)) for p in (sites, water)]
        if any(table is None for table in tables):
            made.set()
            return
        import numpy as np
        import shapely
        from layers.io.geoparquet import _points
        start = time.perf_counter()
        side["buffer"] = tables[0].column("geometry").chunks[0].buffers()[2].address
        points = side["points"] = _points(tables[0].column("geometry"))
        made.set()
        lines = shapely.from_wkb(np.array(tables[1].column("geometry")))
        side["decode"] = time.perf_counter() - start
        from geo.distance import nearest_within
        start = time.perf_counter()
        side["answer"] = nearest_within(points, lines, max_distance_m=100.0, threads=int(side_threads))
        side["kernel"] = time.perf_counter() - start
    except Exception as exc:  # a prototype: said, not raised
        side["error"] = repr(exc)
    finally:
        made.set()
helper = threading.Thread(target=early, name="early-kernel") if mode != "after" else None
if helper is not None:
    helper.start()
if mode == "shared":  # the reader takes the side thread's points of the same table instead of making them again
    from layers.io import geoparquet
    own_points = geoparquet._points
    def shared_points(column):
        if threading.current_thread() is not helper and column.num_chunks == 1 \
                and column.chunks[0].buffers()[2].address == side.get("buffer"):
            made.wait()
            if side.get("points") is not None:
                return side["points"]
        return own_points(column)
    geoparquet._points = shared_points
import cli
from geo.distance import nearest_within
from layers.io.readers import frozen_after_load
from services import checks
gc.freeze()
gc.enable()
mark("imports")
with frozen_after_load():
    frames, _, _, _ = checks._from_files([("mining_sites", sites), ("water_bodies", water)], {}, False)
mark("read + validate")
def on_frames():
    return nearest_within(frames["mining_sites"].geometry.to_numpy(), frames["water_bodies"].geometry.to_numpy(),
                          max_distance_m=100.0, threads=int(threads))
if helper is None:
    answer = on_frames()
    mark("kernel")
else:
    helper.join()
    mark("wait for the side kernel")
    answer = side.get("answer")
to_answer = (time.perf_counter() - t0, time.process_time())  # the process's CPU so far, its threads' and start-up's
same = None
if verify == "1" and answer is not None:
    import shapely
    ref = answer if helper is None else on_frames()
    same = len(ref) == len(answer) and all((ref[k].to_numpy() == answer[k].to_numpy()).all()
                                           for k in ("subject", "target", "distance_m", "centreline_distance_m")) \
        and bool(shapely.equals_exact(ref["line"].to_numpy(), answer["line"].to_numpy(), tolerance=0).all())
print(json.dumps({"marks": marks, "to_answer": to_answer, "rows": None if answer is None else len(answer), "same": same,
                  "side": {k: v for k, v in side.items() if k in ("decode", "kernel", "error")}}), flush=True)
os._exit(0)
"""


@dataclass(frozen=True)
class Run:
    """One child's figures: whole-process wall and CPU (``os.wait4``), and what it printed."""

    wall: float
    cpu: float
    marks: dict[str, list[float]]  # stage -> [wall, CPU]
    to_answer: list[float]  # [wall, process CPU] from the job's start to the answer
    rows: int | None
    same: bool | None
    side: dict[str, object]


def run(mode: str, folder: Path, threads: int, side_threads: int, switch: str, verify: bool,
        env: dict[str, str]) -> Run:
    """One child process of ``mode``."""
    cmd = [sys.executable, "-c", CHILD_JOB, mode, str(folder / "sites.parquet"), str(folder / "water.parquet"),
           str(threads), str(side_threads), switch, "1" if verify else "0"]
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        text, problem = out.read().decode(), err.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0 or not text.strip():
        raise SystemExit(f"{mode} child failed: {problem.strip().splitlines()[-3:]}")
    got = json.loads(text.strip().splitlines()[-1])
    return Run(wall, usage.ru_utime + usage.ru_stime, got["marks"], got["to_answer"], got["rows"], got["same"],
               got["side"])


def _median(values: Iterable[float]) -> float:
    return float(statistics.median(values))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--m", type=int, default=100_000)
    p.add_argument("--data", type=Path, help="folder to reuse (or fill) with sites.parquet and water.parquet")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=2, help="kernel workers after validation (today's)")
    p.add_argument("--side-threads", type=int, default=1, help="kernel workers on the side thread")
    p.add_argument("--switch", nargs="*", default=[], help="switch intervals (s) for extra beside variants")
    p.add_argument("--verify", action="store_true", help="also compare the side answer with the frames' one")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.data or Path(tmp)
        if not (folder / "sites.parquet").exists() or not (folder / "water.parquet").exists():
            folder.mkdir(parents=True, exist_ok=True)
            sys.path.insert(0, str(ROOT / "benchmarks"))
            from bench_check import write_inputs

            write_inputs(folder, args.n, args.m)
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        variants = [("after", "-"), ("beside", "-"), ("shared", "-")] + [("shared", s) for s in args.switch]
        got: dict[tuple[str, str], list[Run]] = {v: [] for v in variants}
        for _ in range(args.repeat):
            for mode, switch in variants:
                got[(mode, switch)].append(run(mode, folder, args.threads, args.side_threads, switch, args.verify, env))
        print(f"load average now {os.getloadavg()[0]:.2f}; medians of {args.repeat} fresh processes:")
        for (mode, switch), runs in got.items():
            stages = " | ".join(f"{name} {_median(r.marks[name][0] for r in runs):.2f} / "
                                f"{_median(r.marks[name][1] for r in runs):.2f}" for name in runs[0].marks)
            label = mode + (f" (switch {switch} s)" if switch != "-" else "")
            whole = "" if args.verify else (f"whole process wall {_median(r.wall for r in runs):.2f} s, "
                                            f"CPU {_median(r.cpu for r in runs):.2f} s; ")
            print(f"{label:<26} to the answer: wall {_median(r.to_answer[0] for r in runs):.2f} s (runs "
                  f"{', '.join(f'{r.to_answer[0]:.2f}' for r in runs)}), CPU {_median(r.to_answer[1] for r in runs):.2f}"
                  f" s; {whole}stages wall/CPU: {stages}; rows {runs[0].rows}, same {[r.same for r in runs]}"
                  f"{'; side ' + json.dumps(runs[0].side) if runs[0].side else ''}")


if __name__ == "__main__":
    main()
