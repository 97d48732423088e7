"""Issue 13: the CSV writer builds its bytes with Arrow string kernels, and they are the bytes
pandas' ``to_csv`` wrote before (commit b069e77), for every table.

The pandas path of that commit is kept here, verbatim, as the oracle. Hypothesis builds frames
that mix every awkward value: formula starts (also after spaces, after quotes), quotes, commas,
CR and LF, unicode, empty text, None, NaN, -0.0, 1e-7, huge floats, booleans, integers, dates,
mixed object columns, constant columns, one-column frames and hostile header names.
"""
from __future__ import annotations

import datetime
import io
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layers.io import csvfile
from layers.io.csvfile import FORMULA_START, LINE_END, csv_bytes, csv_text, defuse_formula


def _old_defused(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    out = pd.DataFrame(frame).copy()
    for col in out.columns:
        series = out[col]
        if series.dtype == object or pd.api.types.is_string_dtype(series) \
                or isinstance(series.dtype, pd.CategoricalDtype):
            cells = series.astype(object)
            first = cells.astype(str).str.lstrip(" ").str[:1]
            maybe = first.isin([*FORMULA_START, "'"]).to_numpy()
            if maybe.any():
                cells = cells.copy()
                cells[maybe] = cells[maybe].map(defuse_formula)
            out[col] = cells
    headers = [str(defuse_formula(str(c))) for c in out.columns]
    return out, headers


def _old_csv_text(frame: pd.DataFrame, *, float_format: str | None = None, header_lines: Sequence[str] = ()) -> str:
    buf = io.StringIO()
    for line in header_lines:
        buf.write("# " + re.sub(r"[\r\n]+", " ", line) + LINE_END)
    safe, headers = _old_defused(frame)
    safe.to_csv(buf, index=False, header=headers, float_format=float_format, lineterminator=LINE_END)
    return buf.getvalue()


def _old_csv_bytes(frame: pd.DataFrame, *, float_format: str | None = None, bom: bool = True,
                   header_lines: Sequence[str] = ()) -> bytes:
    text = _old_csv_text(frame, float_format=float_format, header_lines=header_lines)
    return text.encode("utf-8-sig" if bom else "utf-8")


AWKWARD = ["=1+1", "+cmd|' /C calc'!A0", "-5", "+1.5e3", "@SUM(A1)", "\tx", "\rx", "  =x", "'=x", "''-y", "'",
           'say "hi"', "a,b", "line\nbreak", "cr\ronly", "crlf\r\n", "", " ", "été ☃", "日本", "-", "--1", "1e5"]
TEXT = st.one_of(st.sampled_from(AWKWARD), st.text(alphabet=st.sampled_from(list("ab =+-@'\",\r\n\té☃0.5e")), max_size=8),
                 st.text(max_size=6).filter(lambda t: not any(0xD800 <= ord(ch) <= 0xDFFF for ch in t)))
FLOATS = st.one_of(st.sampled_from([0.0, -0.0, 1e-7, -1e-7, 1e300, -1.7976931348623157e308, 0.1, 2.5, 100.0, 1e16,
                                    float("nan"), float("inf"), float("-inf")]),
                   st.floats(allow_nan=True, allow_infinity=True))
OBJECTS = st.one_of(TEXT, FLOATS, st.none(), st.booleans(), st.integers(-10**20, 10**20),
                    st.just(np.nan), st.dates(), st.datetimes(), st.just(pd.NA), st.decimals(allow_nan=False, places=3))


@st.composite
def columns(draw: st.DrawFn, n: int) -> pd.Series:
    """One column of ``n`` rows of a kind drawn at random."""
    kind = draw(st.sampled_from(["text", "text_none", "str", "float", "int", "bool", "object", "const", "date",
                                 "category", "nullable"]))
    if kind in ("text", "text_none", "str", "category"):
        values = draw(st.lists(st.one_of(TEXT, st.none()) if kind != "text" else TEXT, min_size=n, max_size=n))
        dtype = {"text": object, "text_none": object, "str": "str", "category": "category"}[kind]
        return pd.Series(values, dtype=dtype)
    if kind == "float":
        return pd.Series(draw(st.lists(FLOATS, min_size=n, max_size=n)), dtype="float64")
    if kind == "int":
        return pd.Series(draw(st.lists(st.integers(-2**63, 2**63 - 1), min_size=n, max_size=n)), dtype="int64")
    if kind == "bool":
        return pd.Series(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    if kind == "object":
        return pd.Series(draw(st.lists(OBJECTS, min_size=n, max_size=n)), dtype=object)
    if kind == "const":
        value = draw(st.one_of(TEXT, FLOATS, st.none(), st.booleans()))
        return pd.Series([value] * n, dtype=object if value is None or isinstance(value, str) else None)
    if kind == "date":
        return pd.Series(pd.to_datetime(draw(st.lists(st.dates(datetime.date(1900, 1, 1)), min_size=n, max_size=n))))
    return pd.Series(draw(st.lists(st.one_of(st.none(), st.integers(-99, 99)), min_size=n, max_size=n)), dtype="Int64")


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 6))
    names = draw(st.lists(st.one_of(TEXT, st.integers(0, 9)), min_size=1, max_size=6, unique_by=str))
    return pd.DataFrame({name: draw(columns(n)) for name in names})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames(), bom=st.booleans(), header_lines=st.lists(TEXT, max_size=2))
def test_the_bytes_are_pandas_to_csv_bytes(frame: pd.DataFrame, bom: bool, header_lines: list[str]) -> None:
    assert csv_bytes(frame, bom=bom, header_lines=header_lines) == _old_csv_bytes(frame, bom=bom,
                                                                                  header_lines=header_lines)


@settings(max_examples=60, deadline=None)
@given(frame=frames())
def test_text_and_float_format_are_unchanged(frame: pd.DataFrame) -> None:
    assert csv_text(frame, header_lines=["=x", "a\r\nb"]) == _old_csv_text(frame, header_lines=["=x", "a\r\nb"])
    assert csv_bytes(frame, float_format="%.6g") == _old_csv_bytes(frame, float_format="%.6g")


def test_a_table_of_text_numbers_and_booleans_takes_the_arrow_path() -> None:
    """The Arrow path really runs on what a violation file holds (it is not the pandas fallback)."""
    frame = pd.DataFrame({"id": ["=a", "b,\"c\"", None], "d": [1.5, np.nan, -0.0], "ok": [True, False, True],
                          "n": [1, 2, 3], "const": "same, text", "none": None})
    built = csvfile._arrow_table(frame)
    assert built is not None
    assert b"".join(built) == _old_csv_bytes(frame, bom=False)
    assert b"".join(built) == (b'id,d,ok,n,const,none\r\n\'=a,1.5,True,1,"same, text",\r\n"b,""c""",,False,2,"same, text",'
                     b'\r\n,-0.0,True,3,"same, text",\r\n')


@pytest.mark.parametrize("frame", [
    pd.DataFrame({"when": pd.to_datetime(["2024-01-02", None])}),  # dates: pandas' own format
    pd.DataFrame([[1, 2]], columns=["a", "a"]),  # repeated header names
    pd.DataFrame({"b": [b"bytes"]}, dtype=object),
    pd.DataFrame({"s": ["lone \ud800 surrogate"]}, dtype=object),
])
def test_other_tables_go_through_pandas(frame: pd.DataFrame) -> None:
    assert csvfile._arrow_table(frame) is None


def test_a_lone_surrogate_is_refused_as_before() -> None:
    frame = pd.DataFrame({"s": ["=lone \ud800 surrogate", "ok"]}, dtype=object)  # Arrow-backed str refuses it
    for write in (csv_text, csv_bytes, _old_csv_text, _old_csv_bytes):
        with pytest.raises(UnicodeEncodeError):
            write(frame)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames(), bom=st.booleans(), rows=st.integers(1, 4))
def test_a_file_written_a_few_rows_at_a_time_has_the_same_bytes(tmp_path_factory: pytest.TempPathFactory,
                                                                 frame: pd.DataFrame, bom: bool, rows: int) -> None:
    """``write_csv`` in pieces of ``rows`` rows (a slice may take the Arrow path where a later one
    needs pandas: the file then starts again whole) writes what the old writer wrote."""
    path = tmp_path_factory.mktemp("pieces") / "t.csv"
    path.write_bytes(b"an older, longer content " * 50)
    csvfile.write_csv(frame, path, bom=bom, rows_per_piece=rows)
    assert path.read_bytes() == _old_csv_bytes(frame, bom=bom)


def test_a_late_slice_of_another_kind_starts_the_file_again() -> None:
    frame = pd.DataFrame({"v": ["a", "b", "c", 5]}, dtype=object)  # the number is in the second slice
    assert csvfile._arrow_table(frame.iloc[:2]) is not None and csvfile._arrow_table(frame) is None
    buf = io.BytesIO()
    assert not csvfile._write_pieces(frame, buf, False, 2)
    assert buf.getvalue() == b"v\r\na\r\nb\r\n"  # what the caller truncates before writing whole
