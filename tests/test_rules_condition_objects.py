"""A filter's ``equals`` on a column of objects (the derived ``mercury_use``, text fields as read) is
decided in one numpy pass; pandas' ``eq`` (missing values never equal) is kept here as the oracle."""
from __future__ import annotations

import decimal

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.rules.model import Condition, _equal_objects

TEXT = "uses mercury"
VALUES = st.one_of(
    st.sampled_from([TEXT, "no mercury", "not recorded", "USES MERCURY", " uses mercury", "", None, float("nan"),
                     pd.NA, pd.NaT, np.nan, True, False, 0, 1, 2.5, decimal.Decimal("NaN"), b"uses mercury"]),
    st.text(max_size=3),
    st.integers(),
)


def _oracle(col: pd.Series, text: str) -> np.ndarray:
    return np.array(col.eq(text).fillna(False).astype(bool), dtype=bool)


@settings(max_examples=300, deadline=None)
@given(st.lists(VALUES, max_size=40), st.sampled_from([TEXT, "", "x"]))
def test_equals_on_objects_is_pandas_eq(values: list[object], text: str) -> None:
    frame = pd.DataFrame({"f": pd.Series(values, dtype=object)})
    got = Condition(field="f", equals=text).mask(frame)
    assert got.dtype == bool and got.shape == (len(values),)
    assert got.tolist() == _oracle(frame["f"], text).tolist() == _equal_objects(frame["f"], text).tolist()


def test_a_column_with_pd_na_gets_pandas_answer() -> None:
    col = pd.Series([pd.NA, TEXT, None, "no mercury"], dtype=object)
    got = Condition(field="f", equals=TEXT).mask(pd.DataFrame({"f": col}))
    assert got.tolist() == [False, True, False, False] == _oracle(col, TEXT).tolist()


def test_the_derived_mercury_use_of_many_sites() -> None:
    choices = np.array([TEXT, "no mercury", "not recorded"], dtype=object)
    col = pd.Series(choices[np.arange(100_000) % 3], dtype=object)
    got = Condition(field="f", equals=TEXT).mask(pd.DataFrame({"f": col}))
    assert got.tolist() == _oracle(col, TEXT).tolist()
    assert int(got.sum()) == 33_334
