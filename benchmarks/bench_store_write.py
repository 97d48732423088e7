"""Benchmark: a one-row write on a workspace of N mining sites (default 10^6), on both back ends.

Builds N mining sites (random points from a fixed seed, the columns of ``bench_import``), stores
them in a new GeoPackage workspace and in a PostGIS store (a throwaway server started the way the
tests start theirs, ``tests.postgis.running_server``, switched to ``fsync = on`` and
``synchronous_commit = on`` so that both back ends make each commit durable), adds one account to
each, and then times, each ``--repeat`` times (median, min, max, in ms):

- an account change (``accounts_for(store).put``: one ``UPDATE`` in one transaction under the
  writer lock, what a user or case-status change goes through);
- a one-row append to ``mining_sites`` (``write_layers(..., append=True)``: the id clash check,
  the staged row, the insert, the provenance);

and, as the named alternative, the whole-file copy every GeoPackage write made before issue 11
(``shutil.copyfile`` of the same workspace file, without the fsync and rename that followed it), with
the ratio copy / in-place. A benchmark, not a test: it prints, never asserts.

Usage: ``python benchmarks/bench_store_write.py [--n 1000000] [--repeat 21] [--no-postgis]``
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import shapely  # noqa: E402

from layers.store.accounts import Account, accounts_for, changed, now_iso  # noqa: E402
from layers.store.base import Store  # noqa: E402

if TYPE_CHECKING:
    from tests.postgis import Server

DURABLE = ("fsync", "synchronous_commit", "full_page_writes")  # server settings the tests turn off


def sites(n: int, start: int = 0, seed: int = 13) -> gpd.GeoDataFrame:
    """``n`` mining sites with ids ``S<start>`` ... (the columns of ``bench_import``)."""
    rng = np.random.default_rng(seed + start)
    frame = {"site_id": np.char.add("S", np.arange(start, start + n).astype(str)).astype(object), "name": "site",
             "status": np.array(["active", "inactive", "abandoned", "unknown"], dtype=object)[rng.integers(0, 4, n)],
             "uses_mercury": rng.integers(0, 2, n).astype(bool),
             "gold_kg_per_year": np.round(rng.uniform(0, 50, n), 3), "miners": rng.integers(0, 500, n)}
    points = shapely.points(rng.uniform(-3, 1, n), rng.uniform(5, 11, n))
    return gpd.GeoDataFrame(frame, geometry=points, crs=4326)


def timed(step: Callable[[int], object], repeat: int) -> list[float]:
    """Milliseconds of ``step(i)`` for i in 0 .. repeat-1."""
    times = []
    for i in range(repeat):
        start = time.perf_counter()
        step(i)
        times.append((time.perf_counter() - start) * 1000)
    return times


def line(what: str, ms: list[float]) -> float:
    med = statistics.median(ms)
    print(f"  {what:<44}{med:>10.1f}{min(ms):>10.1f}{max(ms):>10.1f}")
    return med


def one_row_writes(store: Store, n: int, repeat: int) -> tuple[float, float]:
    """Median ms of an account change and of a one-row append on ``store``."""
    accounts = accounts_for(store)
    accounts.add(Account("bench", "analyst", (), "$argon2id$v=19$bench-not-a-real-hash", created_at=now_iso()))
    account = accounts.get("bench")
    assert account is not None
    acc = line("account change (UPDATE hgw_accounts)", timed(
        lambda i: accounts.put(changed(account, failures=i + 1, last_failure=time.time())), repeat))
    rows = [sites(1, n + i) for i in range(repeat)]
    app = line("one-row append to mining_sites", timed(
        lambda i: store.write_layers([("mining_sites", rows[i])], source="bench", append=True), repeat))
    assert store.info("mining_sites").rows == n + repeat and accounts.get("bench") is not None
    return acc, app


def main() -> None:
    """Build both stores, time the writes and the copy, print the figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--no-postgis", action="store_true")
    args = parser.parse_args()
    from layers.store.workspace import Workspace

    print(f"one-row writes on a workspace of {args.n:,} mining sites; {args.repeat} runs each; load {os.getloadavg()}")
    print(f"  {'':<44}{'median ms':>10}{'min':>10}{'max':>10}")
    frame = sites(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws.gpkg")
        start = time.perf_counter()
        ws.write_layer("mining_sites", frame, source="bench")
        print(f"GeoPackage (built in {time.perf_counter() - start:.1f} s, {ws.real.stat().st_size / 1e6:.0f} MB)")
        acc, app = one_row_writes(ws, args.n, args.repeat)
        copy = line("alternative: shutil.copyfile of the workspace", timed(
            lambda i: shutil.copyfile(ws.real, Path(tmp) / "copy.gpkg"), args.repeat))
        print(f"  ratio copy / account change: {copy / acc:.1f}x; copy / one-row append: {copy / app:.1f}x")
        if not args.no_postgis:
            postgis(frame, args.n, args.repeat, acc, app)


def durable(data: Path) -> None:
    """Restart the test server in ``data`` with its own options but durable commits (the tests run it
    with ``fsync``, ``synchronous_commit`` and ``full_page_writes`` off)."""
    import shlex
    import subprocess

    from tests.postgis import PG_BIN, _as_server_user

    argv = shlex.split((data / "postmaster.opts").read_text())[1:]  # the server's own command line
    options = [a for i, a in enumerate(argv) if a != "-D" and (i == 0 or argv[i - 1] != "-D")]
    options = [a.replace("=off", "=on") if a.split("=")[0] in DURABLE else a for a in options]
    subprocess.run(_as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(data.parent / "server.log"),
                                    "-w", "-t", "60", "-o", shlex.join(options), "restart"]),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)


def store_free_env() -> dict[str, str]:
    """This process's environment without the store it names (``$HGWATCH_DATABASE_URL``,
    ``$HGWATCH_WORKSPACE``): a benchmark's children use the store they are given."""
    return {k: v for k, v in os.environ.items() if k not in ("HGWATCH_DATABASE_URL", "HGWATCH_WORKSPACE")}


def bench_database(server: Server, *, durable_commits: bool) -> str:
    """A database ``bench`` with PostGIS and the HgWatch schema on the throwaway ``server``
    (``tests.postgis.running_server``), restarted first with durable commits when asked; its URL.
    The schema's connection pool is closed again (a benchmark's own children use their own)."""
    import psycopg

    from layers.store.pgschema import forget_engine, upgrade_schema
    from tests.postgis import url_of

    host, port, user = server.host, server.port, server.user
    if durable_commits:
        durable(Path(host) / "data")
    with psycopg.connect(host=host, port=port, user=user, dbname="postgres", autocommit=True) as con:
        con.execute("CREATE DATABASE bench")
    url = url_of(host, port, user, "bench")
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("CREATE EXTENSION postgis")
    upgrade_schema(url)
    forget_engine(url)
    return url


def commit_settings(url: str) -> tuple[str, str]:
    """The server's ``fsync`` and ``synchronous_commit``, to print beside the figures."""
    import psycopg

    with psycopg.connect(url) as con:
        row = con.execute("SELECT current_setting('fsync'), current_setting('synchronous_commit')").fetchone()
    assert row is not None  # a SELECT without FROM gives one row
    return str(row[0]), str(row[1])


def postgis(frame: gpd.GeoDataFrame, n: int, repeat: int, gpkg_acc: float, gpkg_app: float) -> None:
    """The same on a throwaway PostGIS server (durable commits)."""
    from layers.store.pgschema import forget_engine
    from layers.store.postgis import PostgisStore
    from tests.postgis import running_server

    with running_server() as server:
        url = bench_database(server, durable_commits=True)
        fsync, sync = commit_settings(url)
        print(f"  (server: fsync {fsync}, synchronous_commit {sync})")
        store = PostgisStore(url)
        start = time.perf_counter()
        store.write_layer("mining_sites", frame, source="bench")
        print(f"PostGIS (built in {time.perf_counter() - start:.1f} s)")
        acc, app = one_row_writes(store, n, repeat)
        print(f"  GeoPackage / PostGIS: account change {gpkg_acc / acc:.2f}, one-row append {gpkg_app / app:.2f}")
        forget_engine(url)


if __name__ == "__main__":
    main()
