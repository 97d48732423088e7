"""Roll per-site estimates up by group, with Monte Carlo percentiles over the factor ranges.

Each draw samples every factor once (beta-PERT or triangular over low/central/high) and applies
it to every site: a factor is one national figure, so its error is shared by all sites, not
independent per site. The draws use a fixed seed, so the same inputs always give the same
percentiles. Site figures are first summed by (group, amalgamation, route), then multiplied by
the draws, so the cost grows with the number of groups, not of sites.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from geo.factors import COMPARTMENTS, QUANTITIES, Factors, Range
from geo.inventory import FROM_DAYS, FROM_DEFAULT_DAYS, FROM_KG, MEASURED, MERCURY_FREE, \
    NOT_ESTIMABLE, NOT_OPERATING

NO_GROUP = "(not given)"
_ESTIMATED = (FROM_KG, FROM_DAYS, FROM_DEFAULT_DAYS)


def draw_range(rng: np.random.Generator, r: Range, n: int, distribution: str) -> np.ndarray:
    """``n`` draws over range ``r``: beta-PERT ("pert") or triangular; a point range is constant."""
    if r.high <= r.low:
        return np.full(n, r.central, dtype=float)
    if distribution == "triangular":
        return rng.triangular(r.low, r.central, r.high, size=n)
    span = r.high - r.low
    alpha = 1.0 + 4.0 * (r.central - r.low) / span
    beta = 1.0 + 4.0 * (r.high - r.central) / span
    return r.low + span * rng.beta(alpha, beta, size=n)


def sample_factors(factors: Factors, *, draws: int | None = None,
                   seed: int | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Draw every factor: ``{"ratio": {practice: g/g}, "<route>": {compartment: share,
    "released": share of all three}, "days": {"working_days": day/year}}``, each an array of
    ``draws`` values.

    Release shares of one draw that add up to more than 1 are scaled down to add up to 1.
    """
    n = draws or factors.draws
    rng = np.random.default_rng(factors.seed if seed is None else seed)
    dist = factors.distribution
    out: dict[str, dict[str, np.ndarray]] = {
        "ratio": {k: draw_range(rng, factors.hg_au_ratio[k], n, dist)
                  for k in sorted(factors.hg_au_ratio)}}
    for name in sorted(factors.routes):
        route = factors.routes[name]
        shares = {c: draw_range(rng, route.share(c), n, dist) for c in COMPARTMENTS}
        raw = sum(shares.values())
        total = np.maximum(raw, 1.0)
        out[name] = {c: s / total for c, s in shares.items()}
        out[name]["released"] = np.minimum(raw, 1.0)  # exact, so recovered is 0, not -1e-16
    out["days"] = {"working_days": draw_range(rng, factors.working_days, n, dist)}
    return out


def rollup(estimates: pd.DataFrame, factors: Factors, *, by: str | Sequence[str] | None = None,
           draws: int | None = None, seed: int | None = None) -> pd.DataFrame:
    """Totals per group with the central estimate and Monte Carlo percentiles.

    Parameters
    ----------
    estimates : output of ``geo.inventory.estimate_sites``.
    factors : the factors the estimates were made with (ranges, seed, draws, percentiles).
    by : column(s) to group by (e.g. "admin_area", "amalgamation", "survey_round"); None gives
        one row for everything. Empty group values are shown as "(not given)".
    draws, seed : override the factor file's settings.

    Returns
    -------
    DataFrame, one row per group: the group columns, site counts by basis (``n_sites``,
    ``n_measured``, ``n_estimated``, ``n_mercury_free``, ``n_not_operating``,
    ``n_not_estimable``), ``gold_kg``
    (gold of the estimated sites, kg a year) and, for each quantity ``q`` in
    ``geo.factors.QUANTITIES``, ``q_kg`` (central, kg of mercury a year) and ``q_low`` /
    ``q_high`` (the configured percentiles, 5th and 95th by default). Sites that are not
    estimable add to ``n_not_estimable`` and to no total. ``attrs["percentiles"]`` holds the
    percentiles.
    """
    keys = _group_columns(by)
    frame = _grouped_frame(estimates, keys)
    sample = sample_factors(factors, draws=draws, seed=seed)
    rows = [_group_row(group, part, sample, factors)
            for group, part in frame.groupby(keys, sort=True, dropna=False)]
    columns = list(keys) + ["n_sites", "n_measured", "n_estimated", "n_mercury_free",
                            "n_not_operating", "n_not_estimable", "gold_kg"] + [
        f"{q}_{s}" for q in QUANTITIES for s in ("kg", "low", "high")]
    out = pd.DataFrame(rows, columns=columns)
    out.attrs["percentiles"] = factors.percentiles
    return out


def _group_columns(by: str | Sequence[str] | None) -> list[str]:
    if by is None:
        return ["group"]
    return [by] if isinstance(by, str) else list(by)


def _grouped_frame(estimates: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    frame = estimates.copy()
    for key in keys:
        if key == "group" and key not in frame.columns:
            frame[key] = "all sites"
        frame[key] = frame[key].map(
            lambda v: NO_GROUP if v is None or v is pd.NA or (isinstance(v, float) and v != v)
            or (isinstance(v, str) and not v.strip()) else str(v))
    return frame


def _group_row(group: object, part: pd.DataFrame, sample: dict[str, dict[str, np.ndarray]],
               factors: Factors) -> list[object]:
    """Counts, central sums and percentiles of one group."""
    basis = part["basis"]
    estimated = basis.isin(_ESTIMATED)
    n = len(next(iter(sample["ratio"].values())))
    totals = {q: np.zeros(n) for q in QUANTITIES}
    days = sample["days"]["working_days"]
    weights = pd.DataFrame({
        "amalgamation": part["amalgamation"], "route": part["route"],
        "measured": np.where(basis == MEASURED, part["measured_kg"], 0.0),
        "gold": np.where(estimated, part["gold_kg_fixed"], 0.0),
        "per_day": np.where(estimated, part["gold_kg_per_day_default_days"], 0.0),
    })
    summed = weights.groupby(["amalgamation", "route"], sort=True).sum()
    for (practice, route), w in summed.iterrows():
        used = w["measured"] + (w["gold"] + w["per_day"] * days) * sample["ratio"][practice]
        released = np.zeros(n)
        for c in COMPARTMENTS:
            part_c = used * sample[route][c]
            totals[c] += part_c
            released += part_c
        totals["used"] += used
        totals["released"] += released
        totals["recovered"] += used * (1.0 - sample[route]["released"])
    lo, hi = factors.percentiles
    counted = ~basis.eq(NOT_ESTIMABLE)
    values: list[object] = list(group) if isinstance(group, tuple) else [group]
    values += [len(part), int((basis == MEASURED).sum()), int(estimated.sum()),
               int((basis == MERCURY_FREE).sum()), int((basis == NOT_OPERATING).sum()),
               int((~counted).sum()),
               float(part.loc[estimated, "gold_kg_per_year"].sum())]
    for q in QUANTITIES:
        central = float(part.loc[counted, f"{q}_kg"].sum())
        low, high = np.percentile(totals[q], [lo, hi])
        values += [central, float(low), float(high)]
    return values
