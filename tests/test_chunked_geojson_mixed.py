"""Issue 13: a GeoJSON read in chunks gives every column the values and dtype of a whole read.

A whole read types some columns by all of their values: GDAL marks a property holding numbers in
some features and text in others as a JSON column, which pyogrio parses only when every value in it
parses; an integer or true/false column with a missing value anywhere is float or object. A chunk
typed by its own values gave 3.5 or 7 or 1000.0 where the whole file gives '3.5', '7' and '1e3', and
int or bool where the whole file gives float or object, a date-time of one offset where the whole
file's mixed ones are UTC. ``gdalread.whole_columns`` decides these once
per file (one pass over those columns, no geometry); every chunk is converted the same way.
Fails before: the chunks were typed by their own values."""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from layers.io import gdalread
from layers.io.sniff import sniff

MIXED = [7, "3.5", 3.5, "1e3", "abc", None, True, "7"]  # numbers and text: GDAL's JSON column, left text
NUMBERS = [1, 2.5, 7, 3, 1, 2.5, 7, 3]  # every value parses: float64 in a whole read


def _file(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": [-1.5, 6.0]}}
        for props in rows]}))
    return path


def _reads(path: Path, rows: int) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    found = sniff(path)
    with gdalread.plain_path(path) as plain, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        source, options = gdalread.sources(plain, found)[""], gdalread.open_options(found)
        return gdalread.read(source, None, options, use_arrow=True), list(gdalread.stream(source, options, rows))


@pytest.mark.parametrize("rows", [1, 2, 3, 4, 8])
def test_a_column_of_numbers_and_text_is_the_whole_reads_in_every_chunk(tmp_path: Path, rows: int) -> None:
    path = _file(tmp_path / "mining_sites.geojson", [
        {"site_id": f"S{i}", "v": v, "w": w, "miners": None if i == 7 else i, "lined": None if i == 6 else i % 2 == 0}
        for i, (v, w) in enumerate(zip(MIXED, NUMBERS, strict=True))])
    whole, chunks = _reads(path, rows)
    assert whole["v"].tolist() == ["7", "3.5", "3.5", "1e3", "abc", None, "true", "7"]
    assert whole["w"].tolist() == [1.0, 2.5, 7.0, 3.0, 1.0, 2.5, 7.0, 3.0]
    assert str(whole["w"].dtype) == "float64" and str(whole["miners"].dtype) == "float64"
    assert whole["lined"].tolist() == [True, False, True, False, True, False, None, False]
    for k, chunk in enumerate(chunks):
        part = whole.iloc[k * rows:(k + 1) * rows].reset_index(drop=True)
        for name in ("site_id", "v", "w", "miners", "lined"):
            assert str(chunk[name].dtype) == str(part[name].dtype), (name, k)
            pd.testing.assert_series_equal(chunk[name], part[name], check_exact=True)
            assert [type(x) for x in chunk[name]] == [type(x) for x in part[name]], (name, k)


def test_a_json_column_of_integers_and_a_missing_value_is_float_in_every_chunk(tmp_path: Path) -> None:
    """Integers in some features, a text that parses in another: every value parses, so a whole read
    parses the column; a missing value in the last feature makes it float64 there, and in every chunk."""
    path = _file(tmp_path / "mining_sites.geojson", [{"site_id": "A", "v": 5}, {"site_id": "B", "v": "6"},
                                                     {"site_id": "C", "v": 2**40}, {"site_id": "D", "v": None}])
    whole, chunks = _reads(path, 1)
    assert str(whole["v"].dtype) == "float64" and whole["v"].tolist()[:3] == [5.0, 6.0, float(2**40)]
    assert [str(c["v"].dtype) for c in chunks] == ["float64"] * 4
    assert [c["v"].tolist()[0] for c in chunks][:3] == [5.0, 6.0, float(2**40)]


def test_date_times_of_mixed_offsets_are_utc_in_every_chunk(tmp_path: Path) -> None:
    """A whole read gives a date-time column of mixed offsets in UTC; a chunk of one offset kept it."""
    seen = ["2024-03-01T10:00:00+01:00", "2024-03-01T10:00:00Z", None, "2024-03-01T12:30:00+01:00"]
    path = _file(tmp_path / "mining_sites.geojson", [{"site_id": f"S{i}", "seen": t} for i, t in enumerate(seen)])
    whole, chunks = _reads(path, 1)
    assert str(whole["seen"].dtype) == "datetime64[ms, UTC]"
    assert [str(c["seen"].dtype) for c in chunks] == ["datetime64[ms, UTC]"] * 4
    assert [str(c["seen"][0]) for c in chunks] == ["2024-03-01 09:00:00+00:00", "2024-03-01 10:00:00+00:00", "NaT",
                                                   "2024-03-01 11:30:00+00:00"]
