"""``geo.sites``' reading of ``uses_mercury`` given as booleans, numbers, text or nothing: the
whole-column paths (numbers, a column of nothing) give what the value-by-value test gives, kept here as
the oracle (a layer without the column, the 5,917 real footprints, was tested one value at a time seven
times per headline: 0.25-0.3 s of the national map's first view, HD's profile)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.sites import NONE, NOT_RECORDED, USES, mercury_use


def _oracle(v: object) -> str:
    if isinstance(v, (bool, np.bool_)):
        return USES if v else NONE
    if isinstance(v, (int, float, np.integer, np.floating)) and not (isinstance(v, float) and math.isnan(v)):
        return USES if v == 1 else NONE if v == 0 else NOT_RECORDED
    return NOT_RECORDED


numbers = st.one_of(st.integers(-3, 3), st.sampled_from([0.0, 1.0, 0.5, float("nan"), -0.0]))


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.one_of(numbers, st.booleans(), st.none(), st.sampled_from(["yes", "1", ""])), max_size=30),
       as_column=st.sampled_from(["object", "float64", "Int64", "boolean", "int64"]))
def test_every_form_of_the_column_reads_as_the_value_by_value_test(values: list[object], as_column: str) -> None:
    column = pd.Series(values, dtype=object)
    if as_column != "object":
        try:
            column = column.astype(as_column)
        except (TypeError, ValueError):
            return  # not every list can be that dtype
        if as_column == "float64":
            values = list(column)  # what the column holds, as the oracle sees it
    got = list(mercury_use(pd.DataFrame({"uses_mercury": column})))
    want = [_oracle(v.item() if isinstance(v, np.generic) else v) if v is not pd.NA else NOT_RECORDED
            for v in (column if as_column != "object" else values)]
    assert got == want


def test_no_column_and_a_column_of_nothing_are_not_recorded() -> None:
    assert list(mercury_use(pd.DataFrame({"name": ["a", "b"]}))) == [NOT_RECORDED] * 2
    assert list(mercury_use(pd.DataFrame({"uses_mercury": [None, np.nan]}))) == [NOT_RECORDED] * 2
    assert list(mercury_use(pd.DataFrame({"uses_mercury": [1, 0, 2]}))) == [USES, NONE, NOT_RECORDED]
    assert list(mercury_use(pd.DataFrame({"uses_mercury": [1.0, np.nan, 0.0]}))) == [USES, NOT_RECORDED, NONE]
