"""Rule runs on the workspace or on files: load the layers, run the rules, record, compare.

``check`` is what ``python cli.py check`` calls; ``diff_last_runs`` is ``python cli.py diff``.
The rule file comes in with the ``settings.Settings`` passed; nothing here reads it.
A run on the workspace is recorded in it (time, rule file hash, input layer hashes, counts per
rule, violation ids), so the next run can say what is new, resolved or persisting, and its
violations then open, reopen or mark the cases (``services.cases.sync_run``).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pandas.core.util.hashing import combine_hash_arrays

from geo import geomcheck
from geo.errors import HgWatchError, InputError, Problem, WorkspaceError
from geo.rules import Evaluation, Rule, RuleSet, RunDiff, diff_runs, run_rules
from geo.words import agree, counted, listed, plural
from layers.catalogue import CATALOGUE
from layers.io.containers import shared_copies
from layers.io.export import Provenance
from layers.io.readers import load_layer
from layers.store.base import Store
from layers.store.open import open_store
from services import chunked_check
from settings import Settings

if TYPE_CHECKING:  # the cases are loaded only by a recorded run (a check of files never needs them)
    from services import cases


UNKNOWN_ERROR = "unknown: no expected error was given at import (import --accuracy-m)"
UNKNOWN_ERROR_FILE = "unknown: read from a file, whose expected error HgWatch is not told"


@dataclass(frozen=True)
class CheckOutcome:
    """A finished rule run: its evaluation, where the layers came from, and load warnings."""

    evaluation: Evaluation
    sources: dict[str, list[str]]
    input_hashes: dict[str, str]
    rules_hash: str
    run_id: int | None = None
    warnings: list[Problem] = field(default_factory=list)
    provenance: list[Provenance] = field(default_factory=list)  # of the layers the rules read
    cases: cases.SyncReport | None = None  # what a recorded run did to the cases (services.cases.sync_run)
    # the layers the rules read, as read: freed with the outcome (cli.py's process ends holding it, never freeing them)
    layers: Mapping[str, gpd.GeoDataFrame] = field(default_factory=dict, repr=False)


def _with_site_areas(workspace: Store, frames: dict[str, gpd.GeoDataFrame]) -> dict[str, gpd.GeoDataFrame]:
    """``frames`` plus the sites' ids and admin areas when the rules did not read the sites: a
    tailings case takes the area of the site it names (``services.cases``)."""
    from services import cases

    if cases.SITE_LAYER in frames or not workspace.has(cases.SITE_LAYER):
        return frames
    wanted = [c for c in ("site_id", "admin_area") if c in workspace.columns(cases.SITE_LAYER)]
    return {**frames, cases.SITE_LAYER: workspace.read(cases.SITE_LAYER, columns=wanted)}


@shared_copies()  # a GeoPackage with a -wal: one private copy for its every look and read in the run
def check(settings: Settings, *, only: Sequence[str] | None = None,
          files: Sequence[tuple[str, str | os.PathLike[str]]] = (),
          set_values: Mapping[str, Mapping[str, str]] | None = None, repair: bool = False,
          record: bool = True, chunk_rows: int | None = None,
          read: Callable[[Store, str], gpd.GeoDataFrame] | None = None,
          visible: Callable[[str], bool] | None = None, who: str = "") -> CheckOutcome:
    """Run the rules of ``settings`` on ``files`` (layer type, path) if any are given, else on
    the workspace of ``settings``.

    Parameters
    ----------
    settings : the rule file (``settings.rules``) and the workspace to read and record in.
    only : rule ids to run. Without it every rule runs, and a rule whose layer is absent is
        skipped with a note; with it, an absent layer is refused.
    files : (layer type, path) pairs; several files of one type are concatenated.
    set_values : layer type -> {field: value} for fields the files lack (``--set``).
    repair : repair invalid geometries in the files with make_valid (each repair is a warning).
    record : record a workspace run with ``Store.record_run``.
    chunk_rows : read the subject file of the rules this many records at a time (0: whole; None:
        in chunks above a size, see ``services.chunked_check.chunk_rows``); the result is the same.
    read : how a layer of the store is read, given the store the check opened and the layer (None:
        whole, ``Store.read``); a role that sees less passes ``services.auth.read_layer`` for itself,
        so what it may not see is never read for it.
    visible : False for a stored layer the role may not see at all (``services.auth.may_see_layer``):
        it is not read and counts as absent (its rules are skipped, with a warning saying why);
        a rule named in ``only`` that needs it is refused. ``who`` names the role in those messages.
    """
    ruleset = settings.rules
    selected = [ruleset.rule(r) for r in only] if only else list(ruleset.rules)
    needed = list(dict.fromkeys(lay for r in selected for lay in r.layers))
    warnings: list[Problem] = []
    workspace = open_store(settings.workspace, settings.database_url)
    rows = chunked_check.chunk_rows(selected, files, chunk_rows)
    evaluation = None
    # a whole-file check keeps each read's geometry facts (type ids, None or empty, the coordinates a GeoParquet
    # reader made its points from) for its rules (geomcheck.known): no GEOS pass over the sites again
    with geomcheck.sharing() if files and not rows else contextlib.nullcontext():
        if files:
            chunked = next(k for k, (lay, _) in enumerate(files) if lay == selected[0].subject.layer) if rows else None
            frames, sources, hashes, warnings, at = _load_files(files, set_values or {}, repair, chunked=chunked, rows=rows)
            from services.imports import set_source  # what --set gave is said, as an import says it

            provenance = [Provenance(lay, set_source(src, (set_values or {}).get(lay)), "unknown",
                                     accuracy_note=UNKNOWN_ERROR_FILE)
                          for lay, paths in sources.items() for src in paths]
            if chunked is not None:
                layer, path = files[chunked]
                evaluation, found = chunked_check.run_chunked(
                    ruleset, only, frames, layer, Path(path), rows=rows, repair=repair,
                    set_values=(set_values or {}).get(layer, {}), threads=lambda: settings.threads)
                warnings[at:at] = found  # in file order, as a whole-file run gives them
        else:
            if not workspace.exists():
                raise WorkspaceError(f"workspace {workspace.path} does not exist; import layers"
                                     " first, run `make demo`, or give --layer LAYER=PATH")
            held = {i.layer: i for i in workspace.layers()}
            hidden = [lay for lay in needed if lay in held and visible is not None and not visible(lay)]
            if only and hidden:
                names = [r.id for r in selected if set(r.layers) & set(hidden)]
                raise InputError(f"{plural('rule', len(names))} {listed(names)} {agree(len(names), 'reads', 'read')}"
                                 f" {plural('layer', len(hidden))} {listed(hidden)}, which {who or 'this role'}"
                                 " may not see: an analyst or an admin runs them")
            warnings = [Problem(str(workspace.path), None, None, lay, f"layer restricted: {who or 'this role'} may not"
                                " see it, so it is not read and the rules on it are not run", "warning",
                                kind="restricted") for lay in hidden]
            frames = {lay: read(workspace, lay) if read else workspace.read(lay)
                      for lay in needed if lay in held and lay not in hidden}
            sources = {lay: [held[lay].source] for lay in frames}
            hashes = {lay: frame_hash(frame) for lay, frame in frames.items()}
            provenance = [Provenance(i.layer, i.source, i.licence, i.synthetic, i.accuracy_m,
                                     i.accuracy_note or (UNKNOWN_ERROR if i.accuracy_m is None else ""))
                          for i in held.values() if i.layer in frames]
        if evaluation is None:
            # a layer read from one file was validated whole (a missing or repeated id refused): its ids are not hashed again
            single = [lay for lay in frames if [layer for layer, _ in files].count(lay) == 1]
            evaluation = run_rules(ruleset, frames, schemas=CATALOGUE, only=only,
                                   missing="refuse" if only else "skip", threads=settings.threads, ids_checked=single)
    digest = settings.rules_hash
    run_id, synced = None, None
    if not files and record:
        from services import cases

        run_id = workspace.record_run(
            rules_hash=digest, input_hashes=hashes, counts=evaluation.counts,
            violation_ids=evaluation.violations["violation_id"].tolist())  # not list(): one Python step per id
        synced = cases.sync_run(workspace, evaluation, _with_site_areas(workspace, frames),
                                run_id=run_id)  # one case per violation (issue 12)
    return CheckOutcome(evaluation, sources, hashes, digest, run_id, warnings, provenance, synced, frames)


def _from_files(files: Sequence[tuple[str, str | os.PathLike[str]]],
                set_values: Mapping[str, Mapping[str, str]], repair: bool,
                ) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, list[str]], dict[str, str], list[Problem]]:
    """Every file loaded whole (``_load_files``): frames, sources, hashes, warnings."""
    return _load_files(files, set_values, repair)[:4]


def _load_files(files: Sequence[tuple[str, str | os.PathLike[str]]],
                set_values: Mapping[str, Mapping[str, str]], repair: bool, *, chunked: int | None = None,
                rows: int = 0) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, list[str]], dict[str, str],
                                        list[Problem], int]:
    """Load each file once; its SHA-256 is streamed on a side thread while the reader parses it.

    The file at index ``chunked`` is not loaded (it is read in chunks, ``services.chunked_check``):
    its layer is left out of the frames, and its warnings go at the returned index of the warnings
    (after those of the files before it). When a later file has an error, that
    file's own errors, read in chunks of ``rows``, are raised first, as a whole-file run does."""
    loaded: dict[str, list[gpd.GeoDataFrame]] = {}
    sources: dict[str, list[str]] = {}
    digests: dict[str, list[str]] = {}
    before: list[Problem] = []
    after: list[Problem] = []
    with ThreadPoolExecutor(1, thread_name_prefix="file-digest") as hasher:
        pending = []
        for k, (layer, path) in enumerate(files):
            pending.append((layer, hasher.submit(file_digest, Path(path))))
            sources.setdefault(layer, []).append(str(path))
            if k == chunked:
                continue
            values = dict(set_values.get(layer, {}))
            try:
                with shared_copies():  # a GeoPackage with a -wal: one private copy for its listing, check and read
                    item = load_layer(Path(path), layer, repair=repair, set_values=values)
            except HgWatchError:
                if chunked is not None and k > chunked:
                    chunked_layer, chunked_path = files[chunked]
                    chunked_check.file_errors_first(Path(chunked_path), chunked_layer, rows=rows, repair=repair,
                                                    set_values=set_values.get(chunked_layer, {}))
                raise
            (before if chunked is None or k < chunked else after).extend(item.warnings)
            loaded.setdefault(layer, []).append(item.gdf)
        for layer, digest in pending:
            digests.setdefault(layer, []).append(digest.result())
    frames = {lay: gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)
              if len(parts) > 1 else parts[0] for lay, parts in loaded.items()}
    hashes = {lay: hashlib.sha256("".join(sorted(d)).encode()).hexdigest()
              for lay, d in digests.items()}
    return frames, sources, hashes, before + after, len(before)


def file_digest(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes, read in blocks (never the whole file in memory)."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def frame_hash(frame: gpd.GeoDataFrame) -> str:
    """SHA-256 (hex) of a layer's content: attribute values and geometry WKB, in row order.

    The attribute part is pandas' ``hash_pandas_object(attrs.astype(str), index=False)``: a hash per
    value of its text, combined per row. A column of Python strings (and missing values) is hashed
    from its strings as they are, not through a copy as Arrow strings and their dictionary (five
    times faster on 1e6 distinct ids, the same hashes); every other column goes through ``astype(str)``.
    """
    digest = hashlib.sha256()
    attrs = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    digest.update(",".join(attrs.columns).encode())
    texts = [k for k in range(attrs.shape[1]) if _python_texts(attrs.iloc[:, k])]
    others = [k for k in range(attrs.shape[1]) if k not in texts]
    written = dict(zip(others, (column for _, column in attrs.iloc[:, others].astype(str).items())))
    hashes = [_text_hashes(attrs.iloc[:, k].to_numpy()) if k in texts else pd.util.hash_array(written[k].array)
              for k in range(attrs.shape[1])]
    digest.update(_combined(hashes, len(attrs)).tobytes())
    digest.update(_wkb_bytes(frame.geometry.to_numpy()))
    return digest.hexdigest()


def _python_texts(column: pd.Series) -> bool:
    """True for an object column holding only Python strings and missing values."""
    return column.dtype == object and pd.api.types.infer_dtype(column.to_numpy(), skipna=True) in ("string", "empty")


def _text_hashes(values: np.ndarray) -> np.ndarray:
    """pandas' hash of each string of ``values``; a missing value (text ``astype(str)`` leaves missing)
    hashes as pandas hashes a missing text: the largest uint64."""
    missing = pd.isna(values)
    hashes = pd.util.hash_array(np.where(missing, "", values), categorize=False)
    hashes[missing] = np.iinfo(np.uint64).max
    return hashes


def _combined(hashes: Sequence[np.ndarray], rows: int) -> np.ndarray:
    """The row hashes ``hash_pandas_object`` makes of a frame's column hashes: pandas' own combination
    (CPython's tuple hash), the function it calls itself (not public; tests/test_frame_hash.py holds
    the public ``hash_pandas_object`` as the oracle)."""
    return combine_hash_arrays(iter(hashes), len(hashes), rows)


_POINT_WKB = np.dtype([("order", "u1"), ("kind", "<u4"), ("x", "<f8"), ("y", "<f8")])  # packed: 21 bytes


def _wkb_bytes(geoms: np.ndarray) -> bytes:
    """The WKB of every geometry, one after the other (nothing for a missing one).

    Equal to joining ``shapely.to_wkb`` item by item; a layer of plain 2D points (the common case:
    no Z, no M, none empty or missing) is written straight from its coordinates.
    """
    points = sys.byteorder == "little" and geoms.size > 0 and bool(
        (shapely.get_type_id(geoms) == 0).all() and not shapely.has_z(geoms).any()
        and not shapely.has_m(geoms).any() and not shapely.is_empty(geoms).any())
    if not points:
        return b"".join(wkb or b"" for wkb in shapely.to_wkb(geoms))
    xy = shapely.get_coordinates(geoms)
    record = np.empty(geoms.size, dtype=_POINT_WKB)
    record["order"], record["kind"] = 1, 1  # little-endian, Point
    record["x"], record["y"] = xy[:, 0], xy[:, 1]
    return record.tobytes()


def summary_lines(evaluation: Evaluation) -> list[str]:
    """A table of rules (id, severity, subjects checked, violations) with notes under each."""
    lines = [f"{'rule':<30} {'severity':<9} {'checked':>8} {'violations':>10}"]
    for s in evaluation.summaries:
        mark = "  (distance is an assumption)" if s.assumption else ""
        checked = f"{s.checked:>8}" if s.ran else f"{'-':>8}"
        lines.append(f"{s.rule_id:<30} {s.severity:<9} {checked} {s.violations:>10}{mark}")
        lines += [f"    note: {n}" for n in s.notes]
    lines.append(f"{counted(len(evaluation.violations), 'violation')} in "
                 f"{counted(sum(s.ran for s in evaluation.summaries), 'rule')} run")
    return lines


def accuracy_lines(evaluation: Evaluation, ruleset: RuleSet, provenance: Iterable[Provenance]) -> list[str]:
    """What each spatial rule that ran is worth, given the data it compared: the expected error of
    each of its layers (from ``hgw_layers``, ``import --accuracy-m``), and whether its flags can be
    taken as measured or only as leads for a field visit. The distances are exact; the positions
    are not: a 100 m rule on water good to 500 m (GSHHG) flags sites that may be far from the
    real bank and misses others."""
    parts: dict[str, list[float | None]] = {}
    for p in provenance:  # a layer read from several files: unknown when any part is, else the largest
        parts.setdefault(p.layer, []).append(p.accuracy_m)
    errors = {lay: None if None in found else max(m for m in found if m is not None) for lay, found in parts.items()}
    lines: list[str] = []
    for s in evaluation.summaries:
        rule = next((r for r in ruleset.rules if r.id == s.rule_id), None)
        if s.ran and rule is not None and rule.relation != "attribute":
            lines.append(f"    accuracy {s.rule_id}: {rule_worth(rule, errors, s.violations)}")
    return lines


def rule_worth(rule: Rule, errors: Mapping[str, float | None], violations: int | None = None) -> str:
    """'mining_sites ±10 m, water_bodies ±500 m; positions may be off by up to 510 m together, not
    small against the rule's 100 m: its flags are leads for a field visit, not proof, ...': the
    expected error (``errors``, None: unknown) of each layer a spatial rule compares, and what its
    ``violations`` flags (None: a run not made yet) are worth."""
    layers = list(dict.fromkeys(rule.layers))
    shown = ", ".join(f"{lay} ±{errors[lay]:g} m" if errors.get(lay) is not None else f"{lay} unknown"
                      for lay in layers)
    unknown = [lay for lay in layers if errors.get(lay) is None]
    flags = "its flags are" if violations is None else f"its {counted(violations, 'flag')} {agree(violations, 'is', 'are')}"
    worth = (f"{flags} leads for a field visit, not proof, and sites may be missed" if violations != 0
             else "finding no flag is not proof of compliance either")
    if unknown:
        return f"{shown}; the expected error of {', '.join(unknown)} is unknown: {worth}"
    total = sum(errors[lay] or 0.0 for lay in layers)
    limit = rule.distance_m or 0.0
    if total >= 0.1 * limit if limit else total > 0:
        scale = f"the rule's {limit:g} m" if limit else "a boundary"
        return f"{shown}; positions may be off by up to {total:g} m together, not small against {scale}: {worth}"
    return f"{shown}; positions good to {total:g} m together, small against the rule's {limit:g} m"


@dataclass(frozen=True)
class RunComparison:
    """The last two recorded runs and what changed between them."""

    older: dict[str, object]
    newer: dict[str, object]
    diff: RunDiff


def diff_last_runs(workspace: Store) -> RunComparison:
    """Compare the last two runs recorded in ``workspace``; WorkspaceError if fewer than two."""
    runs = workspace.runs(limit=2)
    if len(runs) < 2:
        raise WorkspaceError(f"workspace {workspace.path} holds {counted(len(runs), 'recorded run')};"
                             " `cli.py diff` needs two: run `cli.py check` again")
    newer, older = runs
    counts = newer["counts"]
    diff = diff_runs(_ids(older["violation_ids"]), _ids(newer["violation_ids"]),
                     new_rules=list(counts) if isinstance(counts, Mapping) else None)
    return RunComparison(older, newer, diff)


def _ids(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, Iterable) else []


def diff_lines(comparison: RunComparison, *, show_ids: bool = True) -> list[str]:
    """Counts of new, resolved and persisting violations per rule, then the ids."""
    old, new, diff = comparison.older, comparison.newer, comparison.diff
    lines = [f"run {old['run_id']} ({old['ran_at']}) -> run {new['run_id']} ({new['ran_at']})"]
    if old["rules_hash"] != new["rules_hash"]:
        lines.append("  the rule file changed between the runs")
    before, after = set(_keys(old["input_hashes"])), set(_keys(new["input_hashes"]))
    changed = sorted(k for k in before & after if _get(old["input_hashes"], k) != _get(new["input_hashes"], k))
    lines.append(f"  layers changed: {', '.join(changed) if changed else 'none'}")
    if before ^ after:  # a run of some rules (--only) reads only their layers: nothing to compare for the others
        lines.append(f"  layers read by one run only (not compared): {', '.join(sorted(before ^ after))}")
    lines.append(f"{'rule':<30} {'new':>6} {'resolved':>9} {'persisting':>11} {'not checked':>12}")
    for rule, c in diff.by_rule().items():
        lines.append(f"{rule:<30} {c['new']:>6} {c['resolved']:>9} {c['persisting']:>11}"
                     f" {c['not_checked']:>12}")
    lines.append(f"total: {len(diff.new)} new, {len(diff.resolved)} resolved,"
                 f" {len(diff.persisting)} persisting, {len(diff.not_checked)} not checked")
    if show_ids:
        for name in ("new", "resolved"):
            lines += [f"  {name}: {vid}" for vid in getattr(diff, name)]
    return lines


def _keys(value: object) -> list[str]:
    return list(value) if isinstance(value, Mapping) else []


def _get(value: object, key: str) -> object:
    return value.get(key) if isinstance(value, Mapping) else None
