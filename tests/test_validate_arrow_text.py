"""A text field read as Arrow text (GeoParquet, pandas' ``str``) stays Arrow text after validation.

Issue 13 (H4, fifteenth session): ``validate`` turned every Arrow text field of a GeoParquet file into
Python strings, 1e6 site ids 0.05 s and ~70 MB that the check and the import never needed. The values,
the problems and their messages are what they were; a field with a missing value, an object column and
the generated ids stay Python strings with None where missing.
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from layers.catalogue import spec_for
from layers.io.readers import load_layer
from layers.io.validate import ROW, validate

SITES = spec_for("mining_sites")
TEXT = pd.Series(["text"]).dtype  # pandas' Arrow-backed text


def _sites(ids: list[object], names: list[object], dtype: object) -> gpd.GeoDataFrame:
    n = len(ids)
    return gpd.GeoDataFrame({"site_id": pd.Series(ids, dtype=dtype), "name": pd.Series(names, dtype=dtype),
                             "uses_mercury": [True] * n, ROW: np.arange(1, n + 1)},
                            geometry=shapely.points(np.column_stack([np.linspace(-1, 1, n), np.zeros(n)])),
                            crs=4326)


def test_a_geoparquet_files_ids_stay_arrow_text_with_the_same_values(tmp_path: Path) -> None:
    path = tmp_path / "sites.parquet"
    _sites([f"S{i}" for i in range(50)], [" Alpha ", "Beta"] * 25, TEXT).drop(columns=[ROW]).to_parquet(path)
    loaded = load_layer(path, "mining_sites")
    assert loaded.gdf["site_id"].dtype == TEXT  # before: object, a Python string per id
    assert loaded.gdf["name"].dtype == TEXT
    assert loaded.gdf["site_id"].tolist() == [f"S{i}" for i in range(50)]
    assert loaded.gdf["name"].tolist() == ["Alpha", "Beta"] * 25  # stripped, as parse_str strips


def test_arrow_text_and_object_text_give_the_same_problems_and_values() -> None:
    ids: list[object] = ["A", " B ", "A", "C", "B", "D"]
    names: list[object] = ["x", "y", "z", " w", "v", "u"]
    arrow, arrow_problems = validate(_sites(ids, names, TEXT), SITES, source="sites.parquet")
    objects, object_problems = validate(_sites(ids, names, object), SITES, source="sites.parquet")
    assert arrow_problems == object_problems
    assert [(p.row, p.feature_id, p.value, p.expected) for p in arrow_problems] == [
        (3, "A", "A", "duplicate id: already used by record 1"),
        (5, "B", "B", "duplicate id: already used by record 2")]
    assert arrow["site_id"].tolist() == objects["site_id"].tolist() == ["A", "B", "A", "C", "B", "D"]
    assert arrow["name"].tolist() == objects["name"].tolist() == ["x", "y", "z", "w", "v", "u"]
    assert arrow["site_id"].dtype == TEXT and objects["site_id"].dtype == object


def test_a_text_field_with_a_missing_value_stays_python_strings_with_none() -> None:
    out, problems = validate(_sites(["A", "B", "C"], ["x", "  ", None], TEXT), SITES, source="sites.parquet")
    assert out["name"].dtype == object
    assert out["name"].tolist() == ["x", None, None]
    assert out["site_id"].dtype == TEXT
    assert not problems


def test_generated_ids_stay_python_strings() -> None:
    out, problems = validate(_sites([None, " ", ""], ["x", "y", "z"], TEXT), SITES, source="pits.parquet")
    assert out["site_id"].dtype == object
    assert out["site_id"].tolist() == ["pits-1", "pits-2", "pits-3"]
    assert [p.kind for p in problems] == ["generated"]


def test_an_allowed_field_all_allowed_stays_arrow_text_and_one_not_allowed_is_reported_as_before() -> None:
    gdf = _sites(["A", "B", "C"], ["x", "y", "z"], TEXT)
    gdf["status"] = pd.Series(["active", " inactive", "abandoned"], dtype=TEXT)
    out, problems = validate(gdf, SITES, source="sites.parquet")
    assert out["status"].dtype == TEXT  # before: object
    assert out["status"].tolist() == ["active", "inactive", "abandoned"]
    assert not problems
    gdf["status"] = pd.Series(["active", "Inactive", "activ"], dtype=TEXT)
    out, problems = validate(gdf, SITES, source="sites.parquet")
    objects, object_problems = validate(gdf.astype({"status": object}), SITES, source="sites.parquet")
    assert problems == object_problems
    assert [(p.row, p.field, p.value, p.kind) for p in problems] == [(3, "status", "activ", "allowed")]
    assert "did you mean 'active'?" in problems[0].expected
    assert out["status"].tolist() == objects["status"].tolist() == ["active", "inactive", "activ"]


def test_allowed_values_keyed_in_arrow_with_and_without_a_missing_value_as_for_objects() -> None:
    cases: list[tuple[list[object], object]] = [([" ACTIVE", "Unknown", "activ", "inactive"], TEXT),
                                                ([" ACTIVE", None, "activ", "Unknown"], object)]
    for statuses, dtype in cases:
        gdf = _sites(["A", "B", "C", "D"], ["x", "y", "z", "w"], TEXT)
        gdf["status"] = pd.Series(statuses, dtype=TEXT)
        out, problems = validate(gdf, SITES, source="sites.parquet")
        objects, object_problems = validate(gdf.astype({"status": object}), SITES, source="sites.parquet")
        assert problems == object_problems
        assert [(p.row, p.value, p.kind) for p in problems] == [(3, "activ", "allowed")]
        assert out["status"].tolist() == objects["status"].tolist()
        assert out["status"].tolist()[:2] == ["active", "unknown" if None not in statuses else None]
        assert out["status"].dtype == dtype  # Arrow text where nothing is missing, else Python strings and None


def test_yes_no_answers_as_arrow_text_and_as_objects_read_the_same() -> None:
    answers = ["yes", " No", "OUI", "нет", "0", "1", "maybe", "", None, "true"] * 3
    gdf = _sites([f"S{i}" for i in range(30)], ["x"] * 30, TEXT)
    for dtype in ("str", object):
        gdf["uses_mercury"] = pd.Series(answers, dtype=dtype)
        out, problems = validate(gdf, SITES, source="sites.csv")
        assert out["uses_mercury"].dtype == "boolean"
        assert out["uses_mercury"].tolist()[:10] == [True, False, True, False, False, True, pd.NA, pd.NA, pd.NA, True]
        assert [(p.row, p.value) for p in problems] == [(7, "maybe"), (17, "maybe"), (27, "maybe")]


STATUS = st.one_of(st.sampled_from(["active", "inactive", "abandoned", "unknown", " Active", "IN ACTIVE", "in-active",
                                    "activ", "Unknown ", "closed", "é", "", " "]), st.text(alphabet="aciten _-", max_size=9))


@settings(max_examples=150, deadline=None)
@given(st.lists(STATUS, min_size=1, max_size=40), st.booleans())
def test_statuses_as_arrow_text_read_and_reported_as_python_strings(statuses: list[str], with_missing: bool) -> None:
    # the Arrow path of the allowed values (none missing: kept as Arrow text) against the object column
    n = len(statuses)
    gdf = _sites([f"S{i}" for i in range(n)], ["x"] * n, TEXT)
    gdf["status"] = pd.Series([None if with_missing and i == n - 1 else v for i, v in enumerate(statuses)], dtype=TEXT)
    out, problems = validate(gdf, SITES, source="sites.parquet")
    objects, object_problems = validate(gdf.astype({"status": object}), SITES, source="sites.parquet")
    assert problems == object_problems
    shown = out["status"].astype(object).where(out["status"].notna(), None).tolist()
    assert shown == objects["status"].tolist()
