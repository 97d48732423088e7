"""Benchmark: reading a layer of N mining sites as each role, on both back ends.

Builds N mining sites (random points from a fixed seed) with two restricted fields, an undeclared
column and half of them in admin area ``A``, stores them in a new GeoPackage workspace and in a
PostGIS store (a throwaway server started the way the tests start theirs,
``tests.postgis.running_server``), and times ``services.auth.read_layer`` ``--repeat`` times
(median, min, max, in ms) for an analyst (the whole layer), a partner (on PostGIS: view
``partner.mining_sites`` as role ``hgw_partner``) and a field coordinator of area ``A`` (on
PostGIS: role ``hgw_field``, the view joined to the table under row-level security). The named
alternative on PostGIS is the owner's plain column-selecting read of the same partner columns
(``PostgisStore.read(columns=...)``, what the partner read was before the views). A benchmark,
not a test: it prints, never asserts.

Usage: ``python benchmarks/bench_partner_read.py [--n 100000] [--repeat 5]``
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import shapely  # noqa: E402

from layers.store.base import Store  # noqa: E402
from services import auth  # noqa: E402
from services.auth import Identity  # noqa: E402

ROLES = {"analyst": Identity("ana", "analyst"), "partner": Identity("pat", "partner"),
         "field": Identity("kofi", "field", ("A",))}


def sites(n: int, seed: int = 13) -> gpd.GeoDataFrame:
    """``n`` mining sites, half in admin area A, with restricted and undeclared columns."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("S", np.arange(n).astype(str)).astype(object)
    frame = {"site_id": ids, "name": "site", "status": np.array(["active", "inactive"], dtype=object)[rng.integers(0, 2, n)],
             "miners": rng.integers(0, 500, n), "admin_area": np.array(["A", "B"], dtype=object)[rng.integers(0, 2, n)],
             "informant_name": np.char.add("informant ", ids.astype(str)).astype(object),
             "informant_contact": "+233 000", "local_code": ids}
    points = shapely.points(rng.uniform(-3, 1, n), rng.uniform(5, 11, n))
    return gpd.GeoDataFrame(frame, geometry=points, crs=4326)


def timed(step: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    return times


def line(what: str, ms: list[float]) -> float:
    med = statistics.median(ms)
    print(f"  {what:<52}{med:>10.1f}{min(ms):>10.1f}{max(ms):>10.1f}")
    return med


def reads(store: Store, repeat: int) -> dict[str, float]:
    print(f"  {'read_layer as':<52}{'median ms':>10}{'min':>10}{'max':>10}")
    return {role: line(role, timed(partial(auth.read_layer, store, "mining_sites", who), repeat))
            for role, who in ROLES.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    frame = sites(args.n)
    print(f"{args.n:,} mining sites, {args.repeat} reads each")
    with tempfile.TemporaryDirectory() as tmp:
        from layers.store.workspace import Workspace

        ws = Workspace(Path(tmp) / "ws.gpkg")
        ws.write_layer("mining_sites", frame, source="bench")
        print("GeoPackage")
        reads(ws, args.repeat)
    postgis(frame, args.repeat)


def postgis(frame: gpd.GeoDataFrame, repeat: int) -> None:
    from bench_store_write import bench_database

    from layers.store.pgschema import forget_engine
    from layers.store.postgis import PostgisStore
    from tests.postgis import running_server

    with running_server() as server:
        url = bench_database(server, durable_commits=False)
        store = PostgisStore(url)
        store.write_layer("mining_sites", frame, source="bench")
        print("PostGIS")
        got = reads(store, repeat)
        columns = auth.allowed_columns(ROLES["partner"], "mining_sites", store.columns("mining_sites"))
        plain = line("owner's read of the partner columns (no view, no role)",
                     timed(lambda: store.read("mining_sites", columns=columns), repeat))
        print(f"  partner view / plain column read: {got['partner'] / plain:.2f}")
        forget_engine(url)


if __name__ == "__main__":
    main()
