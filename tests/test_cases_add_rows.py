"""New cases stored as they are (``CaseTables.add_rows``: a recorded run's new cases, no upsert; on
PostGIS more than ``COPY_ABOVE`` copied straight into the table): they read back exactly as ``put``
stores them, on both back ends, few or many; an id already stored is refused by the store's key, and
the transaction leaves the cases as they were. Real PostGIS; nothing mocked."""
from __future__ import annotations

import sqlite3

import psycopg
import pytest
import sqlalchemy as sa

from layers.store import cases as stored
from layers.store.base import Store
from layers.store.cases import COPY_ABOVE
from tests.test_cases_bulk import N, _all, _case, _ready
from tests.test_store_backends import store  # noqa: F401  (the two-back-end store; backend and location: conftest)


def _rows(cases: list[stored.Case]) -> list[tuple[object, ...]]:
    return [tuple(vars(c).values()) for c in cases]


@pytest.mark.parametrize("n", [3, N])
def test_new_cases_read_back_as_put_stores_them(store: Store, n: int) -> None:  # noqa: F811
    _ready(store)
    cases = [_case(i) for i in reversed(range(n))]  # not in violation id order
    with stored.writing(store) as tables:
        tables.add_rows(_rows(cases))
        tables.add_rows([])
    assert _all(store) == sorted(cases, key=lambda c: c.violation_id)
    more = [_case(i, run=2) for i in range(n, n + COPY_ABOVE + 1)]
    with stored.writing(store) as tables:
        tables.add_rows(_rows(more))
    assert _all(store) == sorted([*cases, *more], key=lambda c: c.violation_id)


@pytest.mark.parametrize("n", [3, N])
def test_an_id_already_stored_is_refused_and_nothing_changes(store: Store, n: int) -> None:  # noqa: F811
    _ready(store)
    first = [_case(i) for i in range(n)]
    with stored.writing(store) as tables:
        tables.put(first)
    clash = _rows([_case(i, status="reopened", run=2) for i in range(n - 1, n + 5)])  # the first is stored
    with pytest.raises((sqlite3.IntegrityError, psycopg.errors.UniqueViolation, sa.exc.IntegrityError),
                       match="(?i)unique|duplicate"), stored.writing(store) as tables:
        tables.add_rows(clash)
    assert _all(store) == sorted(first, key=lambda c: c.violation_id)
