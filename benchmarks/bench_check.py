"""Benchmark: the whole ``cli.py check`` process against a whole DuckDB spatial process.

The job is HG-WATER-100 (mercury sites within 100 m of water) on N sites and M water segments in
WGS84 across two UTM zones (the data of ``bench_rules.py``: a 2 x 2 degree box straddling 0 deg),
written once as GeoParquet into a temporary folder. Then, each in a fresh child process:

- HgWatch: ``python cli.py check --layer mining_sites=sites.parquet --layer
  water_bodies=water.parquet --only HG-WATER-100 --out v.csv --no-record``;
- DuckDB: a child Python that loads ``duckdb`` and the spatial extension from the pinned wheel
  (never a download), reads the same two files, keeps the mercury sites, joins each site with the
  water within 100 m in the UTM zone of the site (``ST_Transform``, ``ST_DWithin``), keeps the
  minimum distance and its water id, and writes a CSV; ``SET threads`` to the given count.

And three floors. Two are what any check on GeoPandas layers pays before it does anything (the design card:
GeoPandas layers hold the sites and the water): ``floor: import``, a Python that imports geopandas and exits;
``floor: read``, one that also reads both files with ``geopandas.read_parquet`` (the library's own reader)
and does nothing else. The third, ``floor: contract``, does only what the violation file itself asks for, with
no frame and no validation: reads both files with pyarrow, makes the geometries, runs the exact geodesic kernel
(``nearest_within``), makes the violation ids and the WKT of each site and nearest line, and writes them as CSV with
pyarrow, with the cyclic collector off as check's reader has it (its ratio is also printed without the time it
spends importing pandas and geopandas, which the kernel's modules load, and so are its steps). It is the
straightforward way with the same libraries, not a proof that nothing could be faster. A fourth, ``floor:
columnar``, asks what a second, column-only check lane would cost at least: no pandas or geopandas imported (the
kernel's private modules loaded without the package's public ones), no geometry object per site (the coordinates
read straight from the points' WKB), only null, unique-id and coordinate-range checks instead of the validator, the
same kernel on the same threads, and the check's own 23 columns (stable ids, rule text, WKT, sources) written by
pyarrow's CSV writer: a file of about the check's size. Their ratios to DuckDB's
whole process are printed too (``--no-floor`` skips them).

Figures are wall seconds from start to exit and the child's peak resident memory (``ru_maxrss``
from ``os.wait4``: the child alone; the inputs are written by another child, because a child's
``ru_maxrss`` starts at what its parent held when it was started). It prints both and the ratio
HgWatch / DuckDB (target <= 1).
This is a benchmark, not a test: it prints, never asserts.

Usage: ``python benchmarks/bench_check.py [--n 1000000] [--m 100000] [--threads 2] [--repeat 1]
[--tree DIR] [--stages K] [--profile FILE] [--no-floor]``. ``--tree`` also times the ``cli.py`` of another
checkout of HgWatch (e.g. ``git archive <commit> | tar -x -C DIR``), run with ``PYTHONPATH=DIR``, on the same data: a
before/after in one run, which also says whether both trees wrote byte-identical violation files.
``--stages K`` runs the check path K times more, in a child that times its
stages (imports, rule file, read and validate, rules, write) in wall and CPU seconds, and prints
the medians; it handles the collector and its exit as ``cli.py`` run as a program does, and reads the
two files ahead while it imports, as ``cli.py`` does (``layers.io.prefetch``: the read's CPU then falls
in the imports stage). ``--profile`` runs
the HgWatch child under cProfile and prints its top lines. ``--repeat`` runs the contenders round by round
(each once, then each again), so that all of them meet the same stretches of a shared machine's load.
When the shell sets ``PYTHONDONTWRITEBYTECODE`` (this project's sandbox does), the children cache
their bytecode in the temporary folder instead, as an installed program does: one untimed run of
each contender fills that cache first (``--compile-every-run`` keeps the old way). Each contender's
output file (and the stage child's) is deleted, untimed, before each of its runs: every run writes a new
file, as the first did. Before this, every check after the first renamed its 132 MB CSV over the one the
run before had left, and paid the kernel for freeing that file (40-95 ms measured on this machine) in
its own wall and system time; DuckDB, writing 4 columns, paid the same for a smaller file.
"""
from __future__ import annotations

import argparse
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT_M = 100.0
RULE = "HG-WATER-100"


def write_inputs(folder: Path, n: int, m: int) -> tuple[Path, Path]:
    """Sites (all using mercury) and water segments as GeoParquet in ``folder``, from a fixed seed."""
    import geopandas as gpd
    import numpy as np
    import shapely

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_rules import make_data

    d = make_data(n, m)
    sites = gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(n)], "uses_mercury": np.ones(n, bool)},
                             geometry=shapely.points(d["sites"]), crs=4326)
    water = gpd.GeoDataFrame({"water_id": [f"W{i}" for i in range(m)], "kind": "stream"},
                             geometry=shapely.linestrings(np.stack([d["a"], d["b"]], axis=1)), crs=4326)
    paths = folder / "sites.parquet", folder / "water.parquet"
    sites.to_parquet(paths[0])
    water.to_parquet(paths[1])
    return paths


def _spatial_extension() -> str:
    import duckdb_extension_spatial

    found = sorted(Path(duckdb_extension_spatial.__file__).parent.rglob("*.duckdb_extension"))
    if not found:
        raise SystemExit("spatial.duckdb_extension not found inside the duckdb-extension-spatial wheel")
    return str(found[0])


def duckdb_job(sites: str, water: str, out: str, threads: int) -> None:
    """The baseline, in this process: read, join in the local UTM, min distance, write CSV."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"LOAD '{_spatial_extension()}'")  # from the pinned wheel; never INSTALL/download
    con.execute(f"SET threads = {threads}")
    con.execute(f"""CREATE TABLE s AS SELECT site_id, geometry AS g,
                    CAST(floor((ST_X(geometry) + 180) / 6) + 1 AS INTEGER) AS zone
                    FROM read_parquet('{sites}') WHERE uses_mercury""")
    con.execute(f"CREATE TABLE w AS SELECT water_id, geometry AS g FROM read_parquet('{water}')")
    zones = [int(z) for (z,) in con.execute("SELECT DISTINCT zone FROM s ORDER BY zone").fetchall()]
    parts = []
    for z in zones:
        epsg = f"EPSG:{32600 + z}"  # the sites are north of the equator
        parts.append(f"""
            SELECT s.site_id, min(ST_Distance(s.p, w.p)) AS distance_m,
                   arg_min(w.water_id, ST_Distance(s.p, w.p)) AS water_id, any_value(s.wkt) AS geometry
            FROM (SELECT site_id, ST_AsText(g) AS wkt,
                         ST_Transform(g, 'EPSG:4326', '{epsg}', always_xy := true) AS p FROM s WHERE zone = {z}) s
            JOIN (SELECT water_id, ST_Transform(g, 'EPSG:4326', '{epsg}', always_xy := true) AS p FROM w) w
              ON ST_DWithin(s.p, w.p, {LIMIT_M})
            GROUP BY s.site_id""")
    con.execute(f"COPY ({' UNION ALL '.join(parts)} ORDER BY site_id) TO '{out}' (HEADER)")


FLOOR_JOB = """
import sys
import geopandas
geopandas.read_parquet(sys.argv[1])
geopandas.read_parquet(sys.argv[2])
"""

CONTRACT_JOB = """
import gc, json, sys, time
gc.disable()  # as check's reader does (layers.io.readers.gc_paused): making 1.1e6 geometries otherwise runs the collector
marks, t = {}, time.perf_counter()
def mark(name):
    global t
    marks[name] = time.perf_counter() - t
    t = time.perf_counter()
import numpy as np, pyarrow as pa, pyarrow.compute as pc, pyarrow.csv as pcsv, pyarrow.parquet as pq, pyproj, shapely
mark("imports")
import geopandas  # pandas and geopandas, which the kernel's modules import: timed, to be taken away
mark("pandas")
sys.path.insert(0, sys.argv[3])
from geo.distance.geodesic import nearest_within
from geo.rules.violations import violation_id_array
from layers.io.grid import grid_wkt
mark("kernel modules")
s = pq.read_table(sys.argv[1], columns=["site_id", "uses_mercury", "geometry"])
s = s.filter(pc.field("uses_mercury"))
w = pq.read_table(sys.argv[2], columns=["water_id", "geometry"])
mark("read")
sg, wg = shapely.from_wkb(np.array(s.column("geometry"))), shapely.from_wkb(np.array(w.column("geometry")))
mark("geometries")
found = nearest_within(sg, wg, max_distance_m=100.0, threads=int(sys.argv[4]))
mark("kernel")
at, to = pa.array(found["subject"].to_numpy()), pa.array(found["target"].to_numpy())
ids = s.column("site_id").take(at)
table = pa.table({
    "violation_id": violation_id_array("HG-WATER-100", 1, "mining_sites", ids.to_pylist()), "site_id": ids,
    "distance_m": pa.array(np.round(found["distance_m"].to_numpy(), 2)), "water_id": w.column("water_id").take(to),
    "geometry": grid_wkt(sg[found["subject"].to_numpy()]), "nearest_line": grid_wkt(found["line"].to_numpy())})
mark("ids and WKT")
pcsv.write_csv(table, "contract.csv")
mark("write")
json.dump(marks, open("contract.json", "w"))
"""

# the sites' coordinates straight from their WKB (2D little-endian points only), no point objects: the
# columnar floor's step, and bench_check_early.py's second process's
POINTS_FROM_WKB = """
wkb = s.column("geometry").combine_chunks()
at = np.frombuffer(wkb.buffers()[1], dtype=np.int32)[wkb.offset:wkb.offset + len(wkb) + 1]
if wkb.null_count or not (np.diff(at) == 21).all():
    raise SystemExit("not all 2D points")
rec = np.frombuffer(wkb.buffers()[2], dtype=np.uint8)[at[0]:at[-1]].view(
    np.dtype([("order", "u1"), ("kind", "<u4"), ("x", "<f8"), ("y", "<f8")]))
if not ((rec["order"] == 1) & (rec["kind"] == 1)).all():
    raise SystemExit("not all little-endian 2D points")
lon, lat = rec["x"].copy(), rec["y"].copy()
"""

# the kernel's point search by locality (geo.distance.geodesic._candidates' point path), given the site
# pieces ``sp``, target pieces ``tp`` and rings, ``by_lat``/``low``, ``reach``, ``lim``, ``pool`` and ``threads``:
# ``parts``, one callable per locality giving its rows (the columnar floor's and bench_check_early's)
POINT_SEARCH = """
parts = []
for key, sel in groups(locality_keys(sp.lon1, sp.lat1)):
    box = Extent(key, sp.lon1[sel], sp.lat1[sel], reach * SCALE_SAFETY + 2000.0)
    span = by_lat[np.searchsorted(low, box.lat_lo - 0.01):np.searchsorted(low, box.lat_hi, side="right")]
    t_sel = np.sort(span[box.touches(tp.lon1[span], tp.lat1[span], tp.lon2[span], tp.lat2[span])])
    t_r, _ = select_rings(t_rings, box.touches(*part_boxes(t_rings, box.lon0)))
    parts.append(point_group_start(sp, sel, tp, t_sel, t_r, key, box, reach, lim, pool, threads))
"""

COLUMNAR_JOB = """
import gc, hashlib, json, os, sys, time, types
gc.disable()
marks, t = {}, time.perf_counter()
def mark(name):
    global t
    marks[name] = time.perf_counter() - t
    t = time.perf_counter()
import numpy as np, pyarrow as pa, pyarrow.compute as pc, pyarrow.csv as pcsv, pyarrow.parquet as pq, shapely
mark("imports")
sys.path.insert(0, sys.argv[3])
# the kernel's private modules, without the package's __init__ (whose public modules import pandas)
package = types.ModuleType("geo.distance")
package.__path__ = [os.path.join(sys.argv[3], "geo", "distance")]
sys.modules["geo.distance"] = package
from concurrent.futures import ThreadPoolExecutor
from geo.distance._locality import SCALE_SAFETY, Extent, groups, locality_keys
from geo.distance._pairs import Budget, Limits, Rows
from geo.distance._pieces import Pieces, explode, part_boxes, polygon_rings, select_rings
from geo.distance._points import point_group_start
from layers.io.grid import grid_wkt
assert "pandas" not in sys.modules
mark("kernel modules")
s = pq.read_table(sys.argv[1], columns=["site_id", "uses_mercury", "geometry"])
w = pq.read_table(sys.argv[2], columns=["water_id", "kind", "geometry"])
mark("read")
""" + POINTS_FROM_WKB + """mark("coordinates from the WKB")
ids = s.column("site_id").combine_chunks()
clean = (ids.null_count == 0 and len(pc.unique(ids)) == len(ids) and s.column("uses_mercury").null_count == 0
         and bool(np.isfinite(lon).all()) and bool((np.abs(lat) <= 90).all()) and bool((np.abs(lon) <= 180).all()))
if not clean:
    raise SystemExit("the columnar floor only handles a clean file")
wg = shapely.from_wkb(np.array(w.column("geometry")))
if not (shapely.is_valid(wg).all() and w.column("water_id").null_count == 0):
    raise SystemExit("the columnar floor only handles a clean file")
mark("checks")
keep = np.flatnonzero(s.column("uses_mercury").to_numpy(zero_copy_only=False))
k = keep.size
sp = Pieces(lon[keep], lat[keep], lon[keep], lat[keep], np.arange(k), np.arange(k), np.ones(k, bool), np.zeros(k),
            np.zeros(k))
tgt = np.asarray(wg, dtype=object)
tp, t_rings = explode(tgt, name="targets"), polygon_rings(tgt)
reach = 100.0 + 1e-6
low = np.minimum(tp.lat1, tp.lat2)
by_lat = np.argsort(low, kind="stable")
low = low[by_lat]
threads = int(sys.argv[4])
lim = Limits(np.full(len(tp), reach), np.zeros(len(tp)), True, Budget())  # as nearest_within makes it
pool = ThreadPoolExecutor(threads)
""" + POINT_SEARCH + """r = Rows.concat([p() for p in parts])
pool.shutdown()
pair = r.subject * (int(r.target.max()) + 1) + r.target
order = np.lexsort((r.tlat, r.tlon, r.slat, r.slon, r.distance_m, pair))
order = order[np.r_[True, pair[order][1:] != pair[order][:-1]]]
order = order[r.distance_m[order] <= reach]
order = order[np.lexsort((r.target[order], r.distance_m[order], r.subject[order]))]
first = order[np.r_[True, r.subject[order][1:] != r.subject[order][:-1]]]
mark("kernel")
n = first.size
sid = ids.take(pa.array(keep[r.subject[first]]))
prefix = "\x1f".join(("HG-WATER-100", "2", "mining_sites", ""))
digest = np.frombuffer(b"".join(hashlib.sha256((prefix + x).encode()).digest()[:8] for x in sid.to_pylist()), np.uint8)
hexd = np.frombuffer(b"".join(f"{b:02x}".encode() for b in range(256)), np.uint8).reshape(256, 2)
vid = np.empty((n, 29), np.uint8)
vid[:, :13] = np.frombuffer(b"HG-WATER-100/", np.uint8)
vid[:, 13:] = hexd[digest.reshape(n, 8)].reshape(n, 16)
def text(data, width):
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(np.arange(n + 1, dtype=np.int64) * width), pa.py_buffer(data))
def same(value):
    return text(value.encode() * n, len(value.encode()))
slon, slat, tlon, tlat = r.slon[first], r.slat[first], r.tlon[first], r.tlat[first]
sources = json.dumps([{"layer": "mining_sites", "source": sys.argv[1], "licence": "unknown", "synthetic": False},
                      {"layer": "water_bodies", "source": sys.argv[2], "licence": "unknown", "synthetic": False}])
table = pa.table({
    "violation_id": text(vid.tobytes(), 29), "rule_id": same("HG-WATER-100"), "rule_version": same("2"),
    "severity": same("critical"), "title": same("Mercury used within 100 m of water"),
    "citation": same('Kyrgyz NAP (003) L1549-1551: "prohibiting work with mercury at a distance of less than 100 meters'
                     ' from freshwater resources" (work plan L2305-2315).'),
    "subject_layer": same("mining_sites"), "subject_id": sid, "site_id": sid, "tailings_id": pa.nulls(n, pa.string()),
    "distance_m": pa.array(np.round(r.distance_m[first], 2)), "threshold_m": same("100.0"),
    "distance_basis": same("edge (0 when touching or inside)"), "nearest_layer": same("water_bodies"),
    "nearest_id": w.column("water_id").take(pa.array(r.target[first])), "nearest_name": pa.nulls(n, pa.string()),
    "nearest_source": pa.nulls(n, pa.string()), "area_m2": pa.nulls(n, pa.float64()), "assumption": same("False"),
    "nearest_line": grid_wkt(shapely.linestrings(np.stack([np.column_stack([slon, slat]),
                                                            np.column_stack([tlon, tlat])], axis=1))),
    "geometry": grid_wkt(shapely.points(slon, slat)), "hgw_profile": same("internal"), "hgw_sources": same(sources)})
mark("violation columns")
pcsv.write_csv(table, "columnar.csv")
mark("write")
json.dump(marks, open("columnar.json", "w"))
sys.stdout.flush()
os._exit(0)
"""

STAGE_JOB = """
import gc, json, os, sys, time
gc.disable()  # as cli.py run as a program: no collection during the imports, then they are frozen
marks, t, c = {}, time.perf_counter(), time.process_time()
def mark(name):
    global t, c
    marks[name] = (time.perf_counter() - t, time.process_time() - c)
    t, c = time.perf_counter(), time.process_time()
from layers.io import prefetch  # as cli.py run as a program: both files read on a side thread while the modules load
prefetch.start(sys.argv[1:3])
import cli
from geo.rules import run_rules
from layers.catalogue import CATALOGUE
from layers.io.readers import frozen_after_load
from layers.io.violations import write_violations
from services import checks
from settings import Settings
gc.freeze()
gc.enable()
mark("imports")
settings = Settings.from_env()
ruleset = settings.rules
mark("rule file")
with frozen_after_load():  # as cmd_check in a process that ends right after
    frames, _, _, _ = checks._from_files([("mining_sites", sys.argv[1]), ("water_bodies", sys.argv[2])], {}, False)
mark("read + validate")
evaluation = run_rules(ruleset, frames, schemas=CATALOGUE, only=[sys.argv[3]], threads=settings.threads,
                       ids_checked=list(frames))  # as services.checks.check: each layer from one validated file
mark("rules")
write_violations(evaluation.violations, "stages.csv")
mark("write")
print(json.dumps(marks), flush=True)
os._exit(0)  # as cli.py: nothing freed one by one
"""


# ``--profile``: ``python -m cProfile cli.py`` never wrote its statistics, because ``cli.py`` run as a
# program ends with ``os._exit`` (nothing after it runs, cProfile's own dump included). This child imports
# ``cli`` as a module instead, handles the collector as ``cli.py`` run as a program does (paused while it
# imports, the imports frozen), profiles ``cli.main`` and dumps the statistics before it ends. Unlike the
# timed runs, ``cli.main``'s own time there includes freeing what the command made (its layers and results,
# ~0.25 s at 1e6 sites) when it returns; ``cli.py`` run as a program ends without freeing them.
PROFILE_JOB = r"""
import cProfile, gc, sys
root, out, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
sys.path.insert(0, root)
gc.disable()
from layers.io import prefetch  # as cli.py run as a program
prefetch.start(prefetch.check_files(argv))
import cli
getattr(cli, "command_modules", lambda _argv: None)(argv)  # the command's own modules, as cli.py as a program
gc.freeze()
gc.enable()
profiler = cProfile.Profile()
code = profiler.runcall(cli.main, argv)
profiler.dump_stats(out)
sys.exit(code)
"""


def stage_times(folder: Path, sites: Path, water: Path, env: dict[str, str], runs: int) -> None:
    """Median wall and CPU seconds of each stage of the check path over ``runs`` child runs."""
    import json
    import statistics

    got: list[dict[str, list[float]]] = []
    for _ in range(runs):
        (folder / "stages.csv").unlink(missing_ok=True)  # a new file each run (see the module docstring)
        res = subprocess.run([sys.executable, "-c", STAGE_JOB, sites.name, water.name, RULE], cwd=folder,
                             env=dict(env, PYTHONPATH=str(ROOT)), capture_output=True, text=True, check=False)
        if res.returncode != 0:
            print(f"  stages failed: {res.stderr.strip().splitlines()[-1:]}")
            return
        got.append(json.loads(res.stdout.strip().splitlines()[-1]))
    print(f"stages (median of {runs}): " + " | ".join(
        f"{name} {statistics.median(g[name][0] for g in got):.2f} s wall, "
        f"{statistics.median(g[name][1] for g in got):.2f} s CPU" for name in got[0]))


def run_child(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, float, str]:
    """Run ``cmd``; wall seconds, CPU seconds (user + system), the child's peak RSS in MB, and
    its stderr tail (empty when it succeeded)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read().decode(errors="replace").strip().splitlines()[-3:]
    if proc.returncode != 0:
        return float("nan"), float("nan"), float("nan"), f"exit {proc.returncode}: {' | '.join(tail)}"
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0, ""


#: The file each contender writes in the temporary folder, deleted before each of its runs.
OUTPUTS = {"hgwatch check": "v.csv", "other tree": "v.csv", "duckdb spatial": "duck.csv",
           "floor: contract": "contract.csv", "floor: columnar": "columnar.csv"}


def timed_run(name: str, cmd: list[str], folder: Path, env: dict[str, str]) -> tuple[float, float, float, str]:
    """``run_child`` of contender ``name``, its output file deleted first (untimed): each run writes a new
    file rather than renaming one over the last run's (see the module docstring)."""
    if name in OUTPUTS:
        (folder / OUTPUTS[name]).unlink(missing_ok=True)
    return run_child(cmd, folder, env)


def _rows(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f) - 1


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1_000_000, help="sites (default 1e6)")
    p.add_argument("--m", type=int, default=100_000, help="water segments (default 1e5)")
    p.add_argument("--threads", type=int, default=2, help="threads for DuckDB and HgWatch (HGWATCH_THREADS)")
    p.add_argument("--repeat", type=int, default=1, help="runs of each contender; the best is kept")
    p.add_argument("--tree", help="also time the cli.py of this other HgWatch checkout (before/after)")
    p.add_argument("--stages", type=int, default=0, metavar="K", help="also time the stages, K runs")
    p.add_argument("--no-floor", action="store_true", help="skip the two floor runs (see the module docstring)")
    p.add_argument("--profile", help="also run HgWatch under cProfile, saving the stats to this file")
    p.add_argument("--compile-every-run", action="store_true",
                   help="keep PYTHONDONTWRITEBYTECODE if set (every child compiles its modules; default: cache them)")
    p.add_argument("--write", nargs=3, metavar=("FOLDER", "N", "M"), help=argparse.SUPPRESS)
    p.add_argument("--worker", nargs=4, metavar=("SITES", "WATER", "OUT", "THREADS"), help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        duckdb_job(a.worker[0], a.worker[1], a.worker[2], int(a.worker[3]))
        return
    if a.write:
        write_inputs(Path(a.write[0]), int(a.write[1]), int(a.write[2]))
        return
    env = dict(os.environ, HGWATCH_THREADS=str(a.threads))
    load = os.getloadavg()
    print(f"check benchmark: N={a.n} sites, M={a.m} water segments, {os.cpu_count()} cores, "
          f"threads={a.threads}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if os.environ.get("PYTHONDONTWRITEBYTECODE") and not a.compile_every_run:
            # as an installed program runs: bytecode cached (here in the temporary folder, the same for every
            # contender), not ~120 modules compiled on every start because the shell set PYTHONDONTWRITEBYTECODE
            env.pop("PYTHONDONTWRITEBYTECODE")
            env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
            print("bytecode cached in the temporary folder for every contender (PYTHONDONTWRITEBYTECODE was set;"
                  " --compile-every-run keeps it)")
        t = time.perf_counter()
        # written by a child: a child's peak memory (ru_maxrss) starts at what this process held when it
        # started it (Linux keeps it across exec), so this process stays small
        subprocess.run([sys.executable, __file__, "--write", str(folder), str(a.n), str(a.m)], check=True)
        sites, water = folder / "sites.parquet", folder / "water.parquet"
        print(f"inputs written in {time.perf_counter() - t:.1f} s: {sites.stat().st_size / 1e6:.1f} MB sites, "
              f"{water.stat().st_size / 1e6:.1f} MB water")
        hg = [sys.executable, str(ROOT / "cli.py"), "check", "--layer", f"mining_sites={sites.name}",
              "--layer", f"water_bodies={water.name}", "--only", RULE, "--out", "v.csv", "--no-record"]
        duck = [sys.executable, str(Path(__file__).resolve()), "--worker", sites.name, water.name, "duck.csv",
                str(a.threads)]
        results: dict[str, tuple[float, float, float]] = {}
        outputs: dict[str, bytes] = {}
        contenders = [("hgwatch check", hg, env), ("duckdb spatial", duck, env)]
        if not a.no_floor:
            contenders += [("floor: import", [sys.executable, "-c", "import geopandas"], env),
                           ("floor: read", [sys.executable, "-c", FLOOR_JOB, sites.name, water.name], env),
                           ("floor: contract", [sys.executable, "-c", CONTRACT_JOB, sites.name, water.name,
                                                str(ROOT), str(a.threads)], env),
                           ("floor: columnar", [sys.executable, "-c", COLUMNAR_JOB, sites.name, water.name,
                                                str(ROOT), str(a.threads)], env)]
        if a.tree:
            tree = Path(a.tree).resolve()
            contenders.insert(1, ("other tree", [sys.executable, str(tree / "cli.py"), *hg[2:]],
                                  dict(env, PYTHONPATH=str(tree))))  # right after this tree's check, in each round
        if "PYTHONPYCACHEPREFIX" in env:  # one untimed run of each fills the bytecode cache
            for _, cmd, child_env in contenders:
                run_child(cmd, folder, child_env)
        runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name, _, _ in contenders}
        written: dict[str, str] = {}
        for done in range(a.repeat):  # round by round (see the module docstring)
            for name, cmd, child_env in contenders:
                if len(runs[name]) < done:  # it failed in an earlier round
                    continue
                wall, cpu, rss, err = timed_run(name, cmd, folder, child_env)
                if err:
                    print(f"  {name} failed: {err}")
                    continue
                runs[name].append((wall, cpu, rss))
                if not name.startswith("floor"):
                    out = folder / ("duck.csv" if name.startswith("duck") else "v.csv")
                    outputs[name] = out.read_bytes()
                    written[name] = f"{_rows(out)} rows written"
                elif name in ("floor: contract", "floor: columnar"):  # the same violations as the check's, by count
                    written[name] = f"{_rows(folder / (name.split()[-1] + '.csv'))} rows written"
        for name, _, _ in contenders:
            if runs[name]:
                results[name] = min(runs[name])
                wall, cpu, rss = results[name]
                print(f"{name:<15} wall {wall:6.2f} s   CPU {cpu:6.2f} s   peak {rss:6.0f} MB   {written.get(name, ''):<18}"
                      f"   (wall of each run: {', '.join(f'{r[0]:.2f}' for r in runs[name])})")
        load = os.getloadavg()
        print(f"load average after the runs: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        if "hgwatch check" in results and "duckdb spatial" in results:
            (hw, hc, hr), (dw, dc, dr) = results["hgwatch check"], results["duckdb spatial"]
            print(f"ratio hgwatch / duckdb: wall {hw / dw:.2f} (target <= 1.0), CPU {hc / dc:.2f}, "
                  f"peak memory {hr / dr:.2f}")
        if "floor: read" in results and "duckdb spatial" in results:
            fw, dw = results["floor: read"][0], results["duckdb spatial"][0]
            print(f"ratio floor (import geopandas, read both files as GeoDataFrames, nothing else) / duckdb: wall "
                  f"{fw / dw:.2f}; the import alone: {results['floor: import'][0] / dw:.2f}")
        if "floor: contract" in results and "duckdb spatial" in results:
            cw, dw = results["floor: contract"][0], results["duckdb spatial"][0]
            marks = json.loads((folder / "contract.json").read_text())  # of the last run
            print(f"ratio floor (what the output itself asks: exact geodesic distances, violation ids, WKT, CSV;"
                  f" no frame, no validation) / duckdb: wall {cw / dw:.2f}; without its pandas and geopandas import"
                  f" ({marks['pandas']:.2f} s): {(cw - marks['pandas']) / dw:.2f}; its steps (last run): "
                  + ", ".join(f"{k} {v:.2f} s" for k, v in marks.items()))
        if "floor: columnar" in results and "duckdb spatial" in results:
            cw, dw = results["floor: columnar"][0], results["duckdb spatial"][0]
            marks = json.loads((folder / "columnar.json").read_text())  # of the last run
            check_csv = folder / "v.csv"
            size = f"{(folder / 'columnar.csv').stat().st_size / check_csv.stat().st_size:.2f}x" \
                if check_csv.exists() else "?"
            print(f"ratio floor (no pandas, no geometry object per site, only null/unique/range checks; the check's 23"
                  f" columns, file {size} the check's size) / duckdb: wall {cw / dw:.2f}; its steps (last run): "
                  + ", ".join(f"{k} {v:.2f} s" for k, v in marks.items()))
        if "hgwatch check" in results and "other tree" in results:
            (ow, oc, _), (hw, hc, _) = results["other tree"], results["hgwatch check"]
            print(f"ratio other tree / hgwatch: wall {ow / hw:.2f}, CPU {oc / hc:.2f}")
            same = outputs["other tree"] == outputs["hgwatch check"]
            print(f"violation files of both trees byte-identical: {'yes' if same else 'NO'}")
        if a.stages:
            stage_times(folder, sites, water, env, a.stages)
        if a.profile:
            stats = Path(a.profile).resolve()
            stats.unlink(missing_ok=True)  # a file left by an earlier run must not pass for this one's
            prof = [sys.executable, "-c", PROFILE_JOB, str(ROOT), str(stats), *hg[2:]]
            wall, _, _, err = run_child(prof, folder, env)
            print(f"profiled run: {wall:.2f} s {err}")
            if stats.exists():
                pstats.Stats(str(stats)).sort_stats("cumulative").print_stats(40)
            else:
                print(f"the profiled run wrote no statistics to {stats}")


if __name__ == "__main__":
    main()
