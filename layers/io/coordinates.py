"""Find the coordinates in a table read from CSV or XLSX, as field tools export them.

Recognised, in this order:

1. a WKT column: ``geometry``, ``wkt``, ``geom`` or ``the_geom`` (what HgWatch's CSV export writes);
2. a latitude/longitude column pair: ``lat``/``lon``, ``latitude``/``longitude``, ``lat``/``lng``,
   ``y``/``x``, KoBoToolbox's ``_<field>_latitude``/``_<field>_longitude``, ODK Central's
   ``<group>-<field>-Latitude``/``-Longitude``, and any one pair named alike but for a word saying the
   axis (``POINT_X``/``POINT_Y``, ``X_GEO``/``Y_GEO``, ``GPS_Lat``/``GPS_Long``, ``latitud``/``longitud``);
3. KoBoToolbox's ``_geolocation`` column, a JSON list ``[lat, lon]``;
4. an ODK/KoBo geopoint column holding ``"lat lon altitude accuracy"``.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from geo import geomcheck
from layers.io.coerce import is_missing, parse_float
from layers.io.validate import SAID, empty_note

WKT_NAMES = ("geometry", "wkt", "geom", "the_geom")
PAIRS = (("latitude", "longitude"), ("lat", "lon"), ("lat", "lng"), ("lat", "long"), ("y", "x"))
_SUFFIX = re.compile(r"^(?P<stem>.*?)[-_ ]?(?P<axis>latitude|longitude)$", re.IGNORECASE)


@dataclass(frozen=True)
class Found:
    """Where the coordinates were found and the geometries built from them."""

    description: str
    geometries: np.ndarray
    bad_rows: list[tuple[int, str, object, str]]  # (index, column, value, expected)
    used_columns: tuple[str, ...]
    open_rings: tuple[str | None, ...] = ()  # per row: the WKT of a polygon ring left open (built closed)
    empty: tuple[str | None, ...] = ()  # per row: a coordinate cell left empty (``validate.empty_note``), else None


def find_geometry(df: pd.DataFrame) -> Found | None:
    """Geometries for every row of ``df``; None when no coordinate columns are recognised."""
    lower = {str(c).strip().lower(): c for c in df.columns}
    for name in WKT_NAMES:
        if name in lower:
            return _from_wkt(df, lower[name])
    pair = _find_pair(df, lower)
    if pair is not None:
        return _from_pair(df, *pair)
    if "_geolocation" in lower:
        return _from_geolocation(df, lower["_geolocation"])
    for col in df.columns:
        values = df[col].dropna().astype(str).head(20)
        values = values[values.str.strip() != ""]
        matched = values.str.fullmatch(_GEOPOINT)
        if len(values) and (matched.all() or (_GEOPOINT_NAME.search(str(col)) and matched.any())):
            return _from_geopoint(df, col)  # a column named like one may hold a few bad cells: each is named
    return None


_GEOPOINT = r"\s*-?\d+(\.\d+)?\s+-?\d+(\.\d+)?(\s+\S+){0,2}\s*"
_GEOPOINT_NAME = re.compile(r"gps|geopoint|location|coord", re.IGNORECASE)


def _find_pair(df: pd.DataFrame, lower: dict[str, object]) -> tuple[object, object] | None:
    for lat, lon in PAIRS:
        if lat in lower and lon in lower:
            return lower[lat], lower[lon]
    stems: dict[str, dict[str, object]] = {}
    for col in df.columns:
        m = _SUFFIX.match(str(col))
        if m:
            stems.setdefault(m.group("stem").lower(), {})[m.group("axis").lower()] = col
    for axes in stems.values():
        if "latitude" in axes and "longitude" in axes:
            return axes["latitude"], axes["longitude"]
    alike = _named_alike(df.columns)
    return alike[0] if len(alike) == 1 else None


#: a word of a column name that says its axis: latitude or northing (y), longitude or easting (x)
_AXIS_WORDS = {"y": "y", "ycoord": "y", "lat": "y", "latitude": "y", "latitud": "y",
               "x": "x", "xcoord": "x", "lon": "x", "lng": "x", "long": "x", "longitude": "x", "longitud": "x"}


def _named_alike(columns: pd.Index) -> list[tuple[object, object]]:
    """(y column, x column) pairs named alike but for one word that says the axis: ArcGIS's POINT_X/POINT_Y,
    the Peru gold-mining points' X_GEO/Y_GEO, QGIS's xcoord/ycoord, GPS_Lat/GPS_Long, a Spanish
    latitud/longitud. A pair only when both columns are there, and each name has one such word."""
    found: dict[tuple[str, ...], dict[str, object]] = {}
    for col in columns:
        words = [w for w in re.split(r"[-_ .]+", str(col).strip().lower()) if w]
        axes = [k for k, w in enumerate(words) if w in _AXIS_WORDS]
        if len(axes) == 1:
            k = axes[0]
            found.setdefault((*words[:k], "*", *words[k + 1:]), {})[_AXIS_WORDS[words[k]]] = col
    return [(axes["y"], axes["x"]) for axes in found.values() if "x" in axes and "y" in axes]


def _points(lat: pd.Series, lon: pd.Series, lat_name: str, lon_name: str,
            shown: pd.Series | None = None) -> Found:
    """Points from a latitude and a longitude column (one column for both when the names are the same:
    ``shown`` then holds its cells as written, for the messages)."""
    y, bad_y = parse_float(lat)
    x, bad_x = parse_float(lon)
    bad: list[tuple[int, str, object, str]] = []
    for i in np.flatnonzero(bad_y.to_numpy()):
        bad.append((int(i), lat_name, lat.iloc[i], "expected a latitude in decimal degrees" + _dms_hint(lat.iloc[i], "NS")))
    for i in np.flatnonzero(bad_x.to_numpy()):
        bad.append((int(i), lon_name, lon.iloc[i], "expected a longitude in decimal degrees" + _dms_hint(lon.iloc[i], "EW")))
    xs, ys = x.to_numpy(dtype=float), y.to_numpy(dtype=float)
    ok = ~(np.isnan(xs) | np.isnan(ys))
    geoms = np.full(len(xs), None, dtype=object)
    geoms[ok] = shapely.points(xs[ok], ys[ok])
    no_y, no_x = np.isnan(ys) & ~bad_y.to_numpy(), np.isnan(xs) & ~bad_x.to_numpy()
    empty = _empty_notes(no_y, no_x, (lat, lon, shown), (ys, xs), (lat_name, lon_name))
    said = np.flatnonzero(bad_y.to_numpy() | bad_x.to_numpy())
    if len(said):  # the record's coordinate error is said above: no "geometry is null" beside it
        notes: list[str | None] = list(empty) if empty else [None] * len(xs)
        for k in said.tolist():  # one column for both: its cell's error is said once, by the reader
            notes[k] = SAID if lat_name == lon_name else notes[k] or SAID
        empty = tuple(notes)
    return Found(f"columns '{lat_name}' (latitude) and '{lon_name}' (longitude)", geoms, bad,
                 (lat_name, lon_name), empty=empty)


_DMS = re.compile(r"^\s*(?P<h1>[NSEW])?\s*(?P<sign>-)?\s*(?P<d>\d+(?:[.,]\d+)?)\s*[°º]\s*"
                  r"(?:(?P<m>\d+(?:[.,]\d+)?)\s*['′]\s*)?(?:(?P<s>\d+(?:[.,]\d+)?)\s*(?:[\"″]|'')\s*)?"
                  r"(?P<h2>[NSEW])?\s*$", re.IGNORECASE)


def _dms_hint(value: object, hemispheres: str) -> str:
    """For a cell written in degrees, minutes and seconds (6°42'N, 1°36'30"W): what it is in decimal
    degrees, for the message (the cell itself is not read as that: the user writes it)."""
    m = _DMS.match(str(value)) if isinstance(value, str) else None
    if m is None:
        return ""
    side = (m["h1"] or m["h2"] or "").upper()
    if side and side not in hemispheres:
        return f"; {value!r} names {side}, which is not a hemisphere of this axis ({' or '.join(hemispheres)})"
    number = sum(float((m[k] or "0").replace(",", ".")) / d for k, d in (("d", 1), ("m", 60), ("s", 3600)))
    number = -number if side in ("S", "W") or m["sign"] else number
    shown = f"{number:.6f}".rstrip("0").rstrip(".")
    return f"; {value!r} is {shown} in decimal degrees: write that"


def _empty_notes(no_y: np.ndarray, no_x: np.ndarray, cells: tuple[pd.Series, pd.Series, pd.Series | None],
                 values: tuple[np.ndarray, np.ndarray], names: tuple[str, str]) -> tuple[str | None, ...]:
    """Per row, what ``validate`` says of a coordinate left empty: the column, its cell as written and
    what was expected (``validate.empty_note``); () when no row has one."""
    lat, lon, shown = cells
    ys, xs = values
    lat_name, lon_name = names
    if not (no_y | no_x).any():
        return ()
    notes: list[str | None] = [None] * len(no_y)
    for i in np.flatnonzero(no_y | no_x).tolist():
        if lat_name == lon_name:  # one column for both: a KoBoToolbox _geolocation, an ODK geopoint
            cell = _cell(shown if shown is not None else lat, i)
            what = ("is empty" if cell == "" else "holds one number, not a latitude and a longitude"
                    if not (no_y[i] and no_x[i]) else "holds no latitude and longitude")
            notes[i] = empty_note(lat_name, cell, f"a latitude and a longitude; the cell {what}, so the record "
                                  "has no location", half=not (no_y[i] and no_x[i]))
        elif no_y[i] and no_x[i]:
            notes[i] = empty_note(f"{lat_name}, {lon_name}", _cell(lon, i),
                                  "a latitude and a longitude in decimal degrees; both cells are empty, so "
                                  "the record has no location", half=False)
        else:
            name, other, value, axis = ((lat_name, lon_name, xs[i], "latitude") if no_y[i]
                                        else (lon_name, lat_name, ys[i], "longitude"))
            given = f"'{other}' holds {value:g}" if not np.isnan(value) else f"'{other}' is not a number either"
            notes[i] = empty_note(name, _cell(lat if no_y[i] else lon, i),
                                  f"a {axis} in decimal degrees; the cell is empty while {given}: fill it in, "
                                  "or empty both if the record has no location", half=True)
    return tuple(notes)


def _cell(values: pd.Series, i: int) -> str:
    """A cell as its file holds it: '' for an empty one."""
    v = values.iloc[i]
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)


def _from_pair(df: pd.DataFrame, lat: object, lon: object) -> Found:
    return _points(df[lat], df[lon], str(lat), str(lon))


def _from_wkt(df: pd.DataFrame, col: object) -> Found:
    values = df[col]
    missing = is_missing(values).to_numpy()
    texts = np.array([None if m else str(v) for v, m in zip(values, missing)], dtype=object)
    decoded = geomcheck.decode_wkt(texts)
    bad = [(int(i), str(col), values.iloc[i], "expected a WKT geometry such as POINT (-1.5 6.2)")
           for i, reason in enumerate(decoded.unreadable) if reason is not None]
    empty = tuple(empty_note(str(col), _cell(values, i), "a WKT geometry such as POINT (-1.5 6.2); the cell is "
                             "empty, so the record has no location", half=False) if m else None
                  for i, m in enumerate(missing.tolist())) if missing.any() else ()
    return Found(f"WKT column '{col}'", decoded.geoms, bad, (str(col),), tuple(decoded.open_rings), empty)


def _from_geolocation(df: pd.DataFrame, col: object) -> Found:
    lat: list[float | None] = []
    lon: list[float | None] = []
    bad: list[tuple[int, str, object, str]] = []
    for i, v in enumerate(df[col]):
        if v is None or (isinstance(v, float) and np.isnan(v)) or (isinstance(v, str) and not v.strip()):
            lat.append(None)  # an empty cell: the record has no location (said by ``_points``)
            lon.append(None)
            continue
        try:
            pair = json.loads(v) if isinstance(v, str) else v
            la, lo = (float(pair[0]), float(pair[1])) if pair and pair[0] is not None else (None, None)
        except (ValueError, TypeError, IndexError, KeyError):
            bad.append((i, str(col), v, "expected a [latitude, longitude] list"))
            la = lo = None
        lat.append(la)
        lon.append(lo)
    found = _points(pd.Series(lat, dtype=object), pd.Series(lon, dtype=object), str(col), str(col), df[col])
    unparsed = {i for i, *_ in bad}  # a cell that is not a list: said once, as such
    empty = tuple(SAID if i in unparsed else note for i, note in enumerate(found.empty)) if found.empty else ()
    return Found(f"KoBoToolbox column '{col}' ([latitude, longitude])", found.geometries,
                 bad + found.bad_rows, (str(col),), empty=empty)


def _from_geopoint(df: pd.DataFrame, col: object) -> Found:
    parts = df[col].astype("string").str.split(expand=True)
    for k in (0, 1):  # every cell one number (or none): the missing part is missing everywhere
        if k not in parts.columns:
            parts[k] = pd.NA
    found = _points(parts[0].astype(object), parts[1].astype(object), str(col), str(col), df[col])
    bad = {i: (i, str(col), df[col].iloc[i], "expected 'latitude longitude [altitude accuracy]' in decimal degrees, "
               "such as '6.7 -1.6 120 5'") for i, *_ in found.bad_rows}  # one error a cell, naming the cell
    return Found(f"geopoint column '{col}' (latitude longitude altitude accuracy)",
                 found.geometries, list(bad.values()), (str(col),), empty=found.empty)
