"""The inventory's column helpers work once per distinct value (a coded field of 1e6 sites has a handful) and
give what the value-by-value construction gives, kept here as the oracle: Hypothesis columns mix text, blank
text, None, NaN, pd.NA, True/False, integers and floats, as objects and as pandas text."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.errors import InputError
from geo.inventory import estimate
from settings.factors import load_factors

CELLS = st.one_of(st.none(), st.just(np.nan), st.just(pd.NA), st.sampled_from(["", "  ", "open", "retort", "none",
                                                                               "whole_ore", "Open", " open"]),
                  st.text(max_size=4), st.booleans(), st.integers(-2, 2), st.floats(allow_nan=False, width=16))
TEXT_CELLS = st.one_of(st.none(), st.sampled_from(["", " ", "open", "retort", "active", "abandoned", "x"]))


def present_oracle(values: pd.Series) -> np.ndarray:
    given = values.notna().to_numpy(dtype=bool)
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        given = given & ~(values.astype(str).str.strip() == "").to_numpy(dtype=bool)
    return given


def coded_oracle(values: pd.Series) -> pd.Series:
    return pd.Series(np.where(present_oracle(values), values.astype(str), "unknown"), index=values.index, dtype=object)


@st.composite
def columns(draw: st.DrawFn) -> pd.Series:
    if draw(st.booleans()):
        cells = draw(st.lists(CELLS, max_size=30))
        return pd.Series(cells, dtype=object, index=np.arange(len(cells)) * 3)
    return pd.Series(draw(st.lists(TEXT_CELLS, max_size=30)), dtype="str")


@settings(max_examples=300, deadline=None)
@given(columns())
def test_present_and_coded_equal_the_value_by_value_construction(values: pd.Series) -> None:
    assert estimate._present(values).tolist() == present_oracle(values).tolist()
    pd.testing.assert_series_equal(estimate._coded(values), coded_oracle(values), check_exact=True)


@settings(max_examples=300, deadline=None)
@given(columns(), st.dictionaries(st.sampled_from(["open", "retort", "none", "", "x", "active"]),
                                  st.one_of(st.floats(0, 1), st.sampled_from(["air", "water"])), max_size=4))
def test_mapped_equals_series_map(values: pd.Series, table: dict[str, object]) -> None:
    pd.testing.assert_series_equal(estimate._mapped(values, table), values.map(table), check_exact=True)


def test_one_true_and_one_point_zero_stay_three_texts() -> None:
    """1, 1.0 and True are one key to a hash table and three texts: a coded field keeps them apart."""
    values = pd.Series([1, 1.0, True, "open", None], dtype=object)
    assert estimate._coded(values).tolist() == ["1", "1.0", "True", "open", "unknown"]


def test_a_true_gold_figure_is_refused_where_a_one_is_taken() -> None:
    factors = load_factors()
    sites = pd.DataFrame({"site_id": ["A", "B", "C"], "gold_kg_per_year": pd.Series([True, 1, None], dtype=object),
                          "amalgamation": ["whole_ore"] * 3, "burning": ["open"] * 3, "status": ["active"] * 3})
    with pytest.raises(InputError) as caught:
        estimate.estimate_sites(sites, factors)
    assert [(p.row, p.field, p.value) for p in caught.value.problems] == [(1, "gold_kg_per_year", True)]
    ok = estimate.estimate_sites(sites.iloc[1:], factors)
    assert ok["basis"].tolist() == [estimate.FROM_KG, estimate.NOT_ESTIMABLE]
    assert ok["gold_kg_per_year"].iloc[0] == 1.0
