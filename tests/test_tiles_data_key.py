"""The archive key of a tiled layer (``render.map.tiles.data_key``) changes whenever a popup value does: a
column of Python strings is hashed from its Arrow buffers, so two columns get one hash exactly when they
hold the same texts and missing values in the same places (Hypothesis; a missing value is not "")."""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from render.map.tiles import Zooms, _hash_column, data_key

CELLS = st.lists(st.none() | st.text(max_size=3), max_size=12)


@settings(max_examples=400, deadline=None)
@given(CELLS, CELLS)
def test_two_text_columns_hash_alike_exactly_when_they_hold_the_same_values(a: list[str | None],
                                                                           b: list[str | None]) -> None:
    same = _hash_column(pd.Series(a, dtype=object)) == _hash_column(pd.Series(b, dtype=object))
    assert same == (a == b)


def test_the_key_follows_a_popup_value_and_nothing_else() -> None:
    frame = gpd.GeoDataFrame({"site_id": ["S1", "S2"], "name": ["Río", None]},
                             geometry=[shapely.Point(1, 2), shapely.Point(3, 4)], crs=4326)
    classes = pd.Series(["a", "b"], dtype=object)
    zooms = Zooms(0, 10, 12)
    key = data_key(frame, classes, ["site_id", "name"], zooms, "mining_sites")
    assert key == data_key(frame.copy(), classes, ["site_id", "name"], zooms, "mining_sites")
    for changed in (frame.assign(name=["Río", ""]), frame.assign(site_id=["S1", "S3"]),
                    frame.assign(name=pd.Series([1, None], dtype=object))):
        assert data_key(changed, classes, ["site_id", "name"], zooms, "mining_sites") != key
