"""Put a layer just read into EPSG:4326 without ever guessing its coordinate reference system.

Policy: any CRS goes in and everything comes out in longitude/latitude (EPSG:4326).

- The file declares a CRS and the user names none: the file's CRS is used.
- The user names one with ``--crs`` and the file declares none: the user's CRS is used.
- Both, and they are the same CRS (axis order aside, so ``OGC:CRS84`` equals ``EPSG:4326``):
  accepted. Different: refused with a message naming both; HgWatch never picks one.
- Neither: longitude/latitude is assumed only when the coordinates fit it, and the assumption is
  reported as a warning; otherwise the file is refused.
- Only a geographic (longitude/latitude) or projected CRS is used: a geocentric (EPSG:4978),
  vertical or engineering CRS, named by the file or by ``--crs``, is refused by name.
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
from pyproj import CRS
from pyproj.exceptions import CRSError as ProjCRSError
from pyproj.exceptions import ProjError

from geo import geomcheck
from geo.errors import CRSError, Problem

LONLAT = CRS.from_epsg(4326)


def crs_name(crs: CRS) -> str:
    """A short name for messages: 'EPSG:32630' when PROJ knows a code, else the CRS's own name."""
    authority = crs.to_authority()
    return f"{authority[0]}:{authority[1]}" if authority else str(crs.name)


def check_kind(crs: CRS, whose: str) -> None:
    """Refuse a CRS that is neither geographic nor projected; ``whose`` starts the message.

    Raises
    ------
    CRSError : e.g. "--crs 'EPSG:4978' is a geocentric CRS (WGS 84); expected ...".
    """
    if crs.is_geographic or crs.is_projected:
        return
    kind = str(crs.type_name).replace(" CRS", "").lower() or "unknown kind of"
    raise CRSError(f"{whose} is a {kind} CRS ({crs.name}); expected a geographic (longitude/latitude) "
                   "or projected 2D CRS such as EPSG:4326 or EPSG:32630")


def _bounds(gdf: gpd.GeoDataFrame, digits: int) -> tuple[float, ...]:
    """The layer's total bounds as plain numbers for a message: (500000.0, ...), not np.float64."""
    return tuple(round(float(b), digits) for b in gdf.total_bounds)


def place_crs(gdf: gpd.GeoDataFrame, path: Path, crs: str | None) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """``gdf`` in EPSG:4326, and the warnings about what was assumed.

    Parameters
    ----------
    gdf : the layer as read; ``gdf.crs`` is what the file declares (None if nothing).
    path : the user's file, named in every message.
    crs : what the user gave with ``--crs`` (any string PROJ understands), or None.

    Raises
    ------
    CRSError : ``crs`` is unknown, conflicts with the file's CRS, or the file has no CRS and its
        coordinates are not degrees.
    """
    problems: list[Problem] = []
    if crs is not None:
        try:
            given = CRS.from_user_input(crs)
        except ProjCRSError:
            raise CRSError(f"--crs {crs!r} is not a CRS PROJ knows; expected e.g. EPSG:32630") from None
        check_kind(given, f"--crs {crs!r}")
        if gdf.crs is not None:
            declared = CRS(gdf.crs)
            if not declared.equals(given, ignore_axis_order=True):
                raise CRSError(
                    f"{path.name}: the file declares its CRS as {crs_name(declared)} but --crs says "
                    f"{crs_name(given)}; HgWatch will not pick one. Drop --crs to use the file's "
                    f"{crs_name(declared)}, or correct the file")
        gdf = gdf.set_crs(given, allow_override=True)
    elif gdf.crs is None:
        geoms = gdf.geometry.to_numpy()
        out_of_range, swapped = geomcheck.range_masks(geoms)
        in_range = ~out_of_range | swapped
        present = ~geomcheck.missing_mask(geoms) if not in_range.all() else None  # all in range: nothing to count
        if present is not None and present.any() and (in_range[present].mean() < 0.5):
            bounds = _bounds(gdf, 3)
            raise CRSError(
                f"{path.name}: has no CRS and its coordinates {bounds} are not longitude/latitude "
                "degrees, so HgWatch will not guess one; give it with --crs (e.g. --crs EPSG:32630)")
        gdf = gdf.set_crs(LONLAT)
        problems.append(Problem(path.name, None, None, None,
                                "the file declares no CRS; its coordinates fit longitude/latitude, "
                                "so WGS84 (EPSG:4326) was assumed", "warning", kind="crs"))
    elif CRS(gdf.crs).is_geographic and CRS(gdf.crs).to_epsg() in (4326, None):
        geoms = gdf.geometry.to_numpy()
        out_of_range, swapped = geomcheck.range_masks(geoms)
        bad = out_of_range & ~swapped
        present = ~geomcheck.missing_mask(geoms) if bad.any() else None  # none out of range: nothing to count
        if present is not None and present.any() and bad[present].mean() > 0.5:
            raise CRSError(
                f"{path.name}: claims longitude/latitude but most coordinates (bounds "
                f"{_bounds(gdf, 1)}) are out of range; it is probably "
                "projected. Re-export it with its CRS, or convert it to WGS84")
    check_kind(CRS(gdf.crs), f"{path.name}: its CRS {crs_name(CRS(gdf.crs))}")
    if not CRS(gdf.crs).equals(LONLAT):
        try:
            gdf = gdf.to_crs(LONLAT)
        except ProjError as exc:  # e.g. a CRS of another planet
            raise CRSError(f"{path.name}: its CRS {crs_name(CRS(gdf.crs))} cannot be converted to "
                           f"longitude/latitude (EPSG:4326): {str(exc).splitlines()[0]}") from None
    return gdf, problems
