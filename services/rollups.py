"""Roll-ups per admin unit: sites, mercury use as a range with its source, open cases, targets.

One row per unit of a chosen level of the workspace's ``admin_areas`` (region, province,
district ...: the levels the layer holds), every unit listed even when no site lies in it. A
site's unit is found by containment (``services.areas.with_units``; its free-text ``admin_area``
only where no unit contains it). A workspace without ``admin_areas`` falls back to the sites'
free-text ``admin_area`` as typed, and says so (``UnitRollup.notes``).

- Sites: how many sites lie in the unit (0 is a count, not missing data). A site surveyed again in a
  later round and linked to its earlier record (``resurvey_of``, ``geo.inventory.resurvey``) counts
  once, at its latest survey, here and in the mercury range; the targets compare the rounds.
- Mercury used, kg a year: the inventory's own estimate and roll-up (``geo.inventory``:
  ``estimate_sites`` then ``rollup`` by unit), the central figure and the 5th-95th percentile of
  its seeded Monte Carlo, exactly as the inventory tables compute them. A unit none of whose
  sites has a figure (or with no site) has no estimate (NaN), never zero.
- Open cases: the cases whose subject lies in the unit and whose status is open. A case is placed by
  the geometry of its subject as the role reads it (a mining site, or a tailings deposit, which has
  no ``admin_area`` text of its own), by containment like a site; the case's text attribute is not
  used. Which statuses Which statuses
  are open is read from the case file (``config/cases.toml``): every status except the final one
  (the status no move leaves) and those a case may be closed from (``open_statuses``). The
  cases are counted by the store (``services.cases.case_counts``, by site and status): no case
  row is read, so a partner may be given them. Missing (NA) when no rule run was recorded (no cases yet).
- Flagged sites: how many subjects (sites, tailings) in the unit have an open case that the last
  recorded run still flags (NA as for open cases).
- Targets: where the unit's latest survey round stands against each target of the factor file
  (``geo.inventory.trends`` / ``target_status`` by unit).

What a role sees is settled before this module runs: the frames come from the service
(``HgWatch.frames`` / ``view``, read through ``services.auth.read_layer``), and every figure here
is a count or a sum, so nothing restricted can reach a partner. No Streamlit here.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from geo.cases import CaseRules
from geo.errors import InputError
from geo.inventory import (
    ESTIMATED,
    NOT_ESTIMABLE,
    NOT_GIVEN,
    SAME_SITE,
    Factors,
    estimate_sites,
    resolve_links,
    rollup,
    target_status,
    trends,
)
from geo.words import agree, counted, one_of, plural
from layers.catalogue import ADMIN_LEVELS, CATALOGUE
from render.map.choropleth import add_choropleth, choropleth_map
from services.areas import AREA_LAYER, with_units
from services.auth import LOCAL
from services.cases import case_counts, case_rules
from services.hgwatch import HgWatch
from services.view import Filters, ratio_basis

NOT_LOCATED = "(not located)"  # sites that no unit of the level contains (and whose admin_area names none)
BASIS_CONTAINMENT = "containment"
BASIS_ATTRIBUTE = "attribute"
COLUMNS = ("unit_code", "unit", "within", "sites", "estimable_sites", "not_estimable", "hg_low", "hg_central",
           "hg_high", "hg_range", "open_cases", "flagged_sites", "targets_met")


@dataclass(frozen=True)
class Measure:
    """One measure a choropleth can colour units by: its column, label and unit."""

    column: str
    label: str
    unit: str


MEASURES: dict[str, Measure] = {
    "sites": Measure("sites", "Mining sites", "sites"),
    "hg_high": Measure("hg_high", "Mercury used, upper bound", "kg/yr"),
    "hg_central": Measure("hg_central", "Mercury used, central estimate", "kg/yr"),
    "open_cases": Measure("open_cases", "Open cases", "cases"),
}
CASE_MEASURES: dict[str, Measure] = {  # the case workbench's choropleth
    "open_cases": MEASURES["open_cases"],
    "flagged_sites": Measure("flagged_sites", "Sites and tailings flagged (open case, still flagged)", "places"),
}


@dataclass(frozen=True)
class UnitRollup:
    """The roll-up of one level.

    Attributes
    ----------
    level : the admin level rolled up by; None when the workspace has no admin areas (fallback).
    basis : ``"containment"`` (units of ``admin_areas``) or ``"attribute"`` (free-text admin_area).
    table : one row per unit, columns ``COLUMNS``: ``unit_code`` (area_code; the text in the
        fallback), ``unit`` (name), ``within`` (the parent's name), ``sites``, ``estimable_sites``
        (sites with a figure), ``not_estimable``, ``hg_low`` / ``hg_central`` / ``hg_high`` (kg of
        mercury used a year; NaN without an estimate), ``hg_range`` (the range as text),
        ``open_cases`` and ``flagged_sites`` (whole numbers; NA when no cases are known) and
        ``targets_met`` ("1 of 2", or "no data").
    shapes : the units of ``level`` with their polygons and the table's columns (None in the fallback).
    targets : per unit and target, where its latest survey round stands.
    source : how the mercury range is made, with its sources.
    notes : what the reader must know (the fallback, cases not placed, sites not located).
    levels : every level the workspace's admin areas hold, top first.
    """

    level: str | None
    basis: str
    table: pd.DataFrame
    shapes: gpd.GeoDataFrame | None
    targets: pd.DataFrame
    source: str
    notes: list[str] = field(default_factory=list)
    levels: tuple[str, ...] = ()


def unit_levels(areas: gpd.GeoDataFrame | None) -> tuple[str, ...]:
    """The levels ``areas`` (the ``admin_areas`` layer) holds, top first; () without areas."""
    if areas is None or not len(areas) or "level" not in areas:
        return ()
    held = set(areas["level"].dropna().astype(str))
    return tuple(lev for lev in ADMIN_LEVELS if lev in held)


def default_level(levels: tuple[str, ...]) -> str | None:
    """The level shown first: the highest below the country (``levels`` run top first, so region or
    province when held: the level a NAP reports by), else the country; None without levels."""
    return next((lev for lev in levels if lev != "country"), levels[0] if levels else None)


def open_statuses(rules: CaseRules) -> tuple[str, ...]:
    """The statuses of an open case, from the case file: all but the final ones (no move leaves
    them: ``closed``) and those a move leads from to a final one (``resolved``, ``false_positive``,
    ``not_accessible``: settled, waiting only to be closed)."""
    final = {s for s in rules.statuses if not rules.targets(s)}
    settled = final | {s for t in rules.transitions if t.target in final for s in t.sources}
    return tuple(s for s in rules.statuses if s not in settled)


def unit_rollup(frames: Mapping[str, gpd.GeoDataFrame], factors: Factors, *, today: date,
                level: str | None = None, cases: pd.DataFrame | None = None,
                rules: CaseRules | None = None) -> UnitRollup:
    """The roll-up of ``frames`` (as the role reads them) by the units of ``level``.

    Parameters
    ----------
    frames : layer type -> frame; reads ``mining_sites`` and ``admin_areas``.
    factors : the inventory factors (ranges with sources, Monte Carlo settings, targets).
    today : the day targets are judged on.
    level : an admin level ``admin_areas`` holds; None: ``default_level``.
    cases : case counts by ``site_id`` and ``status`` (column ``cases``; optionally also by
        ``subject_layer``, default ``mining_sites``, and ``flagged``), as ``services.cases.case_counts``
        gives them; None when no case is known (no recorded run).
    rules : the case file, for the open statuses (default: ``services.cases.case_rules()``).

    Raises
    ------
    InputError
        when the workspace holds no sites, or ``level`` is not one the admin areas hold.
    """
    sites = frames.get("mining_sites")
    if sites is None:
        raise InputError("mining_sites: the workspace holds no such layer; there is nothing to roll up")
    areas = frames.get(AREA_LAYER)
    levels = unit_levels(areas)
    notes: list[str] = []
    if levels and areas is not None:
        level = level or default_level(levels)
        if level not in levels:
            raise InputError(f"{AREA_LAYER}: field 'level': value {level!r}: expected {one_of(levels)}")
        units = _units(areas, level)
        basis = BASIS_CONTAINMENT
    else:
        if level is not None:
            raise InputError(f"{AREA_LAYER}: the workspace holds no admin areas, so there is no level {level!r};"
                             " sites are grouped by their free-text admin_area")
        keys = _unit_keys(sites, None, None)
        units = pd.DataFrame({"unit_code": sorted(set(keys)), "unit": sorted(set(keys)), "within": None})
        basis = BASIS_ATTRIBUTE
        notes.append("The workspace has no admin_areas layer: sites are grouped by their free-text admin_area as"
                     " typed (a misspelt name makes a group of its own), and no unit can be drawn on a map.")
    if basis == BASIS_CONTAINMENT:
        keys = _unit_keys(sites, areas, level)
    if (keys == NOT_LOCATED).any():
        units = pd.concat([units, pd.DataFrame({"unit_code": [NOT_LOCATED], "unit": [NOT_LOCATED],
                                                "within": [None]})], ignore_index=True)
        lost_sites = int((keys == NOT_LOCATED).sum())
        notes.append(f"{counted(lost_sites, 'site')} {agree(lost_sites, 'lies', 'lie')} in no {level} and"
                     f" {agree(lost_sites, 'its admin_area names', 'their admin_area names')}"
                     f" none: {agree(lost_sites, 'it is', 'they are')} counted under {NOT_LOCATED!r}.")
    records = pd.DataFrame(sites.drop(columns="geometry", errors="ignore"))
    links = resolve_links(records, strict=False)  # a view may leave out an earlier record: no link then
    est = estimate_sites(records, factors)
    est["_unit"] = keys.to_numpy()
    est[SAME_SITE] = links.same_site.to_numpy()
    current = est[~links.superseded.to_numpy(dtype=bool)]  # a site surveyed again: once, at its latest survey
    table = units.merge(_mercury(current, factors), how="left", left_on="unit_code", right_index=True)
    table["sites"] = table["sites"].fillna(0).astype(int)
    for col in ("estimable_sites", "not_estimable"):
        table[col] = table[col].fillna(0).astype(int)
    table["hg_range"] = [_range_text(r) for r in table.to_dict("records")]
    placed, case_notes = _open_cases(cases, frames, keys, areas if basis == BASIS_CONTAINMENT else None, level,
                                     rules or case_rules(), known=set(table["unit_code"]))
    notes += case_notes
    for col in ("open_cases", "flagged_sites"):
        got = table["unit_code"].map(placed[col]).fillna(0) if placed is not None else np.nan
        table[col] = pd.Series(got, index=table.index, dtype=float).astype("Int64")  # NA: no case known
    targets = _targets(est, factors, today, table)
    met = targets.groupby("unit_code")["status"].agg(
        lambda s: f"{int((s == 'met').sum())} of {len(s)}") if len(targets) else pd.Series(dtype=object)
    met_by = dict(met.items())
    table["targets_met"] = [met_by.get(code, "no data") for code in table["unit_code"]]
    table = table[list(COLUMNS)].reset_index(drop=True)
    shapes = unit_shapes(table, areas, level) if basis == BASIS_CONTAINMENT else None
    return UnitRollup(level, basis, table, shapes, targets, _source(current, factors), notes, levels)


def _units(areas: gpd.GeoDataFrame, level: str) -> pd.DataFrame:
    """The units of ``level``: code, name (the code when unnamed) and the parent's name."""
    codes = areas["area_code"].astype(str)
    names = areas["name"].where(areas["name"].notna(), codes) if "name" in areas else codes
    by_code = dict(zip(codes, names, strict=True))
    parents = areas["parent_code"] if "parent_code" in areas else pd.Series(None, index=areas.index)
    mine = areas["level"].astype(str) == level
    out = pd.DataFrame({"unit_code": codes[mine].to_numpy(), "unit": names[mine].to_numpy(dtype=object),
                        "within": [by_code.get(str(p)) if isinstance(p, str) else None for p in parents[mine]]})
    return out.sort_values(["within", "unit", "unit_code"], na_position="first").reset_index(drop=True)


def unit_shapes(table: pd.DataFrame, areas: gpd.GeoDataFrame | None, level: str | None) -> gpd.GeoDataFrame | None:
    """``table`` (one row per ``unit_code``) joined to the polygons of ``level``'s admin units, in
    EPSG:4326, for a choropleth; None without admin areas."""
    if areas is None:
        return None
    polys = areas[areas["level"].astype(str) == level][["area_code", "geometry"]].copy()
    polys["unit_code"] = polys["area_code"].astype(str)
    return gpd.GeoDataFrame(table.merge(polys.drop(columns="area_code"), on="unit_code"),
                            geometry="geometry", crs=areas.crs).to_crs(4326)


def level_units(areas: gpd.GeoDataFrame, level: str) -> pd.DataFrame:
    """The units of ``level`` of ``areas``: ``unit_code``, ``unit`` (the name, else the code) and
    ``within`` (the parent's name), parents then names in order."""
    return _units(areas, level)


def unit_keys(frame: gpd.GeoDataFrame, areas: gpd.GeoDataFrame | None, level: str | None) -> pd.Series:
    """Each feature's unit key (see ``_unit_keys``): its unit code at ``level`` by containment, or
    its free-text ``admin_area`` without areas."""
    return _unit_keys(frame, areas, level)


def _unit_keys(frame: gpd.GeoDataFrame, areas: gpd.GeoDataFrame | None, level: str | None) -> pd.Series:
    """Each feature's unit key, aligned with ``frame``: its unit code at ``level`` by containment
    (``NOT_LOCATED`` when none); without ``areas``, its free-text ``admin_area`` (``NOT_GIVEN`` when blank)."""
    if areas is None or level is None:
        text = frame["admin_area"] if "admin_area" in frame else pd.Series(None, index=frame.index, dtype=object)
        return text.map(lambda v: v.strip() if isinstance(v, str) and v.strip() else NOT_GIVEN).astype(object)
    if not len(frame):
        return pd.Series(NOT_LOCATED, index=frame.index, dtype=object)
    located = with_units(frame, areas)
    column = f"admin_{level}"
    if column not in located:
        return pd.Series(NOT_LOCATED, index=frame.index, dtype=object)
    codes = located[column]
    return codes.where(codes.notna(), NOT_LOCATED).astype(object)


def _mercury(est: pd.DataFrame, factors: Factors) -> pd.DataFrame:
    """Per unit key: sites, estimable sites and the inventory's roll-up of mercury used (kg a year)."""
    if not len(est):
        return pd.DataFrame(columns=["sites", "estimable_sites", "not_estimable", "hg_low", "hg_central", "hg_high"])
    rolled = rollup(est, factors, by="_unit").set_index("_unit")
    estimable = rolled["n_sites"] - rolled["n_not_estimable"]
    out = pd.DataFrame({"sites": rolled["n_sites"], "estimable_sites": estimable,
                        "not_estimable": rolled["n_not_estimable"]}, index=rolled.index)
    for col, src in (("hg_low", "used_low"), ("hg_central", "used_kg"), ("hg_high", "used_high")):
        out[col] = rolled[src].where(estimable > 0)  # no figure at all: no estimate, not zero
    return out


def _range_text(row: Mapping[str, object]) -> str:
    """The mercury range of one table row as text ("no sites", "not estimable ..." or low-high)."""
    sites, estimable = int(str(row["sites"])), int(str(row["estimable_sites"]))
    if sites == 0:
        return "no sites"
    if estimable == 0:
        return f"not estimable ({counted(sites, 'site')} with no gold or mercury figure)"
    low, central, high = (float(str(row[c])) for c in ("hg_low", "hg_central", "hg_high"))
    text = f"{low:,.1f}-{high:,.1f} kg/yr (central {central:,.1f})"
    missing = sites - estimable
    return text + (f"; {counted(missing, 'site')} not estimable, not counted" if missing else "")


def _open_cases(cases: pd.DataFrame | None, frames: Mapping[str, gpd.GeoDataFrame], site_keys: pd.Series,
                areas: gpd.GeoDataFrame | None, level: str | None,
                rules: CaseRules, *, known: set[str]) -> tuple[dict[str, pd.Series] | None, list[str]]:
    """Per unit key: open cases and flagged subjects (None when no case is known), and a note on
    cases not placed. A case is placed where its subject (``subject_layer``, ``site_id``) lies in
    the frames as the role reads them: a mining site by ``site_keys``, any other layer (tailings)
    by containment of its own geometry. A case whose subject is in no unit of ``known`` is not placed."""
    if cases is None:
        return None, ["No rule run has been recorded, so there are no cases yet: open cases show as no data."]
    wanted = cases[cases["status"].isin(open_statuses(rules))]
    layer = (wanted["subject_layer"].astype(str) if "subject_layer" in wanted
             else pd.Series("mining_sites", index=wanted.index, dtype=object))
    placed = pd.Series(None, index=wanted.index, dtype=object)
    for name in layer.unique():
        frame = frames.get(str(name))
        id_field = CATALOGUE[str(name)].id_field if str(name) in CATALOGUE else None
        if frame is None or id_field is None or id_field not in frame:
            continue
        keys = site_keys if str(name) == "mining_sites" else _unit_keys(frame, areas, level)
        unit_of = dict(zip(frame[id_field].astype(str), keys, strict=True))
        mine = layer == name
        placed[mine] = wanted.loc[mine, "site_id"].astype(str).map(unit_of)
    outside = int(wanted.loc[placed.notna() & ~placed.isin(known), "cases"].sum())
    lost = int(wanted.loc[placed.isna(), "cases"].sum())
    placed = placed.where(placed.isin(known))
    counts = wanted["cases"].astype(int).groupby(placed).sum()
    still = wanted["flagged"].astype(bool) if "flagged" in wanted else pd.Series(True, index=wanted.index)
    subjects = pd.DataFrame({"unit": placed, "subject": layer + "/" + wanted["site_id"].astype(str)})[still.to_numpy()]
    flagged = subjects.dropna().drop_duplicates().groupby("unit")["subject"].size()
    notes = [f"{counted(lost, 'open case')} {agree(lost, 'belongs to a site', 'belong to sites')} not in view (or no longer"
             f" in mining_sites) and {agree(lost, 'is', 'are')} not placed in a unit."] if lost else []
    if outside:
        notes.append(f"{counted(outside, 'open case')} {agree(outside, 'concerns', 'concern')} tailings (or other features)"
                     f" that lie in no unit{f' of the {level} level' if level else ''} listed here and"
                     f" {agree(outside, 'is', 'are')} not placed in a unit.")
    return {"open_cases": counts, "flagged_sites": flagged}, notes


def _targets(est: pd.DataFrame, factors: Factors, today: date, table: pd.DataFrame) -> pd.DataFrame:
    """Per unit and target, where the unit's latest survey round stands (``target_status``)."""
    columns = ["unit_code", "unit", "target", "label", "latest_round", "value", "target_value", "deadline",
               "status", "source"]
    if not len(est) or not factors.targets:
        return pd.DataFrame(columns=columns)
    status = target_status(trends(est, factors, by="_unit"), factors, today=today, by="_unit")
    status = status.rename(columns={"_unit": "unit_code"})
    status["unit"] = status["unit_code"].map(dict(zip(table["unit_code"], table["unit"], strict=True)))
    return status[columns]


def _source(est: pd.DataFrame, factors: Factors) -> str:
    """How the mercury range is made, with the ratios used and their sources."""
    lo, hi = (int(p) for p in factors.percentiles)
    basis = ratio_basis(est.loc[est["basis"].isin(ESTIMATED), "amalgamation"], factors) if len(est) else ""
    n = int((est["basis"] != NOT_ESTIMABLE).sum()) if len(est) else 0
    return (f"HgWatch inventory ({n:,} estimable {plural('site', len(est))} of {len(est):,}): {basis}."
            f" Range = {lo}th-{hi}th percentile"
            f" of {factors.draws} Monte Carlo draws over the factor ranges (seed {factors.seed});"
            f" factors {Path(factors.source_file).name}.")


def service_rollup(svc: HgWatch, *, today: date, level: str | None = None,
                   filters: Filters | None = None) -> UnitRollup:
    """The roll-up of the workspace as ``svc``'s identity reads it (``filters``: the sidebar's view;
    None: every site), with the case counts of the store (by site and status, counted by the store).

    A page reruns on every click, each run with a new service (``HgWatch.shared``), so the roll-up is
    kept with the view's answers (``HgWatch.kept``): found by the next run, made anew when the store
    (its layers or cases: the case counts move its change stamp) or a settings file changed. Until
    2026-11-27 roll-ups were kept per service object, so a page never found one again (0.7-0.8 s a
    click at 5,382 sites).
    """
    def make() -> UnitRollup:
        frames = svc.frames() if filters is None else svc.view(filters)
        counted = None
        if svc.runs(1):
            counted = case_counts(svc.store, svc.identity or LOCAL, by=("subject_layer", "site_id", "status", "flagged"))
        return unit_rollup(frames, svc.factors(), today=today, level=level, cases=counted)
    return svc.kept("rollup", (level, today, filters), make)


CASE_TOOLTIP = (("unit_code", "code", ""), ("within", "within", ""), ("sites", "sites", ""),
                ("open_cases", "open cases", ""), ("flagged_sites", "sites and tailings flagged", ""))
TOOLTIP = (("unit_code", "code", ""), ("within", "within", ""), ("sites", "sites", ""),
           ("hg_range", "mercury used", ""), ("open_cases", "open cases", ""), ("targets_met", "targets met", ""))


def _measure(name: str) -> Measure:
    known = {**MEASURES, **CASE_MEASURES}
    if name not in known:
        raise InputError(f"choropleth measure {name!r}: expected {one_of(known)}")
    return known[name]


def _note(r: UnitRollup, measure: Measure) -> str:
    if measure.column.startswith("hg_"):
        return "The range is in each unit's tooltip. " + r.source.split(": ", 1)[0] + "."
    return ""


def unit_map(r: UnitRollup, measure: str, *, basemap: str = "osm",
             tooltip: tuple[tuple[str, str, str], ...] = TOOLTIP) -> folium.Map | None:
    """A map of the units of ``r`` coloured by ``measure`` (a key of ``MEASURES``); None in the
    fallback, where there are no unit polygons to draw."""
    m = _measure(measure)
    if r.shapes is None:
        return None
    return choropleth_map(r.shapes, value=m.column, label=m.label, unit=m.unit, tooltip=tooltip,
                          note=_note(r, m), basemap=basemap)


def overlay(fmap: folium.Map, r: UnitRollup, measure: str) -> folium.Map:
    """``fmap`` with the units of ``r`` coloured by ``measure`` as one more layer (unchanged in the fallback)."""
    m = _measure(measure)
    if r.shapes is None:
        return fmap
    return add_choropleth(fmap, r.shapes, value=m.column, label=m.label, unit=m.unit, tooltip=TOOLTIP,
                          note=_note(r, m))
