"""Validate a layer against its catalogue spec, collecting every problem before reporting.

``validate`` never stops at the first problem: it returns the cleaned layer together with
every error and warning found, each naming the file, row, feature id, field, bad value and
what was expected, so that a person can fix a file in one pass.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from numpy.typing import NDArray

from geo import geomcheck
from geo.errors import Problem
from layers.catalogue import FieldSpec, LayerSpec
from layers.io.coerce import coerce_field, is_missing, parse_bool, parse_censored, text_array

ROW = "_row"  # column readers add: 1-based record number in the source file
# Columns readers add for records whose geometry GEOS could not build as written (see
# geo.geomcheck.decode_wkb): a polygon ring left open (built closed; described here) and a
# geometry that could not be built at all (None; GEOS's reason here). ``validate`` drops them.
OPEN_RING = "_open_ring"
UNREADABLE = "_unreadable"
# A CSV or XLSX record whose coordinate cells are empty (``layers.io.coordinates``): the column, the
# cell and what was expected, so that the message names the file's own column, not 'geometry'.
EMPTY = "_empty_coordinates"
MARKERS = (ROW, OPEN_RING, UNREADABLE, EMPTY)
CLOSED_RING = "a closed ring (first point = last point)"
EXPECTED = {"str": "text", "int": "a whole number",
            "float": "a number such as 2.5 or 2,5, without thousands separators",
            "bool": "true or false (yes/no, 1/0)", "date": "a date such as 2024-03-31"}
_LONLAT = "longitude in [-180, 180] and latitude in [-90, 90]"
#: what a measurement (a field with a detection flag) that is not a number is told
BELOW_HINT = "; a value below the detection limit (ND, n.d., BDL) is written '<limit', e.g. '<0.1'"
UNIT, MEDIUM = "unit", "medium"
SEVERITIES = ("error", "warning", "info")  # the order problems are listed in (``in_file_order``)
_STR = pd.Series(["text"]).dtype  # pandas' Arrow-backed text ("str")


class _Add(Protocol):
    """Records one problem: record index (0-based, None for the whole file), field, value,
    what was expected, kind and severity."""

    def __call__(self, i: int | np.integer | None, field: str | None, value: object, expected: str,
                 kind: str, severity: str = "error") -> None: ...


def plain(value: object) -> object:
    """``value`` as a message shows it: numpy scalars as Python ones (inf, -4, 3.0, not np.float64(3.0))."""
    return value.item() if isinstance(value, np.generic) else value


def empty_note(field: str, cell: str, expected: str, *, half: bool) -> str:
    """What an ``EMPTY`` column holds for a record: the coordinate column(s), the cell as written, what
    was expected, and whether only one of the two coordinates is there (``half``: an error even in a
    layer whose records may have no location)."""
    return "\t".join(("half" if half else "none", field, cell, expected))


#: an ``EMPTY`` note for a record whose coordinate cell the reader has already said is not a number: the
#: record has no geometry, and "the geometry is null or empty" would say it a second time
SAID = "said\t\t\t"


def _empty_notes(gdf: gpd.GeoDataFrame) -> dict[int, tuple[str, str, str, str]]:
    """The ``EMPTY`` column, read back: {record index: (kind, field, cell, expected)} for the records
    that have a note (none, without looking at a record, when the reader added no such column); kind
    is "half", "none" or "said" (``empty_note``, ``SAID``)."""
    if EMPTY not in gdf.columns:
        return {}
    notes = gdf[EMPTY].to_numpy(dtype=object)
    out: dict[int, tuple[str, str, str, str]] = {}
    for i in np.flatnonzero(pd.notna(notes)).tolist():
        kind, field, cell, expected = str(notes[i]).split("\t", 3)
        out[i] = (kind, field, cell, expected)
    return out


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).strip().lower()).strip("_")


def rename_columns(gdf: gpd.GeoDataFrame, spec: LayerSpec) -> gpd.GeoDataFrame:
    """Map declared names and aliases (any case, spaces or dashes) onto declared field names.

    Columns that match no declared field are kept unchanged, never dropped.
    """
    present = {_key(c): c for c in gdf.columns if c not in (*MARKERS, gdf.geometry.name)}
    mapping: dict[str, str] = {}
    for fs in spec.fields:
        if fs.name in gdf.columns:
            continue
        col = None
        for candidate in (fs.name, *fs.aliases):
            col = present.get(_key(candidate))
            if col is not None and col not in mapping and col not in spec.field_names:
                mapping[col] = fs.name
                break
        else:  # Shapefile (DBF) cuts field names to 10 characters: 'uses_mercu'
            cut = present.get(_key(fs.name)[:10])
            if len(fs.name) > 10 and cut is not None and cut not in mapping:
                mapping[cut] = fs.name
    return gdf.rename(columns=mapping)


def validate(
    gdf: gpd.GeoDataFrame, spec: LayerSpec, *, source: str, repair: bool = False
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Check ``gdf`` (lon/lat, EPSG:4326) against ``spec``.

    Parameters
    ----------
    gdf : the layer as read, with an optional ``_row`` column of source record numbers.
    spec : the layer type's catalogue entry.
    source : file name used in every message.
    repair : repair invalid geometries with ``make_valid`` (each repair is reported as a
        warning); when False, an invalid geometry is an error.

    Returns
    -------
    (layer, problems): the layer with declared fields in their dtypes and extra columns kept
    (without the rows ``repair`` leaves out: make_valid leaves nothing of a line whose points are
    all the same, each said in a warning), and every problem found. The layer must not be stored
    when any problem is an error.
    """
    gdf = rename_columns(gdf, spec)  # a new frame; copy-on-write (pandas 3) keeps the caller's as it was
    rows = gdf[ROW].to_numpy() if ROW in gdf.columns else np.arange(1, len(gdf) + 1)
    problems: list[Problem] = []
    gdf = _ensure_id(gdf, spec, source, problems)
    ids = gdf[spec.id_field]  # as read; looked up only for the rows with a problem

    def add(i: int | np.integer | None, field: str | None, value: object, expected: str, kind: str,
            severity: str = "error") -> None:
        fid = None if i is None else _shown_id(ids.iloc[i])
        problems.append(Problem(source, None if i is None else int(rows[i]), field, plain(value),
                                expected, severity, fid, kind))

    texts: dict[str, pa.Array] = {}  # the text fields as coerce.text_array gives them, each made once
    conflicts: dict[str, tuple[NDArray[np.bool_], pd.Series, pd.Series]] = {}
    for fs in spec.fields:
        _check_field(gdf, fs, add, texts, conflicts)
        if fs.name == UNIT and spec.name == "samples":
            _check_units(gdf, add)
    _check_duplicates(gdf, spec.id_field, add, texts.get(spec.id_field))
    gdf = _check_geometry(gdf, spec, repair, add)
    return gdf, problems


def in_file_order(problems: Sequence[Problem], fields: Sequence[str] = ()) -> list[Problem]:
    """``problems`` in one order for every command (``validate``, ``import``, the Import page, a run in
    chunks): errors, then warnings, then notes (``validate`` prints them under one heading each, and an
    import's refusal lists them so); within each, the file's own problems (no row) first, then record by
    record, and within a record field by field in ``fields``' order (a layer's declared fields; the
    others, the geometry among them, after). Stable: problems of one record and field keep the order
    they were found in, so that without ``fields`` a list already in this order within each record stays
    so (a problem of the whole file put among them moves to the front)."""
    rank = {name: k for k, name in enumerate(fields)}

    def key(p: Problem) -> tuple[int, int, int, int]:
        level = SEVERITIES.index(p.severity) if p.severity in SEVERITIES else len(SEVERITIES)
        return (level, 0, 0, 0) if p.row is None else (level, 1, p.row, rank.get(p.field or "", len(rank)))

    return sorted(problems, key=key)


def _shown_id(value: object) -> str | None:
    """A row's id as its messages show it; None when the row has none (None, NaN, NA or blank text:
    a GeoParquet or GeoJSON null reads as NaN, which would otherwise show as 'id nan')."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    text = str(value)
    return text if text.strip() else None


def _ensure_id(gdf: gpd.GeoDataFrame, spec: LayerSpec, source: str,
               problems: list[Problem]) -> gpd.GeoDataFrame:
    """Generate ids '<file stem>-<row>' when the file has no id column, or one empty in every row
    (a warning): a column with no value holds no id to keep, so it is read as absent rather than
    as one "required value is missing" per row (Peru's riverbank file: 241 rows, every id null)."""
    empty = spec.id_field in gdf.columns and len(gdf) > 0 and _all_missing(gdf[spec.id_field])
    if spec.id_field in gdf.columns and not empty:
        return gdf
    stem = Path(source).stem
    rows = gdf[ROW] if ROW in gdf.columns else pd.Series(range(1, len(gdf) + 1), index=gdf.index)
    gdf[spec.id_field] = pd.Series((f"{stem}-" + pd.Series(rows).astype(str)).to_numpy(dtype=object),
                                   index=gdf.index, dtype=object)  # Python strings, as before
    problems.append(Problem(
        source, None, spec.id_field, None,
        (f"the '{spec.id_field}' column is empty in every row" if empty else f"no '{spec.id_field}' column")
        + f"; ids were generated as '{stem}-<row>'. "
        f"Add a '{spec.id_field}' column{' with values' if empty else ''} to keep ids stable across imports",
        "warning", None, "generated"))
    return gdf


def _all_missing(values: pd.Series, probe: int = 64) -> bool:
    """``is_missing(values).all()``, answered from the first ``probe`` values when one of them is
    present (the usual answer: a column of ids), else from the whole column."""
    if not bool(is_missing(values.iloc[:probe]).all()):
        return False
    return len(values) <= probe or bool(is_missing(values).all())


def _check_field(gdf: gpd.GeoDataFrame, fs: FieldSpec, add: _Add, texts: dict[str, pa.Array],
                 conflicts: dict[str, tuple[NDArray[np.bool_], pd.Series, pd.Series]] | None = None) -> None:
    """Check one declared field; a text field read as text is left in ``texts`` (Arrow strings).

    ``conflicts``: a measurement written '<0.1' whose detection flag says false leaves the rows, the
    flag's values and its own there; they are reported with the flag's field (both fields contradict).
    """
    conflicts = {} if conflicts is None else conflicts
    if fs.name not in gdf.columns:
        if fs.required:
            names = ", ".join([fs.name, *fs.aliases])
            add(None, fs.name, None, f"required field is missing; add a column named one of: {names}",
                "missing")
        return
    raw = gdf[fs.name]
    flag = fs.detection_flag
    text = text_array(raw) if fs.dtype == "str" and flag is None else None
    if text is not None:  # text: stripped once in Arrow; missing and parsed as is_missing and parse_str give them
        texts[fs.name] = text
        missing = pd.Series(text.is_null().to_numpy(zero_copy_only=False), index=raw.index)
        parsed = _text_column(text, raw)
        bad = pd.Series(False, index=raw.index)
    elif flag is not None:  # a measurement: '<0.1' is a value below the detection limit
        missing = is_missing(raw)
        parsed, below, bad = parse_censored(raw)
        if flag not in gdf.columns or is_missing(gdf[flag]).all():
            gdf[flag] = below
        else:
            below_now = below.to_numpy(dtype=bool)
            said, _ = parse_bool(gdf[flag])
            contradicts = below_now & said.eq(False).to_numpy(dtype=bool, na_value=False)
            if contradicts.any():
                conflicts[flag] = (contradicts, gdf[flag], raw)
            gdf[flag] = gdf[flag].where(~below, True)
    else:
        missing = is_missing(raw)
        parsed, bad = coerce_field(raw, fs)
    hint = BELOW_HINT if flag is not None else ""
    for i in np.flatnonzero(bad.to_numpy()):
        add(i, fs.name, raw.iloc[i], f"expected {EXPECTED[fs.dtype]}{hint}", "type")
    if fs.required:
        for i in np.flatnonzero(missing.to_numpy()):
            add(i, fs.name, None, "required value is missing", "missing")
    if fs.allowed is not None:
        parsed = _check_allowed(parsed, raw, fs, add, text)
    if fs.dtype in ("int", "float"):
        _check_range(parsed, fs, add)
    if fs.name in conflicts:
        contradicts, said, measured = conflicts.pop(fs.name)
        for i in np.flatnonzero(contradicts):
            add(i, fs.name, said.iloc[i], f"true or blank: {measured.name} is written {measured.iloc[i]!r}, "
                "below the detection limit, so the two fields contradict; correct one of them", "contradiction")
    gdf[fs.name] = parsed


def _text_column(text: pa.Array, raw: pd.Series) -> pd.Series:
    """A text field's parsed values: Python strings (None where missing), or, when ``raw`` is pandas'
    Arrow-backed text and no value is missing, ``text`` kept as that text (issue 13: a GeoParquet of
    1e6 ids read as Arrow text was turned into 1e6 Python strings, 0.05 s and ~70 MB, that nothing
    needs; a missing value stays None in objects, as every reader's missing text is)."""
    if raw.dtype == _STR and text.null_count == 0:
        return pd.Series(pd.array(text, dtype=_STR), index=raw.index)
    return pd.Series(text.to_numpy(zero_copy_only=False), index=raw.index, dtype=object)

def _check_units(gdf: gpd.GeoDataFrame, add: _Add) -> None:
    """A sample's unit against its medium (``geo.contamination.check_unit``): one problem per row whose
    unit cannot be its medium's (``bananas``, ``mg/kg`` for water), naming the unit and what was
    expected. Each distinct (medium, unit) pair is checked once; rows whose medium is not known or
    whose unit is missing are already reported. pint is loaded only here (samples with units)."""
    if UNIT not in gdf.columns or MEDIUM not in gdf.columns or not len(gdf):
        return
    from geo.contamination.media import MEDIUM_KIND
    from geo.contamination.units import check_unit
    medium_codes, media = pd.factorize(gdf[MEDIUM], use_na_sentinel=True)  # a few distinct values each
    unit_codes, units = pd.factorize(gdf[UNIT], use_na_sentinel=True)
    known = np.isin(medium_codes, np.flatnonzero(pd.Index(media).isin(list(MEDIUM_KIND)))) & (unit_codes >= 0)
    pair = medium_codes.astype(np.int64) * max(len(units), 1) + unit_codes
    why: dict[int, str] = {}
    for code in np.unique(pair[known]).tolist():
        reason = check_unit(str(media[code // max(len(units), 1)]), str(units[code % max(len(units), 1)]))
        if reason is not None:
            why[code] = reason
    refused = known & np.isin(pair, np.fromiter(why, dtype=np.int64, count=len(why)))
    shown = gdf[UNIT].to_numpy(dtype=object)
    for i in np.flatnonzero(refused):
        add(i, UNIT, shown[i], why[int(pair[i])], "unit")


def _check_allowed(parsed: pd.Series, raw: pd.Series, fs: FieldSpec, add: _Add,
                   text: pa.Array | None = None) -> pd.Series:
    """Accept any case and spaces for underscores; report the rest with the closest value.

    Whole-column: each distinct value not written exactly as allowed is keyed once; the closest
    allowed value is looked for only for the values that stay unknown. ``text``: ``parsed`` as
    Arrow strings (``coerce.text_array``), where the exact values are found in one pass.
    """
    allowed = set(fs.allowed or ())
    choices = sorted(allowed)
    hints: dict[str, str] = {}

    def report(rows: NDArray[np.intp], keyed: NDArray[np.object_]) -> None:  # each a value keyed and still unknown
        import difflib  # its suggestions are for files with an unknown value only (issue 13: start-up)

        for i, v in zip(rows.tolist(), keyed.tolist()):
            if v not in hints:
                close = difflib.get_close_matches(v, choices, n=1, cutoff=0.5)
                hints[v] = f"; did you mean {close[0]!r}?" if close else ""
            add(i, fs.name, raw.iloc[i], f"expected one of: {', '.join(choices)}{hints[v]}", "allowed")

    if text is not None:  # Arrow: the values not written exactly as allowed keyed once each, in Arrow
        listed = pc.is_in(text, value_set=pa.array(choices, type=text.type))
        if parsed.dtype == _STR and pc.all(listed).as_py():  # Arrow text, none missing, every value allowed
            return parsed  # as it is: no Python string per value (issue 13)
        off = ~(listed.to_numpy(zero_copy_only=False) | text.is_null().to_numpy(zero_copy_only=False))
        others = np.flatnonzero(off)
        if len(others):
            found = pc.dictionary_encode(text.take(pa.array(others)))
            keys = np.array([_key(u) for u in found.dictionary.to_pylist()], dtype=object)
            codes = found.indices.to_numpy()
            unknown = ~np.isin(keys, choices)[codes]
            report(others[unknown], keys[codes][unknown])
            text = pc.replace_with_mask(text, pa.array(off), pa.array(keys[codes], type=text.type))
        if parsed.dtype == _STR:  # none missing: kept as Arrow text
            return pd.Series(pd.array(text, dtype=_STR), index=parsed.index)
        return pd.Series(text.to_numpy(zero_copy_only=False), index=parsed.index, dtype=object)
    values = parsed.astype(object).where(parsed.notna(), None)
    exact = values.isin(allowed).to_numpy() | values.isna().to_numpy()
    out = values.to_numpy(dtype=object).copy()
    others = np.flatnonzero(~exact)
    if len(others):
        codes, uniques = pd.factorize(pd.Series(out[others], dtype=object))
        keyed = np.array([_key(u) for u in uniques.tolist()], dtype=object)
        out[others] = keyed[codes]
        unknown = ~np.isin(keyed[codes], list(allowed))
        report(others[unknown], keyed[codes][unknown])
    return pd.Series(out, index=parsed.index, dtype=object)


def _check_range(parsed: pd.Series, fs: FieldSpec, add: _Add) -> None:
    unit = f" {fs.unit}" if fs.unit else ""
    values = parsed.astype("float64").to_numpy(na_value=np.nan)
    with np.errstate(invalid="ignore"):
        low = values < fs.minimum if fs.minimum is not None else np.zeros(len(values), bool)
        high = values > fs.maximum if fs.maximum is not None else np.zeros(len(values), bool)
    for i in np.flatnonzero(low | high):
        v = values[i]
        shown = int(v) if fs.dtype == "int" else v  # a whole-number field shows -4, not -4.0
        if low[i]:
            add(i, fs.name, shown, f"impossible value: expected at least {fs.minimum:g}{unit}", "range")
        else:
            add(i, fs.name, shown, f"impossible value: expected at most {fs.maximum:g}{unit}", "range")


def _check_duplicates(gdf: gpd.GeoDataFrame, id_field: str, add: _Add,
                      texts: pa.Array | None = None) -> None:
    """Every repeat of an id; ``texts``: the ids as ``coerce.text_array`` gives them (else made
    from the parsed ids)."""
    ids = gdf[id_field]
    try:  # ids are text: Arrow's hash table finds the repeats (pandas hashes Python objects)
        if texts is None:
            texts = pa.array(ids.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
        dup = pd.Series(repeated(texts))
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        dup = ids.notna() & ids.duplicated(keep=False)
    first_row: dict[object, int] = {}
    for i in np.flatnonzero(dup.to_numpy()):
        value = ids.iloc[i]
        if value in first_row:
            add(i, id_field, value, f"duplicate id: already used by record {first_row[value] + 1}",
                "duplicate")
        else:
            first_row[value] = int(i)


# per text length 0..7 and 8 or more: the bytes of the 8-byte read at its start that are its own, and
# whether its last 8 bytes are read apart (only beyond 8; up to 8 the head holds it whole)
_HEAD_MASK = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [2 ** 64 - 1], dtype=np.uint64)
_TAIL_MASK = np.array([0] * 8 + [2 ** 64 - 1], dtype=np.uint64)


def repeated(texts: pa.Array | pa.ChunkedArray) -> NDArray[np.bool_]:
    """True for every text that occurs more than once in ``texts``; never for a null.

    Exact, and one cheap pass when no text repeats (issue 13: hashing 1e6 ids in Arrow took
    0.14 s): each text gets a 64-bit key from its length and its first and last 8 bytes (the
    whole text when it has at most 16), repeats of these keys are found as numbers, and only
    the texts whose key repeats are compared as texts. Equal texts have equal keys, so no
    repeat is missed; texts that differ but share a key are told apart by the comparison.
    """
    texts = texts.cast(pa.large_string())  # 64-bit offsets, whichever string type came in
    if isinstance(texts, pa.ChunkedArray):  # one buffer (Arrow makes chunks of text beyond 2 GB)
        texts = texts.combine_chunks()
    n = len(texts)
    out = np.zeros(n, dtype=bool)
    valid = texts.is_valid().to_numpy(zero_copy_only=False)
    if n == 0 or not valid.any():
        return out
    _, offset_buffer, data_buffer = texts.buffers()
    offsets = np.frombuffer(offset_buffer, dtype=np.int64, count=n + 1, offset=8 * texts.offset)
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    padded = np.zeros(len(data) + 16, dtype=np.uint8)  # 8 zero bytes either side: every 8-byte read stays inside
    padded[8:8 + len(data)] = data
    words = np.ndarray((len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))  # the 8 bytes at each byte
    start, length = offsets[:-1], np.diff(offsets)
    at = np.minimum(length, 8)  # a short text's bytes are masked out of its 8-byte read; its tail is 0
    head = words[start + 8]
    head &= _HEAD_MASK[at]
    tail = words[start + length]  # the last 8 bytes (head holds a short text whole)
    tail &= _TAIL_MASK[at]
    with np.errstate(over="ignore"):  # in place: the same key as (head * c1) ^ (tail * c2) ^ (length * c3), mixed
        head *= np.uint64(0x9E3779B97F4A7C15)
        tail *= np.uint64(0xC2B2AE3D27D4EB4F)
        key = head
        key ^= tail
        tail[:] = length.view(np.uint64)
        tail *= np.uint64(0x165667B19E3779F9)
        key ^= tail
        key ^= key >> np.uint64(31)  # spread every byte over every bit (splitmix64's finaliser)
        key *= np.uint64(0xBF58476D1CE4E5B9)
        key ^= key >> np.uint64(29)
    every = bool(valid.all())  # the usual column: the first pass takes the keys as they are, no copy of them
    candidates = None if every else np.flatnonzero(valid)
    sub = key if candidates is None else key[candidates]  # the keys of the candidates, in their order
    shift = 0
    for _ in range(3):  # keep the rows whose slice of the key is shared: a repeat's always is
        bits = min(21, max(8, len(sub).bit_length() + 1))  # about two buckets a candidate left
        bucket = ((sub >> np.uint64(shift)) & np.uint64(2 ** bits - 1)).view(np.int64)
        keep = (np.bincount(bucket, minlength=2 ** bits) > 1)[bucket]  # looked up in a table of one byte a bucket
        candidates = np.flatnonzero(keep) if candidates is None else candidates[keep]
        sub = key[candidates]
        shift += bits
    assert candidates is not None
    candidates = candidates[pd.Series(sub).duplicated(keep=False).to_numpy()]
    if len(candidates):
        codes = pc.dictionary_encode(texts.take(pa.array(candidates))).indices.to_numpy()
        out[candidates[np.bincount(codes)[codes] > 1]] = True
    return out


def _notes(gdf: gpd.GeoDataFrame, column: str) -> tuple[NDArray[np.object_], NDArray[np.bool_]]:
    """The reader's notes in ``column`` (None per record when it added none), and where there is one."""
    if column not in gdf.columns:
        return np.full(len(gdf), None, dtype=object), np.zeros(len(gdf), dtype=bool)
    notes = gdf[column]
    out: NDArray[np.object_] = notes.astype(str).to_numpy(dtype=object)
    absent = notes.isna().to_numpy()
    out[absent] = None
    return out, ~absent


def _short_wkt(geom: object, limit: int = 120) -> str:
    """A geometry as WKT for a message, cut to ``limit`` characters."""
    text = shapely.to_wkt(geom, rounding_precision=-1) if geom is not None else "None"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _check_geometry(gdf: gpd.GeoDataFrame, spec: LayerSpec, repair: bool, add: _Add) -> gpd.GeoDataFrame:
    """Whole-column shapely 2 predicates, each computed once; a message is written only for the rows that fail."""
    (open_rings, has_open_ring), (unreadable, has_unreadable) = _notes(gdf, OPEN_RING), _notes(gdf, UNREADABLE)
    empty = _empty_notes(gdf)
    gdf = gdf.drop(columns=[c for c in (OPEN_RING, UNREADABLE, EMPTY) if c in gdf.columns])
    geoms = gdf.geometry.to_numpy()
    checked = geomcheck.checks(geoms, spec.geometry_types)
    lacking = checked.missing & (not spec.geometry_optional)  # a record without geometry, where the layer needs one
    wrong_kind, out_of_range, swapped, invalid = checked.wrong_kind, checked.out_of_range, checked.swapped, checked.invalid
    half = np.zeros(len(geoms), dtype=bool)  # one coordinate of two: an error in any layer
    half[[i for i, e in empty.items() if e[0] == "half"]] = True
    flagged = has_unreadable | has_open_ring | lacking | half | wrong_kind | swapped | out_of_range | invalid
    allowed = ", ".join(spec.geometry_types)
    repaired = geoms.copy() if repair and invalid.any() else geoms
    left_out = np.zeros(len(geoms), dtype=bool)  # under --repair, the rows make_valid leaves nothing of
    for i in np.flatnonzero(flagged):
        if unreadable[i] is not None:
            add(i, "geometry", unreadable[i], f"a {allowed} geometry that GEOS can build", "invalid")
            continue
        if open_rings[i] is not None:
            if not repair:
                add(i, "geometry", open_rings[i], f"{CLOSED_RING}; pass --repair to close it", "invalid")
                continue
            add(i, "geometry", open_rings[i], f"repaired: the ring was closed ({CLOSED_RING})",
                "repaired", "warning")
        note = empty.get(int(i))
        if note is not None and note[0] == "said" and lacking[i]:
            continue  # the reader's error names the cell that is not a coordinate
        if note is not None and (lacking[i] or half[i]):  # the file's own coordinate column(s), named
            add(i, note[1], note[2], note[3] if half[i] else f"{note[3]}; {spec.name} need a location "
                "(a {allowed} geometry) in every record".replace("{allowed}", allowed), "geometry")
            continue
        if lacking[i]:
            add(i, "geometry", None if geoms[i] is None else "EMPTY",
                f"a {allowed} geometry; the geometry is null or empty", "geometry")
            continue
        if wrong_kind[i]:
            add(i, "geometry", geoms[i].geom_type, f"geometry type {allowed} for {spec.name}",
                "geometry_type")
            continue
        if swapped[i]:
            x, y = geoms[i].centroid.x, geoms[i].centroid.y
            add(i, "geometry", f"({x:.6f}, {y:.6f})",
                f"{_LONLAT}; latitude and longitude look swapped: ({y:.6f}, {x:.6f}) would be valid", "swapped")
            continue
        if out_of_range[i]:
            minx, miny, maxx, maxy = geoms[i].bounds
            add(i, "geometry", f"x {minx:.6f}..{maxx:.6f}, y {miny:.6f}..{maxy:.6f}",
                _LONLAT, "range")
            continue
        if invalid[i]:
            reason = geomcheck.invalid_reasons(geoms[i:i + 1])[0]
            if (reason or "").startswith("Invalid Coordinate"):  # NaN or infinite: make_valid would drop the vertex
                add(i, "geometry", reason, f"a {allowed} geometry with finite coordinates ({_LONLAT}); "
                    "--repair does not guess a missing coordinate: fix or remove the row", "invalid")
                continue
            fixed = geomcheck.repair(np.array([geoms[i]], dtype=object), spec.geometry_types)[0]
            if fixed is None or fixed.is_empty:  # collapsed: a line whose points are all the same, a flat ring
                nothing = (f"a {allowed} geometry; {reason}: make_valid leaves nothing of it (its points are "
                           "all the same, or it has no length or area)")
                if repair:
                    left_out[i] = True
                    add(i, "geometry", _short_wkt(geoms[i]), f"{nothing}: the row was left out",
                        "left out", "warning")  # not "repaired": the Import page groups warnings by kind
                else:
                    add(i, "geometry", _short_wkt(geoms[i]),
                        f"{nothing}; remove the row, or pass --repair to leave it out", "invalid")
            elif repair:
                repaired[i] = fixed
                add(i, "geometry", reason, f"repaired with make_valid into a {fixed.geom_type}",
                    "repaired", "warning")
            else:
                add(i, "geometry", reason,
                    "a valid geometry; pass --repair to fix it with make_valid", "invalid")
    if repaired is geoms:
        return gdf
    gdf = gdf.set_geometry(gpd.GeoSeries(repaired, index=gdf.index, crs=gdf.crs))
    return gdf[~left_out] if left_out.any() else gdf
