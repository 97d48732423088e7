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

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
from numpy.typing import NDArray
from pyproj import CRS
from pyproj.exceptions import CRSError as ProjCRSError
from pyproj.exceptions import ProjError

from geo import geomcheck
from geo.errors import CRSError, Problem
from layers.io import crs_area

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


def _bounds(bounds: NDArray[np.float64], digits: int) -> tuple[float, ...]:
    """A layer's total bounds as plain numbers for a message: (500000.0, ...), not np.float64."""
    return tuple(round(float(b), digits) for b in bounds)


@dataclass
class Tally:
    """What judging a file's CRS counts over its geometries: those present (not None or empty), those
    that fit longitude/latitude (in range, or with x and y swapped), those out of range and not
    swapped, the total bounds, the records seen, and (record number, x, y) of the first three present
    geometries and of the first three that fit. Tallies of a file's chunks add up to the whole file's."""

    present: int = 0
    fit: int = 0
    bad: int = 0
    bounds: NDArray[np.float64] = field(default_factory=lambda: np.full(4, np.nan))
    rows: int = 0
    first_present: tuple[tuple[int, float, float], ...] = ()
    first_fit: tuple[tuple[int, float, float], ...] = ()

    @classmethod
    def of(cls, gdf: gpd.GeoDataFrame) -> Tally:
        geoms = gdf.geometry.to_numpy()
        b = geomcheck.coordinate_bounds(geoms)  # NaN for a missing geometry
        out_of_range, swapped = geomcheck.bounds_range_masks(b)
        present = ~geomcheck.missing_mask(geoms)
        fit = present & (~out_of_range | swapped)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all missing: NaN bounds, as GeoPandas gives
            total = np.r_[np.nanmin(b[:, :2], axis=0), np.nanmax(b[:, 2:], axis=0)] if len(b) else np.full(4, np.nan)
        return cls(int(present.sum()), int(fit.sum()), int((present & out_of_range & ~swapped).sum()), total,
                   len(geoms), _firsts(b, present), _firsts(b, fit))

    def __add__(self, other: Tally) -> Tally:
        moved = tuple((row + self.rows, x, y) for row, x, y in other.first_present)
        moved_fit = tuple((row + self.rows, x, y) for row, x, y in other.first_fit)
        return Tally(self.present + other.present, self.fit + other.fit, self.bad + other.bad,
                     np.r_[np.fmin(self.bounds[:2], other.bounds[:2]), np.fmax(self.bounds[2:], other.bounds[2:])],
                     self.rows + other.rows, (self.first_present + moved)[:3], (self.first_fit + moved_fit)[:3])

    @property
    def doubtful(self) -> bool:
        """Some present geometry does not fit longitude/latitude."""
        return self.fit < self.present


def _firsts(b: NDArray[np.float64], where: NDArray[np.bool_], n: int = 3) -> tuple[tuple[int, float, float], ...]:
    """(record number, minimum x, minimum y) of the first ``n`` geometries ``where`` is true."""
    return tuple((int(i) + 1, float(b[i, 0]), float(b[i, 1])) for i in np.flatnonzero(where)[:n])


class Placing:
    """The CRS a file's coordinates are in, and how they are put into EPSG:4326 (the module's policy).

    ``place_crs`` places a whole layer. ``layers.io.chunked`` places a file a chunk at a time with the
    same object: made from the first chunk (the CRS a file declares is the file's), each chunk
    ``convert``-ed, and the file ``judge``-d on the ``Tally`` of all its chunks, so that a chunked read
    accepts and refuses exactly the files a whole read does, with the same message.

    ``judged``: "assumed" (no CRS declared or given: longitude/latitude if most coordinates fit it),
    "claimed" (the file says longitude/latitude: refused if most coordinates are out of range),
    "placed" (a projected CRS, declared or given: refused when the coordinates look like degrees or
    lie nowhere near its area of use, ``layers.io.crs_area``), or None (nothing to judge).
    """

    def __init__(self, path: Path, crs: str | None, declared: object) -> None:
        self.path = path
        self.judged: str | None = None
        self.said = "the file declares its CRS as"
        if crs is not None:
            try:
                given = CRS.from_user_input(crs)
            except ProjCRSError:
                raise CRSError(f"--crs {crs!r} is not a CRS PROJ knows; expected e.g. EPSG:32630") from None
            check_kind(given, f"--crs {crs!r}")
            if declared is not None and not CRS(declared).equals(given, ignore_axis_order=True):
                raise CRSError(
                    f"{path.name}: the file declares its CRS as {crs_name(CRS(declared))} but --crs says "
                    f"{crs_name(given)}; HgWatch will not pick one. Drop --crs to use the file's "
                    f"{crs_name(CRS(declared))}, or correct the file")
            self.crs = given
            self.said = f"--crs {crs!r} says its CRS is"
        elif declared is None:
            self.crs, self.judged = LONLAT, "assumed"
        else:
            self.crs = CRS(declared)
            if self.crs.is_geographic and self.crs.to_epsg() in (4326, None):
                self.judged = "claimed"
        if self.crs.is_projected and self.judged is None:  # metres (or feet) somewhere: see crs_area
            self.judged = "placed"

    @property
    def problems(self) -> list[Problem]:
        """The warnings about what was assumed (said once, with the first chunk)."""
        if self.judged != "assumed":
            return []
        return [Problem(self.path.name, None, None, None,
                        "the file declares no CRS; its coordinates fit longitude/latitude, "
                        "so WGS84 (EPSG:4326) was assumed", "warning", kind="crs")]

    def judge(self, tally: Tally) -> None:
        """Refuse the file, given the ``Tally`` of all its geometries, when its CRS is not what it is
        taken for; then refuse a CRS that is neither geographic nor projected.

        Raises
        ------
        CRSError : the file has no CRS and most of its coordinates are not degrees, or it claims
            longitude/latitude and most are out of range, or its CRS is of the wrong kind.
        """
        if self.judged == "assumed" and tally.present and 2 * tally.fit < tally.present:
            raise CRSError(
                f"{self.path.name}: has no CRS and its coordinates {_bounds(tally.bounds, 3)} are not "
                "longitude/latitude degrees, so HgWatch will not guess one; give it with --crs (e.g. --crs EPSG:32630)"
                + ("; or put the Shapefile's .prj (the file beside its .shp that names its CRS) in the zip"
                   if self.path.suffix.lower() == ".zip" else ""))
        if self.judged == "claimed" and tally.present and 2 * tally.bad > tally.present:
            raise CRSError(
                f"{self.path.name}: claims longitude/latitude but most coordinates (bounds "
                f"{_bounds(tally.bounds, 1)}) are out of range; it is probably "
                "projected. Re-export it with its CRS, or convert it to WGS84")
        if self.judged == "placed" and tally.present:
            self._judge_placed(tally)
        check_kind(self.crs, f"{self.path.name}: its CRS {crs_name(self.crs)}")

    def doubtful(self, tally: Tally) -> bool:
        """Whether the ``Tally`` of a file's first chunk may refuse the file, so that the whole file is
        judged before the rest is read (``layers.io.chunked``): for a projected CRS, a geometry within
        longitude/latitude range; otherwise ``Tally.doubtful``."""
        return tally.fit > 0 if self.judged == "placed" else tally.doubtful

    def _judge_placed(self, tally: Tally) -> None:
        """Refuse a projected CRS's layer whose coordinates look like degrees, or that lies nowhere near
        the CRS's area of use (``layers.io.crs_area``; a CRS without one is not judged)."""
        area = crs_area.Area.of(self.crs)
        if area is None:
            return
        code, unit = crs_name(self.crs), crs_area.unit_of(self.crs)
        head = f"{self.path.name}: {self.said} {code} ({self.crs.name}, in {unit})"
        fix = ("save the file as EPSG:4326 (longitude/latitude), or reproject it to " + code
               if self.said.startswith("the file") else "drop --crs if the values are longitude/latitude")
        outside = tally.fit > 0 and crs_area.origin_outside(self.crs, area)
        if outside or (tally.fit and tally.fit == tally.present):
            row, x, y = tally.first_fit[0]
            raise CRSError(
                f"{head}, but the coordinates (x, y) of {crs_area.shown_rows(tally.first_fit, tally.fit, tally.present)} "
                f"are within longitude/latitude range: the values look like degrees, not {unit}. Read in "
                f"{code}, row {row} would lie {crs_area.where_put(self.crs, x, y)}"
                + (f", outside the CRS's area of use ({area.shown()})" if outside else
                   f", within 180 {unit} of the CRS's origin")
                + f". Expected {code} coordinates in {unit}; {fix}")
        box = crs_area.lonlat_box(self.crs, crs_area.box_of(tally.bounds))
        if box is not None and not area.meets(box, crs_area.MARGIN_DEG):
            row, x, y = tally.first_present[0]
            raise CRSError(
                f"{head}, but every coordinate lies far outside the CRS's area of use ({area.shown()}): the layer "
                f"would lie at longitude {box[0]:.2f} to {box[2]:.2f}, latitude {box[1]:.2f} to {box[3]:.2f} "
                f"(coordinates (x, y) of {crs_area.shown_rows(tally.first_present, tally.present, tally.present)}; "
                f"row {row} {crs_area.where_put(self.crs, x, y)}). Expected {code} coordinates within that "
                "area (more than 1,000 km from it is refused): check the CRS the file was saved in (another "
                "UTM zone or hemisphere, another unit), and give the right one"
                + (" with --crs" if not self.said.startswith("the file") else " in the file"))

    def convert(self, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """``gdf`` (a read of the file, or a chunk of it) in EPSG:4326."""
        gdf = gdf.set_crs(self.crs, allow_override=True)
        if self.crs.equals(LONLAT):
            return gdf
        try:
            return gdf.to_crs(LONLAT)
        except ProjError as exc:  # e.g. a CRS of another planet
            raise CRSError(f"{self.path.name}: its CRS {crs_name(self.crs)} cannot be converted to "
                           f"longitude/latitude (EPSG:4326): {str(exc).splitlines()[0]}") from None


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
    placing = Placing(path, crs, gdf.crs)
    tally = Tally.of(gdf) if placing.judged == "placed" else _whole_tally(gdf) if placing.judged else Tally()
    placing.judge(tally)
    return placing.convert(gdf), placing.problems


def _whole_tally(gdf: gpd.GeoDataFrame) -> Tally:
    """``Tally.of(gdf)``, without the pass over missing geometries and bounds when every coordinate
    fits longitude/latitude (the usual file: nothing to refuse, so nothing else to count)."""
    out_of_range, swapped = geomcheck.range_masks(gdf.geometry.to_numpy())
    if not (out_of_range & ~swapped).any():
        return Tally()
    return Tally.of(gdf)
