"""``pgframe._natives``: the Python values a column is copied into PostGIS as, None for every missing
one. Whole-column paths for numpy numbers and booleans must give what the value-by-value reference
(kept here as the oracle) gives: the same values of the same Python types."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from layers.store.pgframe import _natives


def _reference(values: pd.Series) -> list[Any]:
    out = values.astype(object).where(values.notna(), None).tolist()
    return [None if isinstance(v, float) and not math.isfinite(v) else
            v.item() if isinstance(v, np.generic) else v for v in out]


def _same(values: pd.Series) -> None:
    got, want = _natives(values), _reference(values)
    assert [type(v) for v in got] == [type(v) for v in want]
    assert [None if v is None else repr(v) for v in got] == [None if v is None else repr(v) for v in want]


def test_the_edges_of_each_numpy_kind() -> None:
    _same(pd.Series([1.5, np.nan, np.inf, -np.inf, -0.0, 5e-324, 1.7976931348623157e308]))
    _same(pd.Series(np.array([0.1, np.nan], dtype=np.float32)))
    _same(pd.Series([0, -(2 ** 63), 2 ** 63 - 1]))
    _same(pd.Series(np.array([0, 255], dtype=np.uint8)))
    _same(pd.Series(np.array([2 ** 64 - 1], dtype=np.uint64)))
    _same(pd.Series([True, False]))
    _same(pd.Series([], dtype=float))
    assert _natives(pd.Series([np.nan, np.inf])) == [None, None]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=30),
       st.lists(st.integers(-(2 ** 63), 2 ** 63 - 1), max_size=30), st.lists(st.booleans(), max_size=30))
def test_whole_columns_give_what_the_value_by_value_reference_gives(floats: list[float], ints: list[int],
                                                                   bools: list[bool]) -> None:
    _same(pd.Series(floats, dtype=float))
    _same(pd.Series(ints, dtype=np.int64))
    _same(pd.Series(bools, dtype=bool))
    _same(pd.Series(floats, dtype=object))  # objects go the reference's own way
