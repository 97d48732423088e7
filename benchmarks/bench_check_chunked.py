"""Benchmark: ``cli.py check`` with the sites read in chunks against the same check reading them whole.

The job is HG-WATER-100 (mercury sites within 100 m of water) on N sites and M water segments in
WGS84 across two UTM zones (the box of ``bench_rules.py``, straddling 0 deg), written once as
GeoParquet into a temporary folder (the sites a million at a time, so that 1e7 fits the parent).
Then, each in a fresh child process, in this one script run:

- whole: ``python cli.py check --layer mining_sites=sites.parquet --layer water_bodies=water.parquet
  --only HG-WATER-100 --out whole.csv --no-record --chunk-rows 0``;
- chunked: the same with ``--chunk-rows K --out chunked.csv``.

It prints the wall and CPU seconds and the child's peak resident memory (``ru_maxrss`` from
``os.wait4``: the child alone) of each, the ratios chunked / whole, the SHA-256 of each output
file and whether they are identical (they must be), and the load average before and after.
``--no-whole`` runs the chunked check alone (for 1e7 sites, where a whole read needs more memory
than the machine may spare); ``--no-out`` writes no file, to tell the check's peak from the writer's.
This is a benchmark, not a test: it prints, never asserts.

Usage: ``python benchmarks/bench_check_chunked.py [--n 1000000] [--m 100000] [--chunk-rows 250000]
[--threads 2] [--no-whole] [--no-out] [--format parquet|geojson|gpkg]`` (``--format``: the sites'
file; a chunked GeoJSON or GeoPackage is read as one stream of Arrow batches, ``gdalread.stream``).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RULE = "HG-WATER-100"
BLOCK = 1_000_000  # sites generated and written at a time


def write_inputs(folder: Path, n: int, m: int, kind: str = "parquet") -> tuple[Path, Path]:
    """Sites (all using mercury) and water segments as GeoParquet in ``folder``, from fixed seeds; the
    sites as GeoJSON (a FeatureCollection, written a block at a time) or GeoPackage when ``kind`` says."""
    import geopandas as gpd
    import numpy as np
    import pyarrow.parquet as pq
    import pyogrio
    import shapely
    from geopandas.io.arrow import _geopandas_to_arrow

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_rules import BOX, SEED, make_data

    d = make_data(0, m)
    water = gpd.GeoDataFrame({"water_id": [f"W{i}" for i in range(m)], "kind": "stream"},
                             geometry=shapely.linestrings(np.stack([d["a"], d["b"]], axis=1)), crs=4326)
    paths = folder / f"sites.{kind}", folder / "water.parquet"
    water.to_parquet(paths[1])
    text = paths[0].open("w") if kind == "geojson" else None
    if text is not None:
        text.write('{"type": "FeatureCollection", "features": [\n')
    lon0, lat0, lon1, lat1 = BOX
    writer = None
    for k, start in enumerate(range(0, n, BLOCK)):
        size = min(BLOCK, n - start)
        rng = np.random.default_rng(SEED + 1 + k)
        xy = np.column_stack([rng.uniform(lon0, lon1, size), rng.uniform(lat0, lat1, size)])
        block = gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(start, start + size)],
                                  "uses_mercury": np.ones(size, bool)}, geometry=shapely.points(xy), crs=4326)
        if text is not None:
            text.write("".join((",\n" if start + i else "") + json.dumps(
                {"type": "Feature", "properties": {"site_id": f"S{start + i}", "uses_mercury": True},
                 "geometry": {"type": "Point", "coordinates": [x, y]}}) for i, (x, y) in enumerate(xy.tolist())))
            continue
        if kind == "gpkg":
            pyogrio.write_dataframe(block, paths[0], layer="mining_sites", append=start > 0)
            continue
        table = _geopandas_to_arrow(block, index=False)
        if writer is None:
            writer = pq.ParquetWriter(paths[0], table.schema)
        writer.write_table(table.cast(writer.schema))
    if writer is not None:
        writer.close()
    if text is not None:
        text.write("\n]}\n")
        text.close()
    return paths


def run_child(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, float, str]:
    """Run ``cmd``; wall seconds, CPU seconds (user + system), the child's peak RSS in MB, and its
    stderr tail (empty when it succeeded)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read().decode(errors="replace").strip().splitlines()[-3:]
    if code != 0:
        return float("nan"), float("nan"), float("nan"), f"exit {code}: {' | '.join(tail)}"
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0, ""


def _digest(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) of a file and its number of data rows (lines after the header)."""
    digest, lines = hashlib.sha256(), 0
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
            lines += block.count(b"\n")
    return digest.hexdigest(), lines - 1


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1_000_000, help="sites (default 1e6)")
    p.add_argument("--m", type=int, default=100_000, help="water segments (default 1e5)")
    p.add_argument("--chunk-rows", type=int, default=250_000, help="sites per chunk of the chunked run")
    p.add_argument("--threads", type=int, default=2, help="HGWATCH_THREADS of both runs")
    p.add_argument("--no-whole", action="store_true", help="run the chunked check alone")
    p.add_argument("--format", choices=("parquet", "geojson", "gpkg"), default="parquet",
                   help="the sites' file (default GeoParquet; the water is GeoParquet)")
    p.add_argument("--no-out", action="store_true",
                   help="write no violations file (the peak of the check without the writer's; no hash then)")
    a = p.parse_args()
    env = dict(os.environ, HGWATCH_THREADS=str(a.threads))
    print(f"chunked check benchmark: N={a.n:,} sites, M={a.m:,} water segments, chunks of {a.chunk_rows:,}, "
          f"{os.cpu_count()} cores, threads={a.threads}, {_load()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        sites, water = write_inputs(folder, a.n, a.m, a.format)
        print(f"inputs written in {time.perf_counter() - t:.1f} s: {sites.stat().st_size / 1e6:.1f} MB sites, "
              f"{water.stat().st_size / 1e6:.1f} MB water; {_load()}")
        base = [sys.executable, str(ROOT / "cli.py"), "check", "--layer", f"mining_sites={sites.name}",
                "--layer", f"water_bodies={water.name}", "--only", RULE, "--no-record"]
        runs = [(name, [*base, *([] if a.no_out else ["--out", f"{name}.csv"]), "--chunk-rows", rows])
                for name, rows in (("whole", "0"), ("chunked", str(a.chunk_rows))) if name == "chunked" or not a.no_whole]
        results: dict[str, tuple[float, float, float, str]] = {}
        for name, cmd in runs:
            wall, cpu, rss, err = run_child(cmd, folder, env)
            if err:
                print(f"{name:<8} failed: {err}; {_load()}")
                continue
            digest, rows = ("-", -1) if a.no_out else _digest(folder / f"{name}.csv")
            results[name] = (wall, cpu, rss, digest)
            written = "no file written" if a.no_out else f"{rows:,} violations   sha256 {digest[:16]}"
            print(f"{name:<8} wall {wall:7.2f} s   CPU {cpu:7.2f} s   peak {rss:7.0f} MB   {written}   {_load()}")
        if "whole" in results and "chunked" in results:
            (ww, wc, wr, wd), (cw, cc, cr, cd) = results["whole"], results["chunked"]
            print(f"ratio chunked / whole: wall {cw / ww:.2f}, CPU {cc / wc:.2f}, peak memory {cr / wr:.2f}; "
                  f"outputs {'not written' if a.no_out else 'IDENTICAL' if wd == cd else 'DIFFERENT'}")
    print(f"done; {_load()}")


if __name__ == "__main__":
    main()
