"""Benchmark: surfaces from 1,000 samples, 100 m cells, over 50 km x 50 km.

Prints wall-clock seconds for IDW and ordinary kriging (each with its leave-one-out
cross-validation) and for writing the COG. Not a test: it never fails on time.
Run: .venv/bin/python benchmarks/bench_surface.py [--samples 1000] [--size-km 50] [--cell-m 100]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from geo.contamination import interpolate
from geo.distance import local_tmerc
from layers.io.raster import surface_tags, to_web_mercator, write_cog


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--size-km", type=float, default=50.0)
    parser.add_argument("--cell-m", type=float, default=100.0)
    parser.add_argument("--max-distance-m", type=float, default=5000.0)
    args = parser.parse_args()
    rng = np.random.default_rng(42)
    size = args.size_km * 1000.0
    xy = rng.uniform(0, size, (args.samples, 2))
    # a smooth log-normal field plus noise, so the variogram has structure
    values = np.exp(0.8 * np.sin(xy[:, 0] / 8000.0) + 0.6 * np.cos(xy[:, 1] / 6000.0)
                    + rng.normal(0, 0.3, args.samples))
    crs = local_tmerc(-1.8, 6.0)
    print(f"{args.samples} samples, {args.size_km:g} km x {args.size_km:g} km, "
          f"{args.cell_m:g} m cells, mask {args.max_distance_m:g} m")
    times = {}
    for method in ("idw", "kriging"):
        t0 = time.perf_counter()
        surf = interpolate(xy, values, crs=crs, unit="ug/L", method=method, cell_m=args.cell_m,
                           max_distance_m=args.max_distance_m)
        times[method] = time.perf_counter() - t0
        cells = surf.grid.width * surf.grid.height
        painted = int(np.isfinite(surf.values).sum())
        cv = surf.cross_validation
        print(f"{method:8s} {times[method]:7.2f} s  grid {surf.grid.width} x {surf.grid.height}"
              f" = {cells:,} cells, {painted:,} painted; LOO RMSE {cv.rmse:.3f} ug/L, "
              f"MAE {cv.mae:.3f} ug/L (n={cv.n})")
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            path = write_cog(surf, Path(tmp) / f"{method}.tif",
                             tags=surface_tags(surf, medium="water"))
            t_cog = time.perf_counter() - t0
            size_mb = path.stat().st_size / 1e6
        t0 = time.perf_counter()
        to_web_mercator(surf.values, surf.grid)
        t_warp = time.perf_counter() - t0
        print(f"{'':8s} COG write {t_cog:.2f} s ({size_mb:.1f} MB), Web Mercator warp {t_warp:.2f} s")
    print(f"kriging / IDW time ratio: {times['kriging'] / times['idw']:.1f}")


if __name__ == "__main__":
    main()
