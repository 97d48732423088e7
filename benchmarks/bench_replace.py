"""Benchmark: a replacing import of N mining sites (default 10^5) over the same N sites in another
order, on both back ends, with this tree's code and with a baseline tree's (``--baseline``, e.g. a
``git archive`` of an earlier commit), in one script run.

Each measurement is a child process importing one tree's ``layers`` (``--tree``): it builds a
store of N sites (``bench_store_write.sites``; a new GeoPackage, or a new database on one
throwaway PostGIS server started the way the tests start theirs, test settings: ``fsync`` off),
then times ``--repeat`` replacing writes (``write_layer``, the sites reversed, then in their first
order, and so on) and prints the times. Children of the two trees alternate, so that both see the
same load; the load average is printed before and after. Since the fid fix (a replace keeps each
stored id's fid) this is what that costs. A benchmark, not a test: it prints, never asserts.

Usage: ``python benchmarks/bench_replace.py --baseline /tmp/before [--n 100000] [--repeat 5] [--rounds 2]
[--no-postgis]``
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORDERS = ("reversed", "same order")  # the replaces alternate: the sites reversed, then in their first order


def child(tree: Path, location: str, n: int, repeat: int) -> None:
    """In a child process: build the store at ``location`` with ``tree``'s code, time the replaces, print JSON."""
    sys.path.insert(0, str(tree))
    from benchmarks.bench_store_write import sites
    from layers.store.open import open_store

    store = open_store(location)
    frame = sites(n)
    store.write_layer("mining_sites", frame, source="bench")
    orders = [frame.iloc[::-1].reset_index(drop=True), frame]
    times = []
    for i in range(repeat):
        start = time.perf_counter()
        store.write_layer("mining_sites", orders[i % 2], source="bench")
        times.append((time.perf_counter() - start) * 1000)
    print(json.dumps(times))


def measure(tree: Path, location: str, n: int, repeat: int) -> list[float]:
    env = {k: v for k, v in os.environ.items() if k not in ("HGWATCH_DATABASE_URL", "HGWATCH_WORKSPACE", "PYTHONPATH")}
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", "--tree", str(tree),
                           "--location", location, "--n", str(n), "--repeat", str(repeat)],
                          capture_output=True, text=True, env=env, check=True, cwd=tree)
    return [float(t) for t in json.loads(done.stdout.strip().splitlines()[-1])]


def database(server: object, name: str) -> str:
    """A new database ``name`` with PostGIS and the HgWatch schema on ``server``; its URL."""
    import psycopg

    from layers.store.pgschema import forget_engine, upgrade_schema
    from tests.postgis import url_of

    host, port, user = server.host, server.port, server.user  # type: ignore[attr-defined]
    with psycopg.connect(host=host, port=port, user=user, dbname="postgres", autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    url = url_of(host, port, user, name)
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("CREATE EXTENSION postgis")
    upgrade_schema(url)
    forget_engine(url)
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--baseline", type=Path)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-postgis", action="store_true")
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--tree", type=Path, default=ROOT)
    parser.add_argument("--location", default="")
    args = parser.parse_args()
    if args.child:
        child(args.tree, args.location, args.n, args.repeat)
        return
    if args.baseline is None:
        parser.error("--baseline TREE is needed (the code to compare against)")
    sys.path.insert(0, str(ROOT))
    trees = {"baseline": args.baseline.resolve(), "this tree": ROOT}
    print(f"replacing {args.n:,} mining sites by the same sites reordered; {args.repeat} replaces per child,"
          f" {args.rounds} rounds; load before {os.getloadavg()}")
    results: dict[tuple[str, str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for k, (name, tree) in enumerate(trees.items()):
                keep(results, "GeoPackage", name, measure(tree, str(Path(tmp) / f"ws{r}{k}.gpkg"), args.n, args.repeat))
        if not args.no_postgis:
            from tests.postgis import running_server

            with running_server() as server:
                for r in range(args.rounds):
                    for k, (name, tree) in enumerate(trees.items()):
                        url = database(server, f"bench_{r}_{k}")
                        keep(results, "PostGIS (fsync off)", name, measure(tree, url, args.n, args.repeat))
    print(f"load after {os.getloadavg()}")
    print(f"  {'':<48}{'median ms':>10}{'min':>10}{'max':>10}")
    for (backend, order, name), ms in results.items():
        print(f"  {f'{backend}, {order}, {name}':<48}{statistics.median(ms):>10.0f}{min(ms):>10.0f}{max(ms):>10.0f}")
    for backend, order in dict.fromkeys((b, o) for b, o, _ in results):
        ratio = (statistics.median(results[(backend, order, "this tree")])
                 / statistics.median(results[(backend, order, "baseline")]))
        print(f"  {backend}, {order}: this tree / baseline = {ratio:.2f}")


def keep(results: dict[tuple[str, str, str], list[float]], backend: str, name: str, times: list[float]) -> None:
    """File a child's times under the order of each replace (reversed first, then alternating)."""
    for i, ms in enumerate(times):
        results.setdefault((backend, ORDERS[i % 2], name), []).append(ms)


if __name__ == "__main__":
    main()
