"""Per-site estimate of mercury used and released, from gold output and processing practice.

For each site the basis is, in order of precedence:

0. ``not operating``: the site's status is not one the factor file counts (by default an
   abandoned site); it adds nothing to the yearly totals but is listed.
1. ``measured``: the site reports ``mercury_kg_per_year``; that figure is the mercury used.
2. ``gold kg/year``: gold output x the Hg:Au ratio of the site's amalgamation practice.
3. ``gold g/day x working days``: grams a day x working days a year (the configured range of
   working days when the site gives none), then as in 2.
4. ``mercury-free``: the site uses no mercury by the one definition, ``geo.sites.mercury_use``
   (it says so or does not amalgamate, and does not amalgamate or burn amalgam either).
5. ``not estimable``: none of the above. Such a site is counted, never taken as zero.

The mercury used is then split by the release route of the site's burning method into air,
water and land (tailings and soil); the rest is recovered (e.g. in a retort). Quantities are in
kg of mercury a year, each as low, central and high. The per-site low/high are the bounds of the
factor ranges; roll-ups with percentiles come from ``geo.inventory.montecarlo``. Every unit
conversion (the site fields' units to kg a year, gold times the Hg:Au ratio in g/g to mercury)
goes through pint (``geo.quantities``); the factors come in their computing units
(``geo.inventory.factors``).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from geo.errors import InputError, Problem
from geo.inventory.factors import COMPARTMENTS, DAYS_UNIT, RATIO_UNIT, Factors
from geo.quantities import factor
from geo.sites import NONE as NO_MERCURY
from geo.sites import mercury_use
from geo.words import counted, one_of

MEASURED = "measured"
FROM_KG = "gold kg/year"
FROM_DAYS = "gold g/day x working days"
FROM_DEFAULT_DAYS = "gold g/day x default working days"
MERCURY_FREE = "mercury-free"
NOT_ESTIMABLE = "not estimable"
NOT_OPERATING = "not operating"
BASES = (NOT_OPERATING, MEASURED, FROM_KG, FROM_DAYS, FROM_DEFAULT_DAYS, MERCURY_FREE,
         NOT_ESTIMABLE)
ESTIMATED = (FROM_KG, FROM_DAYS, FROM_DEFAULT_DAYS)
"""The bases of a site estimated from its gold output."""

MASS_UNIT = "kg/year"
"""Unit of every gold and mercury quantity this module returns."""

_NUMERIC = {  # field -> (pint unit of the mining_sites field, maximum or None)
    "gold_kg_per_year": ("kg/year", None),
    "gold_g_per_day": ("g/day", None),
    "working_days_per_year": (DAYS_UNIT, 366.0),
    "mercury_kg_per_year": ("kg/year", None),
}
_CARRIED = ("site_id", "name", "admin_area", "district", "survey_round", "survey_date", "status",
            "size_class", "uses_mercury", "amalgamation", "burning", "miners", "women_miners",
            "registered", "licence_status")
# conversions through pint: field units to MASS_UNIT, and gold x Hg:Au ratio to mercury
_GOLD_PER_YEAR = factor(_NUMERIC["gold_kg_per_year"][0], MASS_UNIT)
_GOLD_PER_DAY_TIMES_DAYS = factor(f"({_NUMERIC['gold_g_per_day'][0]}) * ({DAYS_UNIT})", MASS_UNIT)
_MEASURED = factor(_NUMERIC["mercury_kg_per_year"][0], MASS_UNIT)
MERCURY_PER_GOLD = factor(f"({MASS_UNIT}) * ({RATIO_UNIT})", MASS_UNIT)


def estimate_sites(sites: pd.DataFrame, factors: Factors, *,
                   source: str = "mining_sites") -> pd.DataFrame:
    """Estimate mercury used and released for every site.

    Parameters
    ----------
    sites : one row per site with the ``mining_sites`` fields (missing columns count as empty);
        an optional ``_row`` column gives source record numbers for messages.
    factors : Hg:Au ratios, release routes and default working days.
    source : file or layer name used in error messages.

    Returns
    -------
    DataFrame, one row per site in input order: the carried fields, ``basis`` (one of
    ``BASES``), ``route``, ``gold_kg_per_year`` (gold in kg a year, central), the inputs the
    Monte Carlo needs (``gold_kg_fixed``, ``gold_kg_per_day_default_days``, ``measured_kg``)
    and, for every quantity in ``geo.inventory.factors.QUANTITIES``, columns ``<q>_kg``, ``<q>_low`` and
    ``<q>_high`` in kg of mercury a year (NaN for a site that is not estimable).

    Raises
    ------
    InputError
        listing every negative or non-numeric figure and every unknown practice.
    """
    frame, rows = _columns(sites)
    values = _validate(frame, rows, factors, source)
    return _assemble(frame, values, factors)


def _columns(sites: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The fields used here, missing ones as empty, and the 1-based source row numbers."""
    frame = pd.DataFrame(index=sites.index)
    for name in (*_CARRIED, *_NUMERIC):
        frame[name] = sites[name] if name in sites.columns else pd.Series(
            [None] * len(sites), index=sites.index, dtype=object)
    rows = (sites["_row"].to_numpy() if "_row" in sites.columns
            else np.arange(1, len(sites) + 1))
    return frame.reset_index(drop=True), rows


def _validate(frame: pd.DataFrame, rows: np.ndarray, factors: Factors,
              source: str) -> dict[str, np.ndarray]:
    """Numeric fields as float arrays; raise InputError naming every bad value."""
    problems: list[Problem] = []
    values: dict[str, np.ndarray] = {}
    ids = frame["site_id"].to_numpy()

    def add(i: int, name: str, value: object, expected: str) -> None:
        fid = None if pd.isna(ids[i]) else str(ids[i])
        problems.append(Problem(source, int(rows[i]), name, value, expected, feature_id=fid))

    for name, (unit, maximum) in _NUMERIC.items():
        raw = frame[name]
        present = _present(raw)
        if raw.dtype == object:  # True is not 1 kg (only given values can be a bool)
            given = np.flatnonzero(present)
            cells = raw.to_numpy()[given]
            flags = np.zeros(len(raw), dtype=bool)
            flags[given] = np.fromiter((isinstance(v, bool) for v in cells), dtype=bool, count=given.size)
            raw = raw.where(~flags)
        num = pd.to_numeric(raw, errors="coerce").astype("float64").to_numpy()
        bad = present & (np.isnan(num) | np.isinf(num))
        out_of_range = present & ~bad & ((num < 0) | (num > (maximum or np.inf)))
        upper = f" and at most {maximum:g}" if maximum is not None else ""
        for i in np.flatnonzero(bad | out_of_range):
            add(int(i), name, frame[name].iloc[i], f"a number in {unit}" + (
                f", zero or more{upper}" if out_of_range[i] else ""))
        values[name] = np.where(present, num, np.nan)
    for name, allowed in (("amalgamation", factors.hg_au_ratio), ("burning",
                                                                  factors.burning_route)):
        raw = frame[name]
        unknown = _present(raw) & ~raw.astype(str).isin(list(allowed)).to_numpy(dtype=bool)
        for i in np.flatnonzero(unknown):
            add(int(i), name, raw.iloc[i], one_of(sorted(allowed)))
    if problems:
        raise InputError(f"{source}: {counted(len(problems), 'value')} cannot be used for the mercury"
                         f" inventory", problems)
    return values


def _present(values: pd.Series) -> np.ndarray:
    """True where a value is given: not None/NaN/NA and not a blank string."""
    given = values.notna().to_numpy(dtype=bool)
    if (values.dtype == object or pd.api.types.is_string_dtype(values)) and given.any():
        codes, uniques = pd.factorize(values)  # each distinct value tested once (missing: code -1)
        blank = (pd.Series(uniques, dtype=object).astype(str).str.strip() == "").to_numpy(dtype=bool)
        given = given & ~np.append(blank, False)[codes]
    return given


def _coded(values: pd.Series) -> pd.Series:
    """A coded field as text, empty values as "unknown"."""
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):  # text: made once per distinct value
        codes, uniques = pd.factorize(values)  # (not for other objects: 1, 1.0 and True are one key, three texts)
        distinct = pd.Series(uniques, dtype=object)  # given: not missing (code -1) and not blank, as _present
        given = np.append((distinct.str.strip() != "").to_numpy(dtype=bool), False)[codes]
        text = np.append(distinct.to_numpy(dtype=object), "unknown")[codes]
    else:
        given, text = _present(values), values.astype(str).to_numpy(dtype=object)
    return pd.Series(np.where(given, text, "unknown"), index=values.index, dtype=object)


class _Distinct:
    """A column as its distinct values and which one each row holds, so that ``map`` looks a table up once
    per distinct value (a coded field of 1e6 sites has a handful) and gives what ``values.map`` gives."""

    def __init__(self, values: pd.Series) -> None:
        self.codes, uniques = pd.factorize(values, use_na_sentinel=False)
        self.uniques = pd.Series(uniques, dtype=values.dtype)
        self.index = values.index

    def map(self, table: Mapping[str, object]) -> pd.Series:
        return self.uniques.map(table).take(self.codes).set_axis(self.index)


def _mapped(values: pd.Series, table: Mapping[str, object]) -> pd.Series:
    """``values.map(table)``, each distinct value looked up once."""
    return _Distinct(values).map(table)


def _gold(values: dict[str, np.ndarray], factors: Factors) -> dict[str, np.ndarray]:
    """Gold in kg a year: fixed part, per-day part that needs default days, and low/high bounds."""
    to_kg_year = _GOLD_PER_DAY_TIMES_DAYS  # g/day x day/year in kg/year
    kg_year = values["gold_kg_per_year"] * _GOLD_PER_YEAR
    g_day = values["gold_g_per_day"]
    days = values["working_days_per_year"]
    use_kg = ~np.isnan(kg_year)
    use_days = ~use_kg & ~np.isnan(g_day) & ~np.isnan(days)
    use_default = ~use_kg & ~np.isnan(g_day) & np.isnan(days)
    fixed = np.where(use_kg, kg_year, np.where(use_days, g_day * days * to_kg_year, np.nan))
    per_day = np.where(use_default, g_day * to_kg_year, 0.0)  # kg a year per working day a year
    wd = factors.working_days
    return {
        "fixed": fixed, "per_day": per_day, "use_kg": use_kg, "use_days": use_days,
        "use_default": use_default,
        "low": np.where(use_default, per_day * wd.low, fixed),
        "central": np.where(use_default, per_day * wd.central, fixed),
        "high": np.where(use_default, per_day * wd.high, fixed),
    }


def _assemble(frame: pd.DataFrame, values: dict[str, np.ndarray],
              factors: Factors) -> pd.DataFrame:
    """Basis, gold and every quantity as low/central/high for each site."""
    amalg = _coded(frame["amalgamation"])
    burning = _coded(frame["burning"])
    no_mercury = (mercury_use(frame) == NO_MERCURY).to_numpy(dtype=bool, copy=True)
    status = _coded(frame["status"])
    idle = ~status.isin(factors.counted_statuses).to_numpy(dtype=bool)
    no_mercury |= idle
    measured = values["mercury_kg_per_year"] * _MEASURED
    has_measured = ~np.isnan(measured) & ~idle
    gold = _gold(values, factors)
    has_gold = gold["use_kg"] | gold["use_days"] | gold["use_default"]
    basis = np.select(
        [idle, has_measured, no_mercury, gold["use_kg"], gold["use_days"], gold["use_default"]],
        [NOT_OPERATING, MEASURED, MERCURY_FREE, FROM_KG, FROM_DAYS, FROM_DEFAULT_DAYS],
        NOT_ESTIMABLE)
    out = frame[list(_CARRIED)].copy()
    out["amalgamation"], out["burning"] = amalg, burning
    out["basis"] = basis
    out["route"] = _mapped(burning, factors.burning_route)
    out["gold_kg_per_year"] = np.where(has_gold & ~idle, gold["central"], np.nan)
    out["gold_kg_fixed"] = np.where(no_mercury, 0.0, np.nan_to_num(gold["fixed"]))
    out["gold_kg_per_day_default_days"] = np.where(no_mercury, 0.0, gold["per_day"])
    out["measured_kg"] = np.where(has_measured, measured, 0.0)
    released_share: dict[str, np.ndarray] = {}
    practice, route = _Distinct(amalg), _Distinct(out["route"])
    for bound in ("low", "central", "high"):
        ratio = practice.map({k: getattr(r, bound) for k, r in factors.hg_au_ratio.items()}).to_numpy(dtype=float)
        used = np.select([has_measured, no_mercury, has_gold],
                         [measured, 0.0, gold[bound] * ratio * MERCURY_PER_GOLD], np.nan)
        suffix = "kg" if bound == "central" else bound
        shares = {c: route.map({r: _share(factors, r, c, bound) for r in factors.routes}).to_numpy(dtype=float)
                  for c in COMPARTMENTS}
        total = route.map({r: min(sum(getattr(how.share(c), bound) for c in COMPARTMENTS), 1.0)
                           for r, how in factors.routes.items()}).to_numpy(dtype=float)
        for c in COMPARTMENTS:
            out[f"{c}_{suffix}"] = used * shares[c]
        out[f"used_{suffix}"] = used
        out[f"released_{suffix}"] = used * np.minimum(total, 1.0)
        released_share[bound] = np.minimum(total, 1.0)
    # recovered is what is not released: its low pairs the low use with the high release shares
    for suffix, use, shares_of in (("kg", "central", "central"), ("low", "low", "high"),
                                   ("high", "high", "low")):
        out[f"recovered_{suffix}"] = out[f"used_{'kg' if use == 'central' else use}"] * (
            1.0 - released_share[shares_of])
    return out


def _share(factors: Factors, route: str, compartment: str, bound: str) -> float:
    """One compartment's share of a route at a bound; central shares adding past 1 are scaled."""
    r = factors.routes[route]
    if bound != "central":
        return float(getattr(r.share(compartment), bound))
    total = sum(r.share(c).central for c in COMPARTMENTS)
    return r.share(compartment).central / max(total, 1.0)
