"""Write surfaces as Cloud-Optimized GeoTIFFs and reproject them to Web Mercator for display."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.crs import CRS as RioCRS
from rasterio.enums import Resampling
from rasterio.warp import calculate_default_transform, reproject, transform_bounds

from geo.contamination import Grid, Surface

NODATA = -9999.0


def surface_tags(surface: Surface, *, medium: str, guideline: float | None = None,
                 guideline_citation: str = "", kind: str = "measurement-based estimate",
                 extra: dict[str, str] | None = None) -> dict[str, str]:
    """The dataset tags written into the GeoTIFF (units, method, medium, CV error, notes)."""
    cv = surface.cross_validation
    tags = {
        "HGW_MEDIUM": medium,
        "HGW_UNITS": surface.unit,
        "HGW_METHOD": surface.method,
        "HGW_KIND": kind,
        "HGW_SAMPLES": str(surface.n_samples),
        "HGW_MAX_DISTANCE_M": f"{surface.max_distance_m:g}",
        "HGW_CELL_M": f"{surface.grid.cell_m:g}",
        # no sample with another within reach: no error to give (not 'rmse=nan'), said as the surface says it
        "HGW_LOO_CV": f"n=0: {surface.loo_text()}" if cv.n == 0 else
        f"n={cv.n} rmse={cv.rmse:.6g} mae={cv.mae:.6g} {surface.unit}"
        + ("" if cv.rmse_log is None else f" rmse_ln={cv.rmse_log:.6g}"),
        "HGW_NOTES": "; ".join(surface.notes),
    }
    if guideline is not None:
        tags["HGW_GUIDELINE"] = f"{guideline:g} {surface.unit}"
        tags["HGW_GUIDELINE_CITATION"] = guideline_citation
    tags.update(extra or {})
    return tags


def write_cog(surface: Surface, path: str | Path, *, tags: dict[str, str]) -> Path:
    """Write ``surface`` to ``path`` as a COG (GDAL COG driver, deflate, overviews).

    Band 1 is the value in ``surface.unit``; for kriging, band 2 is the kriging variance of
    ln(Hg). Cells outside the mask hold ``NODATA`` (-9999).
    """
    path = Path(path)
    bands = [surface.values] + ([surface.variance] if surface.variance is not None else [])
    data = np.stack([np.where(np.isfinite(b), b, NODATA) for b in bands]).astype("float32")
    profile = {
        "driver": "COG", "dtype": "float32", "count": len(bands), "nodata": NODATA,
        "width": surface.grid.width, "height": surface.grid.height,
        "crs": RioCRS.from_wkt(surface.grid.crs.to_wkt()), "transform": surface.grid.transform,
        "compress": "deflate", "predictor": 3, "blocksize": 256, "overview_resampling": "average",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        dst.update_tags(**tags)
        dst.set_band_description(1, f"mercury {tags.get('HGW_MEDIUM', '')} ({surface.unit})")
        if len(bands) > 1:
            dst.set_band_description(2, "kriging variance of ln(Hg)")
            dst.update_tags(2, HGW_UNITS="ln(Hg) squared (dimensionless)")
        dst.update_tags(1, HGW_UNITS=surface.unit)
    return path


def to_web_mercator(values: np.ndarray, grid: Grid, *,
                    resampling: Resampling = Resampling.nearest,
                    ) -> tuple[np.ndarray, tuple[tuple[float, float], tuple[float, float]]]:
    """``values`` (NaN = no data) warped to EPSG:3857 with rasterio.warp, for a Leaflet overlay.

    Returns the warped array (NaN outside the data) and its bounds as
    ((south, west), (north, east)) in degrees, as folium's ImageOverlay expects.
    """
    src_crs = RioCRS.from_wkt(grid.crs.to_wkt())
    dst_crs = RioCRS.from_epsg(3857)
    left, top = grid.transform.c, grid.transform.f
    right = left + grid.width * grid.transform.a
    bottom = top + grid.height * grid.transform.e
    transform, width, height = calculate_default_transform(
        src_crs, dst_crs, grid.width, grid.height, left, bottom, right, top)
    out = np.full((height, width), np.nan, dtype="float64")
    reproject(np.asarray(values, dtype="float64"), out, src_transform=grid.transform,
              src_crs=src_crs, src_nodata=np.nan, dst_transform=transform, dst_crs=dst_crs,
              dst_nodata=np.nan, resampling=resampling)
    w, n = transform.c, transform.f
    e, s = w + width * transform.a, n + height * transform.e
    west, south, east, north = transform_bounds(dst_crs, "EPSG:4326", w, s, e, n)
    return out, ((south, west), (north, east))
