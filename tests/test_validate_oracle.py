"""The vectorised validator against a straightforward row-by-row reference (the oracle).

``reference`` below checks one value at a time, the way ``layers.io.validate`` and
``layers.io.coerce`` worked before they were vectorised (issue 13 C). Hypothesis builds frames
mixing every kind of error (missing values, bad numbers, ambiguous commas, fractional whole
numbers, bad yes/no, bad dates, values not allowed, out-of-range values, duplicate ids, censored
values, null, empty, wrong-type, swapped, out-of-range, invalid and unreadable geometries), as text
columns, object columns and columns mixing numbers, bools and text; both validators must report
the same problems (rows, ids, fields, values, messages, kinds, order) and parse the same values.
"""
from __future__ import annotations

import difflib
import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.contamination import check_unit
from geo.contamination.media import MEDIUM_KIND
from layers.catalogue import FieldSpec, LayerSpec, spec_for
from layers.io.coerce import _AMBIGUOUS_COMMA, _CENSORED, _FALSE, _TRUE
from layers.io.validate import BELOW_HINT, EXPECTED, ROW, UNREADABLE, _key, validate

NA = object()  # a value that could not be parsed or was absent
LONLAT = "longitude in [-180, 180] and latitude in [-90, 90]"


def absent(v: object) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and not v.strip()


def number(v: object) -> object:
    """One value as parse_float read it: NA when absent or bad (then 'bad' is told apart)."""
    if isinstance(v, (bool, np.bool_)):
        return NA
    if isinstance(v, str):
        v = v.strip()
        if _AMBIGUOUS_COMMA.match(v):
            return NA
        v = v.replace(",", ".")
    out = pd.to_numeric(pd.Series([v], dtype=object), errors="coerce").astype("float64").iloc[0]
    return float(out) if np.isfinite(out) else NA


def parse_one(v: object, dtype: str) -> tuple[object, bool]:
    """(parsed value or NA, bad) for one raw value."""
    if absent(v):
        return NA, False
    if dtype == "str":
        return (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip()), False
    if dtype in ("float", "int"):
        out = number(v)
        if out is NA:
            return NA, True
        assert isinstance(out, float)
        if dtype == "int" and not (out.is_integer() and abs(out) < 2.0 ** 63):
            return NA, True
        return out, False
    if dtype == "bool":
        if isinstance(v, (bool, np.bool_)):
            return bool(v), False
        if isinstance(v, (int, float, np.integer, np.floating)) and v in (0, 1):
            return bool(v), False
        text = str(v).strip().lower()
        return (True, False) if text in _TRUE else (False, False) if text in _FALSE else (NA, True)
    stamp = pd.to_datetime(pd.Series([v], dtype=object), errors="coerce", utc=True, format="ISO8601").iloc[0]
    return (NA, True) if pd.isna(stamp) else (stamp.tz_localize(None).normalize(), False)


def reference(gdf: gpd.GeoDataFrame, spec: LayerSpec, repair: bool) -> tuple[list[tuple], dict]:
    """Every problem, as (row, id, field, value, expected, severity, kind), and the parsed fields."""
    n = len(gdf)
    parsed: dict[str, list[object]] = {}
    found: list[tuple[int | None, str | None, object, str, str, str]] = []  # (index, field, value, expected, kind, sev)

    def add(i: int | None, field: str, value: object, expected: str, kind: str, severity: str = "error") -> None:
        found.append((i, field, value, expected, kind, severity))

    # an id column empty in every row is read as no id column: ids generated, one warning
    if n and all(absent(v) for v in gdf[spec.id_field].astype(object)):
        stem = "f"
        gdf[spec.id_field] = [f"{stem}-{r}" for r in gdf[ROW]]
        add(None, spec.id_field, None,
            f"the '{spec.id_field}' column is empty in every row; ids were generated as '{stem}-<row>'. "
            f"Add a '{spec.id_field}' column with values to keep ids stable across imports", "generated", "warning")
    # a '<0.1' measurement sets its detection flag, so the flag's own value is not checked there
    censored: dict[str, set[int]] = {}
    measured: dict[str, str] = {}
    for fs in spec.fields:
        if fs.detection_flag is not None and fs.name in gdf.columns:
            censored[fs.detection_flag] = {i for i, v in enumerate(gdf[fs.name].astype(object))
                                           if isinstance(v, str) and _CENSORED.match(v)}
            measured[fs.detection_flag] = fs.name
    for fs in spec.fields:
        if fs.name not in gdf.columns:
            if fs.required:
                names = ", ".join([fs.name, *fs.aliases])
                add(None, fs.name, None, f"required field is missing; add a column named one of: {names}", "missing")
            continue
        raw = list(gdf[fs.name].astype(object))
        values, bad = [], []
        for v in raw:
            if fs.detection_flag is not None and isinstance(v, str) and _CENSORED.match(v):
                v = _CENSORED.match(v).group(1)  # type: ignore[union-attr]
            out, wrong = parse_one(v, fs.dtype)
            values.append(out)
            bad.append(wrong)
        hint = BELOW_HINT if fs.detection_flag is not None else ""
        for i in range(n):
            if bad[i] and i not in censored.get(fs.name, set()):
                add(i, fs.name, raw[i], f"expected {EXPECTED[fs.dtype]}{hint}", "type")
        if fs.required:
            for i in range(n):
                if absent(raw[i]):
                    add(i, fs.name, None, "required value is missing", "missing")
        if fs.allowed is not None:
            allowed = sorted(fs.allowed)
            for i in range(n):
                if values[i] is NA or values[i] in allowed:
                    continue
                values[i] = _key(str(values[i]))
                if values[i] not in allowed:
                    close = difflib.get_close_matches(str(values[i]), allowed, n=1, cutoff=0.5)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    add(i, fs.name, raw[i], f"expected one of: {', '.join(allowed)}{hint}", "allowed")
        if fs.dtype in ("int", "float"):
            _range(values, fs, add)
        for i in sorted(censored.get(fs.name, set())):  # '<0.1' with the flag false: both fields contradict
            if values[i] is False:
                written = gdf[measured[fs.name]].astype(object).iloc[i]
                add(i, fs.name, raw[i], f"true or blank: {measured[fs.name]} is written {written!r}, below the "
                    "detection limit, so the two fields contradict; correct one of them", "contradiction")
        if fs.name == "unit" and spec.name == "samples" and "medium" in parsed:
            for i in range(n):  # the unit against the medium, where both are there and the medium known
                medium = parsed["medium"][i]
                if values[i] is not NA and medium in MEDIUM_KIND:
                    why = check_unit(str(medium), str(values[i]))
                    if why is not None:
                        add(i, fs.name, values[i], why, "unit")
        parsed[fs.name] = values
    raw_ids = list(gdf[spec.id_field].to_numpy())  # messages name the id as written
    ids = parsed[spec.id_field]
    first: dict[object, int] = {}
    for i, v in enumerate(ids):
        if v is NA:
            continue
        if v in first:
            add(i, spec.id_field, v, f"duplicate id: already used by record {first[v] + 1}", "duplicate")
        else:
            first[v] = i
    _geometry(gdf, spec, repair, add)
    rows = gdf[ROW].tolist()
    problems = [(None if i is None else rows[i], None if i is None or absent(raw_ids[i]) else str(raw_ids[i]),
                 field, value, expected, sev, kind) for i, field, value, expected, kind, sev in found]
    return problems, parsed


def _range(values: list[object], fs: FieldSpec, add: Any) -> None:
    unit = f" {fs.unit}" if fs.unit else ""
    for i, v in enumerate(values):
        if v is NA:
            continue
        assert isinstance(v, float)
        shown = int(v) if fs.dtype == "int" else v
        if fs.minimum is not None and v < fs.minimum:
            add(i, fs.name, shown, f"impossible value: expected at least {fs.minimum:g}{unit}", "range")
        elif fs.maximum is not None and v > fs.maximum:
            add(i, fs.name, shown, f"impossible value: expected at most {fs.maximum:g}{unit}", "range")


def _geometry(gdf: gpd.GeoDataFrame, spec: LayerSpec, repair: bool, add: Any) -> None:
    allowed = ", ".join(spec.geometry_types)
    notes = [None if absent(v) else str(v) for v in gdf[UNREADABLE]] if UNREADABLE in gdf.columns \
        else [None] * len(gdf)
    for i, g in enumerate(gdf.geometry):
        if notes[i] is not None:
            add(i, "geometry", notes[i], f"a {allowed} geometry that GEOS can build", "invalid")
            continue
        if g is None or g.is_empty:
            add(i, "geometry", None if g is None else "EMPTY",
                f"a {allowed} geometry; the geometry is null or empty", "geometry")
            continue
        if g.geom_type not in spec.geometry_types:
            add(i, "geometry", g.geom_type, f"geometry type {allowed} for {spec.name}", "geometry_type")
            continue
        minx, miny, maxx, maxy = g.bounds
        if (miny < -90 or maxy > 90) and minx >= -90 and maxx <= 90 and miny >= -180 and maxy <= 180:
            x, y = g.centroid.x, g.centroid.y
            add(i, "geometry", f"({x:.6f}, {y:.6f})",
                f"{LONLAT}; latitude and longitude look swapped: ({y:.6f}, {x:.6f}) would be valid", "swapped")
            continue
        if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
            add(i, "geometry", f"x {minx:.6f}..{maxx:.6f}, y {miny:.6f}..{maxy:.6f}", LONLAT, "range")
            continue
        if not g.is_valid:
            reason = shapely.is_valid_reason(g)
            if repair:
                fixed = shapely.make_valid(g, method="structure", keep_collapsed=False)
                add(i, "geometry", reason, f"repaired with make_valid into a {fixed.geom_type}", "repaired", "warning")
            else:
                add(i, "geometry", reason, "a valid geometry; pass --repair to fix it with make_valid", "invalid")


TRICKY = ["", "  ", " 1,5 ", "1,234", "abc", "inf", "nan", "-4", "3.0", "3.5", "0", "1", "<0.1", "< 2e-3",
          "<x", "yes", "NON", "ооба", "Да", "Active", "in active", "activ", "Whole Ore", "whole-ore",
          "2024-03-31", "2024-03-31T10:00:00Z", "31/03/2024", "\xa0x\u2003", "1e5", "S1", " S1", "S2",
          "\x1cS3\x1f", "dry", "Total", "methyl", "soil", "Sediment", "367", "-0", "1,5e3",
          "water", "ug/L", " mg/kg", "bananas", "%", "ND", "false", "no"]
TEXT = st.one_of(st.sampled_from(TRICKY), st.text(max_size=5), st.none())
ANY = st.one_of(TEXT, st.integers(-3, 400), st.floats(allow_nan=True, allow_infinity=True),
                st.booleans(), st.sampled_from([1.0, 2.5, -4.0, 0.0]))
GEOMS = [shapely.Point(-1.5, 6.2), shapely.Point(6.2, 95.0), shapely.Point(200.0, 5.0), None, shapely.Point(),
         shapely.LineString([(0, 0), (1, 1)]), shapely.box(0, 5, 1, 6),
         shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)]),
         shapely.MultiPoint([(0, 0), (1, 1)]), shapely.Polygon([(0, 95), (1, 95), (1, 96), (0, 95)])]


@st.composite
def frames(draw: st.DrawFn, layer: str) -> tuple[gpd.GeoDataFrame, LayerSpec]:
    spec = spec_for(layer)
    n = draw(st.integers(1, 25))
    data: dict[str, object] = {}
    for fs in spec.fields:
        if fs.name != spec.id_field and not draw(st.booleans()):
            continue  # a field the file lacks (a required one is then reported as missing)
        mode = draw(st.sampled_from(["str", "object", "mixed", "numbers"]))
        if mode == "numbers":
            values: list[object] = draw(st.lists(st.one_of(st.integers(-3, 400), st.floats(-10, 400)),
                                                 min_size=n, max_size=n))
            data[fs.name] = pd.Series(values, dtype="float64" if any(isinstance(v, float) for v in values) else "int64")
        elif mode == "mixed" and fs.dtype != "date":
            data[fs.name] = pd.Series(draw(st.lists(ANY, min_size=n, max_size=n)), dtype=object)
        else:
            values = draw(st.lists(TEXT, min_size=n, max_size=n))
            data[fs.name] = pd.Series(values, dtype="str" if mode == "str" else object)
    frame = pd.DataFrame(data)
    frame[ROW] = np.arange(3, n + 3)
    if draw(st.booleans()):
        frame[UNREADABLE] = draw(st.lists(st.sampled_from([None, None, "Points of LinearRing do not form a closed"]),
                                          min_size=n, max_size=n))
    geoms = draw(st.lists(st.sampled_from(range(len(GEOMS))), min_size=n, max_size=n))
    return gpd.GeoDataFrame(frame, geometry=[GEOMS[k] for k in geoms], crs=4326), spec


def _same(value: object) -> object:
    """A value compared as the user sees it: NA, None and NaN alike; numbers as floats."""
    if value is NA or value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    return value


def _check(case: tuple[gpd.GeoDataFrame, LayerSpec], repair: bool) -> None:
    gdf, spec = case
    expected, parsed = reference(gdf.copy(), spec, repair)
    layer, problems = validate(gdf.copy(), spec, source="f.csv", repair=repair)
    got = [(p.row, p.feature_id, p.field, p.value, p.expected, p.severity, p.kind) for p in problems]
    assert [repr(p) for p in got] == [repr(p) for p in expected]
    flags = {fs.detection_flag for fs in spec.fields}  # set from '<0.1' values; the reference leaves them
    for name, values in parsed.items():
        if name in flags:
            continue
        assert [_same(v) for v in layer[name].astype(object)] == [_same(v) for v in values], name


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames("mining_sites"), st.booleans())
def test_mining_sites_same_problems_as_the_row_by_row_reference(case: tuple, repair: bool) -> None:
    _check(case, repair)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames("samples"), st.booleans())
def test_samples_with_censored_values_same_problems_as_the_reference(case: tuple, repair: bool) -> None:
    _check(case, repair)


def test_the_oracle_sees_every_kind_on_a_hand_made_frame() -> None:
    """The reference itself, on a frame with one known error of each kind."""
    frame = pd.DataFrame({"site_id": ["A", "A", None, "B", "C", "D"],
                          "status": ["Active", "activ", "unknown", "active", None, "abandoned"],
                          "miners": ["3", "3.5", "-4", "x", "", "1,234"], ROW: range(1, 7)})
    gdf = gpd.GeoDataFrame(frame, geometry=[GEOMS[0], GEOMS[1], GEOMS[2], None, GEOMS[5], GEOMS[7]], crs=4326)
    problems, _ = reference(gdf, spec_for("mining_sites"), False)
    kinds = [(row, field, kind) for row, _, field, _, _, _, kind in problems]
    assert kinds == [(3, "site_id", "missing"), (2, "status", "allowed"), (2, "miners", "type"),
                     (4, "miners", "type"), (6, "miners", "type"), (3, "miners", "range"),
                     (2, "site_id", "duplicate"), (2, "geometry", "swapped"), (3, "geometry", "range"),
                     (4, "geometry", "geometry"), (5, "geometry", "geometry_type"), (6, "geometry", "invalid")]


def test_the_oracle_and_the_validator_agree_on_a_laboratory_file() -> None:
    """Samples with a unit wrong for the medium, '<0.1' with below_detection false, 'ND' and no ids:
    the reference finds each (known answer) and the validator reports the same."""
    frame = pd.DataFrame({"sample_id": [None] * 5,
                          "medium": ["water", "water", "soil", "Sediment", "water"],
                          "hg": ["<0.1", "ND", "0.3", "1", "<0.2"],
                          "below_detection": ["false", None, "no", None, "yes"],
                          "unit": ["ug/L", "bananas", "ug/L", "mg/kg", "%"], ROW: range(2, 7)})
    gdf = gpd.GeoDataFrame(frame, geometry=[GEOMS[0]] * 5, crs=4326)
    spec = spec_for("samples")
    expected, _ = reference(gdf.copy(), spec, False)
    kinds = [(row, fid, field, kind) for row, fid, field, _, _, _, kind in expected]
    assert kinds == [(None, None, "sample_id", "generated"), (3, "f-3", "hg", "type"),
                     (2, "f-2", "below_detection", "contradiction"), (3, "f-3", "unit", "unit"),
                     (4, "f-4", "unit", "unit"), (6, "f-6", "unit", "unit")]
    _check((gdf, spec), False)
