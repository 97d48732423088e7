"""Benchmark: a national footprint layer (about 10^5 polygons) through import, validate and check.

The data: the 5,232 real Amazon Mining Watch footprints of 2024 (``../shared/data/amazon``, read
where they are, never copied) translated by whole degrees into ``--copies`` copies (default 20:
104,640 polygons, ids ``AMW-kk-nnnnn`` unique), written to a temporary folder as GeoParquet and
GeoJSON; and synthetic river centre lines at the same offsets (per copy, a 12-vertex line of about
11 km within 0.01 degree of every fifth footprint's centroid, and 100 random walks of 50 steps
across the basin: 22,940 lines at 20 copies). The rivers are synthetic and only a benchmark's.

Jobs, each a whole ``cli.py`` process (one fresh child per run):

- ``import`` of the GeoParquet into a new GeoPackage workspace; alternative in the same run:
  ``geopandas.read_parquet`` plus ``to_file(..., engine="pyogrio")`` of the same file (this GDAL
  has no Parquet driver);
- ``import`` of the GeoJSON (48 MB at 20 copies), the same alternative;
- ``validate`` of the GeoParquet; alternative: ``geopandas.read_parquet`` alone (a floor);
- ``check --only HG-WATER-100 --set mining_sites.uses_mercury=true --set water_bodies.kind=river
  --out v.csv --no-record``; alternative: geopandas ``to_crs(estimate_utm_crs())`` of both layers
  and ``sjoin_nearest(max_distance=100)`` written to CSV (one UTM zone for a whole basin: planar,
  not geodesic, and its distances are wrong far from the zone; it is what a user would try);
- with ``--all-rules``, also ``check`` of every built-in rule with synthetic zones (1-degree boxes),
  licences (half-degree boxes, valid), villages and schools near the footprints; with ``--each-rule``
  as well, each of those rules alone (``--only``), so that a peak can be laid at one rule's door.

``--tree DIR`` also runs every ``cli.py`` job with another checkout (e.g. ``/tmp/before13``), right
after this tree's, killed after ``--tree-timeout`` seconds, and says whether both trees wrote
byte-identical violation files.

Figures: wall seconds from start to exit, CPU seconds and the child's peak resident memory
(``ru_maxrss`` from ``os.wait4``: the child alone), and the load average before and after.
This is a benchmark, not a test: it prints, never asserts.

Usage: ``python benchmarks/bench_polygons.py [--copies 20] [--all-rules [--each-rule]] [--tree DIR] [--tree-timeout 600]``
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_reach import run_child  # the benchmarks import one another from their folder

ROOT = Path(__file__).resolve().parents[1]
FOOTPRINTS = ROOT.parent / "shared" / "data" / "amazon" / "amw_mining_footprints_2024.geojson"

MAKE = r'''
import sys
import numpy as np, pandas as pd, geopandas as gpd, shapely
src = gpd.read_file(sys.argv[1])
copies, folder, others = int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
rng = np.random.default_rng(13)
base = src.geometry.values
cent = shapely.centroid(base)
cx, cy = shapely.get_x(cent), shapely.get_y(cent)
parts, rivers = [], []
for k in range(copies):
    dx, dy = float(k % 5), -float(k // 5)
    g = shapely.transform(base, lambda c, d=np.array([dx, dy]): c + d)
    parts.append(gpd.GeoDataFrame({"site_id": [f"AMW-{k:02d}-{i:05d}" for i in range(len(base))],
                                   "mined_area_ha": src["Mined area (ha)"].to_numpy(),
                                   "year": src["year"].to_numpy()}, geometry=g, crs=4326))
    for i in range(0, len(base), 5):
        x0, y0 = cx[i] + dx + rng.uniform(-0.01, 0.01), cy[i] + dy + rng.uniform(-0.01, 0.01)
        t = np.linspace(-0.05, 0.05, 12)
        rivers.append(shapely.LineString(np.c_[x0 + t, y0 + 0.3 * t + rng.normal(0, 0.002, 12)]))
    for _ in range(100):
        x0, y0 = rng.uniform(-80, -45) + dx, rng.uniform(-20, 8) + dy
        steps = rng.normal(0, 0.02, (50, 2)).cumsum(0)
        rivers.append(shapely.LineString(np.c_[x0 + steps[:, 0], y0 + steps[:, 1]]))
sites = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=4326)
water = gpd.GeoDataFrame({"water_id": [f"R{i:06d}" for i in range(len(rivers))]}, geometry=rivers, crs=4326)
sites.to_parquet(f"{folder}/sites.parquet")
sites.to_file(f"{folder}/sites.geojson", driver="GeoJSON", engine="pyogrio")
water.to_parquet(f"{folder}/water.parquet")
if others:
    c = shapely.centroid(sites.geometry.to_numpy())
    x, y = shapely.get_x(c), shapely.get_y(c)
    i, j = np.arange(0, len(sites), 10), np.arange(0, len(sites), 7)
    gpd.GeoDataFrame({"area_id": [f"V{k}" for k in range(i.size)], "name": [f"village {k}" for k in range(i.size)],
                      "population": rng.integers(50, 5000, i.size)},
                     geometry=shapely.points(x[i] + 0.004, y[i]), crs=4326).to_parquet(f"{folder}/villages.parquet")
    gpd.GeoDataFrame({"receptor_id": [f"Q{k}" for k in range(j.size)], "name": [f"school {k}" for k in range(j.size)],
                      "receptor_type": "school"}, geometry=shapely.points(x[j] - 0.003, y[j]),
                     crs=4326).to_parquet(f"{folder}/schools.parquet")
    cells = sorted({(int(np.floor(a)), int(np.floor(b))) for a, b in zip(x, y)})[::3]
    gpd.GeoDataFrame({"zone_id": [f"Z{k}" for k in range(len(cells))], "name": "zone", "zone_type": "protected_area",
                      "prohibits_mining": True, "legal_source": "synthetic"},
                     geometry=[shapely.segmentize(shapely.box(a, b, a + 1, b + 1), 0.025) for a, b in cells],
                     crs=4326).to_parquet(f"{folder}/zones.parquet")
    half = sorted({(np.floor(a * 2) / 2, np.floor(b * 2) / 2) for a, b in zip(x, y)})[::2]
    gpd.GeoDataFrame({"licence_id": [f"L{k}" for k in range(len(half))], "holder": "synthetic holder",
                      "holder_type": "cooperative", "licence_type": "mining", "valid_from": "2020-01-01",
                      "valid_to": "2030-12-31", "status": "valid"},
                     geometry=[shapely.box(a, b, a + 0.5, b + 0.5) for a, b in half],
                     crs=4326).to_parquet(f"{folder}/licences.parquet")
print(len(sites), len(water))
'''

ALT_IMPORT = r'''
import sys, geopandas as gpd
f = gpd.read_parquet(sys.argv[1]) if sys.argv[1].endswith(".parquet") else gpd.read_file(sys.argv[1], engine="pyogrio")
f.to_file(sys.argv[2], layer="mining_sites", driver="GPKG", engine="pyogrio")
'''

ALT_READ = r'''
import sys, geopandas as gpd
print(len(gpd.read_parquet(sys.argv[1])))
'''

ALT_CHECK = r'''
import sys, geopandas as gpd
s, w = gpd.read_parquet(sys.argv[1]), gpd.read_parquet(sys.argv[2])
utm = s.estimate_utm_crs()
j = gpd.sjoin_nearest(s.to_crs(utm), w.to_crs(utm), max_distance=100, distance_col="distance_m")
j = j.drop_duplicates("site_id")
j.drop(columns="geometry").to_csv(sys.argv[3], index=False)
print(len(j))
'''


def _built_in_rules() -> list[str]:
    """The ids of the rules in ``config/rules.toml``, in file order."""
    with open(ROOT / "config" / "rules.toml", "rb") as f:
        return [str(rule["id"]) for rule in tomllib.load(f)["rules"]]


def _line(job: str, name: str, figures: tuple[float, float, float, str]) -> None:
    wall, cpu, peak, problem = figures
    print(f"{job:<36} {name:<34} {wall:8.2f} s wall {cpu:8.2f} s CPU {peak:7.0f} MB" + (f"  ({problem})" if problem
                                                                                           else ""))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--copies", type=int, default=20, help="whole-degree copies of the 5,232 footprints")
    p.add_argument("--all-rules", action="store_true", help="also check every built-in rule (synthetic layers)")
    p.add_argument("--each-rule", action="store_true", help="with --all-rules, also check each rule alone")
    p.add_argument("--tree", help="also run the cli.py of this other HgWatch checkout (before/after)")
    p.add_argument("--tree-timeout", type=float, default=600.0, help="kill a --tree run after this many seconds")
    a = p.parse_args()
    if not FOOTPRINTS.exists():
        print(f"needs {FOOTPRINTS}")
        return
    env = dict(os.environ)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench_polygons_") as tmp:
        folder = Path(tmp)
        made = subprocess.run([sys.executable, "-c", MAKE, str(FOOTPRINTS), str(a.copies), tmp,
                               "1" if a.all_rules else "0"], capture_output=True, text=True, check=True)
        n_sites, n_water = made.stdout.split()
        print(f"{n_sites} footprint polygons ({a.copies} copies of {FOOTPRINTS.name}), {n_water} synthetic river lines")
        trees = [("hgwatch", ROOT, dict(env, PYTHONPATH=str(ROOT)), 3600.0)]
        if a.tree:
            tree = Path(a.tree).resolve()
            trees.append((f"tree {tree}", tree, dict(env, PYTHONPATH=str(tree)), a.tree_timeout))
        sets = ["--set", "mining_sites.uses_mercury=true", "--set", "water_bodies.kind=river"]
        files = ["--layer", "mining_sites=sites.parquet", "--layer", "water_bodies=water.parquet"]
        jobs: list[tuple[str, list[str], str | None]] = [
            ("import GeoParquet", ["import", "sites.parquet", "--layer", "mining_sites"], None),
            ("import GeoJSON", ["import", "sites.geojson", "--layer", "mining_sites"], None),
            ("validate GeoParquet", ["validate", "sites.parquet", "--layer", "mining_sites"], None),
            ("check HG-WATER-100", ["check", "--only", "HG-WATER-100", *files, *sets, "--no-record"], "v.csv")]
        if a.all_rules:
            more = ["--layer", "residential_areas=villages.parquet", "--layer", "receptors=schools.parquet",
                    "--layer", "zones=zones.parquet", "--layer", "licences=licences.parquet",
                    "--layer", "tailings=schools.parquet", "--set", "mining_sites.status=active",
                    "--set", "mining_sites.burning=open"]
            jobs.append(("check, all built-in rules", ["check", *files, *more, *sets, "--no-record"], "v_all.csv"))
            if a.each_rule:
                jobs += [(f"--only {rule}", ["check", "--only", rule, *files, *more, *sets, "--no-record"], "v_one.csv")
                         for rule in _built_in_rules()]
        alternatives = {
            "import GeoParquet": ("geopandas read_parquet+to_file", [ALT_IMPORT, "sites.parquet", "alt.gpkg"]),
            "import GeoJSON": ("geopandas read_file+to_file", [ALT_IMPORT, "sites.geojson", "alt.gpkg"]),
            "validate GeoParquet": ("geopandas read_parquet (floor)", [ALT_READ, "sites.parquet"]),
            "check HG-WATER-100": ("geopandas UTM sjoin_nearest 100 m", [ALT_CHECK, "sites.parquet", "water.parquet",
                                                                         "alt.csv"]),
        }
        for job, args, out in jobs:
            outputs: dict[str, bytes] = {}
            for name, root, child_env, timeout in trees:
                (folder / "ws.gpkg").unlink(missing_ok=True)
                extra = ["--out", out] if out else []
                cmd = [sys.executable, str(root / "cli.py"), "--workspace", "ws.gpkg", *args, *extra]
                figures = run_child(cmd, folder, child_env, timeout)
                _line(job, name, figures)
                if out and not figures[3] and (folder / out).exists():
                    outputs[name] = (folder / out).read_bytes()
                    (folder / out).unlink()
            if len(outputs) == 2:
                same = len(set(outputs.values())) == 1
                print(f"{job}: violation files of both trees byte-identical: {'yes' if same else 'NO'}")
            if job in alternatives:
                (folder / "alt.gpkg").unlink(missing_ok=True)
                name, script = alternatives[job]
                _line(job, name, run_child([sys.executable, "-c", *script], folder, env, 3600.0))
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
