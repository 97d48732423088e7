"""The metadata of the interpolated surfaces one identity could make: one row per medium that has
samples the identity may see (issue 14, the ``surfaces`` collection of the partner API).

Surfaces are not stored (the dashboard computes them, ``cli.py surface`` writes them as COG files),
so this serves what they would be: the footprint (the grid ``geo.contamination.surface.make_grid``
lays over the medium's samples grown by ``max_distance_m``, in the same local metric CRS
``services.contamination.medium_surface`` uses, as a lon/lat polygon), the number of samples, the
default method, cell size and max distance of the exposure settings, the medium's guideline and the
command that writes the COG. Everything comes from the samples frame the caller read for its role.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from geo.contamination import Guideline, make_grid
from geo.distance import centred_crs
from settings.exposure import ExposureSettings


def footprint(samples: gpd.GeoDataFrame, *, cell_m: float, max_distance_m: float) -> tuple[shapely.Polygon, int]:
    """The lon/lat outline of the grid a surface of ``samples`` (points with a CRS) would cover, and its
    number of cells; also for a grid larger than ``cli.py surface`` accepts (nothing is allocated here),
    so one wide medium cannot take the collection down."""
    crs = centred_crs(samples)
    pts = samples.to_crs(crs).geometry
    grid = make_grid(np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()]), crs=crs, cell_m=cell_m,
                     max_distance_m=max_distance_m, max_cells=2**62)
    t = grid.transform
    box = shapely.box(t.c, t.f + grid.height * t.e, t.c + grid.width * t.a, t.f)
    return gpd.GeoSeries([box], crs=crs).to_crs(4326).iloc[0], grid.width * grid.height


def surfaces_frame(samples: gpd.GeoDataFrame, guidelines: dict[str, Guideline],
                   exposure: ExposureSettings) -> gpd.GeoDataFrame:
    """One row per medium of ``samples`` with a located sample, sorted by medium (see the module docstring)."""
    cfg = exposure.surface
    cell, reach = float(cfg["cell_m"]), float(cfg["max_distance_m"])
    located = samples[samples.geometry.notna() & ~samples.geometry.is_empty]
    rows, shapes = [], []
    for medium in sorted({str(m) for m in located["medium"].dropna()}):
        chosen = located[located["medium"] == medium]
        g = guidelines.get(medium)
        shape, cells = footprint(chosen, cell_m=cell, max_distance_m=reach)
        rows.append({"medium": medium, "samples": len(chosen), "method": str(cfg["default_method"]),
                     "cell_m": cell, "max_distance_m": reach, "cells": cells,
                     "guideline_value": None if g is None else g.value,
                     "guideline_unit": None if g is None else g.unit,
                     "guideline_source": None if g is None else (g.citation or None),
                     "value_unit": None if g is None else g.unit,
                     "command": f"python cli.py surface --medium {medium} --out FILE.tif"})
        shapes.append(shape)
    return gpd.GeoDataFrame(rows, geometry=shapes, crs=4326) if rows else gpd.GeoDataFrame(
        {"medium": []}, geometry=[], crs=4326)
