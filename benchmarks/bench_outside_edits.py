"""Benchmark: edits made from outside the app (psql, QGIS) on PostGIS, before and after migration
v0010 (the audit chain linked at commit), in one run on one throwaway server
(``tests.postgis.running_server``, with the tests' settings: fsync off).

Two databases hold the same N mining sites (default 10^5; ``bench_store_write.sites``): ``head``
at the newest revision and ``v0009``, brought down to ``v0009_outside_generation`` (the schema
before this change). On each, alternately, ``--rounds`` times:

- a bulk outside UPDATE of every site (one statement, its audit row, the commit);
- a one-row outside UPDATE + commit (median of ``--repeat``);
- a QGIS-like save: ``--save-rows`` one-row UPDATEs in one transaction, then the commit;
- a sign-in (``services.audit.record_session``) made while an outside edit is open and kept open
  ``--hold-s`` seconds more: before, the sign-in waits for that commit; after, it does not.

Also, on ``head``, the same bulk UPDATE with the audit and counter triggers switched off: the cost
of the UPDATE itself, below which no audit can go. Medians (min-max) in seconds or milliseconds;
the load average is printed before and after each part. A benchmark, not a test: it prints, never
asserts.

Usage: ``python benchmarks/bench_outside_edits.py [--n 100000] [--rounds 3] [--repeat 21] [--save-rows 1000] [--hold-s 1]``
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

import psycopg  # noqa: E402
from bench_store_write import sites  # noqa: E402

from layers.store.open import open_store  # noqa: E402

if TYPE_CHECKING:
    from tests.postgis import Server

BEFORE = "v0009_outside_generation"
TRIGGERS = ("hgw_audit_update",)  # switched off for the floor (the counter's mark is made by it too)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _spread(values: list[float], scale: float, unit: str) -> str:
    return f"{statistics.median(values) * scale:9.3f} {unit} ({min(values) * scale:.3f}-{max(values) * scale:.3f})"


def database(server: Server, name: str, n: int) -> str:
    """A database ``name`` with PostGIS, the schema at head and ``n`` sites written by the app; its URL."""
    from layers.store.pgschema import forget_engine, upgrade_schema
    from tests.postgis import url_of

    host, port, user = server.host, server.port, server.user
    with psycopg.connect(host=host, port=port, user=user, dbname="postgres", autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    url = url_of(host, port, user, name)
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("CREATE EXTENSION postgis")
    upgrade_schema(url)
    open_store(url).write_layers([("mining_sites", sites(n))], source="bench")
    forget_engine(url)
    return url


def downgrade(url: str, to: str) -> None:
    """Bring the schema at ``url`` down to revision ``to`` (as ``tests/test_postgis_outside_edits`` does)."""
    from alembic import command
    from alembic.config import Config

    from layers.store import pgroles
    from layers.store.pgschema import MIGRATIONS, connect, forget_engine

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with connect(url) as con, con.begin():
        config.attributes["connection"] = con
        pgroles.drop_views(con)
        command.downgrade(config, to)
    forget_engine(url)


def timed(step: Callable[[], object]) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def update_and_commit(con: psycopg.Connection[Any], sql: str, value: str) -> float:
    """Seconds for one outside UPDATE (``sql`` with one parameter) and its commit."""
    def step() -> None:
        con.execute(sql, [value])
        con.commit()
    return timed(step)


def bulk_update(url: str, value: str) -> float:
    with psycopg.connect(url) as con:
        return update_and_commit(con, "UPDATE mining_sites SET status = %s", value)


def one_row(url: str, repeat: int) -> list[float]:
    with psycopg.connect(url) as con:
        return [update_and_commit(con, "UPDATE mining_sites SET name = %s WHERE site_id = 'S1'", f"n{i}")
                for i in range(repeat)]


def save(url: str, rows: int) -> float:
    """Seconds for ``rows`` one-row UPDATEs (sites S0, S1, ...) in one transaction and its commit."""
    with psycopg.connect(url) as con:
        def step() -> None:
            for i in range(rows):
                con.execute("UPDATE mining_sites SET miners = miners + 1 WHERE fid = %s", [i + 1])
            con.commit()
        return timed(step)


def sign_in_while_open(url: str, hold_s: float) -> float:
    """Seconds a sign-in takes when made while an outside edit is open (committed ``hold_s`` later)."""
    from services import audit

    store = open_store(url)
    with psycopg.connect(url) as con:
        con.execute("UPDATE mining_sites SET name = 'open' WHERE site_id = 'S2'")
        saver = threading.Timer(hold_s, con.commit)
        saver.start()
        took = timed(lambda: audit.record_session(store, "sign in", "ana", via="password"))
        saver.join()
    return took


def floor(url: str, value: str) -> float:
    with psycopg.connect(url) as con:
        for trigger in TRIGGERS:
            con.execute(f"ALTER TABLE mining_sites DISABLE TRIGGER {trigger}")
        took = timed(lambda: con.execute("UPDATE mining_sites SET status = %s", [value]))
        con.rollback()  # the triggers come back with the rollback
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--save-rows", type=int, default=1000)
    parser.add_argument("--hold-s", type=float, default=1.0)
    args = parser.parse_args()
    from tests.postgis import running_server

    print(f"load average at start: {_load()}")
    with running_server() as server:
        urls = {"v0009 (before)": database(server, "before", args.n), "head (v0010)": database(server, "after", args.n)}
        downgrade(urls["v0009 (before)"], BEFORE)
        bulk: dict[str, list[float]] = {k: [] for k in urls}
        row: dict[str, list[float]] = {k: [] for k in urls}
        sign: dict[str, list[float]] = {k: [] for k in urls}
        saves: dict[str, list[float]] = {k: [] for k in urls}
        floors = []
        print(f"{args.n} sites; load average before the timings: {_load()}")
        for r in range(args.rounds):
            for kind, url in urls.items():
                bulk[kind].append(bulk_update(url, f"round {r}"))
                row[kind] += one_row(url, args.repeat)
                saves[kind].append(save(url, args.save_rows))
                sign[kind].append(sign_in_while_open(url, args.hold_s))
            floors.append(floor(urls["head (v0010)"], f"floor {r}"))
            print(f"  round {r + 1}/{args.rounds} done, load average {_load()}")
        for kind in urls:
            print(f"{kind:15s} bulk UPDATE of {args.n} rows + commit: {_spread(bulk[kind], 1, 's')}")
        print(f"{'':15s} the same UPDATE without the audit trigger:   {_spread(floors, 1, 's')}")
        for kind in urls:
            print(f"{kind:15s} one-row UPDATE + commit:            {_spread(row[kind], 1000, 'ms')}")
        for kind in urls:
            print(f"{kind:15s} {args.save_rows} one-row UPDATEs in one transaction + commit: {_spread(saves[kind], 1, 's')}")
        for kind in urls:
            print(f"{kind:15s} sign-in during an outside edit kept open {args.hold_s:g} s: {_spread(sign[kind], 1, 's')}")
        b, a = (statistics.median(bulk[k]) for k in urls)
        print(f"bulk UPDATE: before / after = {b / a:.2f}")
    print(f"load average at end: {_load()}")


if __name__ == "__main__":
    main()
