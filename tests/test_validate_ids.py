"""Duplicate ids found on the Arrow text of a GeoParquet column (``coerce.text_array``) equal those
found on the parsed Python strings: stripped, blanks missing, repeats across row groups."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
import shapely

from layers.catalogue import spec_for
from layers.io.readers import read_raw
from layers.io.validate import validate

IDS = ["A", " B", "", "C", "B", "A\u3000", None, "  ", "C"]


def test_repeats_across_row_groups_are_found_as_on_python_strings(tmp_path: Path) -> None:
    n = len(IDS)
    layer = gpd.GeoDataFrame({"site_id": pd.Series(IDS, dtype=object), "status": ["active"] * n},
                             geometry=[shapely.Point(0, 6 + i / 10) for i in range(n)], crs=4326)
    path = tmp_path / "sites.parquet"
    layer.to_parquet(path, row_group_size=4)
    assert pq.ParquetFile(path).metadata.num_row_groups == 3
    read, _ = read_raw(path)
    assert read["site_id"].dtype != object  # Arrow-backed text, in chunks
    spec = spec_for("mining_sites")

    def problems(frame: gpd.GeoDataFrame) -> list[tuple[object, ...]]:
        return [(p.row, p.field, p.value, p.expected, p.kind, p.feature_id)
                for p in validate(frame, spec, source=path.name)[1]]
    as_python = read.assign(site_id=pd.Series(IDS, dtype=object, index=read.index))
    assert problems(read) == problems(as_python)
    duplicates = [(p.row, p.value, p.expected) for p in validate(read, spec, source=path.name)[1]
                  if p.kind == "duplicate"]
    assert duplicates == [(5, "B", "duplicate id: already used by record 2"),
                          (6, "A", "duplicate id: already used by record 1"),
                          (9, "C", "duplicate id: already used by record 4")]


def test_a_record_without_an_id_is_shown_without_one_in_every_format(tmp_path: Path) -> None:
    """A null id in GeoParquet or GeoJSON reads as NaN; its messages once said 'id nan'. A blank id
    ('  ') is no id either. Every format now shows such a record by its row alone, as a CSV does."""
    layer = gpd.GeoDataFrame({"site_id": ["S1", None, "  ", "S4"], "status": ["active", "bogus", "bogus", "bogus"]},
                             geometry=[shapely.Point(0, 6 + i / 10) for i in range(4)], crs=4326)
    spec = spec_for("mining_sites")
    for name in ("sites.parquet", "sites.geojson", "sites.gpkg"):
        path = tmp_path / name
        layer.to_parquet(path) if name.endswith(".parquet") else layer.to_file(path)
        read, _ = read_raw(path)
        found = validate(read, spec, source=name)[1]
        shown = {(p.row, p.field, p.feature_id) for p in found}
        assert shown == {(2, "status", None), (2, "site_id", None), (3, "status", None), (3, "site_id", None),
                         (4, "status", "S4")}, name
        assert not any(w in str(p) for p in found for w in ("id nan", "id None", "id <NA>", "id  ")), name
