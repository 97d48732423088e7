"""CSV and XLSX uploads as plain tables of text and numbers: pandas for CSV, openpyxl for XLSX.

Never through GDAL. What a table reader must not do silently, it reports:

- a header used by two columns (pandas would rename the second 'name.1'): an error naming it;
- a workbook with several sheets holding data: refused with the sheet names unless one is chosen
  (``sheet=``, the ``--source-layer``); ``sheet_names`` lists them;
- a formula cell (openpyxl, read with ``data_only=False``, sees the formula, not a cached value):
  an error naming the cell, e.g. ``C2``; its value is left empty.

XLSX cells become the values ``pandas.read_excel`` gives (whole numbers as int, errors as NaN,
'NA'-like text as missing), through the same ``TextParser``.
"""
from __future__ import annotations

import csv
import re
import zipfile
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.io.parsers import TextParser

from geo.errors import InputError, Problem
from geo.words import counted, listed
from layers.io import textcheck
from layers.io.csvfile import restore_formula


def excel_errors() -> tuple[type[Exception], ...]:
    """What openpyxl raises for a damaged workbook as well as the usual bad-file errors: a missing
    zip member is a KeyError, a garbled XML attribute a TypeError. Caught around openpyxl only, which
    loads on the first workbook (issue 13: ~0.1 s that reading CSV or GeoParquet never needs)."""
    from openpyxl.utils.exceptions import InvalidFileException

    return (InvalidFileException, zipfile.BadZipFile, KeyError, TypeError, EOFError, NotImplementedError, zlib.error,
            OSError, ValueError)


def read_csv(path: Path) -> tuple[pd.DataFrame, list[Problem]]:
    """All cells as text (a CSV written by HgWatch has its formula quotes removed, in values and
    header names)."""
    skip, sep = _layout(path)
    options: dict[str, Any] = {"dtype": str, "keep_default_na": False, "encoding": "utf-8-sig",
                               "sep": sep, "engine": "python", "skiprows": skip}
    try:
        df = pd.read_csv(path, **options).map(restore_formula)
    except (pd.errors.ParserError, csv.Error):  # pandas: "Expected 4 fields in line 3, saw 6", "unexpected end of data"
        said = _bad_record(path, skip, sep)
        if said is None:
            raise
        raise InputError(f"{path.name}: cannot read the file: {said}") from None
    except UnicodeDecodeError:  # pandas names a byte position in a buffer of its own: the line and column instead
        found = textcheck.not_utf8(path)
        if found is None:
            raise
        raise InputError(f"{path.name}: cannot read the file: {textcheck.message(found, textcheck.ADVICE['csv'])}") \
            from None
    if not isinstance(df.index, pd.RangeIndex):  # pandas took the first record's extra leading values as an index,
        said = _bad_record(path, skip, sep)  # shifting every value a column to the right of its name
        raise InputError(f"{path.name}: cannot read the file: "
                         f"{said or 'its first record holds more values than the header names columns'}")
    df.columns = [restore_formula(c) for c in df.columns]
    header = pd.read_csv(path, header=None, nrows=1, **options).iloc[0].map(restore_formula).tolist() \
        if len(df.columns) else []
    return df, duplicate_headers(path.name, header)


_SEP_LINE = re.compile(r'\s*"?sep=(?P<sep>.)"?\s*[,;\t]*\s*', re.IGNORECASE)


_SEPARATORS = (",", ";", "\t", "|")  # the first wins a tie


def _layout(path: Path) -> tuple[int, str]:
    """(lines before the header, the separator). Blank lines before the header are passed over, and so is
    Excel's ``sep=;`` line, which names the separator; else the separator is the one of ``_SEPARATORS``
    the header holds most of, a comma when it holds none (one column). pandas' own guess read a one-column
    register ``miner_id`` as the columns 'm', 'ner_' and 'd' (the letter i as separator), a blank first line
    as "Could not determine delimiter", and ``sep=;`` as the columns 'sep=' and 'Unnamed: 1'. A file with
    no header is refused, saying so."""
    with path.open("rb") as f:
        head = f.read(1 << 16)
    lines = head.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace").splitlines()
    skip = next((k for k, line in enumerate(lines) if line.strip()), len(lines))
    named = _SEP_LINE.fullmatch(lines[skip]) if skip < len(lines) else None
    if named is not None:
        skip += 1 + next((k for k, line in enumerate(lines[skip + 1:]) if line.strip()), len(lines) - skip - 1)
    if skip >= len(lines):
        what = "holds only a 'sep=' line" if named else "is empty" if not head.strip() else "holds only blank lines"
        raise InputError(f"{path.name}: the file {what}; expected a header row naming the columns (e.g. "
                         "site_id,lat,lon), then one row per record")
    if named is not None:
        return skip, named["sep"]
    header = re.sub(r'"[^"]*"', "", lines[skip])  # a separator inside a quoted name is not one
    counts = {sep: header.count(sep) for sep in _SEPARATORS}
    return skip, max(_SEPARATORS, key=lambda sep: counts[sep]) if any(counts.values()) else ","


def _bad_record(path: Path, skip: int, sep: str) -> str | None:
    """Where a CSV cannot be read as a table, said with its line, its record and what to do: the first
    record holding more values than the header names columns (a decimal comma between commas, a header
    short of a name: pandas read a first such record's extra values as an index, and moved each value under
    the next column's name), or a quote opened and never closed; None when neither is found."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        for _ in range(skip):
            f.readline()
        reader = csv.reader(f, delimiter=sep, strict=True)  # strict: a quote left open at the end is an error
        record, line = 0, skip + 1  # the record being read and the line it starts on
        try:
            header = next(reader)
            line = skip + reader.line_num + 1
            for cells in reader:
                if cells:
                    record += 1
                if len(cells) > len(header):
                    shown = ", ".join(repr(c) for c in cells[:12]) + (", ..." if len(cells) > 12 else "")
                    return (f"line {line} (record {record}) holds {len(cells)} values where the header (line "
                            f"{skip + 1}) names {counted(len(header), 'column')}: {shown}; a value holding the separator "
                            f"{sep!r} must be in quotes (\"6,8\"): with decimal commas, separate the values with ';' "
                            "(as Excel does where the decimal sign is a comma) or write decimals with a point; every "
                            "column needs a name in the header, and a title above the header must be removed")
                line = skip + reader.line_num + 1
        except csv.Error as exc:
            if "end of data" not in str(exc):
                return None  # a stray quote inside a value, which pandas reads: its own error is another
            return (f"line {line} (record {record + 1}) opens a quote (\") that is never closed, so the rest of the "
                    "file would be one value; close the quote or remove it")
    return None


def duplicate_headers(source: str, header: list[object]) -> list[Problem]:
    """One error per header that names more than one column, with the columns' letters."""
    names = ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip() for v in header]
    problems = []
    for name, count in Counter(n for n in names if n).items():
        if count > 1:
            from openpyxl.utils import get_column_letter

            letters = ", ".join(get_column_letter(i + 1) for i, n in enumerate(names) if n == name)
            problems.append(Problem(source, None, name, None,
                                    f"duplicate column header: {count} columns ({letters}) are named "
                                    f"'{name}'; rename all but one so that no value is lost", kind="duplicate_header"))
    return problems


def sheet_names(path: Path) -> list[str]:
    """The names of the worksheets of a workbook, in order."""
    book = _open(path)
    try:
        return [ws.title for ws in book.worksheets]
    finally:
        book.close()


def read_xlsx(path: Path, sheet: str | None) -> tuple[pd.DataFrame, list[Problem]]:
    """One sheet of a workbook: ``sheet``, else the only sheet holding data."""
    book = _open(path)
    try:
        names = [ws.title for ws in book.worksheets]
        if sheet is not None and sheet not in names:
            raise InputError(f"{path.name}: has no sheet {sheet!r}; it holds {listed(names) or 'none'}")
        if sheet is None:
            filled = [ws.title for ws in book.worksheets if _has_values(ws)]
            if len(filled) > 1:
                raise InputError(f"{path.name}: holds several sheets ({listed(filled)}); name one with --source-layer "
                                 f"(e.g. --source-layer {filled[0]!r}), so that no sheet is left out")
            if not names:
                raise InputError(f"{path.name}: holds no worksheet; expected a sheet with a header row")
            sheet = (filled or names)[0]
        data, formulas = _cells(book[sheet])
    except excel_errors() as exc:
        raise InputError(f"{path.name}: cannot read the file as an Excel workbook: "
                         f"{str(exc).strip() or type(exc).__name__}") from None
    finally:
        book.close()
    if not data:
        return pd.DataFrame(), []
    df = TextParser(data, header=0, dtype=object, skip_blank_lines=False).read()
    problems = duplicate_headers(path.name, data[0])
    for row, col, cell, formula in formulas:
        problems.append(Problem(path.name, row or None, str(df.columns[col]), formula,
                                f"cell {cell} holds a formula, not a value; HgWatch does not compute "
                                "formulas: copy the column and paste it as values", kind="formula"))
    return df, problems


def _open(path: Path) -> Any:
    import openpyxl

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=False, keep_links=False)
    except excel_errors() as exc:
        raise InputError(f"{path.name}: cannot read the file as an Excel workbook: "
                         f"{str(exc).strip() or type(exc).__name__}") from None


def _has_values(ws: Any) -> bool:
    return any(v is not None for row in ws.iter_rows(values_only=True) for v in row)


def _cells(ws: Any) -> tuple[list[list[object]], list[tuple[int, int, str, str]]]:
    """The sheet's rows as ``pandas.read_excel`` builds them, and its formula cells as
    (record number, column index, cell reference, formula); a formula's cell is left empty."""
    ws.reset_dimensions()  # declared dimensions can be wrong: let openpyxl find the extent
    data: list[list[object]] = []
    formulas: list[tuple[int, int, str, str]] = []
    for number, row in enumerate(ws.rows):
        values: list[object] = []
        for col, cell in enumerate(row):
            if cell.data_type == "f":
                text = cell.value if isinstance(cell.value, str) else getattr(cell.value, "text", "")
                formulas.append((number, col, cell.coordinate, str(text)[:80]))
                values.append("")
            else:
                values.append(_value(cell))
        while values and values[-1] == "":
            values.pop()
        data.append(values)
    while data and not data[-1]:
        data.pop()
    width = max((len(r) for r in data), default=0)
    return [r + [""] * (width - len(r)) for r in data], formulas


def _value(cell: Any) -> object:
    """A cell's value as pandas' openpyxl reader gives it."""
    if cell.value is None:
        return ""
    if cell.data_type == "e":
        return np.nan
    if cell.data_type == "n":
        whole = int(cell.value)
        return whole if whole == cell.value else float(cell.value)
    return cell.value
