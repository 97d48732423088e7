"""Interpolated mercury surfaces from sample points, in a metric CRS, masked to the data.

Inverse-distance weighting (IDW) is the default. Ordinary kriging of ln(Hg) (PyKrige, moving
neighbourhood of the nearest samples) is used on request when there are enough samples; it
also gives the kriging variance of ln(Hg).
A cell further than ``max_distance_m`` from every sample is NaN: no surface is painted where
there are no data. Every surface carries a leave-one-out cross-validation error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from affine import Affine
from pyproj import CRS
from scipy.spatial import cKDTree

from geo.errors import InputError, Problem

_CHUNK = 65536  # grid cells kriged per PyKrige call


@dataclass(frozen=True)
class Grid:
    """A north-up grid: ``transform`` maps (col, row) to the cell's upper-left corner, metres."""

    crs: CRS
    transform: Affine
    width: int
    height: int

    @property
    def cell_m(self) -> float:
        """Cell size in metres."""
        return float(self.transform.a)

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """x and y of every cell centre, each shaped (height, width), in metres."""
        cols, rows = np.meshgrid(np.arange(self.width) + 0.5, np.arange(self.height) + 0.5)
        x = self.transform.c + cols * self.transform.a
        y = self.transform.f + rows * self.transform.e
        return x, y


@dataclass(frozen=True)
class CrossValidation:
    """Leave-one-out error of a method, in the surface's unit (and in ln units for kriging)."""

    method: str
    n: int
    rmse: float
    mae: float
    rmse_log: float | None = None


@dataclass(frozen=True)
class Surface:
    """An interpolated surface; ``values`` is NaN outside the mask.

    ``variance`` is the ordinary-kriging variance of ln(Hg) (dimensionless), None for IDW.
    Kriged ``values`` are exp(kriged ln Hg): a median-type estimate, not a mean.
    """

    values: np.ndarray
    variance: np.ndarray | None
    grid: Grid
    method: str
    unit: str
    n_samples: int
    max_distance_m: float
    cross_validation: CrossValidation
    notes: tuple[str, ...] = ()

    def loo_text(self) -> str:
        """The leave-one-out error in words (units given), or why it cannot be estimated."""
        cv, unit = self.cross_validation, self.unit
        if cv.n == 0:
            return (f"leave-one-out error: cannot be estimated, no sample has another within "
                    f"{self.max_distance_m:g} m to be predicted from")
        left = self.n_samples - cv.n
        return (f"leave-one-out error ({cv.n} samples"
                + (f"; {left} with no other within {self.max_distance_m:g} m not predicted" if left else "")
                + f"): RMSE {cv.rmse:.4g} {unit}, MAE {cv.mae:.4g} {unit}"
                + ("" if cv.rmse_log is None else f", RMSE of ln(Hg) {cv.rmse_log:.4g}"))


def make_grid(xy: np.ndarray, *, crs: CRS, cell_m: float, max_distance_m: float,
              max_cells: int = 25_000_000) -> Grid:
    """The grid covering the samples plus ``max_distance_m``, aligned to multiples of ``cell_m``.

    Raises
    ------
    InputError
        The cell size is not positive or the grid would exceed ``max_cells`` cells.
    """
    if not cell_m > 0 or not max_distance_m >= 0:
        raise InputError("surface settings", [Problem("arguments", None, "cell_m",
                         cell_m, "a positive cell size in metres and a max distance >= 0")])
    x0 = math.floor((xy[:, 0].min() - max_distance_m) / cell_m) * cell_m
    x1 = math.ceil((xy[:, 0].max() + max_distance_m) / cell_m) * cell_m
    y0 = math.floor((xy[:, 1].min() - max_distance_m) / cell_m) * cell_m
    y1 = math.ceil((xy[:, 1].max() + max_distance_m) / cell_m) * cell_m
    width, height = max(1, round((x1 - x0) / cell_m)), max(1, round((y1 - y0) / cell_m))
    if width * height > max_cells:
        span_km = (max(x1 - x0, y1 - y0)) / 1000
        raise InputError("surface too large", [Problem(
            "arguments", None, "cell_m, max_distance_m", f"{cell_m:,.12g} m, {max_distance_m:,.12g} m",
            f"a grid of at most {max_cells:,} cells; the samples' extent plus {max_distance_m:,.12g} m "
            f"on each side spans {span_km:,.1f} km, which at {cell_m:,.12g} m gives {width * height:,}: "
            "use larger cells or a smaller max distance")])
    return Grid(crs, Affine(cell_m, 0.0, x0, 0.0, -cell_m, y1), width, height)


def merge_duplicates(xy: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average the values of samples at the same position (to the millimetre)."""
    keys = np.round(xy, 3)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    sums = np.bincount(inverse, weights=values, minlength=len(uniq))
    counts = np.bincount(inverse, minlength=len(uniq))
    return uniq, sums / counts


def idw(xy: np.ndarray, values: np.ndarray, targets: np.ndarray, *, power: float = 2.0,
        neighbours: int = 16, radius_m: float = np.inf) -> np.ndarray:
    """Inverse-distance-weighted estimates at ``targets`` (metres, shape (m, 2)).

    Uses the ``neighbours`` nearest samples within ``radius_m``; a target with none is NaN; a
    target on a sample takes that sample's value exactly.
    """
    tree = cKDTree(xy)
    k = min(neighbours, len(xy))
    dist, idx = tree.query(targets, k=k, distance_upper_bound=radius_m)
    return _idw_from(dist.reshape(len(targets), k), idx.reshape(len(targets), k), values, power)


def _idw_from(dist: np.ndarray, idx: np.ndarray, values: np.ndarray, power: float) -> np.ndarray:
    """IDW from neighbour distances and indices (missing neighbours: inf distance)."""
    ext = np.append(values, np.nan)
    found = np.isfinite(dist)
    with np.errstate(divide="ignore"):
        weights = np.where(found, 1.0 / np.where(found, dist, 1.0) ** power, 0.0)
    vals = np.where(found, ext[idx], 0.0)
    exact = found[:, 0] & (dist[:, 0] == 0)
    weights[exact] = 0.0
    weights[exact, 0] = 1.0
    total = weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (weights * vals).sum(axis=1) / total
    out[total == 0] = np.nan
    return out


def idw_cross_validation(xy: np.ndarray, values: np.ndarray, *, power: float,
                         neighbours: int, radius_m: float) -> CrossValidation:
    """Leave-one-out error of IDW: each sample predicted from the others."""
    tree = cKDTree(xy)
    k = min(neighbours + 1, len(xy))
    dist, idx = tree.query(xy, k=k, distance_upper_bound=radius_m)
    dist, idx = dist.reshape(len(xy), k), idx.reshape(len(xy), k)
    pred = _idw_from(dist[:, 1:], idx[:, 1:], values, power) if k > 1 else np.full(len(xy), np.nan)
    return _scores("idw", pred, values)


def _scores(method: str, pred: np.ndarray, obs: np.ndarray,
            rmse_log: float | None = None) -> CrossValidation:
    """RMSE and MAE over the samples that could be predicted."""
    ok = np.isfinite(pred)
    err = pred[ok] - obs[ok]
    n = int(ok.sum())
    rmse = float(np.sqrt(np.mean(err**2))) if n else float("nan")
    mae = float(np.mean(np.abs(err))) if n else float("nan")
    return CrossValidation(method, n, rmse, mae, rmse_log)


def _kriging_model(xy: np.ndarray, logv: np.ndarray, variogram_model: str):
    """A fitted PyKrige OrdinaryKriging on ln values."""
    from pykrige.ok import OrdinaryKriging  # local: heavy import, only for kriging

    return OrdinaryKriging(xy[:, 0], xy[:, 1], logv, variogram_model=variogram_model,
                           coordinates_type="euclidean", verbose=False, enable_plotting=False)


def _semivariance(model, d: np.ndarray) -> np.ndarray:
    """The fitted variogram at lags ``d`` (metres), 0 at lag 0 (exact interpolation)."""
    g = np.asarray(model.variogram_function(model.variogram_model_parameters, d), dtype=float)
    return np.where(d == 0, 0.0, g)


def kriging_cross_validation(model, xy: np.ndarray, values: np.ndarray, *,
                             neighbours: int = 32) -> CrossValidation:
    """Leave-one-out error of ordinary kriging of ln(Hg) with the fitted variogram.

    Each sample is kriged from its ``neighbours`` nearest other samples, exactly as PyKrige's
    moving-neighbourhood kriging would do without it (tested against refitting without it).
    The local systems are solved together with numpy.
    """
    n = len(xy)
    k = min(neighbours, n - 1)
    _, idx = cKDTree(xy).query(xy, k=k + 1)
    idx = idx.reshape(n, k + 1)[:, 1:]  # drop each sample itself (positions are distinct)
    pts = xy[idx]  # (n, k, 2)
    d_jj = np.linalg.norm(pts[:, :, None, :] - pts[:, None, :, :], axis=-1)
    a = np.ones((n, k + 1, k + 1))
    a[:, :k, :k] = -_semivariance(model, d_jj)
    a[:, k, k] = 0.0
    b = np.ones((n, k + 1))
    b[:, :k] = -_semivariance(model, np.linalg.norm(pts - xy[:, None, :], axis=-1))
    weights = np.linalg.solve(a, b[..., None])[:, :k, 0]
    logv = np.log(values)
    pred_log = np.sum(weights * logv[idx], axis=1)
    rmse_log = float(np.sqrt(np.mean((pred_log - logv) ** 2)))
    return _scores("kriging", np.exp(pred_log), values, rmse_log)


def interpolate(xy: np.ndarray, values: np.ndarray, *, crs: CRS, unit: str, method: str = "idw",
                cell_m: float = 100.0, max_distance_m: float = 5000.0, power: float = 2.0,
                neighbours: int = 16, variogram_model: str = "exponential",
                kriging_min_samples: int = 20, kriging_neighbours: int = 32,
                source: str = "samples") -> Surface:
    """A surface from samples at ``xy`` (metres in ``crs``) with positive ``values`` in ``unit``.

    Parameters
    ----------
    xy : sample positions, shape (n, 2), metres in the metric ``crs``.
    values : mercury values in ``unit`` (below-detection already substituted by the caller).
    method : "idw" or "kriging" (ordinary kriging of ln values; needs
        ``kriging_min_samples`` distinct positions and positive values; each cell is kriged
        from its ``kriging_neighbours`` nearest samples).
    cell_m : cell size in metres. max_distance_m : mask radius around samples, metres.

    Raises
    ------
    InputError
        No samples, an unknown method, or too few / non-positive values for kriging.
    """
    if method not in ("idw", "kriging"):
        raise InputError("surface method", [Problem("arguments", None, "method", method,
                                                     "one of 'idw', 'kriging'")])
    if len(xy) == 0:
        raise InputError(f"{source}: no samples to interpolate", [])
    xy, values = merge_duplicates(np.asarray(xy, dtype=float), np.asarray(values, dtype=float))
    notes = [f"{len(values)} distinct sample positions"]
    grid = make_grid(xy, crs=crs, cell_m=cell_m, max_distance_m=max_distance_m)
    cx, cy = grid.centres()
    cells = np.column_stack([cx.ravel(), cy.ravel()])
    nearest, _ = cKDTree(xy).query(cells, k=1)
    inside = nearest <= max_distance_m
    out = np.full(len(cells), np.nan)
    variance = None
    if method == "idw":
        out[inside] = idw(xy, values, cells[inside], power=power, neighbours=neighbours,
                          radius_m=max_distance_m)
        cv = idw_cross_validation(xy, values, power=power, neighbours=neighbours,
                                  radius_m=max_distance_m)
        notes.append(f"IDW power {power:g}, up to {neighbours} neighbours within "
                     f"{max_distance_m:g} m")
    else:
        _check_kriging(values, kriging_min_samples, source)
        model = _kriging_model(xy, np.log(values), variogram_model)
        var_flat = np.full(len(cells), np.nan)
        todo = np.flatnonzero(inside)
        for start in range(0, len(todo), _CHUNK):
            part = todo[start:start + _CHUNK]
            z, ss = model.execute("points", cells[part, 0], cells[part, 1], backend="C",
                                  n_closest_points=min(kriging_neighbours, len(values)))
            out[part] = np.exp(np.asarray(z))
            var_flat[part] = np.maximum(np.asarray(ss), 0.0)
        variance = var_flat.reshape(grid.height, grid.width)
        cv = kriging_cross_validation(model, xy, values, neighbours=kriging_neighbours)
        params = ", ".join(f"{p:.4g}" for p in model.variogram_model_parameters)
        notes.append(f"ordinary kriging of ln(Hg), {variogram_model} variogram ({params}), "
                     f"nearest {min(kriging_neighbours, len(values))} samples per cell; values "
                     "are exp(kriged ln Hg), a median-type estimate")
    alone = isolated_positions(xy, max_distance_m)
    if alone:
        notes.append(f"{alone} of {len(values)} sample positions have no other sample within "
                     f"{max_distance_m:g} m: around "
                     + ("it" if alone == 1 else "each")
                     + (" the surface is that one sample's value carried outwards, not an "
                        "interpolation between samples" if method == "idw" else
                        " the surface leans on samples farther than that"))
    return Surface(out.reshape(grid.height, grid.width), variance, grid, method, unit,
                   len(values), max_distance_m, cv, tuple(notes))


def isolated_positions(xy: np.ndarray, max_distance_m: float) -> int:
    """How many of the (distinct) positions ``xy`` have no other within ``max_distance_m``."""
    if len(xy) < 2:
        return len(xy)
    dist, _ = cKDTree(xy).query(xy, k=2, distance_upper_bound=max_distance_m)
    return int((~np.isfinite(dist[:, 1])).sum())


def _check_kriging(values: np.ndarray, minimum: int, source: str) -> None:
    """Refuse kriging with too few positions or non-positive values (ln undefined)."""
    if len(values) < minimum:
        raise InputError(f"{source}: too few samples for kriging", [Problem(
            source, None, "geometry", f"{len(values)} distinct sample positions",
            f"at least {minimum} distinct sample positions for kriging; use --method idw")])
    if np.any(values <= 0):
        raise InputError(f"{source}: kriging works on ln(Hg)", [Problem(
            source, None, "hg", float(values.min()), "values > 0 for kriging on ln(Hg)")])


def surface_inputs(samples, *, medium: str, crs: CRS,
                   below_detection_fraction: float = 0.5) -> tuple[np.ndarray, np.ndarray, int]:
    """Positions (metres in ``crs``) and values of the converted ``medium`` samples.

    ``samples`` is a GeoDataFrame of points with ``medium``, ``hg_value`` (from
    ``geo.contamination.units.convert_samples``) and optional ``below_detection``. A below-detection value
    enters as ``below_detection_fraction`` x its detection limit (the sample itself keeps
    '<limit'). Returns (xy, values, number of below-detection samples substituted).
    """
    chosen = samples[samples["medium"] == medium]
    chosen = chosen[chosen.geometry.notna() & ~chosen.geometry.is_empty]
    pts = chosen.to_crs(crs).geometry
    xy = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()]) if len(pts) else np.empty((0, 2))
    values = chosen["hg_value"].to_numpy(dtype=float)
    if "below_detection" in chosen.columns:
        bd = chosen["below_detection"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    else:
        bd = np.zeros(len(chosen), dtype=bool)
    values = np.where(bd, values * below_detection_fraction, values)
    return xy, values, int(bd.sum())
