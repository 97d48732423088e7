"""Every table of the mercury inventory for one area (or the whole workspace), and CSV export.

``inventory_tables`` runs the estimate, the Monte Carlo roll-ups, the register counts and the
trends, and returns plain DataFrames keyed by table name. The report, the dashboard page and the
CSV export all use these same tables, so the numbers agree everywhere.
"""
from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from geo.admin_units import report_levels, unit_labels
from geo.errors import InputError
from geo.inventory import (
    CANDIDATE_COLUMNS,
    LINK_FIELD,
    METRICS,
    NOT_ESTIMABLE,
    SAME_SITE,
    Factors,
    estimate_sites,
    register_counts,
    resolve_links,
    resurvey_candidates,
    rollup,
    search_distance_m,
    survey_rounds,
    target_status,
    trends,
)
from layers.io.csvfile import csv_bytes

SITE_COLUMNS = (
    "site_id", "name", "admin_area", "district", "survey_round", "status", "amalgamation",
    "burning", "route", "basis", "gold_kg_per_year", "used_low", "used_kg", "used_high",
    "air_kg", "water_kg", "land_kg", "released_low", "released_kg", "released_high",
    "recovered_kg", LINK_FIELD, SAME_SITE, "counted")
TABLE_TITLES: dict[str, str] = {
    "totals": "Totals, kg of mercury a year",
    "comparison": "Our estimate beside published estimates, kg of mercury a year",
    "by_area": "By admin area, kg of mercury a year",
    "by_unit": "By region and district (admin units by location), kg of mercury a year",
    "by_method": "By amalgamation practice, kg of mercury a year",
    "by_round": "By survey round, kg of mercury a year",
    "register": "Register counts",
    "trends": "Trend per area and survey round",
    "targets": "Targets: where the latest survey round stands",
    "factors": "Factors and their sources",
    "sites": "Per-site estimates, kg of mercury a year",
    "resurveys": "Possible re-surveys: sites of different survey rounds within the re-survey distance of each other,"
                 " under different ids and not linked (resurvey_of)",
    "inspection": "Inspections per admin area: cases by status, median days from flag to verification,"
                  " confirmed share",
}


@dataclass
class Inventory:
    """The tables of one inventory and what they were made from."""

    area: str
    tables: dict[str, pd.DataFrame]
    factors: Factors
    data_date: str
    sites_used: int
    notes: list[str] = field(default_factory=list)
    judged_on: date | None = None
    """The day the targets were judged on (``--today``)."""
    resurvey: ResurveyNote | None = None
    """The re-survey links and candidates behind the tables."""


@dataclass(frozen=True)
class ResurveyNote:
    """What the inventory did with re-surveys: the links it applied and how it searched for others.

    ``linked``: records given as a re-survey of an earlier round's site (``resurvey_of``);
    ``superseded``: records of the area a later survey of the same site replaces in the totals;
    ``candidates``: pairs listed in the ``resurveys`` table; ``within_m``: the distance searched, metres;
    ``distance_m``: the factor file's distance; ``expected_error_m``: the layer's expected error (None:
    not recorded); ``source``: why the distance is what it is.
    """

    linked: int
    superseded: int
    candidates: int
    within_m: float
    distance_m: float
    expected_error_m: float | None
    source: str


def inventory_tables(sites: pd.DataFrame, factors: Factors, *, area: str | None = None,
                     today: date, source: str = "mining_sites",
                     inspection: pd.DataFrame | None = None,
                     expected_error_m: float | None = None) -> Inventory:
    """Compute every inventory table for ``area`` (an ``admin_area`` value; None: all sites).

    Parameters
    ----------
    sites : the ``mining_sites`` layer (GeoDataFrame or DataFrame).
    factors : the parsed factor file (``settings.Settings.factors``).
    area : restrict to sites whose ``admin_area`` equals this name.
    today : the date targets are judged on.
    source : file or layer name for error messages.
    inspection : the inspection figures per admin area (``services.inspection.inspection_table``);
        the report's ``inspection`` table holds the rows of ``area`` (all of them without one).
    expected_error_m : the layer's expected positional error, metres (None: not recorded); twice it is
        added to the factor file's re-survey distance.

    Re-surveys (``geo.inventory.resurvey``): the links (``resurvey_of``) are read over every site, so
    that a link may cross areas. The totals, the tables by area, practice and unit and the register
    count each site once, at its latest survey (``counted`` in the sites table); the tables by round
    and the trends count every record in its round, so a linked site counts once per round, and the
    trends compare the same sites with the baseline round (``n_same_sites``). The ``resurveys`` table
    lists the pairs of sites of different rounds within the distance that are not linked (a pair with a
    site of ``area``). Without links every record is its own site and every figure is as before.

    Raises
    ------
    InputError
        when there are no sites, no site lies in ``area`` (naming the areas there are) or a
        site value is unusable.
    """
    if not len(sites):
        raise InputError(f"{source}: holds no sites; there is nothing to report")
    links = resolve_links(pd.DataFrame(sites.drop(columns="geometry", errors="ignore")), source=source)
    linked = sites.assign(**{SAME_SITE: links.same_site, "counted": ~links.superseded,
                             LINK_FIELD: links.resurvey_of})
    chosen = _select(linked, area, source)
    if chosen.empty:
        raise InputError(f"{source}: holds no sites; there is nothing to report")
    est = estimate_sites(chosen, factors, source=source)
    est["survey_round"] = survey_rounds(est)
    for col in (LINK_FIELD, SAME_SITE, "counted"):
        est[col] = chosen[col].to_numpy()
    counted = est["counted"].to_numpy(dtype=bool)
    current = est[counted].reset_index(drop=True)  # each site once, at its latest survey
    label = area or "All areas"
    totals = rollup(current, factors)
    totals["group"] = label
    within = search_distance_m(factors.resurvey_distance_m, expected_error_m)
    pairs = _resurveys(select_area(linked, area, source=source) if area is not None else linked, linked,
                       links.same_site, within)
    tables = {
        "totals": totals.rename(columns={"group": "area"}),
        "comparison": _comparison(totals.iloc[0], factors, label, current),
        "by_area": rollup(current, factors, by="admin_area"),
        "by_method": rollup(current, factors, by="amalgamation"),
        "by_round": _by_round(est, factors),
        "register": register_counts(current, by="admin_area"),
        "trends": trends(est, factors, by="admin_area"),
        "factors": pd.DataFrame([*factors.sources(), _resurvey_setting(factors, expected_error_m)],
                                columns=["factor", "central (low-high)", "source"]),
        "sites": est[list(SITE_COLUMNS)].copy(),
        "by_unit": by_unit(current, chosen[counted], factors),
        "inspection": _inspection(inspection, area),
        "resurveys": pairs,
    }
    tables["targets"] = target_status(tables["trends"], factors, today=today, by="admin_area")
    dates = pd.to_datetime(est["survey_date"], errors="coerce")
    data_date = dates.max().date().isoformat() if dates.notna().any() else "not given"
    note = ResurveyNote(int(est[LINK_FIELD].notna().sum()), int((~counted).sum()), len(pairs), within,
                        factors.resurvey_distance_m, expected_error_m, factors.resurvey_source)
    return Inventory(label, {k: tables[k] for k in TABLE_TITLES}, factors, data_date, len(est),
                     judged_on=today, resurvey=note)


def _resurvey_setting(factors: Factors, expected_error_m: float | None) -> tuple[str, str, str]:
    """The re-survey search distance as a row of the factors table."""
    error = (f" + 2 x {expected_error_m:g} m expected error" if expected_error_m is not None
             else "; no expected error added")
    return ("distance within which sites of different rounds are listed as possible re-surveys, m",
            f"{factors.resurvey_distance_m:g}{error}", factors.resurvey_source)


def _by_round(est: pd.DataFrame, factors: Factors) -> pd.DataFrame:
    """The roll-up by survey round, every record in its round, with ``n_resurveys``: the sites of the
    round linked to a site of an earlier round (``resurvey_of``)."""
    table = rollup(est, factors, by="survey_round")
    linked = est[LINK_FIELD].notna().groupby(est["survey_round"]).sum()
    at = list(table.columns).index("n_sites") + 1
    table.insert(at, "n_resurveys", table["survey_round"].map(linked).fillna(0).astype(int).to_numpy())
    return table


def _resurveys(chosen: pd.DataFrame, every: pd.DataFrame, same_site: pd.Series, within_m: float) -> pd.DataFrame:
    """The pairs of sites of different rounds within ``within_m`` metres, not linked, with a site among
    ``chosen`` (the report's area), searched among ``every`` site."""
    if "geometry" not in every.columns:
        return pd.DataFrame(columns=list(CANDIDATE_COLUMNS))
    pairs = resurvey_candidates(pd.DataFrame(every), same_site, distance_m=within_m)
    if len(chosen) == len(every):
        return pairs
    mine = set(chosen["site_id"].astype(str))
    keep = pairs["site_id"].astype(str).isin(mine) | pairs["resurvey_of"].astype(str).isin(mine)
    return pairs[keep].reset_index(drop=True)


def by_unit(est: pd.DataFrame, chosen: pd.DataFrame, factors: Factors) -> pd.DataFrame:
    """Roll-up per top unit (region or province) and per unit within it (district or commune), from
    the ``admin_<level>`` columns ``services.areas.with_units`` adds; empty when they are absent.

    Per top unit, its own row (sub-unit "(all)") comes first, then its sub-units.
    """
    levels = report_levels(chosen)
    if levels is None:
        return pd.DataFrame(columns=["unit", "within"])
    top, sub = levels
    labels = unit_labels(chosen.reset_index(drop=True), levels)
    est = est.assign(unit=labels[top].to_numpy(), within=labels[sub].to_numpy())
    whole = rollup(est, factors, by="unit").assign(within="(all)")
    parts = rollup(est, factors, by=["unit", "within"])
    table = pd.concat([whole, parts], ignore_index=True)
    table["_all"] = table["within"] != "(all)"
    table = table.sort_values(["unit", "_all", "within"], kind="stable").drop(columns="_all")
    cols = ["unit", "within"] + [c for c in table.columns if c not in ("unit", "within")]
    return table[cols].rename(columns={"unit": top, "within": sub}).reset_index(drop=True)


def _inspection(figures: pd.DataFrame | None, area: str | None) -> pd.DataFrame:
    """The inspection rows of ``area`` (every row without one); empty without figures."""
    if figures is None or figures.empty:
        return pd.DataFrame(columns=["admin_area"])
    return figures if area is None else figures[figures["admin_area"] == area].reset_index(drop=True)


def select_area(sites: pd.DataFrame, area: str | None, *,
                source: str = "mining_sites") -> pd.DataFrame:
    """The sites whose ``admin_area`` is ``area`` (all when None), geometry kept.

    Raises InputError naming the areas there are when no site lies in ``area``.
    """
    if area is None:
        return sites
    names = sites["admin_area"] if "admin_area" in sites.columns else pd.Series(
        [None] * len(sites), index=sites.index, dtype=object)
    chosen = sites[names == area]
    if chosen.empty:
        known = sorted({str(v) for v in names.dropna()})
        if not known:
            raise InputError(f"{source}: no site has admin_area {area!r}: admin_area is empty in all {len(sites)}"
                             " sites; import the sites with an admin_area field, or leave out --area")
        raise InputError(f"{source}: no site has admin_area {area!r}; expected one of {known}")
    return chosen


def _select(sites: pd.DataFrame, area: str | None, source: str) -> pd.DataFrame:
    chosen = select_area(sites, area, source=source)
    return pd.DataFrame(chosen.drop(columns="geometry", errors="ignore"))


def _comparison(total: pd.Series, factors: Factors, label: str,
                est: pd.DataFrame) -> pd.DataFrame:
    """Our used and released totals, then every published estimate, side by side."""
    lo, hi = (int(p) for p in factors.percentiles)
    n = int((est["basis"] != NOT_ESTIMABLE).sum())
    ours = [{"quantity": q, "area": label, "central_kg": total[f"{k}_kg"],
             "low_kg": total[f"{k}_low"], "high_kg": total[f"{k}_high"], "year": None,
             "method": f"HgWatch: {n} estimable sites (of {len(est)}); measured mercury where"
                       f" reported, else gold x Hg:Au ratio; range = {lo}th-{hi}th percentile of"
                       f" {factors.draws} Monte Carlo draws",
             "source": f"this workspace; factors {Path(factors.source_file).name}"}
            for q, k in (("mercury_used", "used"), ("mercury_released", "released"))]
    theirs = [{"quantity": p.quantity, "area": p.area, "central_kg": p.central,
               "low_kg": p.low, "high_kg": p.high, "year": p.year, "method": p.method,
               "source": p.source} for p in factors.published]
    table = pd.DataFrame(ours + theirs)
    table["year"] = table["year"].astype("Int64")
    return table


def table_csv(table: pd.DataFrame) -> bytes:
    """One table as UTF-8 CSV bytes (with a byte-order mark so spreadsheets read accents), through
    the one CSV writer (``layers.io.csvfile``: formulas defused in values and header names)."""
    return csv_bytes(table, float_format="%.6g")


def write_csvs(inventory: Inventory, folder: str | os.PathLike[str]) -> list[Path]:
    """Write every table as ``<name>.csv`` into ``folder``; returns the paths written."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, table in inventory.tables.items():
        path = out / f"{name}.csv"
        path.write_bytes(table_csv(table))
        paths.append(path)
    return paths


def tables_zip(inventory: Inventory) -> bytes:
    """Every table as CSV in one ZIP archive, for a single download."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, table in inventory.tables.items():
            archive.writestr(f"{name}.csv", table_csv(table))
    return buffer.getvalue()


def assumptions(factors: Factors) -> list[str]:
    """The assumptions behind the numbers, in plain words, for reports and the page."""
    lo, hi = (int(p) for p in factors.percentiles)
    own = [name for name, _, src in factors.sources() if src.lower().startswith("assumption")]
    return [
        "Mercury used is estimated from gold output times a ratio of grams of mercury per gram "
        "of gold that depends on how the ore is amalgamated. Where a site reports the mercury "
        "it uses, that figure is used instead, and the tables say which basis each site has.",
        "A site with neither a gold figure nor a mercury figure is counted as 'not estimable'. "
        "It adds nothing to the totals, so the totals are too low by whatever those sites use.",
        "Sites whose status is not " + " / ".join(factors.counted_statuses) + " (for example "
        "abandoned sites) are listed as 'not operating' and add nothing to the yearly totals. "
        "Inactive sites are counted by default because mining is seasonal.",
        "The mercury used is split into air, water and land (tailings and soil) by the way the "
        "amalgam is treated: open burning, a retort, or nitric acid. Amalgam that is not burned "
        "is taken to be dissolved in nitric acid, and unknown burning is taken to be open "
        "burning. What is not released is recovered.",
        "Where the source's shares add up to more than 100 % (open burning: 0.49 + 0.015 + "
        "0.005 g per 0.5 g used), they are scaled down to 100 %.",
        f"Every factor is a range. The totals give a central figure and the {lo}th to {hi}th "
        f"percentile of {factors.draws} Monte Carlo draws ({factors.distribution} distribution,"
        f" seed {factors.seed}). A factor is drawn once per draw for all sites, because it is one "
        "national figure whose error is shared.",
        "Gold in grams a day is turned into kilograms a year with the working days given for "
        f"the site or, where none are given, {factors.working_days.text()} days a year.",
        "The trend compares survey rounds as they are: a round that surveyed fewer sites shows "
        "less mercury. The reduction target is measured by the estimated mercury released.",
        "A site surveyed again in a later round gets a new record with a new site_id (a layer refuses a repeated"
        " id). It is one site when the later record names the earlier one in resurvey_of: the totals, the tables"
        " by area, practice and unit and the register then count it once, at its latest survey; each survey round"
        " counts its own records, and the trend also compares the same sites with the baseline round (same sites"
        " as baseline). Sites of different rounds within "
        f"{factors.resurvey_distance_m:g} m of each other (plus twice the layer's expected error) that are not"
        " linked are listed as possible re-surveys: until a person links them or judges them two sites, such a"
        " pair may be one site counted twice.",
        "The baseline the reduction is measured from is "
        + (f"survey round {factors.baseline_round!r} (an area without it: its first round)"
           if factors.baseline_round else "each area's first survey round")
        + "." + (f" Baseline year {factors.baseline_year}" if factors.baseline_year else "")
        + (f": {factors.baseline_source}." if factors.baseline_source else "." if factors.baseline_year else ""),
        "Factors that are HgWatch assumptions rather than figures from a source: "
        + (", ".join(own) if own else "none") + ".",
        "Metrics: " + "; ".join(f"{k} = {v}" for k, v in METRICS.items()) + ".",
    ]
