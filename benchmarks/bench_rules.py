"""Benchmark: the HG-WATER-100 job (sites within 100 m of water) three ways.

(a) HgWatch's exact kernel ``geo.distance.geodesic.nearest_within(max_distance_m=100)``;
(b) DuckDB spatial: ST_Transform to one UTM CRS, ST_DWithin join, min distance and arg_min id;
(c) geopandas ``sjoin_nearest(max_distance=100)`` after ``to_crs(estimate_utm_crs())``.

Synthetic data, fixed seed: N random sites and M short random water segments (50-400 m geodesic
lines) in a 2 x 2 degree box straddling the 0 degree meridian (UTM zones 30 and 31), dense enough
that ~14 % of sites fall within 100 m. Each contender runs in a fresh subprocess of this script,
so its peak RSS (``VmHWM`` from /proc, which sees C allocations too) is its own. Timings
cover the job from in-memory lon/lat geometries to the per-site answer; building the inputs is
not timed. The kernel and DuckDB use ``--threads`` threads (default 1; the kernel cuts its point
subjects into spatial strips), ``sjoin_nearest`` one. This is a benchmark, not a test: it prints,
never asserts.

Usage: ``python benchmarks/bench_rules.py [--sizes 10000,100000,1000000] [--m 100000] [--threads 1] [--quick]
[--verify]``
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BOX = (-1.0, 6.0, 1.0, 8.0)  # lon_min, lat_min, lon_max, lat_max: straddles 0 deg (zones 30/31)
LIMIT_M = 100.0
SEED = 20261122


def make_data(n: int, m: int, seed: int = SEED) -> dict[str, np.ndarray]:
    """N site points and M water segments (lon/lat degrees), from a fixed seed."""
    from pyproj import Geod

    rng = np.random.default_rng(seed)
    lon0, lat0, lon1, lat1 = BOX
    sites = np.column_stack([rng.uniform(lon0, lon1, n), rng.uniform(lat0, lat1, n)])
    a = np.column_stack([rng.uniform(lon0, lon1, m), rng.uniform(lat0, lat1, m)])
    blon, blat, _ = Geod(ellps="WGS84").fwd(a[:, 0], a[:, 1], rng.uniform(0, 360, m), rng.uniform(50, 400, m))
    return {"sites": sites, "a": a, "b": np.column_stack([blon, blat])}


def _rss_mb() -> float:
    """Peak resident memory of this process in MB (VmHWM: C allocations included, and, unlike
    getrusage's maxrss, not inherited from the parent across fork+exec)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


Result = tuple[tuple[float, float], np.ndarray, np.ndarray, np.ndarray]


def run_kernel(d: dict[str, np.ndarray], threads: int) -> Result:
    """(a) the exact kernel on ``threads`` threads. Returns (wall, CPU) seconds, flagged site ids,
    nearest water ids, distances."""
    import shapely

    from geo.distance import nearest_within

    sites = shapely.points(d["sites"])
    water = shapely.linestrings(np.stack([d["a"], d["b"]], axis=1))
    t, c = time.perf_counter(), time.process_time()
    out = nearest_within(sites, water, max_distance_m=LIMIT_M, threads=threads)
    dt = (time.perf_counter() - t, time.process_time() - c)
    return dt, out["subject"].to_numpy(), out["target"].to_numpy(), out["distance_m"].to_numpy()


def _utm(d: dict[str, np.ndarray]):
    import geopandas as gpd

    return gpd.GeoSeries(gpd.points_from_xy(d["sites"][:, 0], d["sites"][:, 1]), crs=4326).estimate_utm_crs()


def run_sjoin(d: dict[str, np.ndarray]) -> Result:
    """(c) geopandas sjoin_nearest after to_crs(estimate_utm_crs()), the common way."""
    import geopandas as gpd
    import shapely

    sites = gpd.GeoDataFrame({"site_id": np.arange(len(d["sites"]))},
                             geometry=gpd.points_from_xy(d["sites"][:, 0], d["sites"][:, 1]), crs=4326)
    water = gpd.GeoDataFrame({"water_id": np.arange(len(d["a"]))},
                             geometry=shapely.linestrings(np.stack([d["a"], d["b"]], axis=1)), crs=4326)
    t, c = time.perf_counter(), time.process_time()
    utm = sites.estimate_utm_crs()
    j = gpd.sjoin_nearest(sites.to_crs(utm), water.to_crs(utm), max_distance=LIMIT_M, distance_col="distance_m")
    j = j.sort_values(["site_id", "distance_m", "water_id"]).drop_duplicates("site_id")
    dt = (time.perf_counter() - t, time.process_time() - c)
    return dt, j["site_id"].to_numpy(), j["water_id"].to_numpy(), j["distance_m"].to_numpy()


def _spatial_extension() -> str:
    import duckdb_extension_spatial

    found = sorted(Path(duckdb_extension_spatial.__file__).parent.rglob("*.duckdb_extension"))
    if not found:
        raise SystemExit("spatial.duckdb_extension not found inside the duckdb-extension-spatial wheel")
    return str(found[0])


def run_duckdb(d: dict[str, np.ndarray], threads: int) -> Result:
    """(b) DuckDB spatial: transform to UTM metres, ST_DWithin join, min distance, arg_min id."""
    import duckdb
    import pandas as pd

    con = duckdb.connect()
    con.execute(f"LOAD '{_spatial_extension()}'")  # from the pinned wheel; never INSTALL/download
    con.execute(f"SET threads = {threads}")
    sites_df = pd.DataFrame({"id": np.arange(len(d["sites"])), "lon": d["sites"][:, 0], "lat": d["sites"][:, 1]})
    water_df = pd.DataFrame({"id": np.arange(len(d["a"])), "lon1": d["a"][:, 0], "lat1": d["a"][:, 1],
                             "lon2": d["b"][:, 0], "lat2": d["b"][:, 1]})
    con.register("sites_df", sites_df)
    con.register("water_df", water_df)
    con.execute("CREATE TABLE sites AS SELECT id, ST_Point(lon, lat) AS geom FROM sites_df")
    con.execute("CREATE TABLE water AS SELECT id, ST_MakeLine(ST_Point(lon1, lat1), ST_Point(lon2, lat2)) AS geom "
                "FROM water_df")
    epsg = _utm(d).to_epsg()
    t, c = time.perf_counter(), time.process_time()
    con.execute(f"""
        CREATE TABLE s AS SELECT id, ST_Transform(geom, 'EPSG:4326', 'EPSG:{epsg}', always_xy := true) AS g FROM sites;
        CREATE TABLE w AS SELECT id, ST_Transform(geom, 'EPSG:4326', 'EPSG:{epsg}', always_xy := true) AS g FROM water;
    """)
    res = con.execute(f"""
        SELECT s.id AS site_id, min(ST_Distance(s.g, w.g)) AS distance_m,
               arg_min(w.id, ST_Distance(s.g, w.g)) AS water_id
        FROM s JOIN w ON ST_DWithin(s.g, w.g, {LIMIT_M})
        GROUP BY s.id ORDER BY s.id
    """).fetchnumpy()
    dt = (time.perf_counter() - t, time.process_time() - c)
    return dt, res["site_id"], res["water_id"], res["distance_m"]


def worker(name: str, n: int, m: int, threads: int, out: str) -> None:
    """Run one contender in this (fresh) process and save its answer and figures."""
    d = make_data(n, m)
    rss_inputs = _rss_mb()
    runs = {"kernel": lambda: run_kernel(d, threads), "sjoin": lambda: run_sjoin(d),
            "duckdb": lambda: run_duckdb(d, threads)}
    (wall, cpu), site, water, dist = runs[name]()
    np.savez(out, site=site, water=water, dist=dist)
    print(json.dumps({"seconds": wall, "cpu_seconds": cpu, "rss_mb": _rss_mb(), "rss_inputs_mb": rss_inputs}))


def check_disputed(n: int, m: int, exact: set[int], others: list[set[int]], sample: int = 200) -> str:
    """Settle disagreements with the independent test reference (aeqd per site, 2 m densification).

    Checks every site that a baseline flags differently from the kernel (up to ``sample`` of them)
    plus ``sample`` random flags of the kernel; returns a one-line verdict.
    """
    import shapely

    sys.path.insert(0, str(ROOT))  # the independent reference lives with the tests, not in the package
    from tests.test_geodesic import reference_distance

    d = make_data(n, m)
    sites = shapely.points(d["sites"])
    water = shapely.linestrings(np.stack([d["a"], d["b"]], axis=1))
    tree = shapely.STRtree(water)
    rng = np.random.default_rng(0)
    disputed = sorted(set().union(*(o ^ exact for o in others)))[:sample]
    flags = sorted(exact)
    picked = disputed + [int(i) for i in rng.choice(flags, min(sample, len(flags)), replace=False)]
    wrong = 0
    for i in picked:
        near = tree.query(sites[i], predicate="dwithin", distance=0.01)  # degrees: > 1 km here
        ref = min((reference_distance(sites[i], water[j]) for j in near), default=np.inf)
        wrong += (ref <= LIMIT_M) != (i in exact)
    return (f"independent reference: kernel right on {len(picked) - wrong}/{len(picked)} checked sites "
            f"({len(disputed)} disputed by a baseline, the rest random flags)")


def _spawn(name: str, n: int, m: int, threads: int, out: str) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--worker", name, "--n", str(n), "--m", str(m),
           "--threads", str(threads), "--out", out]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    res = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if res.returncode != 0:
        print(f"  {name} failed: {res.stderr.strip().splitlines()[-1:]}")
        return {}
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated N (sites)")
    p.add_argument("--m", type=int, default=100_000, help="M water segments")
    p.add_argument("--quick", action="store_true", help="N=10000, M=20000 only")
    p.add_argument("--threads", type=int, default=1, help="threads for DuckDB and the kernel (sjoin uses 1)")
    p.add_argument("--verify", action="store_true", help="settle disputed flags with the test reference")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        worker(a.worker, a.n, a.m, a.threads, a.out)
        return
    sizes = [10_000] if a.quick else [int(s) for s in a.sizes.split(",")]
    m = 20_000 if a.quick else a.m
    print(f"HG-WATER-100 benchmark: M={m} water segments, box {BOX} (UTM 30/31), threads={a.threads}")
    hdr = (f"{'N':>9} {'method':<14} {'wall s':>7} {'CPU s':>6} {'sites/s':>9} {'peak MB':>7} {'flagged':>8} "
           f"{'differ':>6} {'wall x':>6} {'CPU x':>6}")
    print(hdr)
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            figs, ans = {}, {}
            for name in ("kernel", "duckdb", "sjoin"):
                out = os.path.join(tmp, f"{name}_{n}.npz")
                figs[name] = _spawn(name, n, m, a.threads, out)
                if figs[name]:
                    ans[name] = np.load(out)
            exact = set(ans["kernel"]["site"].tolist()) if "kernel" in ans else set()
            for name, label in (("kernel", "hgwatch exact"), ("duckdb", "duckdb"), ("sjoin", "sjoin_nearest")):
                if not figs.get(name):
                    continue
                f, flagged = figs[name], set(ans[name]["site"].tolist())
                k = figs.get("kernel") or {"seconds": float("nan"), "cpu_seconds": float("nan")}
                print(f"{n:>9} {label:<14} {f['seconds']:>7.2f} {f['cpu_seconds']:>6.2f} {n / f['seconds']:>9.0f} "
                      f"{f['rss_mb']:>7.0f} {len(flagged):>8} {len(flagged ^ exact):>6} "
                      f"{f['seconds'] / k['seconds']:>6.2f} {f['cpu_seconds'] / k['cpu_seconds']:>6.2f}")
            if a.verify and exact:
                others = [set(ans[k]["site"].tolist()) for k in ans if k != "kernel"]
                print(f"{'':>9} " + check_disputed(n, m, exact, others))
            print(f"{'':>9} peak MB = the process's max RSS, inputs included (inputs alone: "
                  f"{figs.get('kernel', {}).get('rss_inputs_mb', float('nan')):.0f} MB); x = time / kernel time; "
                  "differ = flagged sites not in the exact set or missing from it")


if __name__ == "__main__":
    main()
