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

from geo.inventory._groups import ALL_SITES, group_labels
from geo.inventory.estimate import (
    ESTIMATED,
    MEASURED,
    MERCURY_FREE,
    MERCURY_PER_GOLD,
    NOT_ESTIMABLE,
    NOT_OPERATING,
)
from geo.inventory.factors import COMPARTMENTS, QUANTITIES, Factors, Range


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
    estimates : output of ``geo.inventory.estimate.estimate_sites``.
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
    ``geo.inventory.factors.QUANTITIES``, ``q_kg`` (central, kg of mercury a year) and ``q_low`` /
    ``q_high`` (the configured percentiles, 5th and 95th by default). Sites that are not
    estimable add to ``n_not_estimable`` and to no total; a group whose sites are all not
    estimable has no total (NaN), never zero. ``attrs["percentiles"]`` holds the percentiles.
    """
    keys = _group_columns(by)
    frame = _grouped_frame(estimates, keys)
    sample = sample_factors(factors, draws=draws, seed=seed)
    draws_by_group = _draws_by_group(frame, keys, sample)
    lo, hi = factors.percentiles
    counts = _counts(frame, keys)
    unknown = (counts["n_not_estimable"] == counts["n_sites"]).to_numpy()  # no figure at all: not zero
    for q in QUANTITIES:
        counted = frame[f"{q}_kg"].where(frame["basis"] != NOT_ESTIMABLE, 0.0)
        counts[f"{q}_kg"] = counted.groupby([frame[k] for k in keys], sort=True).sum().where(~unknown)
        pct = {g: np.percentile(d[q], [lo, hi]) for g, d in draws_by_group.items()}
        counts[f"{q}_low"] = np.where(unknown, np.nan, [float(pct[g][0]) for g in counts.index])
        counts[f"{q}_high"] = np.where(unknown, np.nan, [float(pct[g][1]) for g in counts.index])
    out = counts.reset_index()
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
            frame[key] = ALL_SITES
        frame[key] = group_labels(frame[key])
    return frame


def _counts(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Site counts by basis and gold of the estimated sites, one row per group."""
    basis = frame["basis"]
    estimated = basis.isin(ESTIMATED)
    flags = pd.DataFrame({
        "n_sites": 1, "n_measured": basis.eq(MEASURED), "n_estimated": estimated,
        "n_mercury_free": basis.eq(MERCURY_FREE), "n_not_operating": basis.eq(NOT_OPERATING),
        "n_not_estimable": basis.eq(NOT_ESTIMABLE),
    }, index=frame.index).astype(int)
    flags["gold_kg"] = frame["gold_kg_per_year"].where(estimated, 0.0).fillna(0.0)
    return flags.groupby([frame[k] for k in keys], sort=True).sum()


def _draws_by_group(frame: pd.DataFrame, keys: list[str],
                    sample: dict[str, dict[str, np.ndarray]]) -> dict[object, dict[str, np.ndarray]]:
    """Per group, the Monte Carlo draws of every quantity (kg a year)."""
    basis = frame["basis"]
    estimated = basis.isin(ESTIMATED)
    weights = pd.DataFrame({
        "measured": np.where(basis == MEASURED, frame["measured_kg"], 0.0),
        "gold": np.where(estimated, frame["gold_kg_fixed"], 0.0),
        "per_day": np.where(estimated, frame["gold_kg_per_day_default_days"], 0.0),
    }, index=frame.index)
    columns = [frame[k] for k in keys] + [frame["amalgamation"], frame["route"]]
    summed = weights.groupby(columns, sort=True).sum()
    n = len(next(iter(sample["ratio"].values())))
    days = sample["days"]["working_days"]
    out: dict[object, dict[str, np.ndarray]] = {}
    for index, (measured, gold, per_day) in zip(summed.index, summed.to_numpy()):
        group = index[0] if len(keys) == 1 else tuple(index[:len(keys)])
        practice, route = index[-2], index[-1]
        totals = out.setdefault(group, {q: np.zeros(n) for q in QUANTITIES})
        used = measured + (gold + per_day * days) * sample["ratio"][practice] * MERCURY_PER_GOLD
        for c in COMPARTMENTS:
            part = used * sample[route][c]
            totals[c] += part
            totals["released"] += part
        totals["used"] += used
        totals["recovered"] += used * (1.0 - sample[route]["released"])
    return out
