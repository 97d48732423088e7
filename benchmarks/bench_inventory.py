"""Benchmark: the mercury inventory on synthetic sites, and the grouped Monte Carlo against a
naive one.

Synthetic sites (fixed seed) spread over 50 admin areas and 3 survey rounds with random
practices, gold figures (kg a year, or g a day with or without working days), some measured
mercury and some with no figure. Timed: ``estimate_sites``; ``rollup`` by area and by area x round
with the shipped 5,000 draws; a naive Monte Carlo that draws per site (sites x draws matrix) for
the same totals, as the reference the grouped one is checked and timed against; and writing the
PDF report for one area. With ``--tree DIR``, each size also times the ``estimate_sites`` of
another checkout (its ``geo/inventory/estimate.py`` loaded by path, in this process, on the same sites)
and says whether both gave the same frame. This is a benchmark, not a test: it prints, never asserts.

Usage: ``python benchmarks/bench_inventory.py [--sizes 1000,10000,100000] [--tree DIR]``
"""
from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from geo.inventory import FROM_DAYS, FROM_DEFAULT_DAYS, FROM_KG, MEASURED, estimate_sites, rollup, sample_factors
from settings.factors import load_factors

SEED = 20261122


def make_sites(n: int, seed: int = SEED) -> pd.DataFrame:
    """``n`` synthetic sites with the mining_sites fields the inventory reads."""
    rng = np.random.default_rng(seed)
    kind = rng.choice(4, size=n, p=[0.5, 0.2, 0.2, 0.1])  # kg/yr, g/day+days, g/day, nothing
    gold = rng.lognormal(0.5, 1.0, n)
    return pd.DataFrame({
        "site_id": [f"s{i}" for i in range(n)],
        "admin_area": [f"area {i:02d}" for i in rng.integers(0, 50, n)],
        "survey_round": rng.choice(["2021", "2023", "2025"], n),
        "status": rng.choice(["active", "inactive", "abandoned"], n, p=[0.8, 0.15, 0.05]),
        "amalgamation": rng.choice(["concentrate", "whole_ore", "partial", "unknown", "none"], n),
        "burning": rng.choice(["open", "retort", "none", "unknown"], n),
        "gold_kg_per_year": np.where(kind == 0, gold, np.nan),
        "gold_g_per_day": np.where((kind == 1) | (kind == 2), gold * 3, np.nan),
        "working_days_per_year": np.where(kind == 1, rng.integers(60, 300, n), np.nan),
        "mercury_kg_per_year": np.where(rng.random(n) < 0.05, gold, np.nan),
    })


def naive_used(est: pd.DataFrame, factors, draws: int, seed: int) -> np.ndarray:
    """Total mercury used per draw, computed site by site (sites x draws)."""
    sample = sample_factors(factors, draws=draws, seed=seed)
    days = sample["days"]["working_days"]
    estimated = est["basis"].isin([FROM_KG, FROM_DAYS, FROM_DEFAULT_DAYS]).to_numpy()
    total = np.zeros(draws)
    for i in np.flatnonzero(estimated | (est["basis"] == MEASURED).to_numpy()):
        row = est.iloc[i]
        if row["basis"] == MEASURED:
            total += row["measured_kg"]
            continue
        gold = row["gold_kg_fixed"] + row["gold_kg_per_day_default_days"] * days
        total += gold * sample["ratio"][row["amalgamation"]]
    return total


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--tree", help="also time the estimate_sites of this other checkout (before/after)")
    args = parser.parse_args()
    factors = load_factors()
    other = None
    if args.tree:
        import importlib.util

        spec = importlib.util.spec_from_file_location("other_estimate", Path(args.tree) / "geo/inventory/estimate.py")
        assert spec is not None and spec.loader is not None
        other = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(other)
    print(f"draws={factors.draws} distribution={factors.distribution} seed={factors.seed}")
    print(f"{'sites':>8} {'estimate s':>11} {'by area s':>10} {'area x round s':>15} "
          f"{'naive s':>9} {'speed-up':>9} {'max rel diff':>13}")
    for n in (int(s) for s in args.sizes.split(",")):
        sites = make_sites(n)
        est, t_est = timed(estimate_sites, sites, factors)
        if other is not None:
            theirs, t_other = timed(other.estimate_sites, sites, factors)
            print(f"{n:>8} sites: estimate_sites of {args.tree}: {t_other:.3f} s ({t_other / t_est:.1f}x this tree's"
                  f" {t_est:.3f} s); the same frame: {'yes' if theirs.equals(est) else 'NO'}")
        total, t_area = timed(rollup, est, factors, by="admin_area")
        _, t_round = timed(rollup, est, factors, by=["admin_area", "survey_round"])
        naive_n = min(n, 10000)
        sub = est.iloc[:naive_n]
        naive, t_naive = timed(naive_used, sub, factors, factors.draws, factors.seed)
        grouped = rollup(sub, factors, draws=factors.draws)
        lo, hi = np.percentile(naive, factors.percentiles)
        diff = max(abs(lo - grouped.loc[0, "used_low"]) / max(lo, 1e-9),
                   abs(hi - grouped.loc[0, "used_high"]) / max(hi, 1e-9))
        t_group_sub = timed(rollup, sub, factors)[1]
        print(f"{n:>8} {t_est:>11.3f} {t_area:>10.3f} {t_round:>15.3f} {t_naive:>9.3f} "
              f"{t_naive / t_group_sub:>8.0f}x {diff:>13.2e}"
              + (f"  (naive on first {naive_n})" if naive_n < n else ""))
    import geopandas as gpd
    from shapely.geometry import Point

    from render.report.document import write_report
    from render.report.tables import inventory_tables

    sites = make_sites(2000)
    rng = np.random.default_rng(SEED)
    gdf = gpd.GeoDataFrame(sites, geometry=[Point(x, y) for x, y in zip(
        rng.uniform(70, 75, len(sites)), rng.uniform(40, 43, len(sites)))], crs="EPSG:4326")
    inv, t_tables = timed(inventory_tables, gdf, factors, area="area 07", today=date(2026, 1, 1))
    chosen = gdf[gdf["admin_area"] == "area 07"]
    with tempfile.TemporaryDirectory() as folder:
        _, t_pdf = timed(write_report, inv, Path(folder) / "r.pdf", sites=chosen)
        _, t_html = timed(write_report, inv, Path(folder) / "r.html", sites=chosen)
    print(f"one area of 2,000 sites ({len(chosen)} sites): tables {t_tables:.3f} s, "
          f"PDF {t_pdf:.3f} s, HTML {t_html:.3f} s")


if __name__ == "__main__":
    main()
