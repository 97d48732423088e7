"""Importing a user's file: which layers to read from it, reading and validating them, every
problem found (as lines for the CLI, grouped tables for the dashboard). No Streamlit here.
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq

from geo.errors import CRSError, HgWatchError, InputError, Problem
from geo.words import counted, listed, one_of, plural
from layers.catalogue import CATALOGUE, is_restricted_name, spec_for
from layers.io.chunked import read_chunks, validated_chunks
from layers.io.containers import shared_copies, upload_wal_note
from layers.io.readers import Loaded, infer_layer, load_layer, set_fields, source_layers
from layers.io.sniff import KINDS, sniff
from layers.io.validate import ROW, in_file_order
from layers.store.base import SHOWN_IDS, IdsStored, LayerInfo
from services.areas import AREA_LAYER, unit_warnings

SEVERITY_ORDER = ("error", "warning", "info")
AUTO_CHUNK_ABOVE = 2_000_000  # a GeoParquet with more records is imported in chunks ...
CHUNK_ROWS = 1_000_000  # ... of this many records (about 1 GB of memory for points)


def targets(file: str | Path, layer: str | None = None,
            source_layer: str | None = None) -> list[tuple[str | None, str | None]]:
    """(layer type, source layer) pairs to read from ``file``: the one asked for, or every layer
    of a GeoPackage named after a layer type, or (None, None) to infer it from the file name.
    A path that is no file is refused first, before its name is read for a layer type."""
    path = _a_file(file)
    if source_layer or path.suffix.lower() != ".gpkg":
        return [(layer, source_layer)]
    inside = source_layers(path)
    if layer:
        return [(layer, layer if layer in inside else None)]
    known = [name for name in inside if name in CATALOGUE]
    return [(name, name) for name in known] or [(None, None)]


def _a_file(file: str | Path) -> Path:
    """``file`` as a Path; InputError when it is missing or a folder (said before its name is read for a layer type)."""
    path = Path(file)
    if not path.is_file():
        raise InputError(f"{path}: is a folder; expected a file" if path.is_dir() else f"{path}: no such file")
    return path


def load_file(file: str | Path, layer: str | None = None, *, source_layer: str | None = None,
              crs: str | None = None, repair: bool = False, set_values: Mapping[str, str] | None = None,
              progress: Callable[[str], None] | None = None,
              warn: Callable[[list[Problem]], None] | None = None,
              admin_areas: gpd.GeoDataFrame | None = None) -> list[Loaded]:
    """Read and validate every target layer of ``file`` (see ``targets``); InputError at the
    first layer with an error, so nothing is stored from a file with errors. ``progress`` gets
    a message before and after each layer, ``warn`` each layer's warnings.

    Sites, samples and tailings whose ``admin_area`` disagrees with the admin unit that contains
    them get a warning naming both (``services.areas.unit_warnings``), against the file's own
    ``admin_areas`` layer if it has one, else ``admin_areas`` (the workspace's).

    A GeoPackage with a ``-wal`` beside it is copied once, and every layer listing, check and read
    of the import reads that copy (``layers.io.containers.shared_copies``)."""
    loaded = []
    with shared_copies():
        for name, inner in targets(file, layer, source_layer):
            if progress:
                progress(f"reading {file}" + (f" layer {inner}" if inner else ""))
            try:
                item = load_layer(file, name, source_layer=inner, crs=crs, repair=repair,
                                  set_values=dict(set_values or {}), refused="nothing was imported")
            except InputError as exc:
                folded = folded_set_errors(exc.problems, set_values)
                note = inferred_note(file, name, inner, exc)
                if note is None and folded == exc.problems:
                    raise
                errors = sum(p.severity == "error" for p in folded)
                message = (f"{Path(file).name}: {counted(errors, 'problem')}; nothing was imported" if folded != exc.problems
                           else exc.message)
                raise InputError(message + (f" ({note.expected})" if note else ""), folded) from None
            if progress:
                progress(f"validated {len(item.gdf)} {item.layer} features")
            loaded.append(item)
    units = next((i.gdf for i in loaded if i.layer == AREA_LAYER), admin_areas)
    for item in loaded:
        item.warnings[:] = in_file_order(item.warnings + unit_warnings(item.gdf, item.layer, units, Path(file).name),
                                         spec_for(item.layer).field_names)
        if warn:
            warn(item.warnings)
    return loaded


def placed_clash(exc: IdsStored, file: str | Path, rows: Mapping[str, int]) -> IdsStored:
    """``exc`` (an append refused: ids the layer already holds) as the file's own problems: the
    first clashing ids in file order, each with its row in ``file`` (``rows``: id -> row, from
    ``loaded_rows`` or ``chunked_rows``), and, when the ids are the ones generated for a file with
    no id column, why they clash and what to do.

    Generated ids are ``<file stem>-<row>``: the same file gives the same ids at every import, so
    a replacement keeps its sites' ids (``diff``, cases), and so do two files of one name (the
    Ghana and the Amazon AMW ``amw_mining_footprints_2024.geojson``): the message says so.
    """
    name, stem = Path(file).name, Path(file).stem
    expected = f"a {exc.id_field} that {exc.layer} does not already hold"
    first = sorted(exc.ids, key=lambda v: (rows.get(v, float("inf")), v))[:SHOWN_IDS]
    problems = [Problem(name, rows.get(v), exc.id_field, v, expected, kind="duplicate") for v in first]
    advice = None
    if all(v == f"{stem}-{rows.get(v)}" for v in first):
        advice = (f"This file has no '{exc.id_field}' column, so its ids were generated from its name as "
                  f"'{stem}-<row>', and the layer already holds ids generated from a file of the same name. "
                  f"If this is another file, give it a name of its own (e.g. <region>_{name}) or add a "
                  f"'{exc.id_field}' column, then append it again; if it is the same file, its rows are already "
                  "in the layer")
    return IdsStored(exc.workspace, name, exc.layer, exc.id_field, exc.ids, problems=problems, advice=advice)


def loaded_rows(loaded: Sequence[Loaded], exc: IdsStored) -> dict[str, int]:
    """Each clashing id of ``exc`` -> its row in the file ``loaded`` was read from (readers number
    rows from 1 in file order, the frame's index from 0)."""
    item = next((i for i in loaded if i.layer == exc.layer), None)
    if item is None or exc.id_field not in item.gdf.columns or not pd.api.types.is_integer_dtype(item.gdf.index):
        return {}
    wanted = set(exc.ids)
    ids = item.gdf[exc.id_field].astype(str)
    hit = ids[ids.isin(wanted)]
    return {str(v): int(i) + 1 for i, v in zip(hit.index, hit, strict=True)}


def chunked_rows(file: str | Path, exc: IdsStored, *, rows: int, crs: str | None = None, repair: bool = False,
                 set_values: Mapping[str, str] | None = None) -> dict[str, int]:
    """``loaded_rows`` for a file imported in chunks (``load_chunks``, whose chunks are gone): the
    file is read again in chunks of ``rows`` up to the first ``SHOWN_IDS`` clashing ids (the ones
    a refusal lists), so a refusal found in the first chunk reads only that chunk again."""
    path, spec = Path(file), spec_for(exc.layer)
    wanted, found = set(exc.ids), dict[str, int]()
    read = ((set_fields(gdf, spec, dict(set_values or {})), notes) for gdf, notes in read_chunks(path, rows, crs))
    for part in validated_chunks(read, spec, source=path.name, repair=repair, problems=[]):
        ids = part[exc.id_field].astype(str)
        for value, row in zip(ids[ids.isin(wanted)], part[ROW][ids.isin(wanted)], strict=True):
            found.setdefault(value, int(row))
        if len(found) >= min(len(wanted), SHOWN_IDS):
            break
    return found


SET_MARK = "not in the file, given with --set (assumed, not observed):"
RESTRICTED_SET = "(restricted, not shown)"  # what a source says of a value --set gave a restricted field


def set_source(source: str, set_values: Mapping[str, str] | None, filled: Mapping[str, int] | None = None) -> str:
    """``source`` as recorded for a layer whose import filled fields with ``--set``: it says which
    values are not from the file, so that an attribute given to every row (``uses_mercury=true`` on
    satellite footprints, which show where mining is, not whether mercury is used) is never read
    as observed, in the workspace, the checks or an export. ``filled``: how many rows each field
    filled (``Loaded.filled``); a value that filled none is not named, and each named value says
    how many rows it filled. Without it every value given is named. A value given to a restricted field
    (``informant_name=...``) is recorded as ``RESTRICTED_SET``: the source reaches every role (the layer
    list, the Provenance page, partner exports), the value only the layer's own restricted column."""
    named = [(k, v, None if filled is None else filled.get(k, 0)) for k, v in (set_values or {}).items()]
    named = [(k, v, n) for k, v, n in named if n is None or n > 0]
    if not named:
        return source
    given = ", ".join(f"{k}={RESTRICTED_SET if is_restricted_name(k) else v}" + ("" if n is None else f" ({n:,} rows)")
                      for k, v, n in named)  # a restricted value is never written where every role reads
    return f"{source} [{SET_MARK} {given}]"


def appended_provenance(stored: LayerInfo | None, *, source: str, licence: str, accuracy_m: float | None,
                        accuracy_note: str) -> dict[str, object]:
    """The provenance to record when rows from ``source`` are appended to a layer already held
    (``stored``): both sources and licences, and the larger expected error, or unknown (None) when
    either part's is unknown, with a note giving each part's. Without it an append recorded only the
    new file's: rivers (GSHHG, ±500 m) with lakes appended without --accuracy-m became one layer
    of 'lakes' with an unknown error, and the rivers' source and licence were gone."""
    mine: dict[str, object] = {"source": source, "licence": licence, "accuracy_m": accuracy_m,
                               "accuracy_note": accuracy_note}
    if stored is None:
        return mine

    def joined(old: str, new: str) -> str:
        return old if new in old.split("; ") else f"{old}; {new}"

    def error(metres: float | None, note: str) -> str:
        return ("unknown" if metres is None else f"±{metres:g} m") + (f" ({note})" if note else "")

    same = stored.accuracy_m == accuracy_m and stored.accuracy_note == accuracy_note
    return {"source": joined(stored.source, source), "licence": joined(stored.licence, licence),
            "accuracy_m": None if stored.accuracy_m is None or accuracy_m is None else max(stored.accuracy_m, accuracy_m),
            "accuracy_note": accuracy_note if same else
            f"{_plain(stored.source)}: {error(stored.accuracy_m, stored.accuracy_note)}; "
            f"{_plain(source)}: {error(accuracy_m, accuracy_note)}"}


def _plain(source: str) -> str:
    """A recorded source without what ``set_source`` added (the error note names the files only)."""
    return source.split(f" [{SET_MARK}")[0]


def chunk_rows(file: str | Path, asked: int | None) -> int:
    """How many records at a time to import ``file``: ``asked`` when given (0: the whole file at
    once), else ``CHUNK_ROWS`` for a GeoParquet of more than ``AUTO_CHUNK_ABOVE`` records (its
    footer says how many), else 0."""
    if asked is not None:
        if asked < 0:
            raise InputError(f"--chunk-rows {asked}: expected a number of records >= 1, or 0 to read the file whole")
        return asked
    path = Path(file)
    if not path.is_file() or KINDS.get(path.suffix.lower()) != "parquet" or sniff(path).kind != "parquet":
        return 0  # not sniffed unless named as a GeoParquet: a GeoPackage with a -wal would be copied for nothing
    try:
        records = pq.ParquetFile(path).metadata.num_rows
    except (OSError, ValueError):
        return 0  # the whole-file read says why it cannot be read
    return CHUNK_ROWS if records > AUTO_CHUNK_ABOVE else 0


def load_chunks(file: str | Path, layer: str | None = None, *, rows: int, crs: str | None = None,
                repair: bool = False, set_values: Mapping[str, str] | None = None,
                progress: Callable[[str], None] | None = None,
                warn: Callable[[list[Problem]], None] | None = None,
                admin_areas: gpd.GeoDataFrame | None = None,
                filled: dict[str, int] | None = None,
                source_layer: str | None = None) -> tuple[str, Iterator[gpd.GeoDataFrame]]:
    """(layer type, chunks): a GeoParquet, GeoJSON or GeoPackage of one layer read and validated ``rows``
    records at a time, for a file larger than memory (``layers.io.chunked``). The chunks are the rows
    ``load_file`` would give, in order; after the last one the iterator raises InputError with every problem of the whole
    file (the same problems, in the same order, as ``load_file``) when any is an error, so a
    store writing the chunks as they come must keep nothing then (``Workspace.write_layer_chunks``).
    ``warn`` gets the warnings at the end, as ``load_file`` gives them. ``filled`` gets, once the
    last chunk is read, how many kept rows each ``--set`` value filled (``Loaded.filled``: a value
    that filled none is left out), for the source recorded (``set_source``). ``source_layer`` (``--source-layer``)
    must name the GeoPackage's one layer: anything else is refused, never ignored."""
    path = _a_file(file)
    kind = KINDS.get(path.suffix.lower())  # the content is sniffed by the chunked read, as by a whole one
    if kind not in ("parquet", "geojson", "gpkg"):
        raise InputError(f"{path.name}: --chunk-rows imports GeoParquet, GeoJSON and GeoPackage in chunks; "
                         "import this file whole (--chunk-rows 0), or convert it to GeoParquet")
    inside = source_layers(path) if kind == "gpkg" else []
    if len(inside) > 1:
        raise InputError(f"{path.name} holds {len(inside)} layers; --chunk-rows imports a GeoPackage of one layer: "
                         "import it whole (--chunk-rows 0), or one layer to a GeoPackage of its own")
    if source_layer is not None and inside != [source_layer]:
        holds = f"holds the {plural('layer', len(inside))} {listed(inside)}" if inside else "is not a GeoPackage"
        raise InputError(f"{path.name}: --source-layer {source_layer!r}: the file {holds}; --chunk-rows imports"
                         " the one layer of a GeoPackage: name that one, or import the file whole (--chunk-rows 0)")
    name = layer or next((n for n in inside if n in CATALOGUE), None) or infer_layer(path)
    if name is None:
        raise InputError(f"{path.name}: cannot tell the layer type from the file name; "
                         f"pass --layer with {one_of(sorted(CATALOGUE))}")
    spec = spec_for(name)

    counts = {k: 0 for k in set_values or {}}
    lacking: dict[str, pd.Series] = {}  # the rows of the chunk being read that each --set value fills

    def read() -> Iterator[tuple[gpd.GeoDataFrame, list[Problem]]]:
        for gdf, notes in read_chunks(path, rows, crs):
            lacking.clear()
            lacking.update({k: gdf[ROW][gdf[k].isna()] if k in gdf.columns else gdf[ROW] for k in counts})
            yield set_fields(gdf, spec, dict(set_values or {})), notes

    def chunks() -> Iterator[gpd.GeoDataFrame]:
        problems: list[Problem] = []
        units: list[Problem] = []
        done = 0
        for part in validated_chunks(read(), spec, source=path.name, repair=repair, problems=problems):
            for k, lacked in lacking.items():  # of the rows kept, as load_file counts them
                counts[k] += int(lacked.isin(part[ROW]).sum())
            units += unit_warnings(part, name, admin_areas, path.name)  # rows from the file's _row
            part = part.drop(columns=[ROW])
            done += len(part)
            if progress:
                progress(f"validated {done} {name} features")
            yield part
        problems[:] = folded_set_errors(problems, set_values)
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            raise InputError(f"{path.name}: {counted(len(errors), 'problem')}; nothing was imported", problems)
        if filled is not None:
            filled.update({k: n for k, n in counts.items() if n})
        if warn:
            warn(in_file_order([p for p in problems if p.severity != "error"] + units, spec.field_names))

    return name, chunks()


def load_upload(name: str, data: bytes, layer: str | None = None, *,
                crs: str | None = None, source_layer: str | None = None,
                admin_areas: gpd.GeoDataFrame | None = None, repair: bool = False,
                set_values: Mapping[str, str] | None = None) -> Loaded:
    """Read and validate an uploaded file: its bytes saved under its plain name (no folders)
    in a temporary folder, so messages name the file the user chose. ``source_layer`` picks a
    layer of a GeoPackage or KML, or a sheet of a workbook (see ``upload_layers``). With
    ``admin_areas``, a site, sample or tailings whose ``admin_area`` disagrees with its containing
    unit gets a warning naming both (``services.areas.unit_warnings``). A GeoPackage in WAL mode gets a
    warning that edits saved in its ``-wal``, which an upload cannot bring, may be missing.
    ``repair`` and ``set_values`` are the import's ``--repair`` and ``--set``."""
    plain = Path(name).name or "upload"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / plain
        path.write_bytes(data)
        item = load_layer(path, layer, crs=crs, source_layer=source_layer, refused="nothing was imported",
                          repair=repair, set_values=dict(set_values or {}))
    item.warnings[:] = in_file_order(item.warnings + (upload_wal_note(plain, data) if path.suffix.lower() == ".gpkg"
                                                      else []) + unit_warnings(item.gdf, item.layer, admin_areas, plain),
                                     spec_for(item.layer).field_names)
    return item


def upload_layers(name: str, data: bytes) -> list[str]:
    """The layers (GeoPackage, KML) or sheets (XLSX) inside an uploaded file; [] when it has
    one or none, or when it cannot be read (``load_upload`` then says why)."""
    plain = Path(name).name or "upload"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / plain
        path.write_bytes(data)
        try:
            inside = source_layers(path)
        except HgWatchError:
            return []
    return inside if len(inside) > 1 else []


def validate_file(file: str | Path, layer: str | None = None, *, source_layer: str | None = None,
                  crs: str | None = None, repair: bool = False,
                  set_values: Mapping[str, str] | None = None) -> tuple[list[str], list[Problem]]:
    """Check every target layer of ``file`` and change nothing: a line per valid layer, and
    every problem of every layer (errors included). A file that cannot be read at all, or
    whose CRS cannot be used, is an error of the file, not a refusal. A GeoPackage with a ``-wal``
    is copied once for all of it, as ``load_file`` does."""
    with shared_copies():
        return _validate_file(file, layer, source_layer=source_layer, crs=crs, repair=repair, set_values=set_values)


def _validate_file(file: str | Path, layer: str | None, *, source_layer: str | None, crs: str | None, repair: bool,
                   set_values: Mapping[str, str] | None) -> tuple[list[str], list[Problem]]:
    lines: list[str] = []
    problems: list[Problem] = []
    try:
        chosen = targets(file, layer, source_layer)
    except HgWatchError as exc:
        return lines, _as_problems(file, exc)
    for name, inner in chosen:
        try:
            item = load_layer(file, name, source_layer=inner, crs=crs, repair=repair,
                              set_values=dict(set_values or {}))
        except HgWatchError as exc:
            note = inferred_note(file, name, inner, exc)
            problems += folded_set_errors(_as_problems(file, exc), set_values) + ([note] if note else [])
            continue
        problems += item.warnings
        lines.append(f"{file}: {len(item.gdf)} {item.layer} features are valid")
    return lines, problems


def folded_set_errors(problems: list[Problem], set_values: Mapping[str, str] | None) -> list[Problem]:
    """``problems`` with the errors of a value given with ``--set`` (the same error on every row it
    filled: ``--set population=many`` gave 7,197 "expected a whole number" lines for Ghana's places)
    folded into one, naming the flag and the number of rows, where the first of them was."""
    given = {field: value.strip() for field, value in (set_values or {}).items()}
    groups: dict[tuple[str, str], list[Problem]] = {}
    for p in problems:
        if p.severity == "error" and p.row is not None and p.field in given and str(p.value) == given[p.field]:
            groups.setdefault((p.field, p.expected), []).append(p)
    if not groups:
        return problems
    folded = {id(group[0]): Problem(
        group[0].file, None, field, given[field],
        f"{expected} (the value given with --set {field}={given[field]}, in the {counted(len(group), 'row')} that lack"
        f" {field}, from row {group[0].row})", kind=group[0].kind) for (field, expected), group in groups.items()}
    inside = {id(p) for group in groups.values() for p in group}
    return in_file_order([folded.get(id(p), p) for p in problems if id(p) in folded or id(p) not in inside])


def inferred_note(file: str | Path, layer: str | None, source_layer: str | None, exc: HgWatchError) -> Problem | None:
    """When a file whose layer type was read from its name (no --layer) has errors: a note saying
    which type was assumed, so that 241 "geometry type LineString, ... for water_bodies" errors on
    Peru's ``riverbank_not_mining_points.geojson`` (points, named after a river bank) say why water
    bodies were expected, and what to do. None when the type was given, or when no error is one a
    file of another type gives (a geometry of the wrong type, a required column missing)."""
    if layer is not None or source_layer is not None or not isinstance(exc, InputError):
        return None
    if not any(p.kind == "geometry_type" or (p.kind == "missing" and p.row is None) for p in exc.problems
               if p.severity == "error"):  # what a file of another type gives: its geometry, or a column it lacks
        return None
    assumed = infer_layer(file)
    if assumed is None:
        return None
    return Problem(Path(file).name, None, None, None,
                   f"read as layer {assumed}, the type its file name suggests; if the file holds another kind of"
                   f" feature, pass --layer with its type, {one_of(sorted(CATALOGUE))}", "info", kind="inferred")


def _as_problems(file: str | Path, exc: HgWatchError) -> list[Problem]:
    """The problems an error carries, or the error itself as one problem of ``file`` (its
    message without a leading "<file>: " or "<file name>: ", which the problem prints already)."""
    if isinstance(exc, InputError) and exc.problems:
        return exc.problems
    text = exc.message if isinstance(exc, InputError) else str(exc)
    text = text.removeprefix(f"{file}: ").removeprefix(f"{Path(file).name}: ")
    kind = "crs" if isinstance(exc, CRSError) else "unreadable"
    return [Problem(str(file), None, None, None, text, kind=kind)]


def problem_lines(problems: Sequence[Problem]) -> list[str]:
    """Problems grouped by severity, each on one line under a count, in the order given: a file's
    problems come in file order (``layers.io.validate.in_file_order``: record by record, field by field,
    as ``load_layer``, ``load_file``, ``load_chunks`` and ``validate_file`` give them), so that
    ``validate`` lists them as ``import``'s refusal and the Import page do."""
    lines = []
    for severity in SEVERITY_ORDER:
        group = [p for p in problems if p.severity == severity]
        if group:
            lines.append(f"{counted(len(group), severity)}:")
            lines += [f"  {p}" for p in group]
    return lines


def group_problems(problems: Iterable[Problem]) -> list[tuple[str, pd.DataFrame]]:
    """[(heading, table), ...], errors before warnings, biggest group first.

    Values are kept as text (``repr``-free) so the page shows exactly what the file held.
    """
    rows = [{"severity": p.severity, "kind": p.kind, "field": p.field or "(file)",
             "file": p.file, "row": p.row, "id": p.feature_id,
             "value": None if p.value is None else str(p.value), "expected": p.expected}
            for p in problems]
    if not rows:
        return []
    frame = pd.DataFrame(rows)
    groups = []
    for (severity, kind, field), part in frame.groupby(["severity", "kind", "field"], sort=False):
        heading = f"{severity}: {len(part)} x {kind} in field '{field}'"
        rank = (0 if severity == "error" else 1, -len(part))
        groups.append((rank, heading, part.drop(columns=["severity", "kind"])
                       .reset_index(drop=True)))
    groups.sort(key=lambda g: g[0])
    return [(h, t) for _, h, t in groups]
