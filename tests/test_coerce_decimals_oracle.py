"""``coerce.parse_float`` of text, plain decimals cast by Arrow, against ``pd.to_numeric`` of the whole column.

Issue 13 (H4, fifteenth session): a column of numbers written as text (CSV, a form export) was read by
``pd.to_numeric`` alone; the plain decimals (``-12``, ``3.25``: at most 15 characters) are now cast by
Arrow and only the other texts read by pandas. The oracle is the reading before, ``coerce._numbers`` of
the whole column: every double the same to the bit (the sign of a zero included) and the same rows bad,
for columns mixing plain decimals, whole numbers of every length, ``-0``, exponents, decimal commas,
ambiguous commas, blanks, missing values and words. An equivalence test: it passes on the code before too.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from layers.io.coerce import _numbers, _texts, parse_float, parse_int

DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=19)
PLAIN = st.builds(lambda sign, whole, point, frac: sign + whole + point + frac,
                  st.sampled_from(["", "-", "+"]), st.text(alphabet="0123456789", max_size=12),
                  st.sampled_from(["", "."]), st.text(alphabet="0123456789", max_size=12))
ODD = st.sampled_from(["-0", "-00", "+0", "0", "-0.0", "-.0", "-0.", "0.", ".", "-", "+", "1e5", "-2.5E-3", "1,5",
                       "1,234", "12,3456", "1.000,5", "inf", "-Infinity", "nan", "NaN", "1e400", "about 3", "3 kg",
                       "١٢", "１２", "0x1A", "1_000", "  7.5 ", "\u00a08\u3000", "", "   ", None,
                       "12345678901234567", "-9223372036854775809", "18446744073709551616",
                       "123456789012345.6", "0.1000000000000000055511151231257827"])
CELL = st.one_of(PLAIN, DIGITS, ODD, st.text(max_size=6))


def _bits(values: pd.Series) -> list[object]:
    array = values.to_numpy(dtype=float)
    return [None if np.isnan(v) else float(v).hex() for v in array]  # hex: -0.0 and 0.0 differ


@settings(max_examples=400, deadline=None)
@given(st.lists(CELL, max_size=60))
def test_plain_decimals_read_as_pandas_reads_the_whole_column(cells: list[str | None]) -> None:
    values = pd.Series(cells, dtype=object)
    texts = _texts(values)
    if texts is None:  # not all text: the row-by-row path, unchanged
        return
    present = texts.notna() & texts.ne("").to_numpy(dtype=bool, na_value=False)
    want = _numbers(texts, present)
    want = want.where(np.isfinite(want.to_numpy()))
    got, bad = parse_float(values)
    assert _bits(got) == _bits(want)
    assert bad.tolist() == (present & want.isna()).tolist()
    whole, whole_bad = parse_int(values)
    assert whole_bad.tolist() == (bad | (got.notna() & ((np.floor(got) != got) | (got.abs() >= 2.0 ** 63)))).tolist()
    assert whole.isna().tolist() == (got.isna() | whole_bad).tolist()


def test_a_whole_minus_zero_is_read_as_in_its_column() -> None:
    # pandas reads a column of whole numbers as integers: '-0' is 0.0 there, -0.0 beside a fraction
    assert _bits(parse_float(pd.Series(["-0", "5"], dtype=object))[0]) == ["0x0.0p+0", "0x1.4000000000000p+2"]
    assert _bits(parse_float(pd.Series(["-0", "5.5"], dtype=object))[0])[0] == "-0x0.0p+0"
    assert _bits(parse_float(pd.Series(["-0.0", "5"], dtype=object))[0])[0] == "-0x0.0p+0"


def test_a_column_of_plain_decimals_and_words() -> None:
    got, bad = parse_float(pd.Series([" 2.5", "-12", "about 3", "1,5", "1,234", None, "", ".5", "+7."], dtype=object))
    assert got.tolist()[:2] == [2.5, -12.0]
    assert got.isna().tolist() == [False, False, True, False, True, True, True, False, False]
    assert got.tolist()[3] == 1.5 and got.tolist()[7:] == [0.5, 7.0]
    assert bad.tolist() == [False, False, True, False, True, False, False, False, False]


DAYS = st.sampled_from(["2024-03-31", " 2024-03-31", "2024-03-31 ", "2024-03-31T23:30:00-05:00", "2024-03-31T01:00:00+03:00",
                        "2024-03-31T10:22:13.123Z", "2024-03-31 10:22", "2024-3-31", "2024-02-30", "20240331", "2024-03",
                        "2024", "31/03/2024", "31/03/2024x", "yesterday", "NaT", "nat", "", "  ", None, "0001-01-01",
                        "9999-12-31", "2262-04-12", "1677-09-21"])


@settings(max_examples=300, deadline=None)
@given(st.lists(DAYS, max_size=80), st.sampled_from([object, "str"]))
def test_dates_parsed_once_per_distinct_text_read_as_the_whole_column(cells: list[str | None], dtype: object) -> None:
    from layers.io.coerce import _days, is_missing, parse_date

    values = pd.Series(cells, dtype=dtype)
    missing = is_missing(values)
    want = _days(values.where(~missing).astype(object))  # the reading before: the whole column at once
    got, bad = parse_date(values)
    assert got.dtype == want.dtype
    assert got.tolist() == want.tolist() or [str(v) for v in got] == [str(v) for v in want]
    assert bad.tolist() == (~missing & want.isna()).tolist()


def test_a_column_of_survey_days_is_parsed_once_per_day() -> None:
    from layers.io.coerce import _few_dates, is_missing, parse_date

    values = pd.Series(["2024-03-31", "2023-11-02", " 2024-03-31", None, "31/03/2024x", ""] * 500, dtype="str")
    assert _few_dates(values, is_missing(values)) is not None  # the per-distinct path is the one taken
    got, bad = parse_date(values)
    assert [str(v) for v in got[:6]] == ["2024-03-31 00:00:00", "2023-11-02 00:00:00", "2024-03-31 00:00:00",
                                         "NaT", "NaT", "NaT"]
    assert bad[:6].tolist() == [False, False, False, False, True, False]
    assert str(got.dtype) == "datetime64[ms]"
