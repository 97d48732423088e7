"""Bounded memory (issue 13 C): validating a file in chunks equals validating it whole."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from layers.catalogue import spec_for
from layers.io.chunked import read_chunks, validate_chunks
from layers.io.readers import read_raw
from layers.io.validate import in_file_order, validate


def _sites(tmp_path: Path, suffix: str) -> Path:
    """Eleven sites with errors of several kinds; duplicate ids fall in different chunks of 3."""
    frame = {"site_id": ["A", "B", "C", "D", "A", None, "E", "B ", "F", "G", "A"],
             "status": ["active", "Activ", "unknown", "closed", "active", "active", "Inactive", "x", "", "active",
                        "active"],
             "miners": ["3", "3.5", "-4", "7", "x", "8", "", "1,234", "2", "400", "5"]}
    geoms = [shapely.Point(-1.5, 6.2), shapely.Point(6.2, 95.0), None, shapely.Point(200.0, 5.0),
             shapely.LineString([(0, 0), (1, 1)]), shapely.Point(0, 6), shapely.Point(1, 6),
             shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)]), shapely.Point(0, 7),
             shapely.Point(0, 8), shapely.Point(0, 9)]
    path = tmp_path / f"sites{suffix}"
    gdf = gpd.GeoDataFrame(frame, geometry=geoms, crs=4326)
    if suffix == ".parquet":
        gdf.to_parquet(path)
    else:
        gdf.to_file(path, engine="pyogrio")
    return path


@pytest.mark.parametrize("suffix", [".parquet", ".geojson", ".gpkg"])
@pytest.mark.parametrize("rows", [1, 3, 4, 100])
def test_a_chunked_run_equals_a_whole_file_run(tmp_path: Path, suffix: str, rows: int) -> None:
    path = _sites(tmp_path, suffix)
    spec = spec_for("mining_sites")
    gdf, notes = read_raw(path)
    _, found = validate(gdf, spec, source=path.name)
    whole = in_file_order(notes + found, spec.field_names)  # as load_layer orders them
    count, chunked = validate_chunks(read_chunks(path, rows), spec, source=path.name)
    assert count == 11
    assert [repr(p) for p in chunked] == [repr(p) for p in whole]
    kinds = {p.kind for p in whole}
    assert {"duplicate", "allowed", "type", "range", "swapped", "geometry", "geometry_type", "invalid"} <= kinds
    duplicates = [(p.row, p.value, p.expected) for p in whole if p.kind == "duplicate"]
    assert duplicates == [(5, "A", "duplicate id: already used by record 1"),
                          (8, "B", "duplicate id: already used by record 2"),
                          (11, "A", "duplicate id: already used by record 1")]


def test_a_csv_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_text("site_id,lat,lon\nA,6,-1\n")
    with pytest.raises(Exception, match="sites.csv: reading in chunks handles GeoParquet"):
        list(read_chunks(path, 10))
