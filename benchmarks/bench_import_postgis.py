"""Benchmark: ``cli.py import`` of N points from GeoParquet into a PostGIS workspace, whole and in chunks.

A throwaway PostgreSQL + PostGIS server is started the way the tests start theirs
(``tests.postgis.running_server``) and switched to durable commits (``bench_store_write.durable``:
``fsync``, ``synchronous_commit`` and ``full_page_writes`` on, as a real server runs); a database with
the HgWatch schema is made. The file holds N mining sites (``bench_import.write_sites``). Then, each in
a fresh child process (wall seconds, CPU seconds and the child's peak resident memory):

- baseline: a child Python that runs ``geopandas.read_parquet`` and ``GeoDataFrame.to_postgis`` (GeoAlchemy2)
  into a table of its own: the bare read plus write of the same file into the same database;
- HgWatch whole: ``python cli.py --database-url URL import sites.parquet --layer mining_sites --chunk-rows 0``;
- HgWatch in chunks: the same with ``--chunk-rows K`` (default 1,000,000, what an import above 2 million
  records uses by itself), replacing the layer.

It prints the figures, the ratios HgWatch / baseline and chunked / whole, and whether the two HgWatch
imports stored the same rows (an MD5 of every stored value and geometry, in row order). A benchmark,
not a test: it prints, never asserts.

``--tree DIR`` also runs the whole import with the ``cli.py`` of another checkout (``git archive <commit> |
tar -x -C DIR``), into the same database: a before/after in one run.

Usage: ``python benchmarks/bench_import_postgis.py [--n 1000000] [--chunk-rows 1000000] [--skip-whole] [--tree DIR]``
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

from bench_import import run_child  # noqa: E402
from bench_store_write import bench_database, commit_settings  # noqa: E402

BASELINE = ("import sys, geopandas as gpd, sqlalchemy as sa; "
            "e = sa.create_engine(sys.argv[2].replace('postgresql://', 'postgresql+psycopg://', 1)); "
            "gpd.read_parquet(sys.argv[1]).to_postgis('bare_sites', e, if_exists='replace', chunksize=100000)")
DIGEST = ("SELECT count(*), md5(string_agg(concat_ws('|', site_id, name, status, uses_mercury::text, "
          "gold_kg_per_year::text, miners::text, extra::text, ST_AsEWKB(geom)::text), ',' ORDER BY fid)) "
          "FROM mining_sites")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--chunk-rows", type=int, default=1_000_000)
    parser.add_argument("--skip-whole", action="store_true", help="only the chunked import (and the baseline)")
    parser.add_argument("--tree", help="also run the whole import with the cli.py of this other checkout")
    args = parser.parse_args()
    import psycopg

    from tests.postgis import running_server

    with tempfile.TemporaryDirectory() as tmp, running_server() as server:
        folder = Path(tmp)
        sites = folder / "sites.parquet"
        subprocess.run([sys.executable, str(Path(__file__).parent / "bench_import.py"), "--n", str(args.n),
                        "--write", str(sites)], check=True)
        url = bench_database(server, durable_commits=True)
        durable_now = commit_settings(url)
        print(f"import of {args.n:,} points from GeoParquet into PostGIS (fsync, synchronous_commit: {durable_now}); "
              f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
        cli = [sys.executable, str(ROOT / "cli.py"), "--database-url", url, "import", str(sites), "--layer",
               "mining_sites"]
        runs = [("baseline to_postgis", [sys.executable, "-c", BASELINE, str(sites), url])]
        if not args.skip_whole:
            runs.append(("hgwatch whole", [*cli, "--chunk-rows", "0"]))
        runs.append((f"hgwatch chunks of {args.chunk_rows:,}", [*cli, "--chunk-rows", str(args.chunk_rows),
                                                                "--replace-all"]))
        if args.tree:
            other = Path(args.tree).resolve()
            runs.append(("other tree whole", [sys.executable, str(other / "cli.py"), *cli[2:], "--chunk-rows", "0",
                                              "--replace-all"]))
        got: dict[str, tuple[float, float, float]] = {}
        digests: dict[str, tuple[object, ...] | None] = {}
        print(f"{'':<30}{'wall s':>9}{'CPU s':>9}{'peak MB':>9}")
        for name, cmd in runs:
            wall, cpu, peak, err = run_child(cmd)
            got[name] = (wall, cpu, peak)
            print(f"{name:<30}{wall:>9.2f}{cpu:>9.2f}{peak:>9.0f} {err}", flush=True)
            if name.startswith("hgwatch") or name.startswith("other"):
                with psycopg.connect(url) as con:
                    digests[name] = con.execute(DIGEST).fetchone()
        base = got["baseline to_postgis"]
        for name, (wall, cpu, peak) in got.items():
            if name != "baseline to_postgis":
                print(f"{name} / baseline: time {wall / base[0]:.2f}, CPU {cpu / base[1]:.2f}, memory {peak / base[2]:.2f}")
        if len(set(digests.values())) == 1:
            print(f"every HgWatch import stored the same rows: yes ({next(iter(digests.values()))})")
        elif digests:
            print(f"the imports stored DIFFERENT rows: {digests}")
        print(f"load average after the runs: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
