"""The dashboard's view of a workspace: filters, the rule run with a "what if" distance,
headline figures. No Streamlit here; the pages wire widgets to these functions.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from geo.sites import NOT_RECORDED, USES, mercury_use
from geo.words import counted
from layers.catalogue import CATALOGUE

if TYPE_CHECKING:  # the rule engine and the inventory load where used (issue 13: `import` needs neither)
    from geo.inventory import Factors
    from geo.rules import RuleSet

SEVERITIES = ("critical", "high", "medium", "low")


@dataclass(frozen=True)
class Filters:
    """What the user chose in the sidebar; an empty tuple means "all".

    ``survey_from`` / ``survey_to`` bound the survey date (inclusive); sites without a survey
    date are kept unless ``dated_only``.
    """

    admin_areas: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    mercury: tuple[str, ...] = ()  # of geo.sites.MERCURY_USE
    survey_from: dt.date | None = None
    survey_to: dt.date | None = None
    dated_only: bool = False


@dataclass(frozen=True)
class Headline:
    """Headline figures of the view; mercury use in kg a year as a range with its basis."""

    sites: int
    mercury_sites: int
    violations: dict[str, int] = field(default_factory=dict)
    hg_low: float = 0.0
    hg_central: float = 0.0
    hg_high: float = 0.0
    measured_sites: int = 0
    estimated_sites: int = 0
    not_estimable: int = 0
    not_estimable_unrecorded: int = 0  # of those, sites whose record does not say whether they use mercury
    mercury_not_operating: int = 0  # sites marked as using mercury that are not operating: no mercury in the range
    basis: str = ""
    problem: str | None = None  # why there is no mercury range (the factor file's error)


def choices(sites: gpd.GeoDataFrame, column: str) -> list[str]:
    """Sorted distinct non-empty values of ``column`` (for a multiselect)."""
    if column not in sites:
        return []
    return sorted({str(v) for v in sites[column].dropna().tolist() if str(v)})


def date_range(sites: gpd.GeoDataFrame) -> tuple[dt.date, dt.date] | None:
    """Earliest and latest survey date, or None when no site has one."""
    if "survey_date" not in sites:
        return None
    dates = pd.to_datetime(sites["survey_date"], errors="coerce").dropna()
    return (dates.min().date(), dates.max().date()) if len(dates) else None


def filter_sites(sites: gpd.GeoDataFrame, f: Filters) -> gpd.GeoDataFrame:
    """The sites that pass every filter in ``f``."""
    keep = pd.Series(True, index=sites.index)
    for column, wanted in (("admin_area", f.admin_areas), ("status", f.statuses),
                           ("processing_method", f.methods)):
        if wanted:
            keep &= sites[column].astype(str).isin(wanted) if column in sites else False
    if f.mercury:
        keep &= mercury_use(sites).isin(f.mercury)
    if (f.survey_from or f.survey_to or f.dated_only) and "survey_date" in sites:
        dates = pd.to_datetime(sites["survey_date"], errors="coerce")
        inside = dates.notna()
        if f.survey_from:
            inside &= dates >= pd.Timestamp(f.survey_from)
        if f.survey_to:
            inside &= dates <= pd.Timestamp(f.survey_to)
        keep &= inside | (dates.isna() & (not f.dated_only))
    return sites[keep]


def filter_layers(frames: Mapping[str, gpd.GeoDataFrame], f: Filters) -> dict[str, gpd.GeoDataFrame]:
    """Every layer of the view: sites filtered; tailings follow their sites; layers with an
    ``admin_area`` follow the admin-area filter; water and deposits are kept whole."""
    out = dict(frames)
    if "mining_sites" in frames:
        out["mining_sites"] = filter_sites(frames["mining_sites"], f)
        if "tailings" in frames and "site_id" in frames["tailings"] and f != Filters():
            tail = frames["tailings"]
            linked = tail["site_id"].isin(out["mining_sites"]["site_id"]) | tail["site_id"].isna()
            out["tailings"] = tail[linked]
    if f.admin_areas:
        for name in ("residential_areas", "samples"):
            if name in frames and "admin_area" in frames[name]:
                frame = frames[name]
                out[name] = frame[frame["admin_area"].astype(str).isin(f.admin_areas)]
    return out


def map_focus(*, rules_narrowed: bool, flagged: int) -> tuple[str, ...]:
    """The layers whose features set the map's first view (``render.map.mapview.build_map``'s
    ``focus``; every layer when none of them has a feature): the violations when fewer rules than all
    are chosen and they flag something; else the sites in view, their tailings and violations, filtered
    or not. Not the places, samples, rivers or admin units, which are context: a layer without
    ``admin_area`` is kept whole under a filter, and until 2026-11-28 an unfiltered national workspace
    opened on every layer's bounds, where its 7,249 OSM places put its 685 mining footprints in a
    corner at the map's bottom edge (found in the national walk)."""
    if rules_narrowed and flagged:
        return ("violations",)
    return ("mining_sites", "tailings", "violations")


def with_distance(ruleset: RuleSet, rule_ids: tuple[str, ...], distance_m: float | None) -> RuleSet:
    """``ruleset`` with every distance of the rules in ``rule_ids`` set to ``distance_m`` metres
    ("what if" the buffer were this wide); rules without a distance are unchanged."""
    if distance_m is None:
        return ruleset
    rules = []
    for rule in ruleset.rules:
        if rule.id in rule_ids and rule.relation == "within_distance":
            others = [o.model_copy(update={"distance_by_kind": None}) for o in rule.other]
            rule = rule.model_copy(update={"distance_m": float(distance_m), "other": others})
        rules.append(rule)
    return ruleset.model_copy(update={"rules": rules})


def zone_distance(ruleset: RuleSet, rule_ids: tuple[str, ...],
                  distance_m: float | None) -> float | None:
    """The buffer to draw around water, in metres: the "what if" distance when set, else the
    largest distance of the chosen rules that measure to water bodies (from the rule file)."""
    if distance_m is not None:
        return distance_m
    found = [float(r.distance_m) for r in ruleset.rules
             if r.id in rule_ids and r.relation == "within_distance" and r.distance_m
             and any(o.layer == "water_bodies" for o in r.other)]
    return max(found) if found else None


def violations_for(ruleset: RuleSet, frames: Mapping[str, gpd.GeoDataFrame],
                   rule_ids: tuple[str, ...], distance_m: float | None, *,
                   threads: int = 1) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Run the chosen rules on the view; returns the violations and notes (rules not run).

    The rules whose layers are absent are skipped with a note, never silently. ``threads``: worker
    threads of the distance kernel (``Settings.threads``); the result is the same for any number.
    """
    from geo.rules import run_rules

    rules = with_distance(ruleset, rule_ids, distance_m)
    result = run_rules(rules, {k: v for k, v in frames.items() if v is not None},
                       schemas=CATALOGUE, only=list(rule_ids), missing="skip", threads=threads)
    notes = [f"{s.rule_id}: {n}" for s in result.summaries for n in s.notes]
    return result.violations, notes


def headline(sites: gpd.GeoDataFrame, violations: gpd.GeoDataFrame,
             factors: Factors | None, *, problem: str | None = None) -> Headline:
    """Headline figures; mercury use comes from ``geo.inventory.estimate`` (measured where given,
    else gold x the Hg:Au ratio of the site's amalgamation practice) as a low / central / high
    range in kg a year. Without ``factors`` (``problem`` says why) there is no range."""
    counts = {s: int((violations["severity"] == s).sum()) if len(violations) else 0
              for s in SEVERITIES}
    use = mercury_use(sites).to_numpy()
    n_hg = int((use == USES).sum())
    if factors is None or sites.empty:
        return Headline(len(sites), n_hg, counts, problem=problem)
    from geo.inventory import ESTIMATED, MEASURED, NOT_ESTIMABLE, NOT_OPERATING, estimate_sites

    est = estimate_sites(pd.DataFrame(sites.drop(columns="geometry")), factors)
    from_gold = est["basis"].isin(ESTIMATED)
    return Headline(
        len(sites), n_hg, counts,
        hg_low=float(est["used_low"].sum()), hg_central=float(est["used_kg"].sum()),
        hg_high=float(est["used_high"].sum()),
        measured_sites=int((est["basis"] == MEASURED).sum()),
        estimated_sites=int(from_gold.sum()),
        not_estimable=int((est["basis"] == NOT_ESTIMABLE).sum()),
        not_estimable_unrecorded=int(((est["basis"] == NOT_ESTIMABLE).to_numpy() & (use == NOT_RECORDED)).sum()),
        mercury_not_operating=int(((est["basis"] == NOT_OPERATING).to_numpy() & (use == USES)).sum()),
        basis=ratio_basis(est.loc[from_gold, "amalgamation"], factors))


def ratio_basis(practices: pd.Series, factors: Factors) -> str:
    """The basis sentence of the mercury range: the Hg:Au ratio of every amalgamation practice
    applied to the sites estimated from gold (``practices``: one value per such site), with the
    number of sites, the range in g/g and its source."""
    used = practices.astype(str).value_counts()
    ratios = [f"{counted(int(used[name]), 'site')} {name.replace('_', ' ')}: {r.central:g} "
              f"({r.low:g}-{r.high:g}) g/g, source {r.source}"
              for name, r in factors.hg_au_ratio.items() if name in used.index]
    text = "measured mercury_kg_per_year where given"
    return text + (", else gold x Hg:Au ratio: " + "; ".join(ratios) if ratios else "")
