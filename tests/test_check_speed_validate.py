"""Validation answers what it answered before the check-speed work of issue 13 (tenth day).

``_ensure_id`` asks whether the id column is empty in every row from its first values when one
of them is present; these pin the edges of that shortcut (an equivalence test: it passes on the
code before it too).
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pytest
import shapely

from layers.catalogue import spec_for
from layers.io.validate import repeated, validate


def _sites(ids: list[object]) -> gpd.GeoDataFrame:
    n = len(ids)
    return gpd.GeoDataFrame({"site_id": ids, "uses_mercury": [True] * n},
                            geometry=shapely.points(np.column_stack([np.linspace(-1, 1, n), np.zeros(n)])),
                            crs=4326)


@pytest.mark.parametrize("blank_head", [0, 63, 64, 65, 200])
def test_ids_present_after_a_run_of_blanks_are_kept_and_the_blanks_reported(blank_head: int) -> None:
    ids: list[object] = [None if i % 2 else "  " for i in range(blank_head)]
    ids += ["S1", "S2"]
    gdf, problems = validate(_sites(ids), spec_for("mining_sites"), source="sites.geojson")
    assert gdf["site_id"].tolist()[blank_head:] == ["S1", "S2"]
    assert [(p.row, p.field, p.expected) for p in problems if p.severity == "error"] == \
        [(i + 1, "site_id", "required value is missing") for i in range(blank_head)]
    assert not [p for p in problems if p.kind == "generated"]


@pytest.mark.parametrize("n", [1, 64, 65, 300])
def test_an_id_column_blank_in_every_row_gives_generated_ids(n: int) -> None:
    ids: list[object] = [[None, "", " ", float("nan")][i % 4] for i in range(n)]
    gdf, problems = validate(_sites(ids), spec_for("mining_sites"), source="sites.geojson")
    assert gdf["site_id"].tolist() == [f"sites-{i + 1}" for i in range(n)]
    assert [p.kind for p in problems] == ["generated"]
    assert "the 'site_id' column is empty in every row" in problems[0].expected


@pytest.mark.parametrize("with_null", [False, True])
def test_repeated_finds_each_repeat_among_many_ids_with_and_without_nulls(with_null: bool) -> None:
    # no null: the key filter's first pass takes the keys as they are; a null: through the candidates
    values: list[str | None] = [f"S{i}" for i in range(300_000)]
    values[250_000], values[299_999], values[7] = "S17", "S250001", "S7-not-a-repeat"
    if with_null:
        values[11] = None
    got = np.flatnonzero(repeated(pa.array(values, type=pa.large_string()))).tolist()
    assert got == [17, 250_000, 250_001, 299_999]
