"""The case dossier (issue 12): one case, assembled for ``render.dossier.document``.

``dossier(store, identity, settings, violation_id) -> Dossier`` reads the case as ``identity`` may
(``services.cases.case_file``: a partner is refused, a field account sees its areas only), the
layers the rule reads as ``identity`` may (``services.auth.read_layer``), re-measures the
violation on the current data with the rule engine run on that one site (the distance to
0.01 m, the shortest line and the feature it ends on) and traces the people downstream of the
site (``services.people``). ``write(...)`` writes it as PDF or HTML and records the output in
the audit trail.
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from geo.errors import ConfigError, InputError
from geo.rules import LINE_COLUMN, Rule, RuleSet, run_rules
from layers.catalogue import CATALOGUE
from layers.store.base import LayerInfo, Store
from layers.store.cases import Case
from render.dossier.document import DOSSIER_SUFFIXES, Dossier, Measured, dossier_bytes, write_dossier
from services import audit, cases, people
from services.auth import Identity, may_see_layer, read_layer, refuse_if_changed
from services.imports import SET_MARK
from services.worth import case_worth
from settings import Settings

__all__ = ["dossier", "dossier_file", "write"]
EXPOSURE_LAYERS = ("water_bodies", "residential_areas", "receptors")


def _layers(store: Store, identity: Identity, names: list[str]) -> dict[str, gpd.GeoDataFrame]:
    """The layers of ``names`` the store holds and ``identity`` may see, read as it may."""
    return {n: read_layer(store, n, identity) for n in dict.fromkeys(names)
            if store.has(n) and may_see_layer(identity, n)}


def _rule(settings: Settings, rule_id: str) -> Rule | None:
    try:
        return settings.rules.rule(rule_id)
    except ConfigError:
        return None


def _text(value: object) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _measure(rule: Rule, case: Case, frames: Mapping[str, gpd.GeoDataFrame]) -> Measured | None:
    """The violation of ``rule`` by the case's site on the current data, or None when the data no
    longer flag it (or the site is gone)."""
    subject = frames.get(case.subject_layer)
    if subject is None or any(layer not in frames for layer in rule.layers[1:]):
        return None
    id_field = CATALOGUE[case.subject_layer].id_field
    one = subject[subject[id_field].astype(str) == case.site_id]
    if one.empty:
        return None
    found = run_rules(_one_rule(rule), {**frames, case.subject_layer: one}, schemas=CATALOGUE).violations
    if found.empty:
        return None
    row = found.iloc[0]
    other = None
    layer, nid = _text(row.get("nearest_layer")), _text(row.get("nearest_id"))
    if layer is not None and layer in frames and nid is not None:
        held = frames[layer]
        match = held[held[CATALOGUE[layer].id_field].astype(str) == nid]
        other = match.geometry.iloc[0] if len(match) else None
    line = row.get(LINE_COLUMN)
    distance = row.get("distance_m")
    threshold = row.get("threshold_m")
    return Measured(None if pd.isna(distance) else float(distance), None if pd.isna(threshold) else float(threshold),
                    _text(row.get("distance_basis")), layer, nid, _text(row.get("nearest_name")),
                    line if isinstance(line, shapely.Geometry) else None, other)


def _one_rule(rule: Rule) -> RuleSet:
    """A rule set of ``rule`` alone (what ``run_rules`` takes)."""
    return RuleSet(format=1, title=f"dossier: {rule.id}", rules=[rule])


def _people(case: Case, frames: Mapping[str, gpd.GeoDataFrame], settings: Settings,
            site: gpd.GeoDataFrame, infos: Sequence[LayerInfo] = ()) -> list[str]:
    """``services.people.detail_lines`` for the case's site alone (a site or tailings), then, when
    settlements were found, the settlements layer's recorded source if it says values (a population)
    were given with ``--set``: those numbers are assumed, not observed."""
    if case.subject_layer not in people.SOURCE_LAYERS:
        return [f"People downstream: not traced ({case.subject_layer} is not a site or tailings)."]
    if site.empty:
        return ["People downstream: not traced (the site is no longer in the workspace)."]
    exposure = settings.exposure
    view = {k: v for k, v in frames.items() if k in EXPOSURE_LAYERS}
    down = people.trace_view({**view, case.subject_layer: site}, exposure)
    figure = people.people_figure(down, exposure)
    intakes = people.intakes_downstream(down, frames.get("receptors"), exposure)
    found = people.source_people(down, case.site_id, intakes=intakes)
    lines = people.detail_lines(found, figure)
    held = next((i for i in infos if i.layer == "residential_areas"), None)
    if len(found.settlements) and held is not None and SET_MARK in held.source:
        lines.append(f"  settlements recorded as: {held.source}")
    return lines


def dossier(store: Store, identity: Identity, settings: Settings, violation_id: str, *,
            now: datetime | None = None) -> Dossier:
    """Everything the dossier of case ``violation_id`` prints, as ``identity`` may see it.

    Raises InputError for a partner, an unknown case or one outside a field account's areas
    (``services.cases``), before any layer is read.
    """
    found = cases.case_file(store, identity, violation_id)
    photos = cases.photo_bytes(store, identity, violation_id)
    case = found.case
    rule = _rule(settings, case.rule_id)
    needed = [case.subject_layer, *(rule.layers[1:] if rule else []), *EXPOSURE_LAYERS]
    frames = _layers(store, identity, needed)
    infos = store.layers()  # the provenance table: sources and expected errors, no feature
    subject = frames.get(case.subject_layer)
    site = subject[subject[CATALOGUE[case.subject_layer].id_field].astype(str) == case.site_id] \
        if subject is not None else gpd.GeoDataFrame(geometry=[], crs=4326)
    geometry = site.to_crs(4326).geometry.iloc[0] if len(site) else (
        shapely.from_wkb(case.site_wkb) if case.site_wkb else None)
    return Dossier(
        case=case,
        rule={"id": rule.id, "version": str(rule.version), "title": rule.title, "citation": rule.citation,
              "severity": rule.severity} if rule else None,
        measured=_measure(rule, case, frames) if rule else None,
        site=geometry, visits=found.visits, photos=photos, comments=found.comments, history=found.history,
        people=_people(case, frames, settings, site, infos), far_limit_m=cases.case_rules().max_visit_distance_m,
        made_at=(now or datetime.now(UTC)).isoformat(timespec="seconds"), made_by=identity.name,
        source=str(store.path), worth=case_worth(rule, infos, identity))


def _record(store: Store, identity: Identity, violation_id: str, fmt: str, size: int) -> None:
    audit.record_output(store, "dossier", violation_id, after={"format": fmt, "bytes": size}, who=identity.name)


def write(store: Store, identity: Identity, settings: Settings, violation_id: str,
          out: str | os.PathLike[str]) -> Path:
    """Write the dossier of ``violation_id`` to ``out`` (.pdf, .html or .htm; checked first) and
    record it in the audit trail (``dossier``)."""
    suffix = Path(out).suffix.lower()
    if suffix not in DOSSIER_SUFFIXES:
        raise InputError(f"--out {Path(out).name}: expected a file name ending in .pdf or .html")
    path = write_dossier(dossier(store, identity, settings, violation_id), out)
    _record(store, identity, violation_id, suffix.lstrip("."), path.stat().st_size)
    return path


def dossier_file(store: Store, identity: Identity, settings: Settings, violation_id: str, suffix: str) -> bytes:
    """The dossier as bytes (".pdf" or ".html"), for a download button; recorded like ``write``.
    Refused once ``identity``'s account is disabled or changed (``services.auth.refuse_if_changed``)."""
    refuse_if_changed(store, identity)
    data = dossier_bytes(dossier(store, identity, settings, violation_id), suffix)
    _record(store, identity, violation_id, suffix.lstrip("."), len(data))
    return data
