"""Run a rule set on layers: which subjects break which rule, by how much, and next to what.

The engine takes GeoDataFrames and plain objects, never paths. A derived field a filter names
(``geo.rules.derived``, e.g. ``mercury_use``) is computed on the layer before it is filtered.
Distances come from ``geo.distance.nearest_within``: the shortest distance on the WGS84
ellipsoid in metres, to the bank when a water body is a centre line with ``width_m``
(centre-line distance minus half the width, never below 0), with the threshold inclusive
(100.000 m is within 100 m).
"""
from __future__ import annotations

import datetime
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
from pandas.api.types import infer_dtype

from geo import geomcheck
from geo.distance import nearest_within
from geo.errors import CRSError, InputError, Problem
from geo.rules.derived import DERIVED_FIELDS, missing_inputs, with_derived
from geo.rules.model import LayerSchema, OtherRef, Rule, RuleSet
from geo.rules.qualify import days_for, qualifying
from geo.rules.relations import inside_hits, uncovered_subjects
from geo.rules.validity import bad_bounds
from geo.rules.violations import BASIS_BANK, BASIS_EDGE, BASIS_REPORTED, LINE_COLUMN, empty_violations, violation_id_array
from geo.words import agree, counted, listed, plural


@dataclass(frozen=True)
class RuleSummary:
    """How one rule went: subjects checked, violations found, and notes for the user."""

    rule_id: str
    severity: str
    title: str
    subject_layer: str
    checked: int
    violations: int
    ran: bool = True
    assumption: bool = False
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Evaluation:
    """The violations of a run (one row per rule and subject) and a summary per rule."""

    violations: gpd.GeoDataFrame
    summaries: tuple[RuleSummary, ...]

    @property
    def counts(self) -> dict[str, int]:
        """Rule id -> number of violations, for the rules that ran."""
        return {s.rule_id: s.violations for s in self.summaries if s.ran}


def evaluate(ruleset: RuleSet, frames: Mapping[str, gpd.GeoDataFrame], *,
             schemas: Mapping[str, LayerSchema],
             only: Iterable[str] | None = None) -> gpd.GeoDataFrame:
    """The violations of ``ruleset`` on ``frames`` (see :func:`run_rules`), as a GeoDataFrame."""
    return run_rules(ruleset, frames, schemas=schemas, only=only).violations


def run_rules(ruleset: RuleSet, frames: Mapping[str, gpd.GeoDataFrame], *,
              schemas: Mapping[str, LayerSchema], only: Iterable[str] | None = None,
              missing: Literal["refuse", "skip"] = "refuse", threads: int = 1,
              today: datetime.date | None = None, ids_checked: Collection[str] = ()) -> Evaluation:
    """Evaluate every rule (or the rules in ``only``) on the layers in ``frames``.

    Parameters
    ----------
    ruleset : a parsed rule file (``settings.rules.parse_rules``).
    frames : layer type -> GeoDataFrame with a CRS (transformed to EPSG:4326 here).
    schemas : layer type -> declared schema, for id and name fields.
    only : rule ids to run; ``None`` runs all. An unknown id raises ConfigError.
    missing : "refuse" raises InputError when a rule's layer is absent; "skip" leaves that rule
        out with a note in its summary.
    threads : worker threads for the distance kernel (``geo.distance.nearest_within``); the
        result is the same for any number.
    today : the day a subject without a date is checked on, for layers with ``valid_on``
        (``geo.rules.validity``); the current date when None.
    ids_checked : layers whose subject ids the caller has already found present and unique (one
        file validated whole by ``layers.io.validate``, which refuses a missing or repeated id):
        they are not hashed again here (0.12 s at 1e6 sites).

    Returns
    -------
    Evaluation
        ``violations``: GeoDataFrame in EPSG:4326, geometry = the subject, ``nearest_line`` = the
        shortest line from the subject to the nearest feature (None for attribute rules);
        ``distance_m`` in metres rounded to 0.01 m. ``summaries``: one per selected rule.

    Raises
    ------
    InputError, CRSError
        A layer is missing, has no CRS, or has missing or repeated subject ids.
    """
    rules = [ruleset.rule(r) for r in dict.fromkeys(only)] if only is not None \
        else list(ruleset.rules)
    absent = {r.id: [lay for lay in r.layers if lay not in frames] for r in rules}
    _refuse_bad_layers(rules, frames, schemas, absent if missing == "refuse" else {}, set(ids_checked))
    prepared = {name: _prepare(frame) for name, frame in frames.items()}
    id_columns = list(dict.fromkeys(schemas[r.subject.layer].id_field for r in ruleset.rules))
    parts, summaries = [], []
    for rule in rules:
        if absent[rule.id]:
            summaries.append(RuleSummary(rule.id, rule.severity, rule.title, rule.subject.layer,
                                         0, 0, ran=False, assumption=rule.assumption,
                                         notes=(_not_given(absent[rule.id]),)))
            continue
        part, summary = _evaluate_rule(rule, prepared, schemas, threads, today or datetime.date.today())
        parts.append(part)
        summaries.append(summary)
    return Evaluation(_assemble(parts, id_columns), tuple(summaries))


def _not_given(layers: list[str]) -> str:
    """A rule's note when layers it needs were not given, with what to do."""
    one = len(layers) == 1
    return (f"not run: {plural('layer', len(layers))} {listed(layers)} not given; import "
            f"{'it' if one else 'them'} into the workspace, or give {'it' if one else 'each'} with "
            f"check --layer {layers[0]}=FILE")


def _refuse_bad_layers(rules: list[Rule], frames: Mapping[str, gpd.GeoDataFrame],
                       schemas: Mapping[str, LayerSchema], absent: Mapping[str, list[str]],
                       ids_checked: Collection[str] = ()) -> None:
    """Raise once with every missing layer, CRS-less layer and bad subject id column (the ids of
    the layers in ``ids_checked`` are taken as checked)."""
    problems = [Problem(f"layer {lay}", None, None, None,
                        f"rule {rid} needs layer {lay!r}, which was not given", kind="missing")
                for rid, lays in absent.items() for lay in lays]
    no_crs = sorted({lay for r in rules for lay in r.layers
                     if lay in frames and frames[lay].crs is None})
    if no_crs and not problems:
        raise CRSError(f"{plural('layer', len(no_crs))} {listed(no_crs)} {'has' if len(no_crs) == 1 else 'have'} no "
                       "coordinate reference system; HgWatch never"
                       " guesses one: set it in the source file (GeoJSON is lon/lat EPSG:4326)")
    problems += [Problem(f"layer {lay}", None, None, None, "a coordinate reference system",
                         kind="crs") for lay in no_crs]
    for lay in sorted({r.subject.layer for r in rules if r.subject.layer in frames}):
        if lay not in ids_checked or schemas[lay].id_field not in frames[lay].columns:
            problems += _id_problems(frames[lay], lay, schemas[lay].id_field)
    if problems:
        raise InputError("cannot run the rules", problems)


def _id_problems(frame: pd.DataFrame, layer: str, id_field: str) -> list[Problem]:
    """Missing or repeated subject ids: a violation id needs one id per subject."""
    if id_field not in frame.columns:
        return [Problem(f"layer {layer}", None, id_field, None,
                        "an id column (every subject needs an id)", kind="missing")]
    ids = frame[id_field].reset_index(drop=True)
    if ids.is_unique and not ids.hasnans:  # the usual case, in one hash pass
        return []
    out = [Problem(f"layer {layer}", int(i) + 1, id_field, None, "an id", kind="missing")
           for i in np.flatnonzero(ids.isna().to_numpy())]
    dupes = ids[ids.duplicated(keep=False) & ids.notna()]
    out += [Problem(f"layer {layer}", int(i) + 1, id_field, v, "a unique id", kind="duplicate")
            for i, v in dupes.items()]
    return out


def _prepare(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The frame in EPSG:4326 with a 0..n-1 index (a frame without CRS is left as is)."""
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs("EPSG:4326")
    return frame.reset_index(drop=True)


def _evaluate_rule(rule: Rule, frames: Mapping[str, gpd.GeoDataFrame], schemas: Mapping[str, LayerSchema],
                   threads: int, today: datetime.date) -> tuple[pd.DataFrame, RuleSummary]:
    subj = frames[rule.subject.layer]
    notes = [] if len(subj) else [f"layer {rule.subject.layer!r} is empty: nothing to check"]
    read = (rule.subject.where.fields() if rule.subject.where else set()) | (
        rule.reported_if.fields() if rule.reported_if else set())
    lacking = sorted(read - set(subj.columns) - set(DERIVED_FIELDS))
    underived = missing_inputs(subj, read)
    subj = with_derived(subj, read)
    if lacking and len(subj):
        layer, one = rule.subject.layer, len(lacking) == 1
        notes.append(f"{plural('field', len(lacking))} {listed(lacking)}, which this rule reads, "
                     f"{'is' if one else 'are'} absent from layer {layer!r}: treated as missing, so no subject "
                     f"matched on {'it' if one else 'them'}; add {'the column' if one else 'the columns'} to the "
                     f"file, or, where a survey says so, fill {'it' if one else 'them'} with import --set "
                     f"{lacking[0]}=VALUE (check --set {layer}.{lacking[0]}=VALUE for a --layer file)")
    for name in underived if len(subj) else ():  # a derived field: name the fields a user can give
        inputs = list(DERIVED_FIELDS[name].reads)
        notes.append(f"field {name!r} is computed from {listed(inputs, 'or')}, and layer {rule.subject.layer!r} has none of"
                     f" them: no subject matched on it; give one from a field survey (e.g. import --set"
                     f" {inputs[0]}=true only where a survey says so)")
    cand = rule.subject.where.mask(subj) if rule.subject.where else np.ones(len(subj), bool)
    reported = rule.reported_if.mask(subj) if rule.reported_if else np.zeros(len(subj), bool)
    hits = pd.DataFrame({"subject": np.flatnonzero(cand)}) if rule.relation == "attribute" \
        else _spatial_hits(rule, subj, cand, reported, frames, schemas, notes, threads, today)
    checked = int((cand | reported).sum())
    part = _rows(rule, subj, hits, schemas)
    return part, RuleSummary(rule.id, rule.severity, rule.title, rule.subject.layer, checked,
                             len(part), assumption=rule.assumption, notes=tuple(dict.fromkeys(notes)))


def _spatial_hits(rule: Rule, subj: gpd.GeoDataFrame, cand: np.ndarray, reported: np.ndarray,
                  frames: Mapping[str, gpd.GeoDataFrame], schemas: Mapping[str, LayerSchema],
                  notes: list[str], threads: int, today: datetime.date) -> pd.DataFrame:
    """One row per flagged subject with its nearest qualifying feature over all other layers
    (``not_covered``: one row per subject the qualifying features do not wholly cover)."""
    geoms = subj.geometry.to_numpy()
    # None or empty, what GeoSeries.isna / is_empty compute (within geomcheck.sharing(), the read's: not again)
    has_geom = ~geomcheck.known(geoms).missing
    if (cand & ~has_geom).any():
        n = int((cand & ~has_geom).sum())
        notes.append(f"{counted(n, 'subject')} without geometry {agree(n, 'was', 'were')} not compared")
    idx = np.flatnonzero(cand & has_geom)
    for ref in rule.other:
        if ref.valid_on is not None and (bad := bad_bounds(frames[ref.layer], ref.valid_on)):
            notes.append(f"{bad:,} {ref.layer} {plural('feature', bad)} {agree(bad, 'gives', 'give')} a validity"
                         f" bound that is not a date; {agree(bad, 'it counts', 'they count')} on no day")
    if rule.relation == "not_covered":
        spatial = uncovered_subjects(rule, subj, idx, frames, notes, today)
    else:
        best: pd.DataFrame | None = None
        for ref in rule.other:
            found = pd.concat([_nearest(rule, ref, geoms[rows], frames[ref.layer], schemas[ref.layer], notes,
                                        threads, day).assign(subject=lambda f, r=rows: r[f["subject"].to_numpy()])
                               for day, rows in days_for(ref, subj, idx, today)], ignore_index=True)
            best = found if best is None else _closer(best, found)
        spatial = best if best is not None else pd.DataFrame({"subject": np.array([], int)})
    extra = np.flatnonzero(reported)
    if extra.size:  # (with none, setdiff1d would still sort every flagged subject: 0.025 s at 1e5)
        extra = np.setdiff1d(extra, spatial["subject"].to_numpy())
    only_reported = pd.DataFrame({"subject": extra, "distance_basis": BASIS_REPORTED})
    return pd.concat([spatial, only_reported], ignore_index=True).sort_values("subject")


def _nearest(rule: Rule, ref: OtherRef, geoms: np.ndarray, frame: gpd.GeoDataFrame, schema: LayerSchema,
             notes: list[str], threads: int, day: datetime.date | None = None) -> pd.DataFrame:
    """Nearest qualifying feature of ``ref``'s layer for each subject geometry within range."""
    targets = frame[qualifying(rule, ref, frame, notes, day)].reset_index(drop=True)
    if not len(targets):
        notes.append(f"no {ref.layer} features to compare with"
                     + (f" valid on {day.isoformat()}" if day is not None else ""))
    if not len(targets) or not len(geoms):
        return pd.DataFrame({"subject": np.array([], int)})
    if rule.relation == "inside":
        found = inside_hits(geoms, targets.geometry.to_numpy())
    else:
        found = _within(rule, ref, geoms, targets, threads)
    at = found["target"].to_numpy()
    tid = targets[schema.id_field] if schema.id_field in targets else pd.Series(targets.index)
    bulk = len(found) > 0  # with no rows: what the frame makes of a scalar and of no objects
    found["nearest_layer"] = _repeat(ref.layer, len(found)) if bulk else ref.layer
    ids = tid.iloc[at].astype(str)
    found["nearest_id"] = ids.array if bulk and ids.dtype == _TEXT else ids.to_numpy(dtype=object)
    label = schema.label_field
    if label and label in targets:
        names = targets[label].iloc[at]
        found["nearest_name"] = names.astype(object).where(names.notna(), None).to_numpy()
    else:  # no names: None for every row, as the Series of Nones gave it
        found["nearest_name"] = np.full(len(at), None, dtype=object)
    if ref.source_field and ref.source_field in targets:
        src = targets[ref.source_field].iloc[at]
        found["nearest_source"] = src.astype(object).where(src.notna(), None).to_numpy()
    return found.drop(columns=["target"])


def _within(rule: Rule, ref: OtherRef, geoms: np.ndarray,
            targets: gpd.GeoDataFrame, threads: int) -> pd.DataFrame:
    """Candidates within distance, through the exact geodesic kernel."""
    assert rule.distance_m is not None
    limit = np.full(len(targets), float(rule.distance_m))
    if ref.distance_by_kind and ref.kind_field in targets:
        per_kind = targets[ref.kind_field].map(ref.distance_by_kind)
        limit = per_kind.fillna(rule.distance_m).to_numpy(dtype=float)
    offset = np.zeros(len(targets))
    if ref.width_field in targets:
        lines = targets.geom_type.isin(("LineString", "MultiLineString")).to_numpy()
        width = pd.to_numeric(targets[ref.width_field], errors="coerce").to_numpy(dtype=float)
        offset = np.where(lines & np.isfinite(width) & (width > 0), width / 2.0, 0.0)
    found = nearest_within(geoms, targets.geometry.to_numpy(), max_distance_m=limit,
                           target_offset_m=offset, threads=threads)
    found = found[["subject", "target", "distance_m", "line"]].rename(
        columns={"line": LINE_COLUMN}).astype({"subject": int, "target": int, "distance_m": float})
    t = found["target"].to_numpy()
    found["threshold_m"] = limit[t]
    found["distance_basis"] = _choose((offset[t] > 0).astype(np.intp), (BASIS_EDGE, BASIS_BANK)) if t.size \
        else np.where(offset[t] > 0, BASIS_BANK, BASIS_EDGE)
    return found


def _closer(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Per subject, the row of ``a`` or ``b`` with the smaller distance (``a`` on a tie)."""
    both = pd.concat([a.assign(_order=0), b.assign(_order=1)], ignore_index=True)
    both = both.sort_values(["subject", "distance_m", "_order"], kind="stable")
    return both.drop_duplicates("subject").drop(columns="_order").reset_index(drop=True)


def _rows(rule: Rule, subj: gpd.GeoDataFrame, hits: pd.DataFrame,
          schemas: Mapping[str, LayerSchema]) -> pd.DataFrame:
    """Violation rows of one rule (columns as in ``geo.rules.violations``), geometry = the subject.

    Text columns are made as pandas' text arrays directly: the dtypes and values the frame
    constructor infers from Python strings, without making them (``tests/test_rules_rows.py``
    keeps that construction as the oracle)."""
    id_field = schemas[rule.subject.layer].id_field
    at = hits["subject"].to_numpy(dtype=int)
    n = len(at)
    picked = subj[id_field].iloc[at]
    sid = picked.astype(str).reset_index(drop=True)
    bulk = n > 0  # with no rows: what the constructor makes of an empty list, scalars and objects
    raw = picked.to_numpy()  # ids already Python strings are their own text: hashed without a conversion back
    text = raw if raw.dtype == object and infer_dtype(raw, skipna=False) == "string" else sid.to_numpy(dtype=object)
    vids = violation_id_array(rule.id, rule.version, rule.subject.layer, text)
    no_text = np.array([], object)
    out = pd.DataFrame({
        "violation_id": pd.array(vids, dtype=_TEXT) if bulk else [],
        **{name: _repeat(value, n) if bulk else value for name, value in (
            ("rule_id", rule.id), ("rule_version", str(rule.version)), ("severity", rule.severity),
            ("title", rule.title), ("citation", rule.citation), ("subject_layer", rule.subject.layer))},
        "subject_id": sid.array if bulk else no_text, id_field: sid.array.copy() if bulk else no_text,
        "assumption": rule.assumption,
    }, index=range(n))
    for col in ("distance_m", "threshold_m", "area_m2"):
        out[col] = pd.to_numeric(hits[col], errors="coerce").round(2).to_numpy() \
            if col in hits else np.nan
    for col in ("distance_basis", "nearest_layer", "nearest_id", "nearest_name", "nearest_source", LINE_COLUMN):
        out[col] = _cells(hits[col]) if col in hits else None
    out["geometry"] = subj.geometry.to_numpy()[at]
    return out


_TEXT = pd.Series(["text"]).dtype  # the dtype pandas infers for Python strings ("str", Arrow-backed)


def _repeat(value: str, n: int) -> object:
    """``n`` times ``value`` as a text array, its Arrow buffers made directly (no compute kernel,
    whose first call in a process cost 0.2 s)."""
    data = value.encode("utf-8")
    offsets = np.arange(n + 1, dtype=np.int64) * len(data)
    text = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data * n))
    return pd.array(text, dtype=_TEXT)


def _choose(codes: np.ndarray, texts: tuple[str, ...]) -> object:
    """``texts[code]`` for each code, as a text array (Arrow's ``take`` of the texts: no Python string
    per row)."""
    return pd.array(pa.array(texts, type=pa.large_string()).take(pa.array(codes)), dtype=_TEXT)


def _cells(column: pd.Series) -> object:
    """A hits column as its violation column: a text column without missing values as it is,
    anything else as objects with None for a missing value."""
    if column.dtype == _TEXT and len(column) and not column.hasnans:
        return column.array
    if column.dtype == object and len(column):  # objects: as they are, or all None (no where() pass)
        missing = column.isna().to_numpy()
        if not missing.any():
            return column.to_numpy(copy=True)
        if missing.all():
            return np.full(len(column), None, dtype=object)
    return column.astype(object).where(column.notna(), None).to_numpy()


def _assemble(parts: list[pd.DataFrame], id_columns: list[str]) -> gpd.GeoDataFrame:
    """One violations GeoDataFrame with every column, in the documented order."""
    empty = empty_violations(id_columns)
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty
    # one rule's part needs no concat (it has a 0..n-1 index already); the frame reindex makes is
    # new, so the GeoDataFrame takes it without a copy (0.023 s -> 0.009 s for 144,430 rows)
    frame = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    frame = frame.reindex(columns=[c for c in empty.columns])
    frame[LINE_COLUMN] = gpd.GeoSeries(frame[LINE_COLUMN], crs="EPSG:4326")
    frame["assumption"] = frame["assumption"].astype(bool)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326", copy=False)
