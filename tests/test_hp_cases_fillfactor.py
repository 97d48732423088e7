"""Migration v0014: ``hgw_cases`` keeps half of each page free, so that a re-run that only sets the
cases' ``last_run`` updates each row on its own page (a HOT update: no new index entry), in a new
workspace and in one upgraded from v0013 (the upgrade rewrites the table's pages). On the real PostGIS.

Where a row lies is its ``ctid`` (page, item): an update that stays on the page keeps the page."""
from __future__ import annotations

import psycopg
import shapely
from alembic import command
from alembic.config import Config

from layers.store import cases
from layers.store.open import open_store
from layers.store.pgschema import MIGRATIONS, connect, upgrade_schema

N = 600  # more than COPY_ABOVE: the cases go in as a recorded run's do; a dozen pages at the default fill
NOW = "2026-11-28T20:00:00+00:00"


def _rows(run: int) -> list[tuple[object, ...]]:
    return [(f"HG-WATER-100/{i:016x}", "HG-WATER-100", "2", "mining_sites", f"S{i}", f"site {i}", "Ashanti", "new",
             None, None, f"flagged by run {run}", True, None, 50.0 + i, -1.5, 5.5, shapely.Point(-1.5, 5.5).wkb,
             "a" * 64 + "|" + "b" * 64 + "|2", None, NOW, NOW, run, run) for i in range(N)]


def _alembic(url: str, verb: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with connect(url) as con, con.begin():
        config.attributes["connection"] = con
        getattr(command, verb)(config, revision)


def _pages(url: str) -> dict[str, int]:
    """Violation id -> the page its row is on."""
    with psycopg.connect(url) as con:
        return dict(con.execute("SELECT violation_id, (ctid::text::point)[0]::int FROM hgw_cases").fetchall())


def _options(url: str) -> list[str] | None:
    with psycopg.connect(url) as con:
        row = con.execute("SELECT reloptions FROM pg_class WHERE oid = 'hgw_cases'::regclass").fetchone()
    assert row is not None
    return row[0]


def _stored(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as con:
        return con.execute("SELECT * FROM hgw_cases ORDER BY violation_id").fetchall()


def _rerun(url: str, run: int) -> None:
    with cases.writing(open_store(url)) as tables:
        tables.set_last_run([str(r[0]) for r in _rows(1)], run)


def test_a_new_workspace_keeps_half_of_each_page_free_and_a_rerun_leaves_each_case_on_its_page(pg_url: str) -> None:
    assert _options(pg_url) == ["fillfactor=50"]
    with cases.writing(open_store(pg_url)) as tables:
        tables.add_rows(_rows(1))
    before = _pages(pg_url)
    _rerun(pg_url, 2)
    assert _pages(pg_url) == before
    with cases.reading(open_store(pg_url)) as tables:
        assert {c.last_run for c in tables.all()} == {2}


def test_the_upgrade_rewrites_the_full_pages_of_a_workspace_made_before(pg_bare_url: str) -> None:
    upgrade_schema(pg_bare_url)
    _alembic(pg_bare_url, "downgrade", "v0013_resurvey_of")
    assert _options(pg_bare_url) is None  # the default: pages filled up
    with psycopg.connect(pg_bare_url) as con:  # this HgWatch writes only at its own revision: as an older one did
        con.cursor().executemany(f"INSERT INTO hgw_cases VALUES ({', '.join(['%s'] * 23)})", _rows(1))
    packed = _pages(pg_bare_url)
    with psycopg.connect(pg_bare_url) as con:
        con.execute("UPDATE hgw_cases SET last_run = 2")
    moved = _pages(pg_bare_url)
    assert sum(moved[v] != packed[v] for v in packed) > N // 2  # full pages: the update moved the rows
    stored = _stored(pg_bare_url)

    assert upgrade_schema(pg_bare_url) == ("v0013_resurvey_of", "v0014_cases_fillfactor")
    assert _options(pg_bare_url) == ["fillfactor=50"]
    assert _stored(pg_bare_url) == stored  # the same cases, rewritten
    rewritten = _pages(pg_bare_url)
    assert max(rewritten.values()) > max(packed.values())  # about twice the pages
    _rerun(pg_bare_url, 3)
    assert _pages(pg_bare_url) == rewritten  # every update stayed on its page
    with psycopg.connect(pg_bare_url) as con:
        assert con.execute("SELECT DISTINCT last_run FROM hgw_cases").fetchall() == [(3,)]
        assert con.execute("SELECT count(*) FROM pg_index WHERE indrelid = 'hgw_cases'::regclass"
                           " AND indisclustered").fetchone() == (0,)  # no CLUSTER mark left behind

    _alembic(pg_bare_url, "downgrade", "v0013_resurvey_of")
    assert _options(pg_bare_url) is None
    assert _stored(pg_bare_url)[0][-1] == 3
