"""The shortcuts that make reading and validating a large layer fast give the general path's answers.

Issue 13: ``validate.repeated`` finds repeated ids from 64-bit keys (length, first and last 8
bytes) and compares as text only the ids whose key repeats; ``geomcheck.checks`` reads each
GEOS property once and, for a layer of points only, tells validity from the coordinates;
``geomcheck.range_masks`` gives the out-of-range and swapped masks from one bounds pass. Each
is compared here with a plain reference built in the test (Counter, shapely predicates), on
hand-made edge cases and on Hypothesis-generated ones.
"""
from __future__ import annotations

import gc
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo import geomcheck
from geo.errors import InputError
from layers.catalogue import spec_for
from layers.io.coerce import is_missing, parse_str
from layers.io.readers import gc_paused, load_layer
from layers.io.validate import ROW, repeated, validate

NAN, INF = float("nan"), float("inf")


def reference_repeats(values: list[str | None]) -> list[bool]:
    counts = Counter(v for v in values if v is not None)
    return [v is not None and counts[v] > 1 for v in values]


def test_repeats_at_the_edges_of_the_key() -> None:
    values = [
        "AAAAAAAA-1-BBBBBBBB", "AAAAAAAA-2-BBBBBBBB",  # same length, same first and last 8 bytes: not repeats
        "AAAAAAAA-1-BBBBBBBB",  # a true repeat of the first
        "S1", "S1\x00", "S1",  # a NUL byte makes a different id
        "", "", None, None,  # blanks and nulls never repeat (nulls: text_array turns blanks into nulls)
        "12345678", "1234567", "123456789", "12345678",  # around 8 bytes
        "é" * 4, "é" * 4, "ée" * 3,  # multibyte text
    ]
    arrays = [pa.array(values, type=pa.string()), pa.array(values, type=pa.large_string())]
    for array in arrays:
        got = repeated(array).tolist()
        assert got == reference_repeats(values)
        assert got[:3] == [True, False, True] and got[8:10] == [False, False]
    sliced = pa.array(["x", "y", *values], type=pa.string()).slice(2)
    assert repeated(sliced).tolist() == reference_repeats(values)
    assert repeated(pa.array([], type=pa.string())).tolist() == []
    chunked = pa.chunked_array([pa.array(values[:7]), pa.array(values[7:])], type=pa.string())
    assert repeated(chunked).tolist() == reference_repeats(values)
    assert repeated(pa.array([None, None], type=pa.string())).tolist() == [False, False]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="ab\x00é", max_size=20),
                          st.sampled_from(["PREFIXXX-a-SUFFIXXX", "PREFIXXX-b-SUFFIXXX", "PREFIXXX-ab-UFFIXXX"])),
                max_size=40), st.integers(0, 3), st.booleans())
def test_repeats_equal_a_count_of_the_texts(values: list[str | None], cut: int, large: bool) -> None:
    array = pa.array(values, type=pa.large_string() if large else pa.string()).slice(min(cut, len(values)))
    assert repeated(array).tolist() == reference_repeats(values[min(cut, len(values)):])


def test_many_unique_ids_and_one_repeat() -> None:
    values: list[str | None] = [f"S{i}" for i in range(200_000)]
    values[150_000] = "S17"
    values[3] = None
    got = repeated(pa.array(values))
    assert np.flatnonzero(got).tolist() == [17, 150_000]


POINTS = [
    shapely.Point(1, 2), shapely.Point(NAN, NAN), shapely.Point(NAN, 1), shapely.Point(1, INF),
    shapely.Point(), shapely.from_wkb(shapely.to_wkb(shapely.Point(NAN, NAN))),  # WKB's empty point
    shapely.Point(5, 120), shapely.Point(120, 5), shapely.Point(200, 100), shapely.Point(-181, 0),
    shapely.Point(1, 2, NAN), shapely.Point(1, 2, 3), shapely.Point(10, 95),
]
OTHERS = [None, shapely.LineString([(0, 0), (1, 1)]), shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)]),
          shapely.Polygon([(0, 0), (1, 0), (1, 1), (0, 0)]), shapely.LineString([(0, 100), (1, 170)]),
          shapely.MultiPoint([(0, 0), (1, 1)]), shapely.GeometryCollection([shapely.Point(0, 0)]),
          shapely.MultiPolygon([shapely.box(0, 0, 1, 1)]), shapely.MultiLineString([[(0, 0), (1, 1)]])]
KINDS = (("Point", "Polygon"), ("LineString", "MultiLineString", "Polygon", "MultiPolygon"), ("Point",),
         ("GeometryCollection", "MultiPoint"))


def reference_checks(geoms: np.ndarray, kinds: tuple[str, ...]) -> dict[str, list[bool]]:
    """Every mask from shapely's predicates, each on its own, as the validator read them before."""
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    b = np.asarray(shapely.bounds(geoms), dtype=float)
    with np.errstate(invalid="ignore"):
        out = (b[:, 0] < -180) | (b[:, 2] > 180) | (b[:, 1] < -90) | (b[:, 3] > 90)
        swapped = ((b[:, 1] < -90) | (b[:, 3] > 90)) & (b[:, 0] >= -90) & (b[:, 2] <= 90) & (b[:, 1] >= -180) \
            & (b[:, 3] <= 180)
    names = np.array([None if g is None else g.geom_type for g in geoms], dtype=object)
    return {"missing": missing.tolist(), "wrong_kind": (~missing & ~np.isin(names, list(kinds))).tolist(),
            "out_of_range": out.tolist(), "swapped": swapped.tolist(),
            "invalid": (~(shapely.is_valid(geoms) | missing)).tolist()}


def as_dict(c: geomcheck.Checks) -> dict[str, list[bool]]:
    return {k: getattr(c, k).tolist() for k in ("missing", "wrong_kind", "out_of_range", "swapped", "invalid")}


def test_points_only_shortcut_equals_the_geos_predicates() -> None:
    geoms = np.array(POINTS, dtype=object)
    for kinds in KINDS:
        got = as_dict(geomcheck.checks(geoms, kinds))
        assert got == reference_checks(geoms, kinds)
    got = as_dict(geomcheck.checks(geoms, ("Point",)))
    assert got["invalid"][:4] == [False, True, True, True]  # NaN or infinite x or y: GEOS's 'Invalid Coordinate'
    assert got["missing"][4:6] == [True, True] and got["invalid"][4:6] == [False, False]
    assert got["swapped"][6:8] == [True, False] and got["out_of_range"][6:10] == [True, False, True, True]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(range(len(POINTS) + len(OTHERS))), min_size=1, max_size=25), st.sampled_from(KINDS))
def test_checks_equal_the_geos_predicates_on_any_mix(picks: list[int], kinds: tuple[str, ...]) -> None:
    pool = POINTS + OTHERS
    geoms = np.array([pool[i] for i in picks], dtype=object)
    assert as_dict(geomcheck.checks(geoms, kinds)) == reference_checks(geoms, kinds)
    reference = reference_checks(geoms, kinds)
    out_of_range, swapped = geomcheck.range_masks(geoms)
    assert out_of_range.tolist() == reference["out_of_range"] and swapped.tolist() == reference["swapped"]


def test_a_points_layer_gets_the_same_problems_as_through_the_general_path() -> None:
    """The same records validated as a points-only layer (shortcut) and with one valid polygon
    added at the end (general path: GEOS is_valid): the same problems for the same records."""
    ids = ["a", "b", None, "b", "", "c", "d", "e", "f", "g", "h", "a", "i"]
    spec = spec_for("mining_sites")

    def frame(extra: bool) -> gpd.GeoDataFrame:
        geoms = list(POINTS) + ([shapely.box(0, 0, 1, 1)] if extra else [])
        rows = ids + (["poly"] if extra else [])
        return gpd.GeoDataFrame({"site_id": pd.Series(rows, dtype="str"), ROW: np.arange(1, len(rows) + 1)},
                                geometry=geoms, crs="EPSG:4326")

    _, fast = validate(frame(False), spec, source="s.parquet")
    _, general = validate(frame(True), spec, source="s.parquet")
    assert fast == general
    kinds = [(p.row, p.kind) for p in fast]
    assert (4, "duplicate") in kinds and (12, "duplicate") in kinds and (3, "missing") in kinds
    assert (2, "invalid") in kinds and (3, "invalid") in kinds and (4, "invalid") not in kinds
    assert (7, "swapped") in kinds and (13, "swapped") in kinds and (9, "range") in kinds
    assert (5, "geometry") in kinds and (6, "geometry") in kinds and (4, "range") in kinds


def test_the_collector_is_paused_while_reading_and_restored_after(tmp_path: Path) -> None:
    seen: list[bool] = []
    with gc_paused():
        seen.append(gc.isenabled())
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()
    bad = tmp_path / "mining_sites.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"site_id": "a"}, '
                   '"geometry": {"type": "Point", "coordinates": [1, 95]}}]}')
    with pytest.raises(InputError):
        load_layer(bad, "mining_sites")
    assert gc.isenabled()  # restored when the file is refused too
    with pytest.raises(ValueError), gc_paused():
        raise ValueError("inside")
    assert gc.isenabled()


@pytest.mark.parametrize("column", [
    pd.Series([" a ", "", None, "b\u3000", "\u00a0", "a", "é "], dtype="str"),  # Arrow-backed text
    pd.Series([" a ", "", None, float("nan"), "b", "a"], dtype=object),  # text with NaN in an object column
    pd.Series([1.0, None, 2.5, 1.0], dtype=object),  # numbers: parse_str's general path
    pd.Series(["x", 3, None, True], dtype=object),  # mixed: parse_str's general path
])
def test_a_text_field_read_once_gives_what_parse_str_and_is_missing_give(column: pd.Series) -> None:
    """validate strips a text column once in Arrow; the stored values and the 'required value is
    missing' rows are those of coerce.parse_str and coerce.is_missing, the general path."""
    n = len(column)
    gdf = gpd.GeoDataFrame({"site_id": column, "name": column, ROW: np.arange(1, n + 1)},
                           geometry=[shapely.Point(1, 1)] * n, crs="EPSG:4326")
    out, problems = validate(gdf, spec_for("mining_sites"), source="s.csv")
    for field in ("site_id", "name"):
        expected, _ = parse_str(column)
        assert out[field].dtype == object and out[field].tolist() == expected.tolist()
    missing_rows = [p.row for p in problems if p.kind == "missing"]
    assert missing_rows == [i + 1 for i in np.flatnonzero(is_missing(column).to_numpy())]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["river", " River ", "RIVER", "lake", "Lake Shore", "rivr", "", None, "  ", "canal",
                                 "reservoir", "ponds", "wet land", "x"]), min_size=1, max_size=12))
def test_allowed_values_found_in_arrow_equal_the_general_path(values: list[str | None]) -> None:
    """'kind' as Arrow text (one is_in pass) and as an object column with one number added (parse_str's
    general path, pandas isin): the same parsed values and the same problems for the same records."""
    spec = spec_for("water_bodies")
    line = shapely.LineString([(0, 0), (1, 1)])

    def run(kinds: pd.Series) -> tuple[list[object], list[tuple[object, ...]]]:
        n = len(kinds)
        gdf = gpd.GeoDataFrame({"water_id": [f"w{i}" for i in range(n)], "kind": kinds, ROW: np.arange(1, n + 1)},
                               geometry=[line] * n, crs="EPSG:4326")
        out, problems = validate(gdf, spec, source="w.parquet")
        return out["kind"].tolist()[:len(values)], [(p.row, p.field, p.value, p.expected, p.kind, p.feature_id)
                                                   for p in problems if p.row is not None and p.row <= len(values)]

    fast = run(pd.Series(values, dtype="str"))
    general = run(pd.Series([*values, 7], dtype=object))
    assert fast == general
