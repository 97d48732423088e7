"""Many cases stored at once (a national rule run touches every case): on PostGIS more than
``COPY_ABOVE`` cases go through COPY and ONE upsert statement. The cases read back exactly as put, on
both back ends alike; of two cases with one id the later wins, as one statement per case gave; a
transaction that fails after the put leaves the cases as they were; and the statement count is
one, seen by the database's own statement-level audit trigger. Real PostGIS; nothing mocked."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
import shapely
import sqlalchemy as sa

from layers.store import cases as stored
from layers.store.base import Store
from layers.store.cases import COPY_ABOVE, Case, CaseTables
from layers.store.open import open_store
from tests.test_store_backends import store  # noqa: F401  (the two-back-end store; backend and location: conftest)

N = COPY_ABOVE * 2 + 17


def _case(i: int, *, status: str = "new", run: int = 1) -> Case:
    """Case ``i``: every kind of value, with missing ones on some cases."""
    return Case(violation_id=f"HG-WATER-100/{i:016x}", rule_id="HG-WATER-100", rule_version="2",
                subject_layer="mining_sites", site_id=f"S{i}",
                site_name=None if i % 3 else f"Site <{i}> é\ttab\nline \\N back\\slash \"q\" ,;",  # COPY's escapes
                admin_area=None if i % 5 == 0 else "North", status=status, assignee=None if i % 2 else "ana",
                due_date=None, reason=f"flagged by run {run}", flagged=i % 7 != 0, review=None,
                distance_m=None if i % 11 == 0 else i / 100 + 0.005, lon=-1.5 + i / 1e6, lat=6.0 + i / 1e7,
                site_wkb=None if i % 13 == 0 else shapely.to_wkb(shapely.Point(-1.5 + i / 1e6, 6.0)),
                fingerprint=f"{i:x}|{run}", verdict=None, opened_at="2026-11-27T00:00:00+00:00",
                updated_at=f"2026-11-27T00:00:{run:02d}+00:00", first_run=1, last_run=run)


def _ready(store: Store) -> Store:  # noqa: F811
    """A store that exists (a GeoPackage is created by its first layer)."""
    store.write_layer("mining_sites", gpd.GeoDataFrame({"site_id": ["S0"]}, geometry=[shapely.Point(0, 6)],
                                                       crs=4326), source="t")
    return store


def _all(store: Store) -> list[Case]:  # noqa: F811
    with stored.reading(store) as tables:
        return tables.all(with_geometry=True)


def test_many_cases_read_back_as_put_and_the_later_of_two_wins(store: Store) -> None:  # noqa: F811
    _ready(store)
    first = [_case(i) for i in range(N)]
    with stored.writing(store) as tables:
        tables.put(first)
    assert _all(store) == sorted(first, key=lambda c: c.violation_id)
    again = [_case(i, status="reopened", run=2) for i in range(0, N, 2)]
    doubled = [*again, *[_case(i, status="false positive", run=3) for i in range(0, N, 4)]]  # the later wins
    with stored.writing(store) as tables:
        tables.put([*doubled, _case(N + 1)])
    expected = {c.violation_id: c for c in [*first, *doubled, _case(N + 1)]}
    assert _all(store) == sorted(expected.values(), key=lambda c: c.violation_id)
    assert sum(c.status == "false positive" for c in _all(store)) == len(range(0, N, 4))


def test_a_failure_after_a_bulk_put_leaves_the_cases_as_they_were(store: Store) -> None:  # noqa: F811
    _ready(store)
    with stored.writing(store) as tables:
        tables.put([_case(i) for i in range(N)])
    before = _all(store)
    with pytest.raises(RuntimeError, match="stop"), stored.writing(store) as tables:
        tables.put([_case(i, status="closed", run=4) for i in range(N)])
        raise RuntimeError("stop")
    assert _all(store) == before


def test_both_back_ends_keep_the_same_cases(tmp_path: Path, pg_url: str) -> None:
    kept = []
    for where in (str(tmp_path / "ws.gpkg"), pg_url):
        ready = _ready(open_store(where))
        with stored.writing(ready) as tables:
            tables.put([_case(i) for i in range(N)])
            tables.put([_case(i, status="assigned", run=2) for i in range(0, N, 3)])
        kept.append(_all(ready))
    assert kept[0] == kept[1] and len(kept[0]) == N


def test_a_bulk_put_on_postgis_is_one_statement(pg_url: str) -> None:
    """Outside the app's writer lock the audit trigger records every statement on the case table:
    one insert for the whole put (one per case before)."""
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as con:
            CaseTables(con).put([_case(i) for i in range(N)])
    finally:
        engine.dispose()
    with psycopg.connect(pg_url) as con:
        trail = con.execute("SELECT action, jsonb_array_length(after) FROM hgw_audit WHERE target = 'hgw_cases'"
                            " ORDER BY seq").fetchall()
    assert trail == [("sql insert", N)]
