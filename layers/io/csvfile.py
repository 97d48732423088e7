"""The one CSV writer of HgWatch: exports, violations, report tables, the workbench, the zip.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return (also after leading spaces) as a formula: ``=HYPERLINK(...)`` or ``+cmd|' /C calc'!A0``.
Every such text, in a value or in a header name, is written with a leading quote
(``'=HYPERLINK(...)``), which a spreadsheet shows as text. A plain number such as ``-5`` or
``+1.5e3`` stays a number. Text that already starts with quotes before such a formula gets one
more, so ``restore_formula`` (used by HgWatch's CSV reader, ``layers.io.tables``) gives back
exactly the text that was written: ``restore_formula(defuse_formula(v)) == v`` for every ``v``.

Rows end in CRLF (RFC 4180), so the writer quotes any value holding a carriage return or a line
feed: a lone CR in a value can never start a new row in another program.

Only this module calls ``to_csv`` or the ``csv`` module's writers (a test scans the code).
"""
from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
LINE_END = "\r\n"  # with CRLF rows the csv writer quotes a value holding either character
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _armed(text: str) -> bool:
    """True when a spreadsheet would run ``text``: a formula character first (after any
    spaces), and not a plain number."""
    stripped = text.lstrip(" ")
    return stripped.startswith(FORMULA_START) and not _NUMBER.fullmatch(stripped)


def _guarded(text: str) -> bool:
    """True when ``text`` is quotes followed by an armed text: what ``defuse_formula`` makes."""
    body = text[1:]
    return text.startswith("'") and (_armed(body) or _guarded(body))


def defuse_formula(value: object) -> object:
    """``value`` as a spreadsheet will show it, not run it: ``'=cmd|...`` for ``=cmd|...``.

    Any other value (a number, None, plain text) is returned unchanged.
    """
    if isinstance(value, str) and (_armed(value) or _guarded(value)):
        return "'" + value
    return value


def restore_formula(value: object) -> object:
    """Undo ``defuse_formula`` when reading back a CSV that HgWatch wrote."""
    if isinstance(value, str) and _guarded(value):
        return value[1:]
    return value


def defused(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """A copy of ``frame`` whose text cells are defused, and its defused header names."""
    out = pd.DataFrame(frame).copy()
    for col in out.columns:
        series = out[col]
        if series.dtype == object or pd.api.types.is_string_dtype(series) \
                or isinstance(series.dtype, pd.CategoricalDtype):
            cells = series.astype(object)
            # only a cell whose first character after spaces is a formula character or a quote can
            # need defusing: find those in one pass over the column, then look at them alone
            first = cells.astype(str).str.lstrip(" ").str[:1]
            maybe = first.isin([*FORMULA_START, "'"]).to_numpy()
            if maybe.any():
                cells = cells.copy()
                cells[maybe] = cells[maybe].map(defuse_formula)
            out[col] = cells
    headers = [str(defuse_formula(str(c))) for c in out.columns]
    return out, headers


def csv_text(frame: pd.DataFrame, *, float_format: str | None = None,
             header_lines: Sequence[str] = ()) -> str:
    """``frame`` (no index) as CSV text with every formula defused, values and header names.

    Parameters
    ----------
    frame : the table; any index is left out.
    float_format : printf format of floats, e.g. ``"%.6g"``; None writes them in full.
    header_lines : lines written first as ``# `` comments (a line break in one becomes a space,
        so a comment can never start a row).
    """
    buf = io.StringIO()
    for line in header_lines:
        buf.write("# " + re.sub(r"[\r\n]+", " ", line) + LINE_END)
    safe, headers = defused(frame)
    safe.to_csv(buf, index=False, header=headers, float_format=float_format, lineterminator=LINE_END)
    return buf.getvalue()


def csv_bytes(frame: pd.DataFrame, *, float_format: str | None = None, bom: bool = True,
              header_lines: Sequence[str] = ()) -> bytes:
    """``csv_text`` as UTF-8 bytes, with a byte-order mark when ``bom`` (spreadsheets then read
    accents right; HgWatch's reader takes either)."""
    text = csv_text(frame, float_format=float_format, header_lines=header_lines)
    return text.encode("utf-8-sig" if bom else "utf-8")


def write_csv(frame: pd.DataFrame, path: str | Path, *, float_format: str | None = None,
              bom: bool = True) -> Path:
    """Write ``csv_bytes(frame)`` to ``path`` (callers that need atomicity pass a temporary
    path, see ``layers.io.safefile.atomic_path``); returns the path."""
    path = Path(path)
    path.write_bytes(csv_bytes(frame, float_format=float_format, bom=bom))
    return path
