"""Turn raw column values into the dtypes the catalogue declares, remembering what failed.

Each ``parse_*`` function takes a pandas Series of raw values (strings, numbers, bools, dates
or None) and returns ``(parsed, bad)``: the parsed Series in the declared dtype with missing
values as NA, and a boolean mask of the rows whose value was present but could not be parsed.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from layers.catalogue import FieldSpec, LayerSpec

# yes/no in the languages of the field forms: English, French, Spanish, Portuguese, German,
# Russian and Kyrgyz (compared after strip() and lower()).
_TRUE = {"true", "t", "yes", "y", "1", "oui", "si", "sí", "sim", "ja", "да", "ооба"}
_FALSE = {"false", "f", "no", "n", "0", "non", "não", "nao", "nein", "нет", "жок"}
# '1,234' could be 1.234 (decimal comma) or 1234 (thousands separator): refused, not guessed.
_AMBIGUOUS_COMMA = re.compile(r"^[-+]?[1-9][0-9]{0,2},[0-9]{3}$")
# what str.strip() removes: Unicode has no white space above U+3000 (tests check every code point),
# so the scan stops there (70 ms less at every start)
_SPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
_PLAIN_DECIMAL = r"^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)$"  # what _decimals casts with Arrow
_WHOLE = r"^[-+]?[0-9]+$"
_CENSORED = re.compile(r"^\s*<\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*$")


def _texts(values: pd.Series) -> pd.Series | None:
    """``values`` stripped exactly as ``str.strip()`` does (pyarrow strings, NA where absent) when
    every present value is text; None when the column holds anything else (then the caller goes
    row by row)."""
    if not (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
        return None
    try:
        array = pa.array(values.array) if hasattr(values.array, "__arrow_array__") else \
            pa.array(values.to_numpy(dtype=object, na_value=None), type=pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid, UnicodeEncodeError):
        return None  # numbers, bools or dates mixed with text, or text that is not UTF-8
    trimmed = pc.utf8_trim(array, characters=_SPACE)
    return pd.Series(pd.arrays.ArrowStringArray(trimmed), index=values.index)


def text_array(values: pd.Series) -> pa.Array | None:
    """``values`` as ``parse_str`` gives them (stripped, blank as missing) but as Arrow strings, so
    that no Python string is made (duplicate ids are found on it); None when ``parse_str`` would
    not read them as text (numbers, mixed values)."""
    if _numeric(values):
        return None
    texts = _texts(values)
    if texts is None:
        return None
    trimmed = pa.array(texts.array)  # one array: a dictionary per chunk would not compare across chunks
    if isinstance(trimmed, pa.ChunkedArray):
        trimmed = trimmed.combine_chunks()
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, trimmed.type), trimmed)


def _numeric(values: pd.Series) -> bool:
    """True for a column of numbers (not bools): whole-column arithmetic applies."""
    return pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)


def is_missing(values: pd.Series) -> pd.Series:
    """True where a value is absent: None, NaN, NA or a blank string."""
    if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values.isna()
    texts = _texts(values)
    if texts is not None:
        return values.isna() | texts.eq("").to_numpy(dtype=bool, na_value=False)
    blank = values.map(lambda v: isinstance(v, str) and not v.strip())
    return values.isna() | blank.astype(bool)


def parse_str(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Text; numbers are written without a trailing '.0' (ids read from spreadsheets)."""

    def one(v: object) -> object:
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v).strip()

    if _numeric(values):  # each distinct number written once, then spread to its rows
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        written = np.array([one(v) for v in uniques.tolist()] + [None], dtype=object)
        return pd.Series(written[codes], index=values.index, dtype=object), pd.Series(False, index=values.index)
    texts = _texts(values)
    if texts is not None:
        missing = texts.isna() | texts.eq("").to_numpy(dtype=bool, na_value=False)
        return texts.astype(object).where(~missing, None), pd.Series(False, index=values.index)
    missing = is_missing(values)
    out = pd.Series([None if m else one(v) for v, m in zip(values, missing)],
                    index=values.index, dtype=object)
    return out, pd.Series(False, index=values.index)


def parse_float(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers; a decimal comma ("1,5") is accepted, anything else non-numeric is bad.

    "1,234" is bad too: it is 1.234 with a decimal comma but 1234 with a thousands separator;
    so are "inf" and "nan" (no measurement or count is infinite, and a missing value is blank).
    """
    if _numeric(values):
        out = values.astype("float64")
        out = out.where(np.isfinite(out.to_numpy()))
        return out, values.notna() & out.isna()
    texts = _texts(values)
    if texts is not None:
        present = texts.notna() & texts.ne("").to_numpy(dtype=bool, na_value=False)
        out = _decimals(texts, present)
        if out is None:
            out = _numbers(texts, present)
        out = out.where(np.isfinite(out.to_numpy()))
        return out, present & out.isna()
    missing = is_missing(values)

    def text(v: object) -> object:
        if not isinstance(v, str):
            return v
        v = v.strip()
        return None if _AMBIGUOUS_COMMA.match(v) else v.replace(",", ".")

    text_values = values.where(~missing).map(text)
    out = pd.to_numeric(text_values.where(~values.map(lambda v: isinstance(v, bool))), errors="coerce")
    out = out.astype("float64")
    out = out.where(np.isfinite(out.to_numpy()))
    bad = ~missing & out.isna()
    return out, bad


def _numbers(texts: pd.Series, present: pd.Series) -> pd.Series:
    """Stripped texts as ``pd.to_numeric`` reads them once a decimal comma is a point (an ambiguous
    comma, and anything not a number, NaN)."""
    ambiguous = texts.str.match(_AMBIGUOUS_COMMA).to_numpy(dtype=bool, na_value=False)
    cleaned = texts.str.replace(",", ".", regex=False).where(present & ~ambiguous)
    return pd.to_numeric(cleaned, errors="coerce").astype("float64")


def _decimals(texts: pd.Series, present: pd.Series) -> pd.Series | None:
    """``_numbers(texts, present)`` with the plain decimals (``-12``, ``3.25``: a sign, digits and one
    point, at most 15 characters) cast by Arrow and only the other texts read by ``pd.to_numeric``
    (issue 13: 1e6 numbers written as text took it 0.4 s). The same doubles: a plain decimal has at
    most 15 digits, a whole number below 2**53 divided by a power of ten up to 1e15, both exact, so
    pandas' parser and Arrow's give the one correctly rounded double. None (the caller reads the whole
    column with ``_numbers``) when no text is a plain decimal, or when pandas' answer could depend on
    the rest of the column: it reads a column of whole numbers as integers, so there ``-0`` is 0.0,
    not -0.0, and a whole number of more than 15 digits may round otherwise."""
    text = pa.array(texts.array)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    plain = pc.fill_null(pc.and_(pc.match_substring_regex(text, _PLAIN_DECIMAL),
                                 pc.less_equal(pc.utf8_length(text), 15)), False)
    rows = plain.to_numpy(zero_copy_only=False)
    if not rows.any():
        return None
    rest = present.to_numpy(dtype=bool) & ~rows
    if rest.any() and pc.any(pc.match_substring_regex(text.filter(pa.array(rest)), _WHOLE)).as_py():
        return None
    decimals = text.filter(plain)
    found = pc.cast(decimals, pa.float64()).to_numpy()
    minus_zero = np.flatnonzero((found == 0) & np.signbit(found))
    if len(minus_zero) and any("." not in t for t in decimals.take(pa.array(minus_zero)).to_pylist()):
        return None  # '-0' (whole): 0.0 or -0.0 as the rest of the column goes
    out = np.full(len(text), np.nan)
    out[rows] = found
    if rest.any():
        out[rest] = _numbers(texts[rest], present[rest]).to_numpy()
    return pd.Series(out, index=texts.index)

def parse_int(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Whole numbers; 3.0 is accepted, 3.5 and 1e300 (beyond 64 bits) are bad."""
    num, bad = parse_float(values)
    # a fraction, or a number no 64-bit whole number holds (1e300 would crash the cast)
    fractional = num.notna() & ((np.floor(num) != num) | (num.abs() >= 2.0 ** 63))
    bad = bad | fractional
    return num.where(~fractional).astype("Int64"), bad


def parse_bool(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """true/false, yes/no, 1/0 and their common translations, case-insensitive."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("boolean"), pd.Series(False, index=values.index)
    if _numeric(values):
        num = values.astype("float64")
        out = pd.Series(pd.NA, index=values.index, dtype="boolean")
        out[num.eq(1)], out[num.eq(0)] = True, False
        return out, values.notna() & out.isna()
    texts = _texts(values)
    if texts is not None:
        present = texts.notna() & texts.ne("").to_numpy(dtype=bool, na_value=False)
        codes, uniques = pd.factorize(texts, use_na_sentinel=True)  # few distinct answers, each looked up once
        lower = [v.lower() for v in uniques.tolist()] + [""]
        no = np.array([v in _FALSE for v in lower])[codes] & present.to_numpy(dtype=bool)
        yes = np.array([v in _TRUE for v in lower])[codes] & present.to_numpy(dtype=bool) & ~no
        out = pd.Series(pd.arrays.BooleanArray(yes, ~(yes | no)), index=values.index)
        return out, present & out.isna()
    missing = is_missing(values)

    def one(v: object) -> object:
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        if isinstance(v, (int, float, np.integer, np.floating)) and v in (0, 1):
            return bool(v)
        text = str(v).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return None

    parsed = [None if m else one(v) for v, m in zip(values, missing)]
    out = pd.Series(parsed, index=values.index, dtype="boolean")
    bad = ~missing & out.isna()
    return out, bad


def parse_date(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """ISO 8601 dates or date-times (ODK/KoBo write both); stored as a day (datetime64)."""
    missing = is_missing(values)
    if pd.api.types.is_datetime64_any_dtype(values):
        out = values.dt.tz_localize(None) if values.dt.tz is not None else values
        return out.dt.normalize().astype("datetime64[ms]"), pd.Series(False, index=values.index)
    out = _few_dates(values, missing)
    if out is None:
        out = _days(values.where(~missing).astype(object))
    bad = ~missing & out.isna()
    return out, bad


def _days(values: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(values, errors="coerce", utc=True, format="ISO8601")
    return parsed.dt.tz_localize(None).dt.normalize().astype("datetime64[ms]")


def _few_dates(values: pd.Series, missing: pd.Series, probe: int = 1000) -> pd.Series | None:
    """``_days`` of a text column with few distinct values (survey days), each distinct text parsed
    once (issue 13: 1e6 dates, 0.21 s against 0.05 s; pandas' own cache still mapped every value
    through an index of the distinct ones). The same days: ISO 8601 with ``utc=True`` reads each text
    by itself. None (the caller parses the whole column) for a column that is not all text, or whose
    first ``probe`` values are more than half distinct (date-times to the second)."""
    if not (pd.api.types.is_string_dtype(values.dtype)
            or (values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) == "string")):
        return None
    head = values.iloc[:probe]
    if head.nunique() * 2 > len(head):
        return None
    codes, uniques = pd.factorize(values.where(~missing), use_na_sentinel=True)
    if not len(uniques):
        return None
    days = _days(pd.Series(np.asarray(uniques, dtype=object), dtype=object)).to_numpy()
    return pd.Series(np.append(days, np.datetime64("NaT", "ms"))[codes], index=values.index, name=values.name)


PARSERS = {"str": parse_str, "float": parse_float, "int": parse_int, "bool": parse_bool,
           "date": parse_date}


def parse_censored(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Split measurements such as '<0.1' into (value, below_detection, bad).

    '<0.1' gives value 0.1 and below_detection True: a value under the detection limit is
    kept as the limit with a flag, never turned into zero.
    """
    if _numeric(values):
        num, bad = parse_float(values)
        return num, pd.Series(False, index=values.index, dtype="boolean"), bad
    texts = _texts(values)
    if texts is not None:
        limit = pd.Series(None, index=values.index, dtype=object)
        marked = np.flatnonzero(texts.str.contains("<", regex=False).to_numpy(dtype=bool, na_value=False))
        for i in marked:  # only the rows written '<...' go through the regular expression
            match = _CENSORED.match(values.iloc[i])
            limit.iloc[i] = match and match.group(1)
        below = limit.notna()
        num, bad = parse_float(texts.where(~below, limit))
        return num, below.astype("boolean"), bad
    matches = values.map(lambda v: _CENSORED.match(v) if isinstance(v, str) else None)
    below = matches.map(lambda m: m is not None)
    stripped = values.where(below.map(lambda b: not b), matches.map(lambda m: m and m.group(1)))
    num, bad = parse_float(stripped)
    return num, below.astype("boolean"), bad


def coerce_field(values: pd.Series, spec: FieldSpec) -> tuple[pd.Series, pd.Series]:
    """Parse ``values`` as ``spec.dtype``; returns (parsed, bad mask)."""
    return PARSERS[spec.dtype](values)


def coerce_types(gdf: pd.DataFrame, spec: LayerSpec) -> pd.DataFrame:
    """Give every declared column of a stored layer its declared dtype (lenient: bad -> NA)."""
    out = gdf.copy()
    for fs in spec.fields:
        if fs.name in out.columns:
            out[fs.name] = coerce_field(out[fs.name], fs)[0]
    return out
