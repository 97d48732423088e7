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
- ``fork`` and ``spawn`` (``--process``): the kernel in a second PROCESS, which shares no lock with the
  main one. At the child's very start, before any heavy import, it starts a helper (``fork``: ``os.fork``
  of the still-small interpreter; ``spawn``: ``os.posix_spawn`` of a fresh ``python -c``), which imports only
  numpy, pyarrow, shapely and pyproj and the kernel's private modules (without ``geo.distance``'s
  ``__init__``, whose public modules import pandas), reads the geometry columns of both files, decodes the
  sites' coordinates straight from their WKB (no point objects), makes the water lines, runs the point path
  of ``nearest_within`` (``_candidates``' calls for point subjects, then ``nearest_per_pair`` and the
  nearest per subject) on 1 thread and writes the answer's columns (subject, target, distance, centreline
  distance, the nearest points' coordinates: 8 arrays) to a pipe. The main process imports, reads and
  validates as ``after`` does, then reads the pipe and makes the answer's frame (the lines made from the
  coordinates, as ``nearest_within`` makes them). Its CPU to the answer adds the helper's (``os.wait4``).

Each child prints its stage marks (wall and CPU seconds of the whole process, all its threads), the
wall and process CPU from its start to the answer, and whether the
side answer equals, row for row and bit for bit, the answer on the validated frames (computed in the
``beside`` child too, after the timings, when ``--verify`` is given). The parent runs the modes round
by round (``after``, then each ``beside`` variant, then again), so they meet the same stretches of a
shared machine's load, and prints the median wall, CPU (``os.wait4``: user + system) and stages.
Every child reads its compiled modules from one cache (``hgw-bench-pycache`` in the temporary folder, as
``bench_map.py``), filled by one untimed run first, whatever the shell's bytecode settings.
It prints, never asserts. On a machine where other jobs hold the cores, the wall says nothing about
an overlap (it needs a free core): compare it on a quiet machine.

Usage: ``python benchmarks/bench_check_early.py [--n 1000000] [--m 100000] [--data DIR] [--repeat 3]
[--threads 2] [--side-threads 1] [--switch 0.005 0.0005] [--verify] [--modes after fork spawn]``. ``--data DIR`` reuses (or
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
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_check import POINT_SEARCH, POINTS_FROM_WKB, write_inputs  # noqa: E402  (the folder put on the path first)

CHILD_JOB = r"""
import gc, json, os, sys, threading, time
mode, sites, water, threads, side_threads, switch, verify, helper_job = sys.argv[1:9]
helper_pid, helper_fd, started = None, None, time.perf_counter()
if mode in ("fork", "spawn"):  # the kernel's helper process, started before the heavy imports
    helper_fd, write_fd = os.pipe()
    if mode == "fork":
        helper_pid = os.fork()
        if helper_pid == 0:
            os.close(helper_fd)
            sys.argv = ["-c", sites, water, str(write_fd)]
            try:
                exec(helper_job, {"__name__": "__helper__"})
            except BaseException as exc:  # a prototype: said on stderr, and the parent reads an empty pipe
                print(f"helper: {exc!r}", file=sys.stderr, flush=True)
            os._exit(3)
    else:
        os.set_inheritable(write_fd, True)
        helper_pid = os.posix_spawn(sys.executable, [sys.executable, "-c", helper_job, sites, water, str(write_fd)],
                                    os.environ)
    os.close(write_fd)
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
helper = threading.Thread(target=early, name="early-kernel") if mode in ("beside", "shared") else None
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
taken = {}
if helper_pid is not None:
    import numpy as np
    import pandas as pd
    import shapely
    def exactly(size):
        got = bytearray(size)
        view, at = memoryview(got), 0
        while at < size:
            n = os.readv(helper_fd, [view[at:]])
            if n == 0:
                raise EOFError("the helper closed its pipe")
            at += n
        return got
    head = json.loads(exactly(int.from_bytes(exactly(8), "little")))
    mark("wait for the helper")
    begin = time.perf_counter()
    cols = np.frombuffer(exactly(head["rows"] * 8 * 8), dtype=np.float64).reshape(8, head["rows"])
    taken["hand-over"] = time.perf_counter() - begin
    taken["sent"] = head["sent"] - started  # when the helper began to write, from the child's start
    taken["helper"] = head["marks"]
    _, status, usage = os.wait4(helper_pid, 0)
    taken["helper CPU"] = usage.ru_utime + usage.ru_stime
    n = head["rows"]
    lines = shapely.linestrings(np.stack([np.column_stack([cols[4], cols[5]]), np.column_stack([cols[6], cols[7]])],
                                         axis=1)) if n else np.empty(0, dtype=object)
    answer = pd.DataFrame({"subject": cols[0].view(np.int64), "target": cols[1].view(np.int64), "distance_m": cols[2],
                           "centreline_distance_m": cols[3], "line": lines},
                          columns=["subject", "target", "distance_m", "centreline_distance_m", "line"])
    if len(frames["mining_sites"]) != head["sites"] or len(frames["water_bodies"]) != head["water"]:
        answer = None  # the validator kept other rows: the helper's indices are not the frames' (not handled here)
    mark("take the answer")
elif helper is None:
    answer = on_frames()
    mark("kernel")
else:
    helper.join()
    mark("wait for the side kernel")
    answer = side.get("answer")
to_answer = (time.perf_counter() - t0, time.process_time() + taken.get("helper CPU", 0.0))  # the process's CPU so far,
# its threads' and start-up's, and its helper process's
same = None
if verify == "1" and answer is not None:
    import shapely
    ref = answer if helper is None and helper_pid is None else on_frames()
    same = len(ref) == len(answer) and all((ref[k].to_numpy() == answer[k].to_numpy()).all()
                                           for k in ("subject", "target", "distance_m", "centreline_distance_m")) \
        and bool(shapely.equals_exact(ref["line"].to_numpy(), answer["line"].to_numpy(), tolerance=0).all())
print(json.dumps({"marks": marks, "to_answer": to_answer, "rows": None if answer is None else len(answer), "same": same,
                  "side": {k: v for k, v in side.items() if k in ("decode", "kernel", "error")} | taken}), flush=True)
os._exit(0)
"""

HELPER_JOB = r"""
import os, sys, time
marks, t = {}, time.perf_counter()
def mark(name):
    global t
    marks[name] = time.perf_counter() - t
    t = time.perf_counter()
sites, water, out = sys.argv[1], sys.argv[2], int(sys.argv[3])
import importlib.util, json, types
import numpy as np, pyarrow.parquet as pq, shapely
# the kernel's private modules, without the package's __init__ (whose public modules import pandas)
package = types.ModuleType("geo.distance")
package.__path__ = [os.path.join(importlib.util.find_spec("geo").submodule_search_locations[0], "distance")]
sys.modules["geo.distance"] = package
from geo.distance._locality import SCALE_SAFETY, Extent, groups, locality_keys
from geo.distance._pairs import Budget, Limits, Rows, nearest_per_pair
from geo.distance._pieces import Pieces, explode, part_boxes, polygon_rings, select_rings
from geo.distance._points import point_group_start
assert "pandas" not in sys.modules
mark("imports")
s = pq.read_table(sites, columns=["geometry"])
w = pq.read_table(water, columns=["geometry"])
mark("read")
""" + POINTS_FROM_WKB + r"""n = lon.size
sp = Pieces(lon, lat, lon, lat, np.arange(n), np.arange(n), np.ones(n, bool), np.zeros(n), np.zeros(n))
tgt = np.asarray(shapely.from_wkb(np.array(w.column("geometry"))), dtype=object)
mark("coordinates and lines")
# nearest_within(points, lines, max_distance_m=100.0, threads=1): _candidates' point path, then its tail
tolerance = 1e-6
tp, t_rings = explode(tgt, name="targets"), polygon_rings(tgt)
thr, off = np.full(tgt.size, 100.0), np.zeros(tgt.size)
lim = Limits(thr + off + tolerance, off, True, Budget(), tolerance)
reach = float(lim.reach_m[tp.owner].max())
by_lat = np.argsort(np.minimum(tp.lat1, tp.lat2), kind="stable")
low = np.minimum(tp.lat1, tp.lat2)[by_lat]
pool, threads = None, 1
""" + POINT_SEARCH + r"""rows = nearest_per_pair(Rows.concat([p() for p in parts]))
dist = np.maximum(rows.distance_m - off[rows.target], 0.0)
ok = dist <= thr[rows.target] + tolerance
r = Rows(*(getattr(rows, f)[ok] for f in Rows.__dataclass_fields__))
dist = dist[ok]
start = np.flatnonzero(np.r_[True, r.subject[1:] != r.subject[:-1]]) if r.subject.size else np.empty(0, np.intp)
if start.size == r.subject.size:  # one row per subject (the usual case)
    first = start
else:  # geodesic.nearest_first
    run = np.repeat(np.arange(start.size), np.diff(np.r_[start, r.subject.size]))
    nearest = np.flatnonzero(dist == np.minimum.reduceat(dist, start)[run])
    first = nearest[np.r_[True, run[nearest][1:] != run[nearest][:-1]]]
cols = np.empty((8, first.size), dtype=np.float64)
cols[0] = r.subject[first].astype(np.int64).view(np.float64)
cols[1] = r.target[first].astype(np.int64).view(np.float64)
cols[2], cols[3] = dist[first], r.distance_m[first]
cols[4], cols[5], cols[6], cols[7] = r.slon[first], r.slat[first], r.tlon[first], r.tlat[first]
mark("kernel")
head = json.dumps({"rows": int(first.size), "sites": n, "water": int(tgt.size), "marks": marks,
                   "sent": time.perf_counter()}).encode()
body = memoryview(len(head).to_bytes(8, "little") + head + cols.tobytes())
while body:
    body = body[os.write(out, body):]
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
    load: float  # the 1-minute load average when the child started


def run(mode: str, folder: Path, threads: int, side_threads: int, switch: str, verify: bool,
        env: dict[str, str]) -> Run:
    """One child process of ``mode``."""
    cmd = [sys.executable, "-c", CHILD_JOB, mode, str(folder / "sites.parquet"), str(folder / "water.parquet"),
           str(threads), str(side_threads), switch, "1" if verify else "0", HELPER_JOB]
    load, start = os.getloadavg()[0], time.perf_counter()
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
               got["side"], load)


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
    p.add_argument("--modes", nargs="+", default=["after", "beside", "shared"],
                   choices=["after", "beside", "shared", "fork", "spawn"], help="modes, run round by round")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.data or Path(tmp)
        if not (folder / "sites.parquet").exists() or not (folder / "water.parquet").exists():
            folder.mkdir(parents=True, exist_ok=True)
            write_inputs(folder, args.n, args.m)
        # compiled modules read from and written to one cache, whatever the shell's bytecode settings (bench_map.py's)
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONPYCACHEPREFIX=str(Path(tempfile.gettempdir()) /
                                                                           "hgw-bench-pycache"), PYTHONDONTWRITEBYTECODE="")
        variants = [(mode, "-") for mode in args.modes] + [("shared", s) for s in args.switch]
        got: dict[tuple[str, str], list[Run]] = {v: [] for v in variants}
        run(variants[0][0], folder, args.threads, args.side_threads, "-", False, env)  # untimed: fills the cache
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
            each = ", ".join(f"{r.to_answer[0]:.2f}/{r.to_answer[1]:.2f} at load {r.load:.1f}" for r in runs)
            print(f"{label:<26} to the answer: wall {_median(r.to_answer[0] for r in runs):.2f} s, "
                  f"CPU {_median(r.to_answer[1] for r in runs):.2f} s (runs wall/CPU: {each}); {whole}stages wall/CPU: "
                  f"{stages}; rows {runs[0].rows}, same {[r.same for r in runs]}"
                  f"{'; side ' + json.dumps(runs[0].side) if runs[0].side else ''}")
            if "helper" in runs[0].side:  # the helper process's stages (wall), its CPU, and the hand-over: medians
                helper = {name: _median(float(r.side["helper"][name]) for r in runs)  # type: ignore[index]
                          for name in runs[0].side["helper"]}  # type: ignore[attr-defined]
                print(f"{'':<26} helper: {' | '.join(f'{k} {v:.2f}' for k, v in helper.items())}; its CPU "
                      f"{_median(float(r.side['helper CPU']) for r in runs):.2f} s (its answer written from "  # type: ignore[arg-type]
                      f"{_median(float(r.side['sent']) for r in runs):.2f} s after the start); "  # type: ignore[arg-type]
                      f"hand-over {1000 * _median(float(r.side['hand-over']) for r in runs):.1f} ms")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
