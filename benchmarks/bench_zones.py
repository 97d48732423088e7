"""Exact containment (geo.distance.points_inside) against shapely's straight lon/lat reading.

Prints seconds for N sites against zone polygons with many vertices, how many sites lie within the
exact band of a boundary, and how many the straight lon/lat reading gets wrong. Never fails on time.

    .venv/bin/python benchmarks/bench_zones.py [N_SITES] [N_ZONES] [VERTICES]
"""
from __future__ import annotations

import sys
import time

import numpy as np
import shapely

from geo.distance import PolygonSet, points_inside

n_sites = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
n_zones = int(sys.argv[2]) if len(sys.argv) > 2 else 200
vertices = int(sys.argv[3]) if len(sys.argv) > 3 else 500

rng = np.random.default_rng(15)
# zones: wobbly rings of ~5 km radius around 72-75 E, 40-43 N (UTM zones 43 and 44 meet at 72 E)
centres = np.column_stack([rng.uniform(72.0, 75.0, n_zones), rng.uniform(40.0, 43.0, n_zones)])
angle = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
zones = []
for cx, cy in centres:
    r = 0.05 * (1 + 0.3 * np.sin(5 * angle + rng.uniform(0, 6)))
    zones.append(shapely.Polygon(np.column_stack([cx + r * np.cos(angle) / np.cos(np.radians(cy)),
                                                  cy + r * np.sin(angle)])))
sites = shapely.points(rng.uniform(71.9, 75.1, n_sites), rng.uniform(39.9, 43.1, n_sites))

t0 = time.perf_counter()
prepared = PolygonSet.of(zones)
t1 = time.perf_counter()
found = points_inside(sites, prepared)
t2 = time.perf_counter()
a, b = shapely.STRtree(np.array(zones, dtype=object)).query(sites, predicate="covered_by")
t3 = time.perf_counter()

exact = set(zip(found["point"], found["polygon"], strict=True))
straight = set(zip(a.tolist(), b.tolist(), strict=True))
print(f"{n_sites:,} sites, {n_zones} zones x {vertices} vertices")
print(f"prepare zones: {t1 - t0:.2f} s; exact containment: {t2 - t1:.2f} s; "
      f"straight lon/lat (shapely STRtree covered_by): {t3 - t2:.2f} s ({(t2 - t1) / (t3 - t2):.1f}x)")
print(f"pairs inside: {len(exact):,}; decided in the {prepared.band_m:.2f} m band: "
      f"{int(found['boundary_m'].notna().sum())}; differ from the straight reading: {len(exact ^ straight)}")
