"""``cli.py check`` on a subject file larger than memory: the subject layer read, validated and
checked a chunk of records at a time (``layers.io.chunked``), the other layers read whole.

A chunked run gives what a whole-file run gives: the same violations in the same order (rule by
rule, subjects in file order), the same summaries (subjects checked and violations summed over the
chunks, the same notes), the same warnings, and the same refusal when the file has an error (known
only when its last chunk has been read, so no violation is given then). That holds for a rule that
judges each subject on its own against layers read whole; a run is chunked only when every rule
chosen does (``why_not_chunked``): one subject layer for all of them, read from one file (a
GeoPackage of one layer: the chunks are read from its only layer), compared
with other layers only (never with itself), by ``within_distance``, ``inside`` or ``attribute``, and
without a ``valid_on`` date (the notes of a dated layer depend on the days of all the subjects).
"""
from __future__ import annotations

import contextlib
import gc
import os
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from itertools import chain
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo import geomcheck
from geo.errors import HgWatchError, InputError, Problem
from geo.rules import Evaluation, run_rules
from geo.rules.evaluate import RuleSummary
from geo.rules.model import Rule, RuleSet
from geo.words import counted, listed
from layers.catalogue import CATALOGUE, spec_for
from layers.io.chunked import count_records, read_chunks, validate_chunks, validated_chunks
from layers.io.readers import gc_paused, load_layer, set_fields, source_layers
from layers.io.validate import ROW
from services import imports

CHUNKED_RELATIONS = ("within_distance", "inside", "attribute")
CHUNK_ROWS = 250_000  # subject records at a time when chunks are automatic: the run also keeps its violations,
# and 250,000 cost no time against 1e6 (bench_check_chunked.py) while reading a third of the memory at once
_NO_GEOMETRY = re.compile(r"^(\d+) subject\(s\) without geometry were not compared$")  # counted per chunk


def why_not_chunked(rules: Sequence[Rule], files: Sequence[tuple[str, str | os.PathLike[str]]]) -> str | None:
    """Why ``rules`` cannot be checked with their subject layer read in chunks from ``files``
    (layer type, path), or None when they can (see the module)."""
    subjects = list(dict.fromkeys(r.subject.layer for r in rules))
    if len(subjects) != 1:
        return (f"the rules {listed(r.id for r in rules)} check several subject layers ({listed(subjects)}); "
                "choose rules of one subject layer with --only")
    subject = subjects[0]
    for rule in rules:
        if subject in (o.layer for o in rule.other):
            return f"rule {rule.id} compares {subject} with itself, so it needs the whole layer"
        if rule.relation not in CHUNKED_RELATIONS:
            return f"rule {rule.id} is a {rule.relation!r} rule, which is checked on whole layers"
        dated = [o.layer for o in rule.other if o.valid_on is not None]
        if dated:
            return f"rule {rule.id} reads {dated[0]} on each subject's date, which is checked on whole layers"
    given = [path for layer, path in files if layer == subject]
    if len(given) != 1:
        return f"{subject} is given in {len(given)} files; chunks are read from one file"
    path = Path(given[0])
    if path.suffix.lower() == ".gpkg" and path.is_file() and len(inside := source_layers(path)) > 1:
        return f"{path.name} holds {len(inside)} layers; chunks are read from a GeoPackage of one layer"
    return None


@dataclass
class _Merged:
    """The evaluations of the chunks, merged as they come."""

    order: dict[str, int]
    parts: list[gpd.GeoDataFrame]
    summaries: list[list[RuleSummary]]

    first: Evaluation | None = None

    def add(self, evaluation: Evaluation) -> None:
        self.first = self.first or evaluation
        if len(evaluation.violations):
            self.parts.append(evaluation.violations)
        self.summaries.append(list(evaluation.summaries))

    def evaluation(self) -> Evaluation:
        """One evaluation equal to the whole-file one."""
        assert self.first is not None, "no chunk was added"
        if not self.parts:
            violations = self.first.violations
        else:
            frame = pd.concat(self.parts, ignore_index=True) if len(self.parts) > 1 else self.parts[0]
            rank = frame["rule_id"].map(self.order).to_numpy()
            in_order = bool((np.diff(rank) >= 0).all())  # one rule: no copy of a large result
            violations = frame if in_order else frame.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)
        return Evaluation(violations, tuple(_merge(list(s)) for s in zip(*self.summaries, strict=True)))


def _merge(chunks: list[RuleSummary]) -> RuleSummary:
    """One rule's summary over every chunk: counts summed, the notes of one chunk with the count of
    subjects without geometry summed over all."""
    first = chunks[0]
    bare, at = 0, None
    notes: list[str] = []
    for summary in chunks:
        kept = []
        for k, note in enumerate(summary.notes):
            if found := _NO_GEOMETRY.match(note):
                bare, at = bare + int(found.group(1)), k
            else:
                kept.append(note)
        if not notes:
            notes = kept
        elif kept and kept != notes:
            raise HgWatchError(f"rule {first.rule_id}: the chunks gave different notes ({'; '.join(notes)}, then "
                               f"{'; '.join(kept)}); "
                               "check this file whole (--chunk-rows 0)")
    if at is not None:
        notes.insert(at, f"{bare} subject(s) without geometry were not compared")
    return RuleSummary(first.rule_id, first.severity, first.title, first.subject_layer,
                       sum(s.checked for s in chunks), sum(s.violations for s in chunks), first.ran,
                       first.assumption, tuple(notes))


@gc_paused()  # while the chunks are made and checked: one young pass a chunk instead (see below)
def run_chunked(ruleset: RuleSet, only: Sequence[str] | None, frames: Mapping[str, gpd.GeoDataFrame],
                subject: str, path: Path, *, rows: int, repair: bool, set_values: Mapping[str, str],
                threads: Callable[[], int]) -> tuple[Evaluation, list[Problem]]:
    """The rules run on ``path`` (layer ``subject``) read ``rows`` records at a time, with the other
    layers ``frames`` read whole: (evaluation, the file's warnings), both as a whole-file run gives
    them. InputError with every problem of the file when it has an error, as ``load_layer`` raises it.
    A rule refusal (a layer missing, a bad ``threads`` setting: ``Settings.threads``) comes after the
    file's own errors, as in a whole-file run.

    With more than one thread (``threads``), the rules of a chunk run on a worker thread, started
    once, while the next chunk is read and validated on this one (two chunks in memory at most);
    the evaluations are merged in chunk order all the same. Each chunk's read, validation and rules
    share its geometries' facts (``geomcheck.sharing``: points made from their coordinates need no
    pass over them). The cyclic collector is paused (``layers.io.readers.gc_paused``, as a whole read
    pauses it): it walked every geometry alive (the other layers, the chunks' violations) again and
    again while each chunk's were made; one young pass per chunk collects what a chunk leaves."""
    block = _sharing()  # the first chunk's, from its read on
    chunks = read_chunks(path, rows)
    head = next(chunks, None)  # an empty layer is one empty chunk (GeoParquet: none); no count of the file first
    if head is None or (not len(head[0]) and count_records(path) == 0):  # empty: the whole-file read says what it says
        chunks.close()
        block.close()
        return _whole(ruleset, only, frames, subject, path, repair=repair, set_values=set_values, threads=threads)
    spec = spec_for(subject)
    rules = [ruleset.rule(r) for r in dict.fromkeys(only)] if only else list(ruleset.rules)
    merged = _Merged({r.id: k for k, r in enumerate(rules)}, [], [])
    problems: list[Problem] = []
    read = ((set_fields(gdf, spec, dict(set_values)), notes) for gdf, notes in chain([head], chunks))
    parts = validated_chunks(read, spec, source=path.name, repair=repair, problems=problems)

    def rules_on(part: gpd.GeoDataFrame) -> Evaluation:
        with geomcheck.sharing():  # the block of this chunk's read when on this thread; the worker's own on the worker
            return run_rules(ruleset, {**frames, subject: part.drop(columns=[ROW])}, schemas=CATALOGUE, only=only,
                             missing="refuse" if only else "skip", threads=threads(),
                             ids_checked=[subject])  # present and unique over the whole file, or it is refused at its end

    pool = ThreadPoolExecutor(1, thread_name_prefix="chunk-rules") if _threads_or_one(threads) > 1 else None
    pending: Future[Evaluation] | None = None  # the rules of the last chunk, running on the worker
    refusal: HgWatchError | None = None
    try:
        while True:
            part = next(parts, None)  # read and validated in ``block``
            if part is not None and refusal is None and len(part):  # else the file is still read to the end:
                if pool is None:  # its own errors come first
                    refusal = _add(merged, partial(rules_on, part))
                else:
                    refusal = _add(merged, pending.result) if pending is not None else None
                    pending = pool.submit(rules_on, part) if refusal is None else None
            block.close()
            gc.collect(0)  # the chunk's cyclic garbage, if any
            if part is None:
                break
            block = _sharing()
        if pending is not None and refusal is None:
            refusal = _add(merged, pending.result)
    finally:
        block.close()
        if pool is not None:
            pool.shutdown(wait=pending is None or pending.done(), cancel_futures=True)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(f"{path.name}: {counted(len(errors), 'problem')}; the file was not used", problems)
    if refusal is not None:
        raise refusal
    warnings = [p for p in problems if p.severity != "error"]
    if not merged.summaries:  # no record at all
        return _whole(ruleset, only, frames, subject, path, repair=repair, set_values=set_values, threads=threads)
    return merged.evaluation(), warnings


def _sharing() -> contextlib.ExitStack:
    """An open ``geomcheck.sharing()`` block of this thread, closed by the caller (``close``)."""
    block = contextlib.ExitStack()
    block.enter_context(geomcheck.sharing())
    return block


def _add(merged: _Merged, evaluated: Callable[[], Evaluation]) -> HgWatchError | None:
    """``evaluated()`` added to ``merged``; the rules' refusal instead, if they refuse."""
    try:
        merged.add(evaluated())
    except HgWatchError as exc:
        return exc
    return None


def _threads_or_one(threads: Callable[[], int]) -> int:
    """``threads()``, or 1 when the setting is bad (the rules refuse it, after the file's errors)."""
    try:
        return threads()
    except HgWatchError:
        return 1


def _whole(ruleset: RuleSet, only: Sequence[str] | None, frames: Mapping[str, gpd.GeoDataFrame], subject: str,
           path: Path, *, repair: bool, set_values: Mapping[str, str],
           threads: Callable[[], int]) -> tuple[Evaluation, list[Problem]]:
    """The rules run on ``path`` read whole (an empty file)."""
    item = load_layer(path, subject, repair=repair, set_values=dict(set_values))
    return run_rules(ruleset, {**frames, subject: item.gdf}, schemas=CATALOGUE, only=only,
                     missing="refuse" if only else "skip", threads=threads()), item.warnings


def file_errors_first(path: Path, subject: str, *, rows: int, repair: bool, set_values: Mapping[str, str]) -> None:
    """Raise the InputError of ``path`` when it has an error, read in chunks (for a later file's
    refusal, which a whole-file run gives only after this file's)."""
    spec = spec_for(subject)
    read = ((set_fields(gdf, spec, dict(set_values)), notes) for gdf, notes in read_chunks(path, rows))
    _, problems = validate_chunks(read, spec, source=path.name, repair=repair)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise InputError(f"{path.name}: {counted(len(errors), 'problem')}; the file was not used", problems)



def chunk_rows(rules: Sequence[Rule], files: Sequence[tuple[str, str | os.PathLike[str]]], asked: int | None) -> int:
    """How many subject records at a time to check ``files``: 0 reads every file whole.

    ``asked`` (``--chunk-rows``) is used as given, and refused with the reason when the rules cannot
    be checked in chunks; without it, a GeoParquet subject file of more than
    ``services.imports.AUTO_CHUNK_ABOVE`` records is read ``CHUNK_ROWS`` at a time when the rules
    allow it, and anything else whole."""
    if asked is not None and asked < 0:
        raise InputError(f"--chunk-rows {asked}: expected a number of records >= 1, or 0 to read the files whole")
    if asked == 0:
        return 0
    if not files:
        if asked is None:
            return 0
        raise InputError(f"--chunk-rows {asked}: chunks are read from --layer files; "
                         "a run on the workspace reads its layers whole")
    why = why_not_chunked(rules, files)
    if why is not None:
        if asked is None:
            return 0
        raise InputError(f"--chunk-rows {asked}: cannot check in chunks: {why}; or read the files whole with --chunk-rows 0")
    if asked is not None:
        return asked
    subject = rules[0].subject.layer
    big = imports.chunk_rows(Path(next(path for layer, path in files if layer == subject)), None)
    return CHUNK_ROWS if big else 0
