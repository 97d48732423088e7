"""Whether a layer's coordinates can be in the projected CRS it declares (or ``--crs`` gives).

A file that declares a projected CRS (UTM zone 30N, EPSG:32630, in metres) but holds longitude/latitude
(-1.6, 6.7 for a site in Ghana) is read as metres: every site lands about 650 km away, in the sea off
the equator, and no rule result can be trusted. Two whole-layer tests, on the layer's counts and
bounds (``layers.io.crs.Tally``), never per row:

- **degrees in metres**: coordinates within longitude/latitude range (|x| <= 180, |y| <= 90) lie within
  180 m of the CRS's origin. Where that patch is outside the CRS's area of use (UTM, and most national
  grids, whose false easting keeps their area far from the origin), any such geometry is refused;
  elsewhere (Web Mercator, whose origin is in its area) only a layer whose every coordinate is there.
- **grossly outside the area of use**: the layer's bounds, put into longitude/latitude, do not reach
  the CRS's area of use widened by ``MARGIN_DEG`` degrees of latitude (and as many kilometres of
  longitude). Real layers often spread beyond their zone (Ghana in 30N to 1.2°E, Peru in 18S to
  81.3°W, Norway in EPSG:25833 to 31°E): only a layer with nothing near the area is refused (the wrong
  hemisphere's UTM zone, another country's grid, feet read as metres far from the origin).

A CRS without a known area of use (a custom WKT) is not judged.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pyproj import CRS, Geod, Transformer
from pyproj.exceptions import ProjError

#: how far beyond a CRS's area of use a layer may lie and still be read: degrees of latitude, and the
#: same distance in longitude at the layer's latitude nearest the equator (about 1,100 km)
MARGIN_DEG = 10.0
_LONLAT = CRS.from_epsg(4326)
_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class Area:
    """A CRS's area of use in degrees (west may exceed east across the antimeridian)."""

    west: float
    south: float
    east: float
    north: float

    @classmethod
    def of(cls, crs: CRS) -> Area | None:
        """The area of ``crs``, or of the EPSG CRS it is (a PROJ string or ESRI WKT, as a Shapefile's
        .prj holds, carries none of its own); None when neither is known."""
        aou = crs.area_of_use
        if aou is None:
            code = crs.to_epsg(min_confidence=70)
            aou = CRS.from_epsg(code).area_of_use if code is not None else None
        if aou is None:
            return None
        return cls(aou.west, aou.south, aou.east, aou.north)

    def shown(self) -> str:
        return f"longitude {self.west:g} to {self.east:g}, latitude {self.south:g} to {self.north:g}"

    def meets(self, box: tuple[float, float, float, float], margin: float = 0.0) -> bool:
        """Whether the lon/lat ``box`` (west, south, east, north) overlaps this area widened by
        ``margin`` degrees of latitude (and as many kilometres of longitude)."""
        west, south, east, north = box
        if south > self.north + margin or north < self.south - margin:
            return False
        nearest = 0.0 if south <= 0 <= north else min(abs(south), abs(north))
        lon_margin = margin / max(math.cos(math.radians(min(nearest, 80.0))), 1e-9)
        return _lon_overlap(self.west - lon_margin, self.east + lon_margin, west, east)


def _lon_overlap(a_west: float, a_east: float, b_west: float, b_east: float) -> bool:
    """Whether two longitude intervals overlap on the circle (an east below its west crosses 180°)."""
    a_east += 360.0 if a_east < a_west else 0.0
    b_east += 360.0 if b_east < b_west else 0.0
    if a_east - a_west >= 360.0 or b_east - b_west >= 360.0:
        return True
    return any(b_west + k <= a_east and a_west <= b_east + k for k in (-360.0, 0.0, 360.0))


def lonlat_box(crs: CRS, bounds: tuple[float, ...]) -> tuple[float, float, float, float] | None:
    """The lon/lat box of ``bounds`` (minx, miny, maxx, maxy in ``crs``); None when PROJ cannot place
    it (a coordinate far outside the projection's domain: left to the per-row range checks)."""
    if not all(math.isfinite(b) for b in bounds):
        return None
    try:
        box = Transformer.from_crs(crs, _LONLAT, always_xy=True).transform_bounds(
            bounds[0], bounds[1], bounds[2], bounds[3], densify_pts=21)
    except ProjError:
        return None
    return box if all(math.isfinite(b) for b in box) else None


def origin_outside(crs: CRS, area: Area) -> bool:
    """Whether the CRS's coordinates within longitude/latitude range (180 m of its origin) are all
    outside its area of use: there, a geometry in that range can only be degrees."""
    box = lonlat_box(crs, (-180.0, -90.0, 180.0, 90.0))
    return box is None or not area.meets(box)


def where_put(crs: CRS, x: float, y: float) -> str:
    """Where (x, y) read in ``crs`` lands, and how far from (x, y) read as longitude/latitude."""
    try:
        lon, lat = Transformer.from_crs(crs, _LONLAT, always_xy=True).transform(x, y)
    except ProjError:
        return "off the Earth"
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return "off the Earth"
    if not (-180 <= x <= 180 and -90 <= y <= 90):
        return f"at longitude {lon:.4f}, latitude {lat:.4f}"
    km = _GEOD.inv(x, y, lon, lat)[2] / 1000.0
    return f"at longitude {lon:.4f}, latitude {lat:.4f}, {km:,.0f} km from ({x:g}, {y:g}) read as degrees"


def shown_rows(samples: tuple[tuple[int, float, float], ...], count: int, total: int) -> str:
    """'rows 1 (-1.6, 6.7), 2 (-1.5, 6.8) and 3 more (5 of 5 geometries)' for a message."""
    listed = ", ".join(f"{row} ({_num(x)}, {_num(y)})" for row, x, y in samples)
    more = f" and {count - len(samples):,} more" if count > len(samples) else ""
    word = "row" if count == 1 else "rows"
    return f"{word} {listed}{more} ({count:,} of {total:,} geometries)"


def _num(v: float) -> str:
    return f"{v:.6g}" if abs(v) < 1e6 else f"{v:.0f}"


def unit_of(crs: CRS) -> str:
    """The CRS's linear unit as a plural word: 'metres', 'US survey foots' reads 'US survey feet'."""
    name = str(crs.axis_info[0].unit_name) if crs.axis_info else "metre"
    plural = {"metre": "metres", "meter": "metres", "foot": "feet", "kilometre": "kilometres"}
    last = name.split()[-1] if name else "metre"
    return " ".join([*name.split()[:-1], plural.get(last, last + "s")]) if name else "metres"


def box_of(bounds: np.ndarray) -> tuple[float, float, float, float]:
    """A tally's total bounds as four plain floats."""
    return (float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3]))
