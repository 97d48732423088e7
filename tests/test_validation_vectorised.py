"""Vectorised coercion (issue 13 C): defects found by the oracle, and the whole-column paths."""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from layers.catalogue import spec_for
from layers.io.coerce import is_missing, parse_bool, parse_int, parse_str
from layers.io.validate import validate


def test_a_whole_number_beyond_64_bits_is_a_type_error_not_a_crash() -> None:
    # before: TypeError "cannot safely cast non-equivalent float64 to int64" (a traceback)
    gdf = gpd.GeoDataFrame({"site_id": ["A", "B"], "miners": ["1e300", "12"]},
                           geometry=[shapely.Point(0, 6), shapely.Point(1, 6)], crs=4326)
    layer, problems = validate(gdf, spec_for("mining_sites"), source="s.csv")
    assert [(p.row, p.field, p.value, p.expected) for p in problems] == [
        (1, "miners", "1e300", "expected a whole number")]
    assert layer["miners"].tolist()[1] == 12


def test_text_strips_every_space_python_strips() -> None:
    values = pd.Series(["\xa0a\u2003", "\x1cb\x1f", " ", None], dtype="str")
    assert parse_str(values)[0].tolist() == ["a", "b", None, None]
    assert is_missing(values).tolist() == [False, False, True, True]


def test_numbers_and_bools_in_whole_columns() -> None:
    assert parse_int(pd.Series([3.0, 3.5, None]))[1].tolist() == [False, True, False]
    out, bad = parse_bool(pd.Series([1, 0, 2]))
    assert out.tolist()[:2] == [True, False] and bad.tolist() == [False, False, True]
    out, bad = parse_bool(pd.Series(["ДА", " нет ", "maybe", ""], dtype="str"))
    assert out.tolist()[:2] == [True, False] and bad.tolist() == [False, False, True, False]
