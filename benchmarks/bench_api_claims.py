"""Cost of dropping the refused links from a page of 10,000 features (``api.claims.without_refused``).

    .venv/bin/python benchmarks/bench_api_claims.py [--features 10000] [--repeat 5] [--tree /tmp/before11]

In process: a page of ``--features`` point features as pygeoapi writes it (compact JSON, its links at the
end); the times of pygeoapi's own ``to_json`` of that page (what every answer costs anyway), of the tail
rewrite the gate does, and of parsing and writing the whole page (the way not taken). On the real server
(``python -m api``, this tree and ``--tree``'s, same store, alternating): the time of ``GET
/collections/mining_sites/items?limit=N`` (median of ``--repeat``). Prints the load average with each
figure: the machine is shared. Not a test: it never fails on time.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api import claims  # noqa: E402
from services import auth  # noqa: E402
from tests.api_kit import PASSWORD, free_port, get, new_key, open_location  # noqa: E402

BASE = "http://127.0.0.1:8502"


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def _best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _page(n: int) -> dict[str, object]:
    features = [{"type": "Feature", "id": f"L{i}", "geometry": {"type": "Point", "coordinates": [-1.5 + i * 1e-5, 5.0]},
                 "properties": {"site_id": f"L{i}", "name": f"Large {i}", "status": "active", "uses_mercury": True,
                                "miners": i % 50, "survey_date": "2024-03-01", "admin_area": "A"}} for i in range(n)]
    items = f"{BASE}/collections/mining_sites/items"
    return {"type": "FeatureCollection", "features": features, "numberMatched": n * 3, "numberReturned": n,
            "links": [{"type": "application/geo+json", "rel": "self", "title": "This document as GeoJSON",
                       "href": f"{items}?f=json&limit={n}"},
                      {"rel": "alternate", "type": "application/ld+json", "title": "This document as RDF (JSON-LD)",
                       "href": f"{items}?f=jsonld&limit={n}"},
                      {"type": "text/html", "rel": "alternate", "title": "This document as HTML",
                       "href": f"{items}?f=html&limit={n}"},
                      {"type": "application/geo+json", "rel": "next", "title": "Items (next)",
                       "href": f"{items}?offset={n}&limit={n}"}],
            "timeStamp": "2026-11-27T15:18:54.664370Z"}


def in_process(n: int, repeat: int) -> None:
    from pygeoapi.util import to_json

    page = _page(n)
    body = to_json(page).encode()
    tail = claims.without_refused(body, BASE, tail_first=True)
    whole = claims.without_refused(body, BASE, tail_first=False)
    assert tail == whole and len(tail) < len(body)
    print(f"page of {n} features: {len(body) / 1e6:.2f} MB; {_load()}")
    for label, fn in (("pygeoapi to_json of the page (reference)", lambda: to_json(page)),
                      ("tail rewrite (the gate's)", lambda: claims.without_refused(body, BASE, tail_first=True)),
                      ("whole parse and write (not taken)",
                       lambda: claims.without_refused(body, BASE, tail_first=False))):
        print(f"  {label}: {_best(fn, repeat) * 1e3:.2f} ms  ({_load()})")


def _store(folder: Path, n: int) -> tuple[str, str]:
    location = str(folder / "ws.gpkg")
    store = open_location(location)
    i = np.arange(n)
    sites = gpd.GeoDataFrame({"site_id": [f"L{k}" for k in i], "name": [f"Large {k}" for k in i],
                              "status": np.where(i % 2 == 0, "active", "inactive"), "uses_mercury": np.ones(n, bool),
                              "miners": i % 50, "admin_area": "A"},
                             geometry=shapely.points(-1.5 + (i % 500) * 1e-3, 5.0 + (i // 500) * 1e-3), crs=4326)
    store.write_layers([("mining_sites", sites)], source="bench", licence="CC-BY-4.0", accuracy_m=5.0)
    auth.add_account(store, "unep", "partner", PASSWORD)
    return location, new_key(location, "unep")


def _serve(tree: Path, location: str, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    env.pop("HGWATCH_DATABASE_URL", None)
    log = (folder / f"api-{port}.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "api", "--port", str(port), "--workspace", location], cwd=tree,
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if get(url + "/")[0] == 401:
                return proc, url
        except OSError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"the server of {tree} did not start")


def served(n: int, repeat: int, tree: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-api-claims-"))
    location, key = _store(folder, n)
    servers = [("this tree", *_serve(ROOT, location, folder)), (str(tree), *_serve(tree, location, folder))]
    try:
        path = f"/collections/mining_sites/items?limit={n}"
        times: dict[str, list[float]] = {label: [] for label, _, _ in servers}
        sizes: dict[str, int] = {}
        for _label, _, url in servers:
            get(url + path, key)  # warm: collections made, features made ahead
        for _ in range(repeat):
            for label, _, url in servers:
                start = time.perf_counter()
                status, _, body = get(url + path, key)
                times[label].append(time.perf_counter() - start)
                assert status == 200, body[:200]
                sizes[label] = len(body)
        print(f"GET items?limit={n} on the real server, median of {repeat}, alternating; {_load()}")
        for label, got in times.items():
            print(f"  {label}: {statistics.median(got) * 1e3:.1f} ms (min {min(got) * 1e3:.1f}), {sizes[label]} bytes")
    finally:
        for _, proc, _ in servers:
            proc.terminate()
            proc.wait(20)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--features", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tree", type=Path, help="another checkout served on the same store (before/after)")
    args = parser.parse_args()
    in_process(args.features, args.repeat)
    if args.tree:
        served(args.features, args.repeat, args.tree)
    print(f"done; {_load()}")


if __name__ == "__main__":
    main()
