"""One JSON array among text values of a GeoJSON property is one error, not a whole column of them.

GDAL made the whole column a list when one feature held an array (``"site_id": ["a", "b"]``):
every value became a one-item list and was refused, and the ``site_id`` column read as empty (ids
generated). Found planting errors in the 104,640 national footprints (104,640 errors for one row).
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from geo.errors import InputError, Problem
from layers.catalogue import spec_for
from layers.io.chunked import read_chunks, validated_chunks
from layers.io.readers import load_layer, read_raw
from tests.hostile_kit import run

LIST_RULE = "HgWatch stores no lists"


def _file(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    features = [{"type": "Feature", "properties": props,
                 "geometry": {"type": "Point", "coordinates": [-1.9 + i / 100, 5.3]}} for i, props in enumerate(rows)]
    path = tmp_path / "mining_sites.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _planted(tmp_path: Path) -> Path:
    return _file(tmp_path, [
        {"site_id": "S1", "status": "active", "area": 1.5, "tags": ["x"]},
        {"site_id": ["a", "b"], "status": "active", "area": [1, 2], "tags": ["y", "z"]},
        {"site_id": "S3", "status": ["active"], "area": 3, "tags": []},
        {"site_id": "S4", "status": "inactive", "area": None, "tags": ["w"]},
    ])


def _lists(problems: list[Problem]) -> list[tuple[int | None, str | None, object]]:
    return sorted((p.row, p.field, p.value) for p in problems if LIST_RULE in p.expected)


EXPECTED = [(1, "tags", "['x']"), (2, "area", "[1, 2]"), (2, "site_id", "['a', 'b']"), (2, "tags", "['y', 'z']"),
            (3, "status", "['active']"), (3, "tags", "[]"), (4, "tags", "['w']")]


def test_one_array_among_text_is_one_error_and_the_other_rows_read_as_written(tmp_path: Path) -> None:
    gdf, problems = read_raw(_planted(tmp_path))
    assert _lists(problems) == EXPECTED  # 'tags', an array in every row, is refused row by row as before
    assert gdf["site_id"].tolist() == ["S1", None, "S3", "S4"]
    assert gdf["status"].tolist() == ["active", "active", None, "inactive"]
    assert [None if pd.isna(v) else float(v) for v in gdf["area"]] == [1.5, None, 3.0, None]
    with pytest.raises(InputError) as caught:
        load_layer(_planted(tmp_path), "mining_sites")
    assert not [p for p in caught.value.problems if p.kind == "generated"]  # the ids are read, not made up
    status = next(p for p in caught.value.problems if p.field == "status")
    assert (status.file, status.row, status.value) == ("mining_sites.geojson", 3, "['active']")


@pytest.mark.parametrize("rows", [1, 2, 3])
def test_a_chunked_read_finds_the_same_errors(tmp_path: Path, rows: int) -> None:
    path = _planted(tmp_path)
    chunks = list(read_chunks(path, rows))
    assert _lists([p for _, notes in chunks for p in notes]) == EXPECTED
    assert [v for gdf, _ in chunks for v in gdf["site_id"]] == ["S1", None, "S3", "S4"]
    problems: list[Problem] = []
    list(validated_chunks(iter(chunks), spec_for("mining_sites"), source=path.name, problems=problems))
    whole: list[Problem] = []
    try:
        load_layer(path, "mining_sites")
    except InputError as exc:
        whole = exc.problems
    assert sorted(map(str, problems)) == sorted(map(str, whole))
    assert not [p for p in problems if p.kind == "generated"]


def test_text_that_only_looks_like_a_list_stays_text(tmp_path: Path) -> None:
    gdf, problems = read_raw(_file(tmp_path, [{"site_id": "S1", "note": "[1, 2]"}, {"site_id": "S2", "note": "[draft]"}]))
    assert gdf["note"].tolist() == ["[1, 2]", "[draft]"] and not _lists(problems)


def test_validate_names_the_one_row_without_a_traceback(tmp_path: Path) -> None:
    path = _file(tmp_path, [{"site_id": "S1", "status": "active"}, {"site_id": ["a", "b"], "status": "active"},
                            {"site_id": "S3", "status": "active"}])
    code, out, err = run("validate", str(path))
    text = out + err
    assert code == 1
    assert text.count(LIST_RULE) == 1
    assert "row 2, field 'site_id': value \"['a', 'b']\"" in text
    assert "ids were generated" not in text


def test_an_object_among_text_is_flattened_not_kept_as_json_text(tmp_path: Path) -> None:
    """GDAL gives an object among text values as its JSON text whatever the options; it was kept
    whole under 'interview' (a restricted name inside passed every profile as text)."""
    gdf, problems = read_raw(_file(tmp_path, [{"site_id": "S1", "interview": "none"},
                                              {"site_id": "S2", "interview": {"informant_name": "Ama", "tags": ["a"]}}]))
    assert [None if pd.isna(v) else v for v in gdf["interview"]] == ["none", None]
    assert [None if pd.isna(v) else v for v in gdf["interview.informant_name"]] == [None, "Ama"]
    assert _lists(problems) == [(2, "interview.tags", "['a']")]


def test_the_list_error_names_the_id_and_is_the_cells_only_error(tmp_path: Path) -> None:
    path = _planted(tmp_path)
    with pytest.raises(InputError) as caught:
        load_layer(path, "mining_sites")
    whole = caught.value.problems
    assert [str(p) for p in whole if p.row == 2 and p.field == "site_id"] == [
        "error: mining_sites.geojson, row 2, field 'site_id': value \"['a', 'b']\": one value (text, a number,"
        " true or false); HgWatch stores no lists: put each item in a column of its own"]
    assert next(p for p in whole if p.field == "status").feature_id == "S3"
    chunked: list[Problem] = []
    list(validated_chunks(read_chunks(path, 2), spec_for("mining_sites"), source=path.name, problems=chunked))
    assert sorted(map(str, chunked)) == sorted(map(str, whole))
