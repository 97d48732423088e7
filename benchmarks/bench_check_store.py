"""Benchmark: a recorded ``cli.py check`` on a workspace of N sites and M water segments, on both back ends.

The data of ``bench_check.py`` (N mercury sites, M water segments across two UTM zones) is imported
into a new GeoPackage workspace and into a PostGIS workspace (a throwaway server started the way the
tests start theirs, switched to durable commits: ``bench_store_write.durable``). Then, each in a fresh
child process, ``python cli.py --workspace|--database-url W check --only HG-WATER-100`` runs twice:
the first run records itself and opens a case per violation, the second updates every case (the
re-run after an import). Wall seconds, CPU seconds and peak memory of each child are printed.

The named alternative, in the same run: the same check on the files themselves (``--layer``, nothing
read from a store or recorded), and with ``--tree DIR`` the ``cli.py`` of another checkout (before/after),
on its own copy of each workspace as imported (a copy of the GeoPackage file; a PostGIS database made
from the imported one as its template), so that its run 1 opens the cases too. The two trees take
turns (this tree's run 1, the other's run 1, then both runs 2), so a load that changes during the
benchmark weighs on both alike. An other tree at an older schema revision gets its PostGIS copy
brought down to its own head by this tree's migrations (as that tree would have made it; v0014's
downgrade gives ``hgw_cases`` its full pages again). After each run the MD5 of the stored cases
(every column but the times ``opened_at`` and ``updated_at``, by violation id) is printed: the two
trees' runs must store the same cases.
A benchmark, not a test: it prints, never asserts.

Usage: ``python benchmarks/bench_check_store.py [--n 1000000] [--m 100000] [--tree DIR] [--no-postgis]``
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from bench_check import run_child, write_inputs  # noqa: E402
from bench_store_write import bench_database, store_free_env  # noqa: E402

RULE = "HG-WATER-100"
COMPARED = ("violation_id, rule_id, rule_version, subject_layer, site_id, site_name, admin_area, status, assignee,"
            " due_date, reason, flagged, review, distance_m, lon, lat, site_wkb, fingerprint, verdict, first_run,"
            " last_run")  # every case column but the times of the run


def case_digest(flags: list[str]) -> str:
    """The MD5 of the cases stored in the store ``flags`` names (``--workspace F``/``--database-url U``):
    of each row's values (``COMPARED``, by violation id) as Python reprs, bytes as hex, a bool as 0/1."""
    digest, sql = hashlib.md5(), f"SELECT {COMPARED} FROM hgw_cases ORDER BY violation_id"
    if flags[0] == "--workspace":
        with contextlib.closing(sqlite3.connect(flags[1])) as con:
            rows = con.execute(sql).fetchall()
    else:
        import psycopg

        with psycopg.connect(flags[1]) as pg:
            rows = pg.execute(sql).fetchall()
    for row in rows:
        digest.update(repr(tuple(bytes(v).hex() if isinstance(v, bytes | memoryview) else
                                 int(v) if isinstance(v, bool) else v for v in row)).encode())
    return f"{digest.hexdigest()[:12]} ({len(rows):,} cases)"


def head_of(tree: Path) -> str:
    """The newest schema revision the HgWatch in ``tree`` knows."""
    return subprocess.run([sys.executable, "-c", "from layers.store.pgschema import head_revision as h; print(h())"],
                          cwd=tree, env=dict(store_free_env(), PYTHONPATH=str(tree)), capture_output=True, text=True,
                          check=True).stdout.strip()


def bring_down(url: str, revision: str) -> None:
    """Downgrade the database at ``url`` to ``revision`` with this tree's migrations."""
    from alembic import command
    from alembic.config import Config

    from layers.store.pgschema import MIGRATIONS, connect, forget_engine

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with connect(url) as con, con.begin():
        config.attributes["connection"] = con
        command.downgrade(config, revision)
    forget_engine(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--m", type=int, default=100_000)
    parser.add_argument("--tree", help="also run the cli.py of this other checkout on the same workspaces")
    parser.add_argument("--no-postgis", action="store_true")
    args = parser.parse_args()
    env = store_free_env()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sites, water = write_inputs(folder, args.n, args.m)
        print(f"recorded check, {RULE}, {args.n:,} sites x {args.m:,} water segments; load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
        print(f"{'':<50}{'wall s':>8}{'CPU s':>8}{'peak MB':>9}")

        def timed(name: str, cmd: list[str], child_env: dict[str, str]) -> None:
            wall, cpu, peak, err = run_child(cmd, folder, child_env)
            print(f"{name:<50}{wall:>8.2f}{cpu:>8.2f}{peak:>9.0f} {err}", flush=True)

        timed("files, not recorded (the alternative)", [sys.executable, str(ROOT / "cli.py"), "check", "--layer",
              f"mining_sites={sites.name}", "--layer", f"water_bodies={water.name}", "--only", RULE, "--no-record"], env)

        trees = [("this tree", ROOT)] + ([("other tree", Path(args.tree).resolve())] if args.tree else [])

        def workspace(kind: str, where: list[str], copy: Callable[[int], list[str]]) -> None:
            """Import the inputs into the store ``where`` names, then run each tree's two checks on its
            own copy of it (``copy(k)``: the flags naming tree k's copy), the trees taking turns."""
            for path in (sites, water):
                subprocess.run([sys.executable, str(ROOT / "cli.py"), *where, "import", str(path)], cwd=folder,
                               env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            copies = [copy(k) for k in range(len(trees))]
            for run in ("run 1 (opens the cases)", "run 2 (updates them)"):
                for (label, tree), own in zip(trees, copies):
                    timed(f"{kind}, {label}, {run}", [sys.executable, str(tree / "cli.py"), *own, "check", "--only",
                                                      RULE], dict(env, PYTHONPATH=str(tree)))
                    print(f"{'':<4}cases stored: MD5 {case_digest(own)}", flush=True)

        def gpkg_copy(k: int) -> list[str]:
            shutil.copyfile(folder / "ws.gpkg", folder / f"ws{k}.gpkg")
            return ["--workspace", str(folder / f"ws{k}.gpkg")]

        workspace("GeoPackage", ["--workspace", str(folder / "ws.gpkg")], gpkg_copy)
        if not args.no_postgis:
            import psycopg

            from tests.postgis import running_server, url_of

            with running_server() as server:
                from layers.store.pgschema import head_revision

                def pg_copy(k: int) -> list[str]:
                    with psycopg.connect(url_of(server.host, server.port, server.user, "postgres"),
                                         autocommit=True) as con:
                        con.execute(f"CREATE DATABASE bench{k} TEMPLATE bench")
                    url = url_of(server.host, server.port, server.user, f"bench{k}")
                    if (theirs := head_of(trees[k][1])) != head_revision():
                        bring_down(url, theirs)
                    return ["--database-url", url]

                workspace("PostGIS", ["--database-url", bench_database(server, durable_commits=True)], pg_copy)
        print(f"load average after the runs: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
