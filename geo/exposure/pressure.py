"""Mercury pressure: each site's estimated mercury use spread with a Gaussian kernel.

This answers "where is mercury pressure concentrated". It is an ESTIMATE built from estimated
mercury use (kg a year, low / central / high from ``geo.inventory.estimate``), not a measurement of
mercury in the environment. Values are kg of mercury a year per square kilometre: the kernel
of each site integrates to its mercury use (truncated at 4 standard deviations and
renormalised, so mass is kept exactly on the grid).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pyproj import CRS

from geo.contamination import Grid, make_grid

LABEL = "Estimated mercury pressure (kg Hg/year per km², from estimated use; not a measurement)"
_SIGMAS = 4.0


@dataclass(frozen=True)
class Pressure:
    """Pressure grids (kg Hg/year per km²) for the low, central and high use estimates."""

    low: np.ndarray
    central: np.ndarray
    high: np.ndarray
    grid: Grid
    kernel_width_m: float
    n_sites: int
    n_not_estimable: int
    label: str = LABEL


def pressure_surface(xy: np.ndarray, used_low: np.ndarray, used_central: np.ndarray,
                     used_high: np.ndarray, *, crs: CRS, kernel_width_m: float,
                     cell_m: float) -> Pressure:
    """Kernel-spread mercury use of sites at ``xy`` (metres in ``crs``).

    Parameters
    ----------
    xy : site positions, shape (n, 2), metres.
    used_low, used_central, used_high : estimated mercury use, kg a year; NaN for a site that is
        not estimable (it is counted, never taken as zero), 0 for a mercury-free site.
    kernel_width_m : standard deviation of the Gaussian kernel, metres.
    cell_m : cell size, metres.
    """
    weights = np.column_stack([used_low, used_central, used_high]).astype(float)
    estimable = np.all(np.isfinite(weights), axis=1)
    use = estimable & (weights[:, 1] > 0)
    grid = make_grid(xy if len(xy) else np.zeros((1, 2)), crs=crs, cell_m=cell_m,
                     max_distance_m=_SIGMAS * kernel_width_m)
    bands = np.zeros((3, grid.height, grid.width))
    half = int(math.ceil(_SIGMAS * kernel_width_m / cell_m))
    offs = (np.arange(-half, half + 1)) * cell_m
    for (x, y), w in zip(xy[use], weights[use]):
        col = int(math.floor((x - grid.transform.c) / cell_m))
        row = int(math.floor((grid.transform.f - y) / cell_m))
        cx = grid.transform.c + (col + 0.5) * cell_m
        cy = grid.transform.f - (row + 0.5) * cell_m
        dx = (cx + offs) - x
        dy = (cy - offs) - y
        kernel = np.exp(-(dy[:, None] ** 2 + dx[None, :] ** 2) / (2 * kernel_width_m**2))
        kernel[np.hypot(dy[:, None], dx[None, :]) > _SIGMAS * kernel_width_m] = 0.0
        r0, c0 = row - half, col - half
        rs = slice(max(r0, 0), min(r0 + 2 * half + 1, grid.height))
        cs = slice(max(c0, 0), min(c0 + 2 * half + 1, grid.width))
        part = kernel[rs.start - r0:rs.stop - r0, cs.start - c0:cs.stop - c0]
        total = kernel.sum()
        for b in range(3):
            # kg/yr spread over cells of cell_m^2 m^2, expressed per km^2
            bands[b, rs, cs] += w[b] * part / total / (cell_m**2) * 1e6
    return Pressure(bands[0], bands[1], bands[2], grid, kernel_width_m, int(use.sum()),
                    int((~estimable).sum()))
