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

Speed: a table of text, numbers and booleans (what exports and violation files hold) is written
column by column with Arrow string kernels, a constant column quoted once (in Python), which cells
need defusing or quotes read from their bytes, whole-hundredth floats written from integers, and the
rows joined ``JOIN_ROWS`` at a time into reused buffers (a table of several pieces has each piece's rows
joined and written on a side thread while the next piece's cells are made); the bytes are those pandas' ``to_csv``
writes (``tests/test_csv_writer_identity.py`` and ``tests/test_export_grid_wkt.py`` keep the oracles).
Any other table (dates, nullable numbers, objects that are not all text, a ``float_format``,
repeated header names) goes through ``to_csv`` itself.
"""
from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
LINE_END = "\r\n"  # with CRLF rows the csv writer quotes a value holding either character
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_MAYBE_ARMED = r"^ *[=+\-@\t\r']"  # a cell that ``defuse_formula`` may change starts so
_NEEDS_QUOTES = '[",\r\n]'  # what makes the csv module quote a cell (QUOTE_MINIMAL, CRLF rows)
_TEXT = pa.large_string()
_STR = pd.Series(["text"]).dtype  # pandas' Arrow-backed text
Added = str | Callable[[int, int], pa.Array]  # a column ``write_csv`` adds: its text on every row, or rows start:stop


def _byte_table(chars: bytes) -> np.ndarray:
    """A lookup table of the 256 byte values: True for those in ``chars``."""
    table = np.zeros(256, bool)
    table[np.frombuffer(chars, dtype=np.uint8)] = True
    return table


_MAYBE_FIRST = _byte_table(b" =+-@\t\r'")  # the first bytes _MAYBE_ARMED can match
_QUOTED_BYTES = tuple(b'",\r\n')  # the characters of _NEEDS_QUOTES, one byte each in UTF-8 (the quote first)
ROWS_PER_PIECE = 200_000  # rows of a long table turned into text at a time by ``write_csv``
_HUNDREDTHS = pa.array([f".{f // 10}" if f % 10 == 0 else f".{f:02d}" for f in range(100)], _TEXT)  # .0 .01 ... .99
JOIN_ROWS = 4_096  # rows joined into one line buffer at a time (~2.6 MB of violations, reused: ``_joined``)


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
    table = _arrow_table(frame) if float_format is None else None
    text = b"".join(table).decode("utf-8") if table is not None else _pandas_table(frame, float_format)
    return _comments(header_lines) + text


def csv_bytes(frame: pd.DataFrame, *, float_format: str | None = None, bom: bool = True,
              header_lines: Sequence[str] = ()) -> bytes:
    """``csv_text`` as UTF-8 bytes, with a byte-order mark when ``bom`` (spreadsheets then read
    accents right; HgWatch's reader takes either)."""
    return b"".join(_pieces(frame, float_format, bom, header_lines))


def _pieces(frame: pd.DataFrame, float_format: str | None, bom: bool,
            header_lines: Sequence[str]) -> list[bytes | pa.Buffer]:
    """The bytes of ``csv_bytes`` in pieces (the rows stay in Arrow's buffer until written)."""
    encoding = "utf-8-sig" if bom else "utf-8"
    table = _arrow_table(frame) if float_format is None else None
    if table is None:
        return [(_comments(header_lines) + _pandas_table(frame, float_format)).encode(encoding)]
    return [_comments(header_lines).encode(encoding), *table]


def _comments(header_lines: Sequence[str]) -> str:
    """The ``# `` comment lines written before the table."""
    return "".join("# " + re.sub(r"[\r\n]+", " ", line) + LINE_END for line in header_lines)


def write_csv(frame: pd.DataFrame, path: str | Path, *, float_format: str | None = None,
              bom: bool = True, rows_per_piece: int = ROWS_PER_PIECE,
              added: Sequence[tuple[str, Added]] = ()) -> Path:
    """Write ``csv_bytes(frame)`` to ``path`` (callers that need atomicity pass a temporary
    path, see ``layers.io.safefile.atomic_path``); returns the path. A long table goes out
    ``rows_per_piece`` rows at a time, so that its text is never all in memory at once (issue 13:
    1.4 million violations); the bytes are those of ``csv_bytes``.

    ``added`` are text columns written after the frame's, each ``(name, text)`` (the same text on
    every row) or ``(name, make)`` with ``make(start, stop)`` the Arrow text of rows ``start:stop``
    (missing is empty): the bytes are those of the frame with these columns added as text, but a
    constant is never built and a made column is made a piece at a time (an export's ``hgw_sources``,
    1.6 kB a row, was 426 MB of 258,638 violations; a polygon's WKT is ~700 bytes), unless the table
    goes through pandas (then they are, whole). Their names must not be the frame's."""
    path = Path(path)
    if set(map(str, frame.columns)) & {name for name, _ in added}:
        raise ValueError(f"added columns {[n for n, _ in added]} already in the frame")
    with path.open("wb") as out:
        if float_format is None and len(frame) and _write_pieces(frame, out, bom, rows_per_piece, added):
            return path
        out.seek(0)
        out.truncate()
        for piece in _pieces(_with_added(frame, added), float_format, bom, ()):
            out.write(piece)
    return path


def _with_added(frame: pd.DataFrame, added: Sequence[tuple[str, Added]], start: int = 0) -> pd.DataFrame:
    """``frame`` (rows ``start:`` of the caller's) with the ``added`` columns of ``write_csv`` as
    Arrow-backed text."""
    if not added:
        return frame
    whole = pd.DataFrame(frame).copy(deep=False)  # (copy on write: the caller's frame keeps its columns)
    for name, value in added:
        text = repeated_text(value, len(whole)) if isinstance(value, str) else value(start, start + len(whole))
        whole[name] = pd.Series(pd.array(text, dtype=_STR), index=whole.index)
    return whole


def _write_pieces(frame: pd.DataFrame, out: BinaryIO, bom: bool, rows: int,
                  added: Sequence[tuple[str, Added]] = ()) -> bool:
    """The Arrow path of ``csv_bytes`` ``rows`` rows at a time into ``out``; False as soon as a
    slice holds a column that path leaves to pandas (the caller then starts again, whole).

    With more than one piece, a piece's rows are joined and written on a side thread while the next
    piece's cells are made (Arrow's kernels and the file's writes release Python's lock); one piece
    is in flight at a time, and none is left writing when this returns or raises."""
    if len(frame) <= rows:
        return _write_piece(frame, out, bom, 0, added, None)
    with ThreadPoolExecutor(1, thread_name_prefix="csv-rows") as writer:
        pending: list[Future[bool]] = []
        try:
            for start in range(0, len(frame), rows):
                if not _write_piece(frame.iloc[start:start + rows], out, bom, start, added, (writer, pending)):
                    return False
            return all(done.result() for done in pending)
        finally:
            wait(pending)


def _write_piece(part: pd.DataFrame, out: BinaryIO, bom: bool, start: int, added: Sequence[tuple[str, Added]],
                 side: tuple[ThreadPoolExecutor, list[Future[bool]]] | None) -> bool:
    """One piece of ``_write_pieces`` (rows ``start:`` of the frame): its rows written here, or handed to
    the side thread of ``side`` once the piece before has been written; False as ``_write_pieces``."""
    constants = [(name, value) for name, value in added if isinstance(value, str)]
    made = [(name, value) for name, value in added if not isinstance(value, str)]
    if made and constants and added[-len(constants):] != constants:  # (a constant before a made column)
        part, constants = _with_added(part, added, start), []
    elif made:
        part = _with_added(part, made, start)
    table = _arrow_cells(part, constants)
    if table is None:
        return False
    head, cells = table
    if side is not None and side[1] and not side[1].pop().result():
        return False
    if not start:
        out.write(_comments(()).encode("utf-8-sig" if bom else "utf-8") + head)
    if side is None:
        return _write_rows(cells, len(part), out)
    side[1].append(side[0].submit(_write_rows, cells, len(part), out))
    return True


def _write_rows(cells: list[pa.Array | pa.Scalar], rows: int, out: BinaryIO) -> bool:
    """Write the rows of ``cells`` (``_joined``) to ``out``; False when Arrow cannot join them."""
    try:
        for piece in _joined(cells, rows):
            out.write(piece)
    except (pa.ArrowException, UnicodeError):
        return False
    return True


def _pandas_table(frame: pd.DataFrame, float_format: str | None) -> str:
    """The header and rows through pandas' ``to_csv``: any table, any ``float_format``."""
    buf = io.StringIO()
    safe, headers = defused(frame)
    safe.to_csv(buf, index=False, header=headers, float_format=float_format, lineterminator=LINE_END)
    return buf.getvalue()


def _arrow_table(frame: pd.DataFrame) -> tuple[bytes, bytes | pa.Buffer] | None:
    """The header and the rows of ``_pandas_table(frame, None)`` as UTF-8, built column by column
    with Arrow string kernels; None when a column is of a kind this path does not write (then
    pandas does)."""
    table = _arrow_cells(frame)
    if table is None:
        return None
    head, cells = table
    try:
        pieces = list(_joined(cells, len(frame)))
    except (pa.ArrowException, UnicodeError):
        return None
    return head, pieces[0] if len(pieces) == 1 else b"".join(pieces)


def _joined(cells: list[pa.Array | pa.Scalar], rows: int) -> Iterator[bytes | pa.Buffer]:
    """The rows of ``cells`` as UTF-8, ``JOIN_ROWS`` rows at a time: Arrow's memory pool then reuses
    one buffer of a few megabytes instead of asking the system for fresh pages for the whole table,
    which cost 0.2 s per 100 MB (issue 13); the bytes are those of one join."""
    if not rows:
        yield b""
        return
    for start in range(0, rows, JOIN_ROWS):
        size = min(JOIN_ROWS, rows - start)
        yield _join([c.slice(start, size) if isinstance(c, (pa.Array, pa.ChunkedArray)) else c for c in cells], size)


def _arrow_cells(frame: pd.DataFrame, constants: Sequence[tuple[str, str]] = ()
                 ) -> tuple[bytes, list[pa.Array | pa.Scalar]] | None:
    """The header of ``_arrow_table`` and the written cells of each column (see ``_column_text``),
    then of the ``constants`` of ``write_csv`` (for a frame of at least one row); None when a column
    is of a kind left to pandas."""
    frame = pd.DataFrame(frame)
    ncols = len(frame.columns) + len(constants)
    if not ncols or not frame.columns.is_unique or isinstance(frame.columns, pd.MultiIndex):
        return None
    headers = [str(defuse_formula(str(c))) for c in [*frame.columns, *(name for name, _ in constants)]]
    try:
        cells = [_column_text(frame.iloc[:, i], ncols) for i in range(len(frame.columns))]
        # a constant column's cells as _column_text writes a text column whose cells are all the same
        cells += [_quoted(pa.scalar(defuse_formula(value), _TEXT), ncols) for _, value in constants]
        if any(c is None for c in cells):
            return None
        head = _join([_quoted(pa.scalar(h, _TEXT), ncols) for h in headers], 1)
        return bytes(head), [c for c in cells if c is not None]
    except (pa.ArrowException, UnicodeError):  # e.g. a lone surrogate: let pandas raise its own error
        return None


def _column_text(series: pd.Series, ncols: int) -> pa.Array | pa.Scalar | None:
    """One column as the cells the csv module writes for it (missing values empty, formulas
    defused, quoted where needed); one scalar when every cell is the same; None when the
    column is of a kind left to pandas."""
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype):  # already text (Arrow or Python strings); missing is empty
        text = pa.array(series.array, type=_TEXT, from_pandas=True)
        text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text  # (a concatenated frame's)
        text = pc.fill_null(text, pa.scalar("", _TEXT))
        if _constant(text):  # one cell to defuse and quote (defuse_formula works cell by cell)
            return _quoted(pa.scalar(defuse_formula(text[0].as_py()), _TEXT), ncols)
        return _cells(_defused_text(text), ncols, quote=True)
    if dtype == np.dtype(object) or pd.api.types.is_string_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        values = series.astype(object).to_numpy()
        missing = pd.isna(values)
        if len(values) and missing.all():  # every cell empty: what _cells makes of the empty texts
            return _quoted(pa.scalar("", _TEXT), ncols)
        text = _object_text(values, missing)
        return None if text is None else _cells(text, ncols, quote=True)
    if not isinstance(dtype, np.dtype):  # nullable numbers, dates with a zone, periods...
        return None
    values = series.to_numpy()
    if len(values) > 1 and dtype.kind in "biuf" and dtype.itemsize in (1, 2, 4, 8):
        bits = values.view(f"u{dtype.itemsize}")
        if (bits == bits[0]).all():  # the same number in every row (to the bit: -0.0 is not 0.0): write one
            return _column_text(series.iloc[:1], ncols)  # a column of one row gives the one cell, a scalar
    if dtype.kind == "b":
        return _cells(pc.if_else(pa.array(values), pa.scalar("True", _TEXT), pa.scalar("False", _TEXT)), ncols,
                      quote=False)
    if dtype.kind in "iu":
        return _cells(pa.array(values.astype(str), type=_TEXT), ncols, quote=False)
    if dtype == np.dtype(np.float64) and (text := _hundredths_text(values)) is not None:
        return _cells(text, ncols, quote=False)
    if dtype.kind == "f":  # pandas writes float_format=None floats as numpy's str, NaN empty
        nan = np.isnan(values)
        if nan.all():
            return _cells(pa.array([""] * len(values), type=_TEXT), ncols, quote=False)
        text = values.astype(str).astype(object)
        text[nan] = ""
        return _cells(pa.array(text, type=_TEXT), ncols, quote=False)
    return None


def _hundredths_text(values: np.ndarray) -> pa.Array | None:
    """The text of the float branch of ``_column_text`` (numpy's ``str``, NaN empty) for a column
    whose numbers are all whole hundredths below 1e13 (distances rounded to 0.01 m), written from
    integers with Arrow kernels instead of one Python float repr each; None for any other column.

    Such a number ``x`` is the double nearest ``k / 100``, so the decimal ``k / 100`` reads back as
    ``x``, and no shorter decimal does (doubles below 1e13 are less than 0.01 apart): it is the
    shortest repr that ``str`` writes, in plain decimals from 1e-4 to 1e16."""
    nan = np.isnan(values)
    size = np.abs(np.where(nan, 0.0, values))
    if not (size < 1e13).all():
        return None
    steps = np.rint(size * 100.0)
    if not (steps / 100.0 == size).all():
        return None
    units = steps.astype(np.int64)
    negative = np.signbit(values) & ~nan
    parts = [pc.cast(pa.array(units // 100), _TEXT), _HUNDREDTHS.take(units % 100)]
    if negative.any():  # (a join with a sign column too takes three times as long: distances have none)
        parts.insert(0, pc.if_else(pa.array(negative), pa.scalar("-", _TEXT), pa.scalar("", _TEXT)))
    text = pc.binary_join_element_wise(*parts, pa.scalar("", _TEXT))
    return pc.if_else(pa.array(nan), pa.scalar("", _TEXT), text) if nan.any() else text


def _object_text(values: np.ndarray, missing: np.ndarray) -> pa.Array | None:
    """Text of an object column of strings (``missing``, ``pd.isna``, empty), defused; None
    for a column holding anything else (numbers, dates, bytes: pandas writes those its own way,
    some numbers changed by its defusing pass, and its bytes are the reference)."""
    if pd.api.types.infer_dtype(values[~missing], skipna=False) not in ("string", "empty"):
        return None
    text = values.copy()
    text[missing] = ""
    return _defused_text(pa.array(text, type=_TEXT))


def _defused_text(arr: pa.Array) -> pa.Array:
    """``arr`` with ``defuse_formula`` applied to the cells it changes."""
    if not _first_bytes(arr, _MAYBE_FIRST).any():  # no cell starts with a byte _MAYBE_ARMED starts with
        return arr
    maybe = pc.match_substring_regex(arr, _MAYBE_ARMED).to_numpy(zero_copy_only=False)
    if not maybe.any():
        return arr
    text = arr.to_numpy(zero_copy_only=False).astype(object)
    at = np.flatnonzero(maybe)
    text[at] = [defuse_formula(text[i]) for i in at]
    return pa.array(text, type=_TEXT)


def _cells(text: pa.Array, ncols: int, *, quote: bool) -> pa.Array | pa.Scalar:
    """The written cells of one column; a scalar when they are all the same (a constant column
    is quoted once, and joined as a scalar)."""
    if _constant(text):
        return _quoted(text[0], ncols)
    return _quoted(text, ncols) if quote or ncols == 1 else text


def _constant(text: pa.Array) -> bool:
    """True when ``text`` has cells and they are all the same (three cells first: most columns differ there)."""
    size = len(text)
    return bool(size) and text[size - 1].as_py() == text[0].as_py() == text[size // 2].as_py() \
        and bool(pc.all(pc.equal(text, text[0])).as_py())


def _quoted(cells: pa.Array | pa.Scalar, ncols: int) -> pa.Array | pa.Scalar:
    """Cells as the csv module writes them: in double quotes, quotes doubled, when they hold a
    comma, a quote or a line break; a row of one empty cell is written ``""``."""
    if isinstance(cells, pa.Scalar) and cells.is_valid:  # a header or a constant column: in Python, once
        text = cells.as_py()
        if re.search(_NEEDS_QUOTES, text) or (ncols == 1 and not text):
            text = '"' + text.replace('"', '""') + '"'
        return pa.scalar(text, _TEXT)
    quote = pa.scalar('"', _TEXT)
    if isinstance(cells, pa.Array) and cells.null_count == 0:  # which cells need quotes, from their bytes
        offsets, data = _utf8(cells)
        special, has_quote = _special_bytes(data[offsets[0]:offsets[-1]])
        need = np.zeros(len(cells), bool)
        need[np.searchsorted(offsets, np.flatnonzero(special) + offsets[0], side="right") - 1] = True
        if ncols == 1:
            need |= offsets[1:] == offsets[:-1]
        if not need.any():
            return cells
        inner = pc.replace_substring(cells, '"', '""') if has_quote else cells
        quoted = pc.binary_join_element_wise(quote, inner, quote, pa.scalar("", _TEXT))
        return quoted if need.all() else pc.if_else(pa.array(need), quoted, cells)
    need_ = pc.match_substring_regex(cells, _NEEDS_QUOTES)
    if ncols == 1:
        need_ = pc.or_(need_, pc.equal(pc.utf8_length(cells), 0))
    quoted = pc.binary_join_element_wise(quote, pc.replace_substring(cells, '"', '""'), quote, pa.scalar("", _TEXT))
    return pc.if_else(need_, quoted, cells)


def _special_bytes(data: np.ndarray) -> tuple[np.ndarray, bool]:
    """Where UTF-8 ``data`` holds a byte of ``_QUOTED_BYTES`` (compared byte by byte: a lookup
    table indexed by every byte is several times slower), and whether a quote is among them."""
    quote, *others = _QUOTED_BYTES
    special = data == quote
    has_quote = bool(special.any())
    for byte in others:
        special |= data == byte
    return special, has_quote


def repeated_text(value: str, n: int) -> pa.Array:
    """``n`` times ``value`` as Arrow text, made from its buffers (offsets and the repeated bytes)."""
    data = value.encode("utf-8")
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(np.arange(n + 1, dtype=np.int64) * len(data)),
                                            pa.py_buffer(data * n))


def _utf8(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The row offsets (``len(arr) + 1``) and the UTF-8 bytes of a large_string array without nulls."""
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset:arr.offset + len(arr) + 1]
    data = arr.buffers()[2]
    return offsets, np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)


def _first_bytes(arr: pa.Array, wanted: np.ndarray) -> np.ndarray:
    """Per cell, whether it is not empty and its first byte is one ``wanted`` (a ``_byte_table``) marks."""
    offsets, data = _utf8(arr)
    filled = offsets[1:] > offsets[:-1]
    out = np.zeros(len(filled), bool)
    out[filled] = wanted[data[offsets[:-1][filled]]]
    return out


def _join(columns: list[pa.Array | pa.Scalar], rows: int) -> bytes | pa.Buffer:
    """``rows`` rows of ``columns`` joined by commas, each ending in CRLF, as UTF-8 bytes (a
    slice of Arrow's buffer: the rows are not copied again)."""
    folded: list[pa.Array | pa.Scalar] = []
    for column in columns:  # neighbouring constant columns become one constant: fewer cells to join per row
        if folded and isinstance(column, pa.Scalar) and isinstance(folded[-1], pa.Scalar):
            folded[-1] = pa.scalar(f"{folded[-1].as_py()},{column.as_py()}", _TEXT)
        else:
            folded.append(column)
    last = folded[-1]  # the line end goes on the last cell (on a constant once, not on every row)
    folded[-1] = pa.scalar(last.as_py() + LINE_END, _TEXT) if isinstance(last, pa.Scalar) \
        else pc.binary_join_element_wise(last, pa.scalar("", _TEXT), pa.scalar(LINE_END, _TEXT))
    line = pc.binary_join_element_wise(*folded, pa.scalar(",", _TEXT)) if len(folded) > 1 else folded[0]
    if isinstance(line, pa.Scalar):  # every column is constant: one row, repeated
        return line.as_py().encode("utf-8") * rows
    line = line.combine_chunks() if isinstance(line, pa.ChunkedArray) else line
    offsets = np.frombuffer(line.buffers()[1], dtype=np.int64)[line.offset:line.offset + len(line) + 1]
    data = line.buffers()[2]
    return data.slice(int(offsets[0]), int(offsets[-1] - offsets[0])) if data is not None else b""
