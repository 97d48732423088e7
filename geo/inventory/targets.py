"""Trends per area and survey round, and where each area stands against the plan's targets.

A survey round is the site's ``survey_round``; where that is empty, the year of its
``survey_date``; where both are empty, "(undated)". Rounds are ordered by their earliest survey
date, then by name. The baseline round is the factor file's ``baseline.round`` or, when that is
empty or absent from an area's data, that area's first round.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from geo.inventory._groups import group_labels
from geo.inventory.estimate import ESTIMATED, MEASURED, MERCURY_FREE, NOT_ESTIMABLE, NOT_OPERATING
from geo.inventory.factors import Factors
from geo.inventory.montecarlo import rollup

METRICS: dict[str, str] = {
    "share_gold_mercury_free": "share of gold output (where known) from mercury-free sites",
    "share_sites_mercury_free": "share of sites that do not use mercury",
    "share_sites_retort": "share of mercury-using sites that burn amalgam in a retort",
    "released_reduction_vs_baseline": "fall in estimated mercury released since the baseline round",
    "released_reduction_same_sites": "fall in estimated mercury released by the same sites since the baseline"
                                     " round (sites surveyed in both, linked by resurvey_of, with a figure in both)",
}
UNDATED = "(undated)"
SAME_SITE = "same_site"
"""Column of the estimates naming each record's site (``geo.inventory.resurvey``); ``site_id`` without it."""


def survey_rounds(estimates: pd.DataFrame) -> pd.Series:
    """The survey round of each site as text (see module docstring)."""
    rounds = estimates.get("survey_round", pd.Series([None] * len(estimates),
                                                     index=estimates.index))
    dates = pd.to_datetime(estimates.get("survey_date"), errors="coerce") if (
        "survey_date" in estimates.columns) else pd.Series(pd.NaT, index=estimates.index)
    years = dates.dt.year.map(lambda y: UNDATED if pd.isna(y) else str(int(y)))
    given = rounds.map(lambda v: isinstance(v, str) and bool(v.strip()) or (
        v is not None and not isinstance(v, str) and not pd.isna(v)))
    return rounds.where(given, years).map(str)


def _dates(frame: pd.DataFrame) -> pd.Series:
    """Each site's survey date (NaT where not given or not a date)."""
    if "survey_date" not in frame.columns:
        return pd.Series(pd.NaT, index=frame.index)
    return pd.to_datetime(frame["survey_date"], errors="coerce")


def round_ranks(estimates: pd.DataFrame) -> dict[str, int]:
    """Each survey round's place in time, 0 the first: rounds ordered by their earliest survey date,
    then by name, a round with no date last (as ``trends`` orders them)."""
    order = (pd.DataFrame({"survey_round": survey_rounds(estimates), "_date": _dates(estimates)})
             .groupby("survey_round")["_date"].min().reset_index()
             .sort_values(["_date", "survey_round"], na_position="last"))
    return {str(r): i for i, r in enumerate(order["survey_round"])}


def trends(estimates: pd.DataFrame, factors: Factors, *, by: str = "admin_area") -> pd.DataFrame:
    """One row per area and survey round with the shares the targets are measured by.

    Parameters
    ----------
    estimates : output of ``geo.inventory.estimate.estimate_sites``.
    factors : gives the baseline round.
    by : the area column.

    Returns
    -------
    DataFrame with ``by``, ``survey_round``, ``round_order`` (0 = first), ``n_sites``,
    ``n_operating``, ``n_not_estimable``, the four ``METRICS`` as shares of the operating sites
    between 0 and 1 (NaN where nothing can
    be measured: the gold share when no site using mercury has a gold figure, since the known
    gold would all be mercury-free), ``released_kg`` (central, kg of mercury a year, estimable
    sites only; NaN when sites use mercury and none has a figure) between ``released_low`` and
    ``released_high`` (the roll-up's percentiles for the area and round) and ``baseline_round``.
    The reduction compares totals of whatever sites each round holds: a round with fewer sites
    surveyed looks better than it is, so ``n_sites`` is kept beside it.
    """
    frame = estimates.copy()
    frame[by] = group_labels(frame[by])
    frame["survey_round"] = survey_rounds(frame)
    frame["_date"] = _dates(frame)
    rank = round_ranks(frame)
    rows = []
    for (area, rnd), part in frame.groupby([by, "survey_round"], sort=False):
        rows.append(_round_row(area, rnd, rank[rnd], part, by))
    out = pd.DataFrame(rows).sort_values([by, "round_order"]).reset_index(drop=True)
    out = _add_range(out, frame, factors, by)
    return _add_same_sites(_add_reduction(out, factors, by), frame, by)


def _add_range(out: pd.DataFrame, frame: pd.DataFrame, factors: Factors, by: str) -> pd.DataFrame:
    """``released_low`` / ``released_high`` beside ``released_kg``: the roll-up's percentiles per area and
    round (``montecarlo.rollup``), NaN where the round's release is not known."""
    ranged = rollup(frame.drop(columns="_date"), factors, by=[by, "survey_round"])
    out = out.merge(ranged[[by, "survey_round", "released_low", "released_high"]], on=[by, "survey_round"],
                    how="left")
    unknown = out["released_kg"].isna()
    out.loc[unknown, ["released_low", "released_high"]] = np.nan
    cols = list(out.columns)
    at = cols.index("released_kg")
    cols = [c for c in cols if c not in ("released_low", "released_high")]
    return out[cols[:at] + ["released_low", "released_kg", "released_high"] + cols[at + 1:]]


def _round_row(area: str, rnd: str, order: int, part: pd.DataFrame, by: str) -> dict[str, object]:
    n_sites, n_not_estimable = len(part), int(part["basis"].eq(NOT_ESTIMABLE).sum())
    part = part[~part["basis"].eq(NOT_OPERATING)]  # shares are of the operating sites
    free = part["basis"].eq(MERCURY_FREE)
    gold = pd.to_numeric(part["gold_kg_per_year"], errors="coerce")
    known = gold.notna()
    using = ~free
    burning_known = using & part["burning"].ne("unknown")
    estimable = ~part["basis"].eq(NOT_ESTIMABLE)
    # a site using mercury with no gold figure makes the gold share unknown, not 100 %, when the
    # known gold is all mercury-free; a round whose sites using mercury have no figure released
    # nothing known, not zero
    gold_unknown = using.any() and not gold[known & using].sum() > 0
    released_unknown = using.any() and not part["basis"].isin([MEASURED, *ESTIMATED]).any()
    return {
        by: area, "survey_round": rnd, "round_order": order, "n_sites": n_sites,
        "n_operating": len(part), "n_not_estimable": n_not_estimable,
        "share_sites_mercury_free": float(free.mean()) if len(part) else np.nan,
        "share_gold_mercury_free": float(gold[known & free].sum() / gold[known].sum())
        if gold[known].sum() > 0 and not gold_unknown else np.nan,
        "share_sites_retort": float((part["burning"].eq("retort") & burning_known).sum()
                                    / burning_known.sum()) if burning_known.any() else np.nan,
        "released_kg": np.nan if released_unknown else float(part.loc[estimable, "released_kg"].sum()),
    }


def _add_reduction(out: pd.DataFrame, factors: Factors, by: str) -> pd.DataFrame:
    """Baseline round per area and the fall in released mercury since it (share 0-1)."""
    base_rounds, reductions = [], []
    for _, row in out.iterrows():
        area_rows = out[out[by] == row[by]]
        wanted = area_rows[area_rows["survey_round"] == factors.baseline_round]
        base = wanted.iloc[0] if len(wanted) else area_rows.iloc[0]
        base_rounds.append(base["survey_round"])
        reductions.append(1.0 - row["released_kg"] / base["released_kg"]
                          if base["released_kg"] > 0 else np.nan)
    out["baseline_round"] = base_rounds
    out["released_reduction_vs_baseline"] = reductions
    return out


_NONE = pd.Series(dtype=float)  # no site of an area in a round


def _add_same_sites(out: pd.DataFrame, frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """``n_same_sites`` (sites of the area's round also surveyed in its baseline round, each with a figure
    in both) and ``released_reduction_same_sites``, the fall in their released mercury (share 0-1; NaN
    when no site is in both, or they released nothing at the baseline)."""
    site = (frame[SAME_SITE] if SAME_SITE in frame.columns else frame["site_id"]).astype(str)
    figured = frame["basis"].isin([MEASURED, *ESTIMATED, MERCURY_FREE, NOT_OPERATING])  # 0 is a figure
    released = pd.to_numeric(frame["released_kg"], errors="coerce").where(figured, np.nan)
    per = pd.DataFrame({"area": frame[by], "round": frame["survey_round"], "site": site,
                        "released": released})[figured.to_numpy()]
    kg = {key: part.groupby("site")["released"].sum() for key, part in per.groupby(["area", "round"])}
    counts, falls = [], []
    for area, rnd, base in zip(out[by], out["survey_round"], out["baseline_round"], strict=True):
        now, then = kg.get((area, rnd), _NONE), kg.get((area, base), _NONE)
        both = now.index.intersection(then.index)
        before = float(then[both].sum())
        counts.append(len(both))
        falls.append(1.0 - float(now[both].sum()) / before if len(both) and before > 0 else np.nan)
    out["n_same_sites"] = counts
    out["released_reduction_same_sites"] = falls
    return out


def target_status(trend: pd.DataFrame, factors: Factors, *, today: date,
                  by: str = "admin_area") -> pd.DataFrame:
    """Where each area's latest round stands against each target.

    Returns
    -------
    DataFrame with ``by``, ``target``, ``label``, ``metric``, ``latest_round``, ``value``
    (share 0-1 in the latest round), ``target_value``, ``deadline``, ``status`` ("met",
    "not met", "not met, deadline passed" or "no data"), ``not_estimable`` (sites of the latest
    round with no figure: a value measured without them may be better than the truth) and ``source``.
    """
    rows = []
    for area, part in trend.groupby(by, sort=True):
        latest = part.sort_values("round_order").iloc[-1]
        for t in factors.targets:
            value = latest.get(t.metric, np.nan)
            if value is None or pd.isna(value):
                status = "no data"
            elif value >= t.value - 1e-12:
                status = "met"
            elif t.deadline is not None and today > t.deadline:
                status = "not met, deadline passed"
            else:
                status = "not met"
            rows.append({by: area, "target": t.id, "label": t.label, "metric": t.metric,
                         "latest_round": latest["survey_round"], "value": value,
                         "target_value": t.value,
                         "deadline": t.deadline.isoformat() if t.deadline else "",
                         "status": status, "not_estimable": int(latest["n_not_estimable"]),
                         "source": t.source})
    return pd.DataFrame(rows)
