"""Benchmark: the store change stamp the dashboard's service reads before every cached answer.

On a copy of the demo workspace (GeoPackage) and on the demo moved into a throwaway PostGIS server
(``tests.postgis.running_server``), in turn, in one run:

- the stamp read per call, as ``HgWatch.settings`` makes it (``Settings.stamp()`` plus
  ``HgWatch._store_stamp()``, on the store the service opened once), against the read it replaced,
  reproduced here as it was: the mtimes of the workspace and the four settings files, plus on
  PostGIS ``generation()`` as it was (a pooled connection, the schema revision, then
  ``hgw_state``);
- on the GeoPackage, the first read after a bookkeeping write (the header counter moved: the
  bookkeeping count is read under a shared lock);
- what a sign-in costs the answers: ``violations(Query())`` right after ``audit.record_session``
  (now a cached answer) against the same answer made afresh (what every sign-in caused before).

Medians of rounds; the load average is printed before and after. A benchmark, not a test: it
prints, never asserts.

Usage: ``python benchmarks/bench_change_stamp.py [--calls 2000] [--rounds 5] [--no-postgis]``
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

import sqlalchemy as sa  # noqa: E402

from layers.store.pgschema import connect, revision  # noqa: E402
from layers.store.workspace import DEFAULT_PATH  # noqa: E402
from services import audit  # noqa: E402
from services.hgwatch import HgWatch, Query  # noqa: E402
from settings import Settings  # noqa: E402


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def per_call_us(step: Callable[[], object], calls: int, rounds: int) -> float:
    """Median over ``rounds`` of the mean time of one ``step()`` in ``calls`` calls, microseconds."""
    found = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            step()
        found.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(found)


def old_settings_stamp(s: Settings) -> tuple[float, ...]:
    """``Settings.stamp`` as it was: the workspace file's mtime and the four settings files'."""
    return tuple(p.stat().st_mtime if p.exists() else 0.0 for p in (
        s.workspace, s.rules_path, s.factors_path, s.guidelines_path, s.exposure_path))


def old_generation(url: str) -> int:
    """``PostgisStore.generation`` as it was: a pooled connection, the schema revision, the counter."""
    with connect(url) as con:
        if revision(con) is None:
            return -1
        return int(con.execute(sa.text("SELECT generation FROM hgw_state")).scalar_one())


def measure(kind: str, settings: Settings, calls: int, rounds: int) -> None:
    svc = HgWatch(settings)
    store = svc.store  # opened once per service (HgWatch.store)
    url = settings.database_url
    old: Callable[[], object] = (lambda: old_settings_stamp(settings)) if url is None else \
        (lambda: old_settings_stamp(settings) + (float(old_generation(url)),))
    new: Callable[[], object] = lambda: settings.stamp() + svc._store_stamp()  # what .settings reads
    n = calls if url is None else max(calls // 10, 20)
    for label, step in (("before", old), ("after", new), ("before", old), ("after", new)):
        print(f"{kind}: stamp read, {label:<6} {per_call_us(step, n, rounds):9.1f} us per call  (load {_load()})",
              flush=True)
    if url is None:
        firsts, writes = [], []
        for _ in range(20):
            start = time.perf_counter()
            audit.record_session(store, "sign in", "bench", via="password")
            writes.append((time.perf_counter() - start) * 1e6)
            start = time.perf_counter()
            svc._store_stamp()
            firsts.append((time.perf_counter() - start) * 1e6)
        print(f"{kind}: first stamp read after a bookkeeping write (counter moved): {statistics.median(firsts):.1f} us"
              f" median of 20; the sign-in's audit row itself: {statistics.median(writes):.0f} us  (load {_load()})",
              flush=True)
    q = Query()
    svc.violations(q)
    for _ in range(2):
        audit.record_session(store, "sign in", "bench", via="password")
        start = time.perf_counter()
        svc.violations(q)
        kept = time.perf_counter() - start
        start = time.perf_counter()
        HgWatch(settings).violations(q)  # made afresh: what the sign-in's audit row caused before
        afresh = time.perf_counter() - start
        print(f"{kind}: violations(Query()) after a sign-in: {kept * 1e3:8.2f} ms (cached); made afresh as before:"
              f" {afresh * 1e3:8.1f} ms  (load {_load()})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-postgis", action="store_true")
    args = parser.parse_args()
    print(f"load average before: {_load()} ({os.cpu_count()} cores)")
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws.gpkg"
        shutil.copyfile(DEFAULT_PATH, ws)
        measure("GeoPackage", Settings.from_env({}, workspace=ws), args.calls, args.rounds)
        if not args.no_postgis:
            from bench_store_write import bench_database

            from layers.store.postgis import PostgisStore
            from layers.store.workspace import Workspace
            from tests.postgis import running_server

            with running_server() as server:
                url = bench_database(server, durable_commits=False)
                PostgisStore(url).copy_from(Workspace(ws))  # the demo's layers and runs
                measure("PostGIS", Settings.from_env({}, database_url=url), args.calls, args.rounds)
    print(f"load average after: {_load()}")


if __name__ == "__main__":
    main()
