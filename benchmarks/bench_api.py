"""Load check of the partner API: concurrent clients make requests over items pages and single
features, on loopback, and the script stops by itself. Prints errors, p50, p95 and the rate, the time from
the server's start to its first answered items page, and the server's peak memory.

    .venv/bin/python benchmarks/bench_api.py [--clients 20] [--requests 2000] [--max-seconds 600]
        [--sites N] [--postgis] [--tree DIR]

The store: a copy of the demo workspace (150 sites, 325 violations, 180 samples...), or with ``--sites N``
a national one: the N mining sites and N/10 water segments of ``bench_check.py`` imported with ``cli.py
import``, then one recorded ``cli.py check --only HG-WATER-100`` (its violations and cases). ``--postgis``
puts it in a throwaway PostGIS (``tests.postgis.running_server``) instead of a GeoPackage. It gets a
partner account and key; the real server (``python -m api``) serves it on a free loopback port, and every
request is a real audit row. The first request is one items page of ``mining_sites``: the server reads
the store and makes the partner's collections then, so its time is what the first partner waits for.
Half the requests are pages (``limit`` 10-100 at a random offset of a random collection), half single
features by id. A request that takes more than 60 s, any status but 200 or a body that is not the JSON
asked for counts as an error. ``--tree DIR`` serves the same store with another checkout's ``python -m
api`` afterwards (before/after, same run). Not a test: it never fails on time.
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from bench_store_write import bench_database, store_free_env  # noqa: E402

from layers.store.open import open_store  # noqa: E402
from services import audit, auth, keys  # noqa: E402
from settings import DEMO_WORKSPACE  # noqa: E402

COLLECTIONS = ("mining_sites", "violations", "samples", "tailings", "residential_areas", "water_bodies")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(con: http.client.HTTPConnection, path: str, key: str) -> tuple[int, bytes]:
    con.request("GET", path, headers={"X-API-Key": key})
    response = con.getresponse()
    return response.status, response.read()


def _plan(port: int, key: str, count: int, seed: int) -> list[tuple[str, str]]:
    """``count`` (kind, path) requests over the collections served: half pages, half single features (ids of
    the first 10,000 features of each fetched first)."""
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    served = [c["id"] for c in json.loads(_get(con, "/collections", key)[1])["collections"]]
    ids, sizes = {}, {}
    for name in (c for c in COLLECTIONS if c in served):
        status, body = _get(con, f"/collections/{name}/items?limit=10000", key)
        doc = json.loads(body)
        ids[name] = [str(f["id"]) for f in doc["features"]]
        sizes[name] = doc["numberMatched"]
    con.close()
    rng = random.Random(seed)
    plan = []
    for i in range(count):
        name = rng.choice(sorted(ids))
        if i % 2 == 0:
            limit = rng.choice((10, 25, 50, 100))
            plan.append(("page", f"/collections/{name}/items?limit={limit}&offset={rng.randrange(max(1, sizes[name]))}"))
        else:
            plan.append(("feature", f"/collections/{name}/items/{urllib.parse.quote(rng.choice(ids[name]), safe='')}"))
    return plan


def _client(port: int, key: str, work: list[tuple[str, str]], deadline: float) -> list[tuple[str, float, bool]]:
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    done = []
    for kind, path in work:
        if time.monotonic() > deadline:
            break
        start = time.perf_counter()
        try:
            status, body = _get(con, path, key)
            doc = json.loads(body)
            ok = status == 200 and doc.get("type") in ("Feature", "FeatureCollection")
        except (OSError, http.client.HTTPException, ValueError):
            ok = False
            con.close()
            con = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        done.append((kind, time.perf_counter() - start, ok))
    con.close()
    return done


def _national(folder: Path, where: list[str], n: int, env: dict[str, str]) -> None:
    """N sites and N/10 water segments imported into the store ``where`` names, and one recorded check."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_check import write_inputs

    paths = write_inputs(folder, n, max(1, n // 10))
    for command in [["import", str(p)] for p in paths] + [["check", "--only", "HG-WATER-100"]]:
        subprocess.run([sys.executable, str(ROOT / "cli.py"), *where, *command], cwd=folder, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _serve(tree: Path, where: list[str], key: str, args: argparse.Namespace, env: dict[str, str]) -> None:
    """Start ``tree``'s API server on the store, time its first items page, run the load, print the figures."""
    port = _port()
    began = time.monotonic()
    server = subprocess.Popen([sys.executable, "-m", "api", "--port", str(port), *where], cwd=tree,
                              env=dict(env, PYTHONPATH=str(tree)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:  # the landing page lists no features: the server is up
            try:
                if _get(http.client.HTTPConnection("127.0.0.1", port, timeout=5), "/", key)[0] == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > began + 600:
                print("the API server did not start", file=sys.stderr)
                return
            time.sleep(0.3)
        up = time.monotonic() - began
        status, _ = _get(http.client.HTTPConnection("127.0.0.1", port, timeout=600),
                         "/collections/mining_sites/items?limit=10", key)
        first = time.monotonic() - began
        plan = _plan(port, key, args.requests, seed=14)
        shares = [plan[i::args.clients] for i in range(args.clients)]
        start = time.monotonic()
        with ThreadPoolExecutor(args.clients) as pool:
            results = [r for part in pool.map(lambda w: _client(port, key, w, start + args.max_seconds), shares)
                       for r in part]
        wall = time.monotonic() - start
        peak = next((line.split()[1] for line in Path(f"/proc/{server.pid}/status").read_text().splitlines()
                     if line.startswith("VmHWM:")), "0")
    finally:
        server.terminate()
        server.wait(timeout=30)
    errors = sum(not ok for _, _, ok in results)
    print(f"{tree}: server up in {up:.1f} s; first items page (status {status}) {first:.1f} s after the start;"
          f" server peak memory {int(peak) / 1024:.0f} MB")
    print(f"  {args.clients} clients, {len(results)} of {args.requests} requests in {wall:.1f} s"
          f" ({len(results) / wall:.0f} requests/s), errors: {errors}")
    for kind in ("page", "feature", None):
        times = sorted(t for k, t, _ in results if kind is None or k == kind)
        if len(times) < 2:
            continue
        q = statistics.quantiles(times, n=100)
        print(f"  {kind or 'all':<8} n={len(times):<5} p50 {q[49] * 1000:7.1f} ms   p95 {q[94] * 1000:7.1f} ms"
              f"   max {times[-1] * 1000:7.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--max-seconds", type=float, default=600.0, help="stop sending after this long")
    parser.add_argument("--sites", type=int, default=0, help="a national store of this many sites (0: the demo)")
    parser.add_argument("--postgis", action="store_true", help="the store on a throwaway PostGIS")
    parser.add_argument("--tree", help="also serve the store with this other checkout (before/after)")
    args = parser.parse_args()
    env = store_free_env()
    env["NO_PROXY"] = "127.0.0.1"
    folder = Path(tempfile.mkdtemp(prefix="hgwatch-bench-api-"))
    print(f"partner API load check; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
          f" ({os.cpu_count()} cores)")
    try:
        with contextlib.ExitStack() as stack:
            if args.postgis:
                from tests.postgis import running_server
                where = ["--database-url", bench_database(stack.enter_context(running_server()), durable_commits=True)]
                if not args.sites:
                    subprocess.run([sys.executable, str(ROOT / "cli.py"), *where, "db", "upgrade", "--from-workspace",
                                    str(DEMO_WORKSPACE)], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
            else:
                where = ["--workspace", str(folder / "ws.gpkg")]
                if not args.sites:
                    shutil.copyfile(DEMO_WORKSPACE, folder / "ws.gpkg")
            if args.sites:
                _national(folder, where, args.sites, env)
            store = open_store(where[1])  # a path or a database URL
            auth.add_account(store, "bench", "partner", "bench password 1")
            key = keys.create(store, "bench")
            layers = [(i.layer, i.rows) for i in store.layers()]
            print(f"store: {'PostGIS' if args.postgis else 'GeoPackage'}, layers {layers}")
            for tree in [ROOT] + ([Path(args.tree).resolve()] if args.tree else []):
                _serve(tree, where, key, args, env)
            trail = sum(1 for r in audit.trail(store) if r.action == "api request")
            print(f"audit rows of API requests written: {trail}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
