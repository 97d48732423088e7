"""Validate a file larger than memory, a chunk of records at a time (issue 13 C, bounded memory).

GeoParquet is read by record batches (``pyarrow.parquet.ParquetFile.iter_batches``), GeoJSON and
GeoPackage as one stream of Arrow record batches (``gdalread.stream``, pyogrio ``open_arrow``), opened as a whole-file
read opens them (``layers.io.gdalread``: the driver named, a GeoPackage immutable and the edits in a
``-wal`` beside it read from a private copy, nothing written beside the user's file). Each chunk goes
through the same tidying, CRS placement and ``validate`` as a whole-file read; duplicate ids are
found across chunks from the ids alone (kept as compact Arrow strings, not as the layer), and the
problems are put in the order of a whole-file run, so that a chunked run equals a whole-file one.

``validated_chunks`` yields each chunk's validated layer as it goes, so that ``cli.py import``
stores a file larger than memory (``services.imports.load_chunks``). A GeoParquet batch gets the
column dtypes a whole-file read gives: an integer or true/false column that has a missing value
anywhere in the file is read as a whole file reads it (float, object) in every batch.
"""
from __future__ import annotations

import contextlib
import json
from collections.abc import Generator, Iterator
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import pyogrio.errors
from pyproj import CRS

from geo import geomcheck
from geo.errors import InputError, Problem
from layers.catalogue import LayerSpec
from layers.io import gdalread
from layers.io.coerce import is_missing
from layers.io.containers import WalCopies, shared_copies
from layers.io.crs import Placing, Tally
from layers.io.geoparquet import _points as plain_points
from layers.io.nested import flatten_nested, settle
from layers.io.readers import tidy
from layers.io.sniff import KINDS, Sniffed, sniff
from layers.io.validate import OPEN_RING, ROW, UNREADABLE, in_file_order, rename_columns, validate


def read_chunks(path: Path, rows: int, crs: str | None = None) -> Generator[tuple[gpd.GeoDataFrame, list[Problem]]]:
    """The file's records ``rows`` at a time, in EPSG:4326 with a global ``_row`` column, tidied as
    ``layers.io.readers.read_raw`` tidies a whole file (no ``hgw_`` columns, 2D)."""
    with WalCopies() as copies:  # a GeoPackage's -wal: one private copy for the check and the pages
        with copies.active():
            found = sniff(path)
        yield from _tidied(path, found, rows, crs, copies)


def _tidied(path: Path, found: Sniffed, rows: int, crs: str | None,
            copies: WalCopies) -> Iterator[tuple[gpd.GeoDataFrame, list[Problem]]]:
    kind = found.kind
    if kind not in ("parquet", "geojson", "gpkg"):
        raise InputError(f"{path.name}: reading in chunks handles GeoParquet, GeoJSON and GeoPackage; "
                         f"read this {kind} file whole")
    def pages() -> Iterator[gpd.GeoDataFrame]:
        return _parquet_batches(path, rows) if kind == "parquet" else _ogr_pages(path, found, rows, copies)

    start = 0
    placing: Placing | None = None
    tally: Tally | None = None  # the chunks' so far, while the file is judged at its end
    for raw in pages():
        problems: list[Problem] = []
        if placing is None:  # the file's CRS (its first chunk declares it), judged on every geometry
            placing = Placing(path, crs, raw.crs)
            problems = placing.problems
            tally = Tally.of(raw) if placing.judged else None
            if tally is not None and placing.doubtful(tally):  # judged now, on one more read of the whole file,
                placing.judge(sum((Tally.of(page) for page in pages()), Tally()))  # not after all the work
                tally = None
            else:  # the kind of CRS now; the coordinates once every chunk has been tallied
                placing.judge(Tally())
        elif tally is not None:
            tally += Tally.of(raw)
        gdf = tidy(placing.convert(raw))
        gdf[ROW] = np.arange(start + 1, start + len(gdf) + 1)
        start += len(gdf)
        gdf, nested = flatten_nested(gdf, path.name)
        yield gdf, problems + nested
    if placing is not None and tally is not None:  # a first chunk that fitted: the whole file decides
        placing.judge(tally)


def _parquet_batches(path: Path, rows: int) -> Iterator[gpd.GeoDataFrame]:
    parquet = pq.ParquetFile(path)
    meta = json.loads((parquet.schema_arrow.metadata or {}).get(b"geo", b"{}"))
    column = meta.get("primary_column", "geometry")
    crs = meta.get("columns", {}).get(column, {}).get("crs", "OGC:CRS84")
    crs = None if crs is None else CRS.from_json_dict(crs) if isinstance(crs, dict) else CRS.from_user_input(crs)
    widened = _nullable_columns(parquet, column)
    for batch in parquet.iter_batches(batch_size=rows):
        points = plain_points(pa.chunked_array([batch.column(column)]))  # a batch of 2D points: from their coordinates
        decoded = None if points is not None else \
            geomcheck.decode_wkb(np.asarray(batch.column(column).to_pylist(), dtype=object))
        table = pa.Table.from_batches([batch]).drop_columns([column])
        frame = table.to_pandas()
        for name, dtype in widened.items():
            if isinstance(frame[name].dtype, np.dtype) and frame[name].dtype.kind in "iub":
                frame[name] = frame[name].astype(dtype)  # this batch has no missing value; the file has
        gdf = gpd.GeoDataFrame(frame, geometry=points if decoded is None else decoded.geoms, crs=crs)
        if decoded is not None and (any(decoded.open_rings) or any(decoded.unreadable)):
            gdf[OPEN_RING], gdf[UNREADABLE] = decoded.open_rings, decoded.unreadable
        yield gdf


def _nullable_columns(parquet: pq.ParquetFile, geometry: str) -> dict[str, str]:
    """{column: dtype} for the integer and true/false columns that hold a missing value somewhere in
    the file: a whole-file read gives them float64 and object where a batch without one gives a
    numpy int or bool (pandas' own Int64 and boolean, kept in the file's metadata, need nothing).
    Row-group statistics answer; a column without them is read alone (one column, not the layer)."""
    out: dict[str, str] = {}
    meta = parquet.metadata
    leaves = [meta.schema.column(i).path for i in range(meta.num_columns)]
    for field in parquet.schema_arrow:
        if field.name == geometry or not (pa.types.is_integer(field.type) or pa.types.is_boolean(field.type)):
            continue
        stats = [meta.row_group(g).column(leaves.index(field.name)).statistics for g in range(meta.num_row_groups)]
        if all(s is not None and s.has_null_count for s in stats):
            nulls = sum(s.null_count for s in stats if s is not None)
        else:
            nulls = parquet.read(columns=[field.name]).column(field.name).null_count
        if nulls:
            out[field.name] = "float64" if pa.types.is_integer(field.type) else "object"
    return out


def count_records(path: Path) -> int:
    """How many records ``path`` holds: a GeoParquet's footer, or GDAL's count of a GeoJSON or
    GeoPackage opened as a whole read opens it; -1 when it cannot be told (reading it says why).

    A GeoJSON is counted by GDAL's GeoJSON driver alone (``GeoJSON:<path>``: no other driver can
    open it) without ``sniff``, which would read the whole file once more (the chunked read that
    follows sniffs it, and refuses it as a whole read does). ``services.chunked_check`` counts only
    a file whose first chunk is empty."""
    try:
        if path.suffix.lower() == ".parquet":
            return int(pq.ParquetFile(path).metadata.num_rows)
        with shared_copies():  # the check and the count read one copy of a GeoPackage with a -wal
            found = Sniffed("geojson") if KINDS.get(path.suffix.lower()) == "geojson" else sniff(path)
            with gdalread.plain_path(path) as plain:
                gdalread.lock_network()
                return int(pyogrio.read_info(gdalread.sources(plain, found)[""],
                                             **gdalread.open_options(found))["features"])
    except (OSError, ValueError, InputError, pyogrio.errors.DataSourceError):
        return -1


def _ogr_pages(path: Path, found: Sniffed, rows: int, copies: WalCopies) -> Iterator[gpd.GeoDataFrame]:
    """Chunks of ``rows`` features of the GeoJSON or GeoPackage ``path``, opened as ``gdalread``
    reads a whole file (the checked driver and open options; a GeoPackage's ``-wal`` from the copy
    ``copies`` holds, the one its check read; a ring left open noted for validation, where a page
    read straight through pyogrio stopped a chunked check with GEOS's traceback), and read as one
    stream (``gdalread.stream``): a page read by ``skip_features`` made GDAL open the file and read
    it from its start again for every page (a GeoJSON of 6 pages took 2.5 times a whole read)."""
    with contextlib.ExitStack() as stack:
        with copies.active():  # not across the yields below: the caller runs between them
            plain = stack.enter_context(gdalread.plain_path(path))
        yield from gdalread.stream(gdalread.sources(plain, found)[""], gdalread.open_options(found), rows)


def validate_chunks(chunks: Iterator[tuple[gpd.GeoDataFrame, list[Problem]]], spec: LayerSpec, *,
                    source: str, repair: bool = False) -> tuple[int, list[Problem]]:
    """Every problem of the whole file, chunk by chunk; returns (records read, problems).

    Memory: one chunk at a time, plus every id as Arrow text (about 20 bytes an id).
    """
    problems: list[Problem] = []
    count = sum(len(layer) for layer in validated_chunks(chunks, spec, source=source, repair=repair,
                                                         problems=problems, with_errors=True))
    return count, problems


def validated_chunks(chunks: Iterator[tuple[gpd.GeoDataFrame, list[Problem]]], spec: LayerSpec, *,
                     source: str, problems: list[Problem], repair: bool = False,
                     with_errors: bool = False) -> Iterator[gpd.GeoDataFrame]:
    """Each chunk validated (with its ``_row`` column), as it is read; when the last one has been
    yielded, ``problems`` holds every problem of the whole file in the order of a whole-file run.
    The caller must not keep a chunk when the file has an error (known only at the end).

    A chunk's rows with an error of their own (a geometry out of range, NaN or infinite, a line in a
    polygon layer) are left out of what is yielded unless ``with_errors``: a chunked ``check`` runs
    the rules on each chunk before the file's errors are known, and the geodesic kernel met the
    national footprints' one polygon in metres with a traceback where a whole-file check lists the
    file's errors. The file is refused at the end all the same; duplicate ids are found on every row.
    A chunk left with no row is not yielded."""
    found_all: list[Problem] = []
    file_level: set[str] = set()
    parsed_ids: list[pa.Array] = []
    hashes: list[np.ndarray] = []  # of the parsed ids, chunk by chunk (while a chunked check's worker runs the rules)
    raw_ids: list[pa.Array] = []
    rows: list[np.ndarray] = []
    has_ids = False  # some chunk has an id: a chunk whose ids are all empty is then not "no id column"
    empty_chunks: list[tuple[int, int, np.ndarray]] = []  # (its problems in found_all, its rows)
    for gdf, notes in chunks:
        raw = rename_columns(gdf, spec)
        layer, found = validate(gdf, spec, source=source, repair=repair)
        found = settle(notes, found, gdf, spec)
        for p in notes:
            if p.row is None and repr(p) in file_level:
                continue
            file_level.add(repr(p))
            found_all.append(p)
        raw_id = raw[spec.id_field] if spec.id_field in raw.columns else None
        empty_ids = raw_id is not None and len(raw_id) > 0 and bool(is_missing(raw_id).all())
        has_ids = has_ids or (raw_id is not None and not empty_ids and len(raw_id) > 0)
        if raw_id is not None and len(raw_id) != len(layer):  # rows --repair left out (nothing left of them)
            raw_id = raw_id[raw[ROW].isin(layer[ROW]).to_numpy()]
        start = len(found_all)
        wrong: set[int] = set()  # rows with an error of their own (not a duplicate id: found below)
        for p in found:
            if p.kind == "duplicate" or (p.row is None and repr(p) in file_level):
                continue  # duplicates are found across chunks below; whole-file notes once
            if p.row is None:
                file_level.add(repr(p))
            elif p.severity == "error":
                wrong.add(p.row)
            found_all.append(p)
        if empty_ids:
            empty_chunks.append((start, len(found_all), layer[ROW].to_numpy()))
        parsed = _arrow_text(layer[spec.id_field])  # Arrow-backed text as it is: no Python string per id
        parsed_ids.append(parsed if parsed is not None else
                          pa.array(layer[spec.id_field].to_numpy(dtype=object), type=pa.string(), from_pandas=True))
        hashes.append(pd.util.hash_array(parsed_ids[-1].to_numpy(zero_copy_only=False), categorize=False))
        shown = raw_id if raw_id is not None else layer[spec.id_field]
        text = _arrow_text(shown, nulls=False)
        raw_ids.append(text if text is not None else
                       pa.array([None if v is None else str(v) for v in shown.to_numpy(dtype=object)], type=pa.string()))
        rows.append(layer[ROW].to_numpy())
        if wrong and not with_errors:
            layer = layer[~layer[ROW].isin(wrong)]
            if not len(layer):
                continue
        yield layer
    if empty_chunks and has_ids:
        found_all = _ids_missing(found_all, empty_chunks, spec.id_field, source)
    found_all += _duplicates(parsed_ids, hashes, raw_ids, rows, spec.id_field, source)
    problems += in_file_order(found_all, spec.field_names)  # as a whole-file read orders them


def _ids_missing(found: list[Problem], empty_chunks: list[tuple[int, int, np.ndarray]], field: str,
                 source: str) -> list[Problem]:
    """``found`` as a whole-file run gives it when some chunks' ids are all empty but the file has ids:
    ``validate`` read those chunks as having no id column (ids generated, a warning); the file has
    one, so each of their rows is "required value is missing" and their problems name no id."""
    out: list[Problem] = []
    done = 0
    listed = {p.row for p in found if p.kind == "nested" and p.field == field}  # a list was there: said so
    for start, end, chunk_rows in empty_chunks:
        out += found[done:start]
        out += [replace(p, feature_id=None) for p in found[start:end] if p.kind != "generated"]
        out += [Problem(source, int(r), field, None, "required value is missing", "error", None, "missing")
                for r in chunk_rows if int(r) not in listed]
        done = end
    out += found[done:]
    return [p for p in out if not (p.kind == "generated" and p.field == field)]


def _duplicates(parsed: list[pa.Array], hashed: list[np.ndarray], raw: list[pa.Array], rows: list[np.ndarray],
                field: str, source: str) -> list[Problem]:
    """'duplicate id: already used by record N' for every repeat of an id, across all chunks.

    Memory: the ids are hashed to 64 bits and the hashes sorted (about 25 bytes an id, where a
    dictionary of the ids took 120); only the ids whose hash another id shares are compared as
    text, in file order, so a hash collision never makes a false repeat. ``hashed``: each chunk's
    hashes, made as it was validated.
    """
    if not parsed:
        return []
    ids = pa.chunked_array(parsed, type=pa.string())
    hashes = np.concatenate(hashed)
    order = np.argsort(hashes, kind="stable")
    same = np.flatnonzero(hashes[order[1:]] == hashes[order[:-1]])
    candidates = np.unique(np.concatenate([order[same], order[same + 1]]))  # positions, in file order
    del hashes, order, same
    if not len(candidates):
        return []
    values = ids.take(pa.array(candidates)).to_pylist()
    shown = pa.chunked_array(raw, type=pa.string()).take(pa.array(candidates)).to_pylist()
    row = np.concatenate(rows)
    first_at: dict[str, int] = {}
    found = []
    for position, value, text in zip(candidates.tolist(), values, shown):
        if value is None:
            continue
        if value not in first_at:
            first_at[value] = position
            continue
        found.append(Problem(source, int(row[position]), field, value,
                             f"duplicate id: already used by record {first_at[value] + 1}", "error", text,
                             "duplicate"))
    return found


def _arrow_text(values: pd.Series, *, nulls: bool = True) -> pa.Array | None:
    """``values`` as Arrow text without a Python object per value, when they are Arrow-backed text
    (and, unless ``nulls``, none is missing); else None."""
    made = getattr(values.array, "__arrow_array__", None)
    if made is None or not pd.api.types.is_string_dtype(values.dtype):
        return None
    text = made()
    text = text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)) or (not nulls and text.null_count):
        return None
    return text.cast(pa.string())
