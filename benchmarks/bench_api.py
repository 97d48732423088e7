"""Load check of the partner API: 20 concurrent clients make 2,000 requests over items pages and
single features, on loopback, and the script stops by itself. Prints errors, p50, p95 and the rate.

    .venv/bin/python benchmarks/bench_api.py [--clients 20] [--requests 2000] [--max-seconds 600]

A copy of the demo workspace (150 sites, 325 violations, 180 samples...) gets a partner account
and key; the real server (``python -m api``) serves it on a free loopback port, and every request
is a real audit row in the copy. Half the requests are pages (``limit`` 10-100 at a random
offset of a random collection), half single features by id. A request that takes more than 60 s,
any status but 200 or a body that is not the JSON asked for counts as an error. Not a test: it
never fails on time.
"""
from __future__ import annotations

import argparse
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

from layers.store.open import open_store  # noqa: E402
from services import auth, keys  # noqa: E402
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
    """``count`` (kind, path) requests: half pages, half single features (ids fetched first)."""
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    ids, sizes = {}, {}
    for name in COLLECTIONS:
        status, body = _get(con, f"/collections/{name}/items?limit=10000", key)
        doc = json.loads(body)
        ids[name] = [str(f["id"]) for f in doc["features"]]
        sizes[name] = doc["numberMatched"]
    con.close()
    rng = random.Random(seed)
    plan = []
    for i in range(count):
        name = rng.choice(COLLECTIONS)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--max-seconds", type=float, default=600.0, help="stop sending after this long")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="hgwatch-bench-api-"))
    ws = folder / "ws.gpkg"
    shutil.copyfile(DEMO_WORKSPACE, ws)
    store = open_store(ws)
    auth.add_account(store, "bench", "partner", "bench password 1")
    key = keys.create(store, "bench")
    port = _port()
    env = {**os.environ, "NO_PROXY": "127.0.0.1"}
    env.pop("HGWATCH_DATABASE_URL", None)
    server = subprocess.Popen([sys.executable, "-m", "api", "--port", str(port), "--workspace", str(ws)], cwd=ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        start_deadline = time.monotonic() + 120
        while True:
            try:
                if _get(http.client.HTTPConnection("127.0.0.1", port, timeout=5), "/", key)[0] == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > start_deadline:
                print("the API server did not start", file=sys.stderr)
                return 1
            time.sleep(0.3)
        plan = _plan(port, key, args.requests, seed=14)
        shares = [plan[i::args.clients] for i in range(args.clients)]
        began = time.monotonic()
        with ThreadPoolExecutor(args.clients) as pool:
            results = [r for part in pool.map(lambda w: _client(port, key, w, began + args.max_seconds), shares)
                       for r in part]
        wall = time.monotonic() - began
    finally:
        server.terminate()
        server.wait(timeout=30)
    rows = len(open_store(ws).layers())
    trail = sum(1 for r in __import__("services.audit", fromlist=["trail"]).trail(open_store(ws))
                if r.action == "api request")
    shutil.rmtree(folder, ignore_errors=True)
    errors = sum(not ok for _, _, ok in results)
    print(f"partner API load check: {args.clients} clients, {len(results)} of {args.requests} requests made"
          f" in {wall:.1f} s ({len(results) / wall:.0f} requests/s), loopback, {rows} layers in the store")
    print(f"errors: {errors}   audit rows written: {trail}")
    for kind in ("page", "feature", None):
        times = sorted(t for k, t, _ in results if kind is None or k == kind)
        if len(times) < 2:
            continue
        q = statistics.quantiles(times, n=100)
        print(f"{kind or 'all':<8} n={len(times):<5} p50 {q[49] * 1000:7.1f} ms   p95 {q[94] * 1000:7.1f} ms"
              f"   max {times[-1] * 1000:7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
