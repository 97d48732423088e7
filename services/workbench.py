"""The violations workbench for field coordinators: the table, new / persisting since the last
recorded run, the field list of sites to visit grouped by area, and CSV text safe for
spreadsheets. No Streamlit here.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.rules import RuleSet, diff_runs
from layers.io import csvfile
from layers.store.base import LayerInfo
from services.auth import Identity
from services.casework import NO_CASE
from services.worth import case_worth

SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
NOT_ASSIGNED = "not assigned"  # on screen, a case's empty assignee and last visit (a grey "None" read as a person)
NOT_VISITED = "not visited yet"
TABLE_COLUMNS = ("violation_id", "rule_id", "severity", "title", "site", "site_name",
                 "admin_area", "distance_m", "threshold_m", "nearest_water", "change",
                 "lat", "lon")


def change_status(violations: pd.DataFrame, runs: Sequence[dict[str, object]]) -> pd.Series:
    """Per violation: "new" or "persisting" against the newest recorded run, or "no earlier run"."""
    if not runs:
        return pd.Series("no earlier run", index=violations.index, dtype=object)
    ids = runs[0].get("violation_ids")
    previous = [str(v) for v in ids] if isinstance(ids, Iterable) else []
    diff = diff_runs(previous, violations["violation_id"].astype(str))
    persisting = set(diff.persisting)
    return violations["violation_id"].map(lambda v: "persisting" if v in persisting else "new")


def violations_table(violations: gpd.GeoDataFrame, sites: pd.DataFrame | None,
                     change: pd.Series, tailings: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per violation with the columns in ``TABLE_COLUMNS`` (distances in metres,
    coordinates of the flagged feature in degrees, 6 decimals). A tailings violation takes
    the name and area of the site its tailings belong to."""
    v = pd.DataFrame(violations.drop(columns=["geometry", "nearest_line"], errors="ignore"))
    out = pd.DataFrame(index=v.index)
    for name in ("violation_id", "rule_id", "severity", "title", "distance_m", "threshold_m"):
        out[name] = v.get(name)
    site = v["site_id"] if "site_id" in v else pd.Series(None, index=v.index, dtype=object)
    if "tailings_id" in v:
        site = site.where(site.notna(), v["tailings_id"])
    out["site"] = site
    names = areas = pd.Series(None, index=v.index, dtype=object)
    owner = v["site_id"] if "site_id" in v else pd.Series(None, index=v.index, dtype=object)
    if tailings is not None and "tailings_id" in v and len(tailings) and "site_id" in tailings:
        link = pd.DataFrame(tailings).drop_duplicates("tailings_id").set_index("tailings_id")
        owner = owner.where(owner.notna(), v["tailings_id"].map(link["site_id"]))
    if sites is not None and len(sites):
        lookup = pd.DataFrame(sites).drop_duplicates("site_id").set_index("site_id")
        names = owner.map(lookup["name"]) if "name" in lookup else names
        areas = owner.map(lookup["admin_area"]) if "admin_area" in lookup else areas
    out["site_name"], out["admin_area"] = names, areas
    nid = v["nearest_id"] if "nearest_id" in v else pd.Series(None, index=v.index, dtype=object)
    nname = v["nearest_name"] if "nearest_name" in v else pd.Series(None, index=v.index, dtype=object)
    out["nearest_water"] = nname.where(nname.notna(), nid)
    out["change"] = change.reindex(v.index)
    pts = violations.geometry.representative_point() if len(violations) else violations.geometry
    out["lat"] = np.round(pts.y.to_numpy(), 6) if len(violations) else []
    out["lon"] = np.round(pts.x.to_numpy(), 6) if len(violations) else []
    rank = out["severity"].map(SEVERITY_RANK).fillna(9)
    return out.assign(_r=rank).sort_values(["_r", "distance_m"]).drop(columns="_r")[
        list(TABLE_COLUMNS)].reset_index(drop=True)


def narrow(table: pd.DataFrame, *, severities: Sequence[str] = (), rules: Sequence[str] = (),
           changes: Sequence[str] = (), text: str = "") -> pd.DataFrame:
    """The rows of a ``violations_table`` with one of the chosen severities, rules and changes
    (empty: any) whose site id, site name or nearest water contains ``text`` (any case)."""
    shown = table
    for column, wanted in (("severity", severities), ("rule_id", rules), ("change", changes)):
        if wanted:
            shown = shown[shown[column].isin(wanted)]
    if text:
        # a missing value is "" (None + str was missing, so a row with no nearest water never matched)
        site, name, water = (shown[c].astype(object).fillna("").astype(str) for c in ("site", "site_name", "nearest_water"))
        hay = (site + " " + name + " " + water).str.lower()
        shown = shown[hay.str.contains(text.lower(), regex=False)]
    return shown.reset_index(drop=True)


def on_screen(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` (``casework.with_cases``) as the page shows it: a case with no assignee says
    ``NOT_ASSIGNED``, one never visited ``NOT_VISITED``; a violation with no case (status ``NO_CASE``)
    keeps both empty, as its days open. Only for the screen: downloads keep the empty cells."""
    case = table["status"] != NO_CASE
    out = table.copy()
    for column, words in (("assignee", NOT_ASSIGNED), ("last_visit", NOT_VISITED)):
        out[column] = out[column].astype(object)
        out.loc[case & out[column].isna(), column] = words
    return out


def options(table: pd.DataFrame, column: str) -> list[str]:
    """The distinct values of ``column`` in the table, sorted, for a multiselect."""
    return sorted(table[column].dropna().unique())


def field_list(table: pd.DataFrame) -> pd.DataFrame:
    """Sites to visit, one row per site, grouped by area: worst severity first, then nearest.

    Columns: area, site, site_name, lat, lon (degrees), rules broken, worst severity,
    closest distance in metres and the nearest water body.
    """
    if table.empty:
        return pd.DataFrame(columns=["area", "site", "site_name", "lat", "lon", "rules",
                                     "worst_severity", "closest_m", "nearest_water"])
    t = table.assign(area=table["admin_area"].fillna("(no area)"),
                     _r=table["severity"].map(SEVERITY_RANK).fillna(9))
    t = t.sort_values(["_r", "distance_m"])
    by_site = t.groupby(["area", "site"], dropna=False, sort=False)
    grouped = by_site.agg(
        site_name=("site_name", "first"), lat=("lat", "first"), lon=("lon", "first"),
        worst_severity=("severity", "first"), _r=("_r", "min"),
        closest_m=("distance_m", "min"), nearest_water=("nearest_water", "first"))
    grouped.insert(3, "rules", _rules_per_group(by_site.ngroup().to_numpy(), t["rule_id"], len(grouped)))
    grouped = grouped.reset_index().sort_values(["area", "_r", "closest_m"])
    return grouped.drop(columns="_r").reset_index(drop=True)


def _rules_per_group(group: np.ndarray, rule_ids: pd.Series, groups: int) -> list[str]:
    """Per group number (0 .. ``groups`` - 1) the distinct rule ids of its rows, sorted, joined by ", ".
    One sort of the whole table: a function called per site took 0.4 s a click at 5,382 sites."""
    pairs = pd.DataFrame({"g": group, "r": rule_ids.map(str).to_numpy()}).drop_duplicates().sort_values(["g", "r"])
    found: list[list[str]] = [[] for _ in range(groups)]
    for g, r in zip(pairs["g"].tolist(), pairs["r"].tolist()):
        found[g].append(r)
    return [", ".join(names) for names in found]


def csv_text(frame: pd.DataFrame, *, header_lines: Sequence[str] = ()) -> str:
    """``frame`` as CSV with formula-like text defused in values and header names
    (``layers.io.csvfile``, the one CSV writer); ``header_lines`` become '# ' comments."""
    return csvfile.csv_text(frame, header_lines=header_lines)


def distance_text(distance_m: object, threshold_m: object) -> str:
    """The detail's distance line: metres to 0.01 m and the rule's threshold, or what a rule with no
    distance (inside a zone, outside a licence, an attribute) measured instead."""
    def metres(value: object) -> str | None:
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        return None if number != number else f"{number:.2f} m"  # NaN: not measured
    found, rule = metres(distance_m), metres(threshold_m)
    if found is None:
        return "distance: not measured (this rule tests containment or attributes, not a distance)"
    return f"distance {found}" + (f" (rule {rule})" if rule else "")


def worth_text(rules: RuleSet, rule_id: object, infos: Iterable[LayerInfo], identity: Identity) -> str | None:
    """The detail's accuracy line under its distance (``services.worth.case_worth``): what the flag
    is worth given the expected error of the layers the rule compares; None for a rule the rule file
    no longer has or one that measures no place."""
    rule = next((r for r in rules.rules if r.id == str(rule_id)), None)
    worth = case_worth(rule, infos, identity)
    return None if worth is None else f"accuracy: {worth}"
