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
        # the id shown for a record WITHOUT an id differs ('nan' from Arrow text, None from Python
        # objects: as before this change, left alone), so the feature id is compared for repeats only
        return [(p.row, p.field, p.value, p.expected, p.kind, p.feature_id if p.kind == "duplicate" else "")
                for p in validate(frame, spec, source=path.name)[1]]
    as_python = read.assign(site_id=pd.Series(IDS, dtype=object, index=read.index))
    assert problems(read) == problems(as_python)
    duplicates = [(p.row, p.value, p.expected) for p in validate(read, spec, source=path.name)[1]
                  if p.kind == "duplicate"]
    assert duplicates == [(5, "B", "duplicate id: already used by record 2"),
                          (6, "A", "duplicate id: already used by record 1"),
                          (9, "C", "duplicate id: already used by record 4")]
